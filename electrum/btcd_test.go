package electrum

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestAgainstBtcdRegtest runs the client against the test server indexing a
// real btcd regtest chain: every value comes from the node.
func TestAgainstBtcdRegtest(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	idx, srv := electrumtest.ServeNode(t, node, electrumtest.Config{FlushRule: true}, 0)
	rec := newRecorder()
	cl := newClient(t, clientConfig(t, srv), rec)
	key := regtest.NewKey(t, regtest.P2WPKH)
	sh := walletgate.ScriptHash(electrumtest.ScriptHashOf(key.Script()))
	if st, err := cl.Subscribe(ctx, sh); err != nil || st != "" {
		t.Fatalf("subscribe: %q, %v", st, err)
	}
	height, err := node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}

	funded, err := node.Fund(ctx, key.Script(), 100_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "mempool status", isScript(sh, idx.Snapshot().Status(string(sh))))
	if bal, err := cl.Balance(ctx, sh); err != nil || bal != (walletgate.Balance{Unconfirmed: 100_000}) {
		t.Fatalf("mempool balance %+v, %v", bal, err)
	}
	hist, err := cl.History(ctx, sh)
	if err != nil || len(hist) != 1 || hist[0].TxHash != funded.TxID || hist[0].Height != 0 || hist[0].Fee <= 0 {
		t.Fatalf("mempool history %+v, %v", hist, err)
	}

	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := idx.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "block", isBlock(height+1))
	rec.waitFor(t, "confirmed status", isScript(sh, idx.Snapshot().Status(string(sh))))
	if bal, err := cl.Balance(ctx, sh); err != nil || bal != (walletgate.Balance{Confirmed: 100_000}) {
		t.Fatalf("confirmed balance %+v, %v", bal, err)
	}
	utxos, err := cl.Unspent(ctx, sh)
	if err != nil || len(utxos) != 1 || utxos[0] != (walletgate.UTXO{TxHash: funded.TxID, TxPos: funded.Vout, Height: height + 1, Value: 100_000}) {
		t.Fatalf("unspent %+v, %v", utxos, err)
	}
	tip, err := cl.Tip(ctx)
	bestHash, _ := node.BlockHash(ctx, height+1)
	if err != nil || tip.Height != height+1 || headerHash(t, tip.Header) != bestHash {
		t.Fatalf("tip %+v (%v), node best %s", tip, err, bestHash)
	}

	// Verbose transactions are the node's own JSON; unknown ones fail per item.
	unknown := strings.Repeat("ab", 32)
	res, err := cl.Transactions(ctx, []string{funded.TxID, unknown})
	if err != nil {
		t.Fatal(err)
	}
	nodeVerbose, err := node.Call(ctx, "getrawtransaction", funded.TxID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, res[0].Verbose, nodeVerbose) {
		t.Fatalf("verbose tx differs from the node's:\n%s\n%s", res[0].Verbose, nodeVerbose)
	}
	var re *walletgate.RPCError
	if !errors.As(res[1].Err, &re) || re.Code != 2 || re.Message != electrumtest.MsgNoSuchTx {
		t.Fatalf("unknown tx: %v", res[1].Err)
	}
	raw, err := cl.RawTransaction(ctx, funded.TxID)
	var nodeRaw string
	rawJSON, _ := node.Call(ctx, "getrawtransaction", funded.TxID, 0)
	_ = json.Unmarshal(rawJSON, &nodeRaw)
	if err != nil || raw != nodeRaw {
		t.Fatalf("raw tx %q (%v), node %q", raw, err, nodeRaw)
	}

	// Broadcast a spend of an anyone-can-spend P2WSH(OP_TRUE) output.
	witnessScript := []byte{0x51}
	wsh := sha256.Sum256(witnessScript)
	p2wsh := append([]byte{0x00, 0x20}, wsh[:]...)
	coin, err := node.Fund(ctx, p2wsh, 50_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	prev, err := chainhash.NewHashFromStr(coin.TxID)
	if err != nil {
		t.Fatal(err)
	}
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(prev, coin.Vout), nil, wire.TxWitness{witnessScript}))
	tx.AddTxOut(wire.NewTxOut(49_000, key.Script()))
	txid, err := cl.Broadcast(ctx, txHexOf(tx))
	if err != nil || txid != tx.TxHash().String() {
		t.Fatalf("broadcast: %q, %v", txid, err)
	}
	if bal, err := cl.Balance(ctx, sh); err != nil || bal != (walletgate.Balance{Confirmed: 100_000, Unconfirmed: 49_000}) {
		t.Fatalf("balance after broadcast %+v, %v", bal, err)
	}
	// The node refuses a second copy; the message is kept verbatim.
	_, err = cl.Broadcast(ctx, txHexOf(tx))
	if !errors.As(err, &re) || re.Code != 1 || !strings.HasPrefix(re.Message, "the transaction was rejected by network rules.\n\n") || !strings.HasSuffix(re.Message, "\n["+txHexOf(tx)+"]") {
		t.Fatalf("rebroadcast: %v", err)
	}
}

func headerHash(t *testing.T, hexHeader string) string {
	t.Helper()
	var h wire.BlockHeader
	raw, err := hexDecode(hexHeader)
	if err == nil {
		err = h.Deserialize(bytes.NewReader(raw))
	}
	if err != nil {
		t.Fatalf("header %q: %v", hexHeader, err)
	}
	return h.BlockHash().String()
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
