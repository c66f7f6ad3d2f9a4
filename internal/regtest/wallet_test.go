package regtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"math"
	"strings"
	"sync"
	"testing"
)

// rawTx is the part of btcd's verbose getrawtransaction the tests read.
type rawTx struct {
	Txid          string `json:"txid"`
	Vsize         int64  `json:"vsize"`
	BlockHash     string `json:"blockhash"`
	Confirmations int64  `json:"confirmations"`
	Vin           []struct {
		Txid string `json:"txid"`
		Vout uint32 `json:"vout"`
	} `json:"vin"`
	Vout []struct {
		Value        float64 `json:"value"`
		ScriptPubKey struct {
			Hex     string `json:"hex"`
			Address string `json:"address"`
		} `json:"scriptPubKey"`
	} `json:"vout"`
}

func getRawTx(ctx context.Context, t *testing.T, n *Node, txid string) rawTx {
	t.Helper()
	var tx rawTx
	if err := n.CallInto(ctx, &tx, "getrawtransaction", txid, 1); err != nil {
		t.Fatalf("getrawtransaction %s: %v", txid, err)
	}
	return tx
}

func sats(btc float64) int64 { return int64(math.Round(btc * 1e8)) }

// TestFundSpendEveryKind funds a key of every kind and spends it to a
// P2WPKH key, with all kinds at once on one node (concurrent Fund calls
// share two mature coinbases, so change reuse is exercised), then mines and
// checks what the node says about each transaction.
func TestFundSpendEveryKind(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)

	type result struct {
		key    *Key
		funded Outpoint
		to     *Key
		spent  *Sent
	}
	var mu sync.Mutex
	results := map[KeyKind]*result{}

	t.Run("fund and spend", func(t *testing.T) {
		for _, kind := range KeyKinds() {
			t.Run(kind.String(), func(t *testing.T) {
				t.Parallel()
				k := NewKey(t, kind)
				const amount = 250_000
				op, err := n.Fund(ctx, k.Script(), amount)
				if err != nil {
					t.Fatalf("fund %s: %v", k.Address(), err)
				}
				if op.Value != amount || !bytes.Equal(op.Script, k.Script()) {
					t.Fatalf("funded outpoint %+v, want %d sat to %x", op, amount, k.Script())
				}
				// btcd decodes the output to the key's address on its own.
				out := getRawTx(ctx, t, n, op.TxID).Vout[op.Vout]
				if out.ScriptPubKey.Address != k.Address() || sats(out.Value) != amount {
					t.Fatalf("node sees output %s:%d as %s %d sat, want %s %d", op.TxID, op.Vout, out.ScriptPubKey.Address, sats(out.Value), k.Address(), amount)
				}

				to := NewKey(t, P2WPKH)
				sent, err := n.Spend(ctx, []Input{{Outpoint: op, Key: k}}, []Output{{Script: to.Script(), Value: Rest}}, 0)
				if err != nil {
					t.Fatalf("spend %s output: %v", kind, err)
				}
				if len(sent.Outputs) != 1 || sent.Outputs[0].Value != amount-sent.Fee {
					t.Fatalf("sweep made outputs %+v with fee %d, want one output of %d-fee", sent.Outputs, sent.Fee, amount)
				}
				mu.Lock()
				results[kind] = &result{key: k, funded: op, to: to, spent: sent}
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}

	for kind, r := range results {
		if c, err := n.Confirmations(ctx, r.spent.TxID); err != nil || c != 0 {
			t.Fatalf("%s spend before mining: confirmations %d (err %v), want 0", kind, c, err)
		}
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for kind, r := range results {
		for _, txid := range []string{r.funded.TxID, r.spent.TxID} {
			if c, err := n.Confirmations(ctx, txid); err != nil || c != 1 {
				t.Fatalf("%s: tx %s after one block: confirmations %d (err %v), want 1", kind, txid, c, err)
			}
		}
		tx := getRawTx(ctx, t, n, r.spent.TxID)
		if len(tx.Vin) != 1 || tx.Vin[0].Txid != r.funded.TxID || tx.Vin[0].Vout != r.funded.Vout {
			t.Fatalf("%s spend inputs %+v, want %s", kind, tx.Vin, r.funded)
		}
		if tx.Vout[0].ScriptPubKey.Address != r.to.Address() {
			t.Fatalf("%s spend pays %s, want %s", kind, tx.Vout[0].ScriptPubKey.Address, r.to.Address())
		}
		// The funded output is gone from the UTXO set.
		if live, err := n.unspent(ctx, r.funded); err != nil || live {
			t.Fatalf("%s funded output %s still unspent after its spend was mined (err %v)", kind, r.funded, err)
		}
	}
	if _, err := n.Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for kind, r := range results {
		if c, err := n.Confirmations(ctx, r.spent.TxID); err != nil || c != 3 {
			t.Fatalf("%s spend after three blocks: confirmations %d (err %v), want 3", kind, c, err)
		}
	}
}

// TestSpendMixedInputs spends one output of every kind in a single
// transaction (taproot and segwit sighashes commit to all inputs' amounts
// and scripts), with change back to the first key, and checks the fee rate
// against the node's own virtual size.
func TestSpendMixedInputs(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)

	var inputs []Input
	var total int64
	for i, kind := range KeyKinds() {
		k := NewKey(t, kind)
		amount := int64(100_000 * (i + 1))
		op, err := n.Fund(ctx, k.Script(), amount)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, Input{Outpoint: Outpoint{TxID: op.TxID, Vout: op.Vout}, Key: k}) // value looked up by Spend
		total += amount
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	a, b := NewKey(t, P2TR), NewKey(t, P2PKH)
	const feeRate = 7
	sent, err := n.Spend(ctx, inputs, []Output{{Script: a.Script(), Value: 300_000}, {Script: b.Script(), Value: 200_000}}, feeRate)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Outputs) != 3 || !bytes.Equal(sent.Outputs[2].Script, inputs[0].Key.Script()) {
		t.Fatalf("outputs %+v, want two payments and change to the first input's key", sent.Outputs)
	}
	if got := sent.Outputs[0].Value + sent.Outputs[1].Value + sent.Outputs[2].Value + sent.Fee; got != total {
		t.Fatalf("outputs + fee = %d, want the inputs' %d", got, total)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tx := getRawTx(ctx, t, n, sent.TxID)
	if tx.Confirmations != 1 || len(tx.Vin) != len(inputs) {
		t.Fatalf("mixed spend: %d confirmations, %d inputs; want 1 and %d", tx.Confirmations, len(tx.Vin), len(inputs))
	}
	if tx.Vsize != sent.VSize {
		t.Fatalf("harness vsize %d, node vsize %d", sent.VSize, tx.Vsize)
	}
	// At least the rate; at most the rate plus the two-byte-per-input
	// margin, on a size measured with signatures that may have been up to
	// two bytes longer than the final ones.
	if sent.Fee < feeRate*tx.Vsize || sent.Fee > feeRate*(tx.Vsize+4*int64(len(inputs))) {
		t.Fatalf("fee %d for %d vB, want %d sat/vB plus at most the signature margin", sent.Fee, tx.Vsize, feeRate)
	}
	// The change output can be spent again by its key.
	change := sent.Outputs[2]
	again, err := n.Spend(ctx, []Input{{Outpoint: change, Key: inputs[0].Key}}, []Output{{Script: a.Script(), Value: Rest}}, 0)
	if err != nil {
		t.Fatalf("spend change %s: %v", change, err)
	}
	if c, err := n.Confirmations(ctx, again.TxID); err != nil || c != 0 {
		t.Fatalf("change spend in mempool: confirmations %d (err %v)", c, err)
	}
}

// TestPayChainsChange funds more often than there are mature coinbases,
// so later payments spend earlier change, and every funding transaction
// still gets mined.
func TestPayChainsChange(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t) // two mature coinbases
	k := NewKey(t, P2WPKH)
	var txids []string
	for i := 0; i < 6; i++ {
		op, err := n.Fund(ctx, k.Script(), 1_000_000)
		if err != nil {
			t.Fatalf("fund #%d: %v", i, err)
		}
		txids = append(txids, op.TxID)
	}
	// Several outputs in one payment.
	k2 := NewKey(t, P2SHP2WPKH)
	sent, err := n.Pay(ctx, Output{Script: k.Script(), Value: 10_000}, Output{Script: k2.Script(), Value: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Outputs[0].Value != 10_000 || sent.Outputs[1].Value != 20_000 || sent.Outputs[2].Script == nil {
		t.Fatalf("pay outputs %+v", sent.Outputs)
	}
	txids = append(txids, sent.TxID)
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, id := range txids {
		if c, err := n.Confirmations(ctx, id); err != nil || c != 1 {
			t.Fatalf("funding tx %s: confirmations %d (err %v), want 1", id, c, err)
		}
	}
	pool, err := n.Mempool(ctx)
	if err != nil || len(pool) != 0 {
		t.Fatalf("mempool after mining = %v (err %v), want empty", pool, err)
	}
}

func TestSpendErrors(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)
	k := NewKey(t, P2WPKH)
	other := NewKey(t, P2WPKH)
	op, err := n.Fund(ctx, k.Script(), 100_000)
	if err != nil {
		t.Fatal(err)
	}
	in := []Input{{Outpoint: op, Key: k}}
	to := []Output{{Script: other.Script(), Value: Rest}}

	tests := []struct {
		name    string
		inputs  []Input
		outputs []Output
		want    string
	}{
		{"no inputs", nil, to, "no inputs"},
		{"no key", []Input{{Outpoint: op}}, to, "no key"},
		{"wrong key", []Input{{Outpoint: op, Key: other}}, to, "does not own"},
		{"no outputs", in, nil, "no outputs"},
		{"empty script", in, []Output{{Value: 1000}}, "empty script"},
		{"dust output", in, []Output{{Script: other.Script(), Value: 100}}, "dust"},
		{"two rests", in, []Output{{Script: other.Script(), Value: Rest}, {Script: k.Script(), Value: Rest}}, "both Rest"},
		{"too much", in, []Output{{Script: other.Script(), Value: 100_000}}, "insufficient funds"},
		{"same input twice", []Input{in[0], in[0]}, to, "both spend"},
		{"unknown outpoint", []Input{{Outpoint: Outpoint{TxID: strings.Repeat("ab", 32)}, Key: k}}, to, "spent or unknown"},
		{"bad txid", []Input{{Outpoint: Outpoint{TxID: "xyz", Value: 1000, Script: k.Script()}, Key: k}}, to, "txid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.Spend(ctx, tc.inputs, tc.outputs, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// None of the failures broadcast anything: the output is still ours.
	if _, err := n.Spend(ctx, in, to, 0); err != nil {
		t.Fatalf("valid spend after the failures: %v", err)
	}
	// Spending it again is a double spend the node refuses.
	_, err = n.Spend(ctx, in, []Output{{Script: k.Script(), Value: Rest}}, 5)
	if !IsRPCError(err, CodeVerifyRejected) {
		t.Fatalf("double spend: err = %v, want RPC code %d", err, CodeVerifyRejected)
	}

	for _, amount := range []int64{0, -5, 100, maxMoney + 1} {
		if _, err := n.Fund(ctx, k.Script(), amount); err == nil {
			t.Fatalf("Fund(%d) succeeded, want an error", amount)
		}
	}
	if _, err := n.Fund(ctx, k.Script(), 30_000*100_000_000); err == nil || !strings.Contains(err.Error(), "insufficient funds") {
		t.Fatalf("Fund of more than the wallet holds: err = %v, want insufficient funds", err)
	}
	if _, err := n.Pay(ctx, Output{Script: k.Script(), Value: Rest}); err == nil || !strings.Contains(err.Error(), "Rest") {
		t.Fatalf("Pay with Rest: err = %v", err)
	}
}

// TestReorg confirms a transaction, replaces its block by a longer branch
// and checks the height, the new branch, and that the transaction was
// mined again in the new branch.
func TestReorg(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)
	k := NewKey(t, P2TR)
	op, err := n.Fund(ctx, k.Script(), 40_000)
	if err != nil {
		t.Fatal(err)
	}
	mined, err := n.Generate(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	before := getRawTx(ctx, t, n, op.TxID)
	if before.BlockHash != mined[0] || before.Confirmations != 2 {
		t.Fatalf("funding tx in %s with %d confirmations, want %s and 2", before.BlockHash, before.Confirmations, mined[0])
	}

	removed, added, err := n.Reorg(ctx, 2, 3) // tip-1 invalidated, 3 new blocks
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 || removed[0] != mined[0] || removed[1] != mined[1] || len(added) != 3 {
		t.Fatalf("reorg removed %v added %v, want %v removed and 3 added", removed, added, mined)
	}
	h, err := n.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h != 101+2-2+3 {
		t.Fatalf("height after reorg = %d, want %d", h, 101+3)
	}
	if hash, err := n.BlockHash(ctx, 102); err != nil || hash != added[0] {
		t.Fatalf("block 102 = %s (err %v), want the new branch's %s", hash, err, added[0])
	}
	after := getRawTx(ctx, t, n, op.TxID)
	if after.BlockHash != added[0] || after.Confirmations != 3 {
		t.Fatalf("after reorg the funding tx is in %s with %d confirmations, want %s and 3", after.BlockHash, after.Confirmations, added[0])
	}
	// The old branch is shorter, so reconsidering it changes nothing.
	if err := n.ReconsiderBlock(ctx, removed[0]); err != nil {
		t.Fatal(err)
	}
	if hash, err := n.BlockHash(ctx, 102); err != nil || hash != added[0] {
		t.Fatalf("after reconsiderblock block 102 = %s (err %v), want %s", hash, err, added[0])
	}
	// The wallet keeps working on the new branch.
	if _, err := n.Fund(ctx, k.Script(), 40_000); err != nil {
		t.Fatalf("fund after reorg: %v", err)
	}
	if _, _, err := n.Reorg(ctx, 0, 1); err == nil {
		t.Fatal("Reorg(0, 1) succeeded, want an error")
	}
}

func TestLookupOutputExactSatoshis(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)
	k := NewKey(t, P2PKH)
	// Values whose BTC decimal form is not exact in binary.
	for _, v := range []int64{546, 12_345_679, 2_099_999_997} {
		op, err := n.Fund(ctx, k.Script(), v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.lookupOutput(ctx, op.TxID, op.Vout)
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != v || hex.EncodeToString(got.Script) != hex.EncodeToString(k.Script()) {
			t.Fatalf("lookup %s = %d sat %x, want %d %x", op, got.Value, got.Script, v, k.Script())
		}
	}
}
