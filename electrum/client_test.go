package electrum

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

func TestBackendReadsScriptedChain(t *testing.T) {
	chain := electrumtest.NewMemChain()
	a := chain.Pay(script(1), 5000)
	chain.Mine(1)
	b := chain.Pay(script(1), 700)                                                       // mempool, confirmed-only inputs: height 0
	spend := chain.Spend([]wire.OutPoint{{Hash: a.TxHash(), Index: 0}}, script(2), 4000) // spends a in the mempool
	srv := startServer(t, chain, electrumtest.Config{})
	cl := newClient(t, clientConfig(t, srv), nil)
	ctx := ctxT(t)

	bal, err := cl.Balance(ctx, shOf(1))
	if err != nil {
		t.Fatal(err)
	}
	if bal != (walletgate.Balance{Confirmed: 5000, Unconfirmed: 700 - 5000}) {
		t.Fatalf("balance %+v", bal)
	}
	hist, err := cl.History(ctx, shOf(1))
	if err != nil {
		t.Fatal(err)
	}
	// Mempool: both at height 0 (their inputs are confirmed or unknown),
	// ordered by txid.
	mem := []string{b.TxHash().String(), spend.TxHash().String()}
	if mem[0] > mem[1] {
		mem[0], mem[1] = mem[1], mem[0]
	}
	want := []walletgate.HistoryEntry{{TxHash: a.TxHash().String(), Height: 1}, {TxHash: mem[0]}, {TxHash: mem[1]}}
	if len(hist) != 3 {
		t.Fatalf("history %+v", hist)
	}
	for i := range want {
		if hist[i].TxHash != want[i].TxHash || hist[i].Height != want[i].Height {
			t.Fatalf("history[%d] = %+v, want %+v (all %+v)", i, hist[i], want[i], hist)
		}
	}
	if hist[1].Fee+hist[2].Fee != 1000 { // spend: 5000 in, 4000 out; b's input is unknown: fee 0
		t.Fatalf("mempool fees %d + %d, want 1000 in total", hist[1].Fee, hist[2].Fee)
	}
	utxos, err := cl.Unspent(ctx, shOf(1))
	if err != nil {
		t.Fatal(err)
	}
	// a's output is spent in the mempool: only b's output is left, at height 0.
	if len(utxos) != 1 || utxos[0] != (walletgate.UTXO{TxHash: b.TxHash().String(), TxPos: 0, Height: 0, Value: 700}) {
		t.Fatalf("unspent %+v", utxos)
	}
	raw, err := cl.RawTransaction(ctx, a.TxHash().String())
	if err != nil || len(raw) < 100 {
		t.Fatalf("raw tx %q, %v", raw, err)
	}
	tip, err := cl.Tip(ctx)
	if err != nil || tip.Height != 1 || len(tip.Header) != 160 {
		t.Fatalf("tip %+v, %v", tip, err)
	}
}

func TestTransactionsBatchKeepsPerItemErrors(t *testing.T) {
	chain := electrumtest.NewMemChain()
	a := chain.Pay(script(1), 5000)
	chain.Mine(1)
	b := chain.Pay(script(2), 6000)
	srv := startServer(t, chain, electrumtest.Config{})
	cl := newClient(t, clientConfig(t, srv), nil)
	unknown := strings.Repeat("ab", 32)
	before := srv.Count("blockchain.transaction.get")
	res, err := cl.Transactions(ctxT(t), []string{a.TxHash().String(), unknown, b.TxHash().String()})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("blockchain.transaction.get") - before; n != 3 {
		t.Fatalf("server saw %d transaction.get, want 3", n)
	}
	for i, want := range []string{a.TxHash().String(), "", b.TxHash().String()} {
		if want == "" {
			var re *walletgate.RPCError
			if !errors.As(res[i].Err, &re) || re.Code != 2 || re.Message != electrumtest.MsgNoSuchTx {
				t.Fatalf("item %d: err %v, want code 2 %q", i, res[i].Err, electrumtest.MsgNoSuchTx)
			}
			continue
		}
		var v struct {
			Txid string `json:"txid"`
		}
		if res[i].Err != nil || json.Unmarshal(res[i].Verbose, &v) != nil || v.Txid != want {
			t.Fatalf("item %d: %s, %v; want txid %s", i, res[i].Verbose, res[i].Err, want)
		}
	}
}

