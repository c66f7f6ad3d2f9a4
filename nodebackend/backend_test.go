package nodebackend

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/index"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/rpc"
)

// events collects published events and lets a test wait for one.
type events struct {
	mu   sync.Mutex
	all  []walletgate.Event
	more chan struct{}
}

func newEvents() *events { return &events{more: make(chan struct{}, 1)} }

func (e *events) Publish(ev walletgate.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.more <- struct{}{}:
	default:
	}
}

// waitFor returns the first event (removing it and all before it) that
// matches, or fails after timeout.
func (e *events) waitFor(t *testing.T, what string, timeout time.Duration, match func(walletgate.Event) bool) walletgate.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		e.mu.Lock()
		for i, ev := range e.all {
			if match(ev) {
				e.all = e.all[i+1:]
				e.mu.Unlock()
				return ev
			}
		}
		e.mu.Unlock()
		select {
		case <-e.more:
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("no %s event within %s; got %+v", what, timeout, e.all)
		}
	}
}

func newBackend(t *testing.T, node *regtest.Node, sink walletgate.EventSink, opts index.Options) *Backend {
	t.Helper()
	opts.Path = filepath.Join(t.TempDir(), "btc", "index.db")
	opts.Logger = slog.New(slog.DiscardHandler)
	b, err := New(Config{Coin: "BTC", RPC: rpc.Config{URL: node.RPCURL()}, Index: opts}, sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func shOf(k *regtest.Key) walletgate.ScriptHash {
	return walletgate.ScriptHash(electrumtest.ScriptHashOf(k.Script()))
}

// reference answers from electrumtest's independent index of the node.
func reference(t *testing.T, node *regtest.Node) *electrumtest.Index {
	t.Helper()
	x, err := electrumtest.NewIndexer(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	return x.Snapshot()
}

// sameAsReference compares a script's balance, history, unspent outputs
// and status with the reference.
func sameAsReference(t *testing.T, b *Backend, ref *electrumtest.Index, sh walletgate.ScriptHash) {
	t.Helper()
	ctx := context.Background()
	bal, err := b.Balance(ctx, sh)
	c, u := ref.Balance(string(sh))
	if err != nil || bal != (walletgate.Balance{Confirmed: c, Unconfirmed: u}) {
		t.Errorf("%s balance %+v (%v); reference %d/%d", sh, bal, err, c, u)
	}
	hist, err := b.History(ctx, sh)
	var want []walletgate.HistoryEntry
	for _, it := range ref.History(string(sh)) {
		want = append(want, walletgate.HistoryEntry{TxHash: it.TxHash, Height: it.Height, Fee: it.Fee})
	}
	if err != nil || !reflect.DeepEqual(hist, want) {
		t.Errorf("%s history %+v (%v); reference %+v", sh, hist, err, want)
	}
	utxos, err := b.Unspent(ctx, sh)
	var wantU []walletgate.UTXO
	for _, it := range ref.Unspent(string(sh)) {
		wantU = append(wantU, walletgate.UTXO{TxHash: it.TxHash, TxPos: it.TxPos, Height: it.Height, Value: it.Value})
	}
	if err != nil || !reflect.DeepEqual(utxos, wantU) {
		t.Errorf("%s unspent %+v (%v); reference %+v", sh, utxos, err, wantU)
	}
}

func isScript(sh walletgate.ScriptHash) func(walletgate.Event) bool {
	return func(ev walletgate.Event) bool { return ev.Kind == walletgate.EventScriptHash && ev.ScriptHash == sh }
}

func isBlock(height int64) func(walletgate.Event) bool {
	return func(ev walletgate.Event) bool { return ev.Kind == walletgate.EventBlock && ev.Tip.Height == height }
}

func TestBackendPushAndReorg(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts index.Options
		ws   bool
	}{
		// Polling only, at a short interval.
		{"poll", index.Options{PollInterval: 100 * time.Millisecond}, false},
		// Polling so slow that only btcd's websocket can deliver in time.
		{"websocket", index.Options{PollInterval: time.Hour}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := regtest.Start(t)
			ctx := context.Background()
			if tc.ws {
				tc.opts.WebsocketURL, tc.opts.WebsocketUser, tc.opts.WebsocketPass = node.WebsocketURL(), node.RPCUser(), node.RPCPass()
			}
			ev := newEvents()
			b := newBackend(t, node, ev, tc.opts)
			ev.waitFor(t, "first block", 5*time.Second, isBlock(101))
			key := regtest.NewKey(t, regtest.P2TR)
			sh := shOf(key)
			st, err := b.Subscribe(ctx, sh)
			if err != nil || st != "" {
				t.Fatalf("Subscribe(fresh) = %q, %v; want empty status", st, err)
			}
			if tc.ws {
				time.Sleep(300 * time.Millisecond) // let the socket subscribe before the first tx
			}

			// Mempool entry.
			op, err := node.Fund(ctx, key.Script(), 70_000)
			if err != nil {
				t.Fatal(err)
			}
			got := ev.waitFor(t, "mempool status", 10*time.Second, isScript(sh))
			ref := reference(t, node)
			if got.Status != ref.Status(string(sh)) || got.Status == "" || got.Coin != "BTC" {
				t.Fatalf("mempool event %+v; reference status %q", got, ref.Status(string(sh)))
			}
			sameAsReference(t, b, ref, sh)

			// Confirmation: a block event and a new status.
			if _, err := node.Generate(ctx, 1); err != nil {
				t.Fatal(err)
			}
			ev.waitFor(t, "block 102", 10*time.Second, isBlock(102))
			got = ev.waitFor(t, "confirmed status", 10*time.Second, isScript(sh))
			ref = reference(t, node)
			if got.Status != ref.Status(string(sh)) {
				t.Fatalf("confirmation event status %q; reference %q", got.Status, ref.Status(string(sh)))
			}
			if bal, _ := b.Balance(ctx, sh); bal.Confirmed != 70_000 || bal.Unconfirmed != 0 {
				t.Fatalf("balance after confirmation %+v", bal)
			}

			// Spend in the mempool, then a 2-block reorg that confirms it
			// again in the new chain.
			other := regtest.NewKey(t, regtest.P2PKH)
			if _, err := b.Subscribe(ctx, shOf(other)); err != nil {
				t.Fatal(err)
			}
			sent, err := node.Spend(ctx, []regtest.Input{{Outpoint: op, Key: key}},
				[]regtest.Output{{Script: other.Script(), Value: 25_000}}, 0)
			if err != nil {
				t.Fatal(err)
			}
			ev.waitFor(t, "spend status", 10*time.Second, isScript(sh))
			if bal, _ := b.Balance(ctx, sh); bal.Confirmed != 70_000 || bal.Unconfirmed != -70_000+sent.Outputs[1].Value {
				t.Fatalf("balance with mempool spend %+v; want 70000/%d", bal, -70_000+sent.Outputs[1].Value)
			}
			if _, err := node.Generate(ctx, 1); err != nil {
				t.Fatal(err)
			}
			ev.waitFor(t, "block 103", 10*time.Second, isBlock(103))
			if _, _, err := node.Reorg(ctx, 2, 3); err != nil {
				t.Fatal(err)
			}
			if tc.ws {
				b.Notify() // btcd's invalidateblock sends no notification
			}
			ev.waitFor(t, "reorg tip 104", 10*time.Second, isBlock(104))
			ref = reference(t, node)
			for _, s := range []walletgate.ScriptHash{sh, shOf(other)} {
				sameAsReference(t, b, ref, s)
			}
			if bal, _ := b.Balance(ctx, shOf(other)); bal.Confirmed != 25_000 {
				t.Fatalf("receiver's balance after reorg %+v; want 25000 confirmed", bal)
			}
			tip, err := b.Tip(ctx)
			if err != nil || tip.Height != 104 {
				t.Fatalf("Tip = %+v, %v; want 104", tip, err)
			}
		})
	}
}

func TestBackendTransactionsAndBroadcast(t *testing.T) {
	node := regtest.Start(t)
	ctx := context.Background()
	ev := newEvents()
	b := newBackend(t, node, ev, index.Options{PollInterval: time.Hour})
	key := newOwnKey(t)
	op, err := node.Fund(ctx, key.script, 40_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	unknown := strings.Repeat("0", 64)
	res, err := b.Transactions(ctx, []string{op.TxID, unknown})
	if err != nil || len(res) != 2 {
		t.Fatalf("Transactions = %+v, %v", res, err)
	}
	want, err := node.Call(ctx, "getrawtransaction", op.TxID, 1)
	if err != nil {
		t.Fatal(err)
	}
	var a, w any
	_ = json.Unmarshal(res[0].Verbose, &a)
	_ = json.Unmarshal(want, &w)
	if !reflect.DeepEqual(a, w) {
		t.Fatalf("verbose tx differs from the node's:\n got %s\nwant %s", res[0].Verbose, want)
	}
	var re *walletgate.RPCError
	// Node errors reach clients in ElectrumX's wrapping, as over ElectrumX.
	wantUnknown := "daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})"
	if !errors.As(res[1].Err, &re) || re.Code != 2 || re.Message != wantUnknown {
		t.Fatalf("unknown txid error %v; want ElectrumX's code 2 %q", res[1].Err, wantUnknown)
	}
	if _, err := b.RawTransaction(ctx, strings.Repeat("0", 63)+"1"); !errors.As(err, &re) || re.Code != 2 || re.Message != wantUnknown {
		t.Fatalf("RawTransaction of an unknown txid: %v; want ElectrumX's code 2", err)
	}
	raw, err := b.RawTransaction(ctx, op.TxID)
	if err != nil || len(raw) < 100 {
		t.Fatalf("RawTransaction = %q, %v", raw, err)
	}

	// Broadcast a real spend: its txid comes back and the subscriber hears
	// of it without waiting for the (hour-long) poll.
	if _, err := b.Subscribe(ctx, key.sh()); err != nil {
		t.Fatal(err)
	}
	signedHex, signedID := key.spend(t, op)
	txid, err := b.Broadcast(ctx, signedHex)
	if err != nil || txid != signedID {
		t.Fatalf("Broadcast = %q, %v; want %s", txid, err, signedID)
	}
	ev.waitFor(t, "broadcast status", 10*time.Second, isScript(key.sh()))
	rejected := "the transaction was rejected by network rules.\n\n"
	if _, err := b.Broadcast(ctx, signedHex); !errors.As(err, &re) || re.Code != 1 ||
		!strings.HasPrefix(re.Message, rejected) || !strings.HasSuffix(re.Message, "\n["+signedHex+"]") {
		t.Fatalf("re-broadcast error %v; want ElectrumX's code 1 rejection carrying the raw hex", err)
	}
	if _, err := b.Broadcast(ctx, "zz"); !errors.As(err, &re) || re.Code != 1 || !strings.HasPrefix(re.Message, rejected) {
		t.Fatalf("bad-hex broadcast error %v; want ElectrumX's code 1 rejection", err)
	}
}

func TestBackendRejectsBadInput(t *testing.T) {
	node := regtest.Start(t)
	b := newBackend(t, node, nil, index.Options{PollInterval: time.Hour})
	ctx := context.Background()
	for _, sh := range []walletgate.ScriptHash{"", "zz", walletgate.ScriptHash(strings.Repeat("g", 64)), walletgate.ScriptHash(strings.Repeat("a", 65))} {
		if _, err := b.Balance(ctx, sh); walletgate.ErrorCode(err) != walletgate.EInvalid || !strings.Contains(walletgate.ErrorMessage(err), "script hash") {
			t.Errorf("Balance(%q) = %v; want EInvalid naming the script hash", sh, err)
		}
		if _, err := b.Subscribe(ctx, sh); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("Subscribe(%q) = %v; want EInvalid", sh, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// ownKey is a P2WPKH key the test signs with itself, so it can build a
// transaction without broadcasting it (the harness's Spend broadcasts).
type ownKey struct {
	priv   *btcec.PrivateKey
	script []byte
}

func newOwnKey(t *testing.T) *ownKey {
	t.Helper()
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &ownKey{priv: priv, script: append([]byte{0x00, 0x14}, address.Hash160(priv.PubKey().SerializeCompressed())...)}
}

func (k *ownKey) sh() walletgate.ScriptHash {
	return walletgate.ScriptHash(electrumtest.ScriptHashOf(k.script))
}

// spend signs a transaction sending op back to k minus a 1,000 sat fee.
func (k *ownKey) spend(t *testing.T, op regtest.Outpoint) (rawHex, txid string) {
	t.Helper()
	prev, err := chainhash.NewHashFromStr(op.TxID)
	if err != nil {
		t.Fatal(err)
	}
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(prev, op.Vout), nil, nil))
	tx.AddTxOut(wire.NewTxOut(op.Value-1000, k.script))
	hashes := txscript.NewTxSigHashes(tx, txscript.NewCannedPrevOutputFetcher(k.script, op.Value))
	wit, err := txscript.WitnessSignature(tx, hashes, 0, op.Value, k.script, txscript.SigHashAll, k.priv, true)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].Witness = wit
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(buf.Bytes()), tx.TxHash().String()
}
