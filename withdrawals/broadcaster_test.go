package withdrawals_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/deposits"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/nodewallet"
	"github.com/walletgate/walletgate/sqlite"
	"github.com/walletgate/walletgate/withdrawals"
)

// rig is a real btcd regtest node with btcwallet on top, a nodewallet
// speaking to it, and a SQLite store.
type rig struct {
	node  *regtest.Node
	rw    *regtest.Wallet
	w     *nodewallet.Wallet
	store *sqlite.Store
}

func startRig(t *testing.T) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("starts btcd and btcwallet")
	}
	node := regtest.Start(t)
	rw := regtest.StartWallet(t, node)
	w, err := nodewallet.New(nodewallet.Config{URL: rw.RPCURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &rig{node: node, rw: rw, w: w, store: st}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// deposit credits account with a real payment: the harness's mining key
// pays a fresh wallet address watched for account, a block confirms it,
// and the tracker applies the wallet's view of it (credit at 1).
func (r *rig) deposit(t *testing.T, ctx context.Context, tr *deposits.Tracker, account string, sats int64) {
	t.Helper()
	wt, err := tr.CreateAddress(ctx, "btc", account, "")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := chain.Lookup("btc", "regtest")
	a, err := p.Decode(wt.Address)
	if err != nil {
		t.Fatal(err)
	}
	op, err := r.node.Fund(ctx, a.Script, sats)
	if err != nil {
		t.Fatal(err)
	}
	r.mine(t, ctx)
	r.waitConf(t, ctx, op.TxID, 1)
	if err := tr.WalletNotify(ctx, "btc", op.TxID); err != nil {
		t.Fatal(err)
	}
	if bal, _ := r.store.Balance(ctx, "btc", account); bal != sats {
		t.Fatalf("%s's balance after the deposit: %d, want %d", account, bal, sats)
	}
}

// mine confirms the mempool and waits until the wallet has seen the block.
func (r *rig) mine(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := r.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.rw.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitConf waits until the wallet reports txid with at least conf
// confirmations (btcwallet follows btcd asynchronously).
func (r *rig) waitConf(t *testing.T, ctx context.Context, txid string, conf int64) {
	t.Helper()
	for {
		tx, err := r.w.Transaction(ctx, txid)
		if err == nil && tx.Confirmations >= conf {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("tx %s never reached %d confirmations: %+v, %v", txid, conf, tx, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outputs reads what txid pays, per address, from the node itself.
func (r *rig) outputs(t *testing.T, ctx context.Context, txid string, keys ...*regtest.Key) map[string]int64 {
	t.Helper()
	var raw struct {
		Vout []struct {
			Value        json.Number `json:"value"`
			ScriptPubKey struct {
				Hex string `json:"hex"`
			} `json:"scriptPubKey"`
		} `json:"vout"`
	}
	if err := r.node.CallInto(ctx, &raw, "getrawtransaction", txid, 1); err != nil {
		t.Fatalf("getrawtransaction %s: %v", txid, err)
	}
	out := map[string]int64{}
	for _, v := range raw.Vout {
		for _, k := range keys {
			if v.ScriptPubKey.Hex == hex.EncodeToString(k.Script()) {
				sats, err := regtest.ParseBTC(v.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[k.Address()] += sats
			}
		}
	}
	return out
}

// flaky is a Sender that fails some calls; lost says whether the failing
// call still sent (a reply lost after the wallet broadcast) or never
// reached the wallet. It counts the calls that reached the wallet.
type flaky struct {
	inner walletgate.Sender
	mu    sync.Mutex
	fails int  // calls still to fail
	lost  bool // a failing call sends first
	sent  []string
	calls int
}

func (f *flaky) Send(ctx context.Context, to map[string]int64, label string) (string, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fails > 0 {
		f.fails--
		if !f.lost {
			return "", 0, walletgate.Errorf(walletgate.EUnavailable, "connection refused")
		}
		txid, _, err := f.inner.Send(ctx, to, label)
		if err != nil {
			return "", 0, err
		}
		f.sent = append(f.sent, txid)
		return "", 0, errors.New("read tcp: connection reset by peer")
	}
	txid, fee, err := f.inner.Send(ctx, to, label)
	if txid != "" {
		f.sent = append(f.sent, txid)
	}
	return txid, fee, err
}

func (f *flaky) stats() (calls int, sent []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]string(nil), f.sent...)
}

func broadcastsIn(t *testing.T, st *sqlite.Store, state string) []walletgate.Broadcast {
	t.Helper()
	bs, _, err := st.ListBroadcasts(context.Background(), "btc", state, walletgate.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func queue(t *testing.T, st *sqlite.Store, account, addr string, sats int64, ext string) walletgate.OutgoingTx {
	t.Helper()
	o, err := st.QueueSend(context.Background(), walletgate.SendRequest{Coin: "btc", Account: account, Address: addr, Amount: sats, ExternalID: ext}, time.Now())
	if err != nil {
		t.Fatalf("QueueSend %s: %v", ext, err)
	}
	return o
}

// TestBroadcastRegtest sends queued payments through a real btcwallet:
// one transaction pays every destination its summed amount, the fee is
// booked on "Network fees", confirmations come back as broadcast
// txupdates, and a failed send is never repeated until an operator acts.
func TestBroadcastRegtest(t *testing.T) {
	r := startRig(t)
	ctx := testCtx(t)
	var mu sync.Mutex
	var events []walletgate.TxUpdate
	tr, err := deposits.New(r.store, map[string]deposits.Coin{"btc": {Wallet: r.w, CreditAt: 1}}, deposits.Options{
		OnEvents: func(_ string, ev []walletgate.TxUpdate) { mu.Lock(); events = append(events, ev...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	r.deposit(t, ctx, tr, "alice", 50_000_000)

	d1, d2 := regtest.NewKey(t, regtest.P2WPKH), regtest.NewKey(t, regtest.P2PKH)
	s1 := queue(t, r.store, "alice", d1.Address(), 1_000_000, "pay-1")
	s2 := queue(t, r.store, "alice", d2.Address(), 2_500_000, "pay-2")
	s3 := queue(t, r.store, "alice", d1.Address(), 300_000, "pay-3")
	if bal, _ := r.store.Balance(ctx, "btc", "alice"); bal != 50_000_000-3_800_000 {
		t.Fatalf("balance after queueing: %d", bal)
	}

	snd := &flaky{inner: r.w}
	bc, err := withdrawals.New(r.store, map[string]walletgate.Sender{"btc": snd}, withdrawals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bc.RunOnce(ctx, "btc"); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	closed := broadcastsIn(t, r.store, walletgate.BroadcastClosed)
	if len(closed) != 1 || len(closed[0].SendIDs) != 3 {
		t.Fatalf("closed broadcasts %+v; want one carrying the three sends", closed)
	}
	b := closed[0]
	if got := r.outputs(t, ctx, b.TxID, d1, d2); got[d1.Address()] != 1_300_000 || got[d2.Address()] != 2_500_000 {
		t.Fatalf("on-chain tx %s pays %v; want %s 1300000 and %s 2500000 in one transaction", b.TxID, got, d1.Address(), d2.Address())
	}
	if b.Fee <= 0 || b.Fee > 10_000 {
		t.Fatalf("fee %d sat; want btcwallet's 1 sat/vB fee", b.Fee)
	}
	if fees, _ := r.store.Balance(ctx, "btc", walletgate.NetworkFeesAccount); fees != -b.Fee {
		t.Fatalf("%q balance %d, want -%d", walletgate.NetworkFeesAccount, fees, b.Fee)
	}
	for _, ext := range []string{"pay-1", "pay-2", "pay-3"} {
		if o, _ := r.store.OutgoingTx(ctx, "btc", ext); o.State != walletgate.SendBroadcasted || o.TxID != b.TxID {
			t.Fatalf("send %s after the round: %+v", ext, o)
		}
	}
	if bc.LastBroadcast("btc").IsZero() {
		t.Fatal("LastBroadcast not stamped")
	}
	// A second round with nothing queued sends nothing.
	if err := bc.RunOnce(ctx, "btc"); err != nil {
		t.Fatal(err)
	}
	if calls, _ := snd.stats(); calls != 1 {
		t.Fatalf("%d sends after an empty round, want 1", calls)
	}

	// Confirmations: the poll fetches the send and emits one txupdate per
	// queued send.
	r.mine(t, ctx)
	r.waitConf(t, ctx, b.TxID, 1)
	mu.Lock()
	events = nil
	mu.Unlock()
	if err := tr.Poll(ctx, "btc"); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	mu.Lock()
	got := append([]walletgate.TxUpdate(nil), events...)
	mu.Unlock()
	var bev []walletgate.TxUpdate
	for _, e := range got {
		if e.TransactionType == walletgate.TxTypeBroadcast {
			bev = append(bev, e)
		}
	}
	if len(bev) != 3 {
		t.Fatalf("broadcast events %+v; want one per send", got)
	}
	for i, s := range []walletgate.OutgoingTx{s1, s2, s3} {
		e := bev[i]
		if e.TransactionID != s.ID || e.Account != "alice" || e.Address != s.Address || e.Amount != s.Amount || e.Confirmations != 1 || e.TxID != b.TxID {
			t.Fatalf("event %d = %+v for send %+v", i, e, s)
		}
	}

	// A reply lost after the wallet sent: the broadcast stays open, the
	// next round does not send it again, the operator resolves it.
	snd.mu.Lock()
	snd.fails, snd.lost = 1, true
	snd.mu.Unlock()
	queue(t, r.store, "alice", d2.Address(), 400_000, "pay-4")
	if err := bc.RunOnce(ctx, "btc"); err == nil {
		t.Fatal("RunOnce hid the send failure")
	}
	open := broadcastsIn(t, r.store, walletgate.BroadcastOpen)
	if len(open) != 1 {
		t.Fatalf("open broadcasts %+v; want the failed one", open)
	}
	if err := bc.RunOnce(ctx, "btc"); err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	calls, sent := snd.stats()
	if calls != 2 || len(sent) != 2 {
		t.Fatalf("wallet called %d times, %d payments made; want 2 and 2: an open broadcast was resent", calls, len(sent))
	}
	lostTx := sent[1]
	if got := r.outputs(t, ctx, lostTx, d2); got[d2.Address()] != 400_000 {
		t.Fatalf("the lost send %s pays %v", lostTx, got)
	}
	resolved, err := r.store.CloseBroadcast(ctx, "btc", open[0].ID, lostTx, 0, time.Now())
	if err != nil || resolved.State() != walletgate.BroadcastClosed {
		t.Fatalf("resolve: %+v, %v", resolved, err)
	}
	if o, _ := r.store.OutgoingTx(ctx, "btc", "pay-4"); o.State != walletgate.SendBroadcasted || o.TxID != lostTx {
		t.Fatalf("resolved send %+v", o)
	}

	// A send that never reached the wallet: open until released, then
	// sent by the next round. (btcwallet spends only confirmed coins, so
	// the change of the last send is mined first.)
	r.mine(t, ctx)
	snd.mu.Lock()
	snd.fails, snd.lost = 1, false
	snd.mu.Unlock()
	queue(t, r.store, "alice", d1.Address(), 700_000, "pay-5")
	if err := bc.RunOnce(ctx, "btc"); err == nil {
		t.Fatal("RunOnce hid the send failure")
	}
	open = broadcastsIn(t, r.store, walletgate.BroadcastOpen)
	if len(open) != 1 {
		t.Fatalf("open broadcasts %+v", open)
	}
	if _, err := r.store.ReleaseBroadcast(ctx, "btc", open[0].ID, time.Now()); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := bc.RunOnce(ctx, "btc"); err != nil {
		t.Fatalf("RunOnce after release: %v", err)
	}
	after, err := r.store.Broadcast(ctx, "btc", open[0].ID)
	if err != nil || after.State() != walletgate.BroadcastClosed {
		t.Fatalf("released broadcast after a round: %+v, %v", after, err)
	}
	if got := r.outputs(t, ctx, after.TxID, d1); got[d1.Address()] != 700_000 {
		t.Fatalf("released broadcast %s pays %v", after.TxID, got)
	}
	if bal, _ := r.store.Balance(ctx, "btc", "alice"); bal != 50_000_000-3_800_000-400_000-700_000 {
		t.Fatalf("alice's final balance %d", bal)
	}
}

// feeless pays through the wallet but reports the fee as unreadable, the
// way nodewallet does when gettransaction fails after sendmany.
type feeless struct{ inner walletgate.Sender }

func (f feeless) Send(ctx context.Context, to map[string]int64, label string) (string, int64, error) {
	txid, _, err := f.inner.Send(ctx, to, label)
	if err != nil {
		return "", 0, err
	}
	return txid, 0, walletgate.Errorf(walletgate.EBackend, "gettransaction %s after sendmany: timeout", txid)
}

// TestBroadcastFeeUnreadable: a txid returned with an error is recorded
// as closed with fee 0, not left open (it is on chain).
func TestBroadcastFeeUnreadable(t *testing.T) {
	r := startRig(t)
	ctx := testCtx(t)
	tr, err := deposits.New(r.store, map[string]deposits.Coin{"btc": {Wallet: r.w, CreditAt: 1}}, deposits.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.deposit(t, ctx, tr, "bob", 10_000_000)
	d := regtest.NewKey(t, regtest.P2WPKH)
	queue(t, r.store, "bob", d.Address(), 1_234_567, "f-1")
	bc, err := withdrawals.New(r.store, map[string]walletgate.Sender{"btc": feeless{r.w}}, withdrawals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bc.RunOnce(ctx, "btc"); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	closed := broadcastsIn(t, r.store, walletgate.BroadcastClosed)
	if len(closed) != 1 || closed[0].Fee != 0 || len(broadcastsIn(t, r.store, walletgate.BroadcastOpen)) != 0 {
		t.Fatalf("closed %+v; want one closed with fee 0 and none open", closed)
	}
	if got := r.outputs(t, ctx, closed[0].TxID, d); got[d.Address()] != 1_234_567 {
		t.Fatalf("tx pays %v", got)
	}
	if fees, _ := r.store.Balance(ctx, "btc", walletgate.NetworkFeesAccount); fees != 0 {
		t.Fatalf("fee balance %d, want 0", fees)
	}
}