func TestBadInputIsInvalid(t *testing.T) {
	srv := startServer(t, electrumtest.NewMemChain(), electrumtest.Config{})
	cl := newClient(t, clientConfig(t, srv), nil)
	ctx := ctxT(t)
	for name, call := range map[string]func() error{
		"balance short sh":  func() error { _, err := cl.Balance(ctx, "abc"); return err },
		"history non-hex":   func() error { _, err := cl.History(ctx, walletgate.ScriptHash(strings.Repeat("zz", 32))); return err },
		"unspent empty":     func() error { _, err := cl.Unspent(ctx, ""); return err },
		"raw tx bad txid":   func() error { _, err := cl.RawTransaction(ctx, "1234"); return err },
		"txs bad txid":      func() error { _, err := cl.Transactions(ctx, []string{"x"}); return err },
		"broadcast non-hex": func() error { _, err := cl.Broadcast(ctx, "nothex"); return err },
		"subscribe bad sh":  func() error { _, err := cl.Subscribe(ctx, "00"); return err },
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), walletgate.EInvalid) })
	}
	if srv.Count("blockchain.scripthash.get_balance") != 0 {
		t.Fatal("invalid input reached the server")
	}
}

func TestBroadcast(t *testing.T) {
	chain := electrumtest.NewMemChain()
	srv := startServer(t, chain, electrumtest.Config{})
	cl := newClient(t, clientConfig(t, srv), nil)
	ctx := ctxT(t)
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 7}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(1234, script(9)))
	rawHex := txHexOf(tx)
	txid, err := cl.Broadcast(ctx, rawHex)
	if err != nil || txid != tx.TxHash().String() {
		t.Fatalf("broadcast: %q, %v", txid, err)
	}
	if bal, _ := cl.Balance(ctx, shOf(9)); bal.Unconfirmed != 1234 {
		t.Fatalf("broadcast tx not in mempool: %+v", bal)
	}
	chain.SetReject("bad-txns-inputs-missingorspent")
	_, err = cl.Broadcast(ctx, rawHex)
	var re *walletgate.RPCError
	want := "the transaction was rejected by network rules.\n\nbad-txns-inputs-missingorspent\n[" + rawHex + "]"
	if !errors.As(err, &re) || re.Code != 1 || re.Message != want {
		t.Fatalf("rejection: %v, want code 1 %q", err, want)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"protocol 1.7", Config{Host: "h", Port: 1, ProtocolMax: "1.7"}, "1.7 removed"},
		{"min above max", Config{Host: "h", Port: 1, ProtocolMin: "1.6", ProtocolMax: "1.4"}, "above max"},
		{"below 1.4", Config{Host: "h", Port: 1, ProtocolMin: "1.2"}, "below 1.4"},
		{"garbage version", Config{Host: "h", Port: 1, ProtocolMax: "one"}, "not a version"},
		{"no host", Config{Port: 1}, "host is empty"},
		{"bad port", Config{Host: "h", Port: 70000}, "port 70000"},
		{"negative pool", Config{Host: "h", Port: 1, PoolSize: -1}, "pool size"},
		{"backoff order", Config{Host: "h", Port: 1, BackoffMin: 2e9, BackoffMax: 1e9}, "backoff min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.cfg, "BTC", nil, nil)
			wantCode(t, err, walletgate.EInvalid)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	cl, err := New(context.Background(), Config{Host: "127.0.0.1", Port: 1, ProtocolMax: "1.6"}, "BTC", nil, nil)
	if err != nil {
		t.Fatalf("1.6 must be accepted: %v", err)
	}
	cl.Close()
}

func TestCloseStopsEverything(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{})
	time.Sleep(50 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	cl, err := New(context.Background(), clientConfig(t, srv), "BTC", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, cl)
	if _, err := cl.Subscribe(ctxT(t), shOf(1)); err != nil {
		t.Fatal(err)
	}
	if st := cl.Stats(); st != (Stats{PoolConnections: 4, SubscriberUp: true, Subscriptions: 1}) {
		t.Fatalf("stats %+v", st)
	}
	if _, err := cl.Balance(ctxT(t), shOf(1)); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if st := cl.Stats(); st.PoolConnections != 0 || st.SubscriberUp {
		t.Fatalf("stats after Close %+v", st)
	}
	_, err = cl.Balance(ctxT(t), shOf(1))
	wantCode(t, err, walletgate.EUnavailable)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left over %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.SessionCount(); n != 0 {
		t.Fatalf("%d server sessions still open", n)
	}
}
