package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// LedgerStore is a store holding both deposits and broadcasts: sends debit
// the balances deposits credit, and both queue into one outbox.
type LedgerStore interface {
	walletgate.DepositStore
	walletgate.BroadcastStore
}

// RunBroadcastStore runs the BroadcastStore contract against a fresh store
// made by open. Subtests use coins of their own.
func RunBroadcastStore(t *testing.T, open func(t *testing.T) LedgerStore) {
	s := open(t)
	t.Run("QueueSend", func(t *testing.T) { testQueueSend(t, s) })
	t.Run("Lifecycle", func(t *testing.T) { testBroadcastLifecycle(t, s) })
	t.Run("ApplyBroadcastTx", func(t *testing.T) { testApplyBroadcastTx(t, s) })
	t.Run("BroadcastStaleView", func(t *testing.T) { testBroadcastStaleView(t, s) })
	t.Run("Validation", func(t *testing.T) { testBroadcastValidation(t, s) })
	t.Run("QueueSendRace", func(t *testing.T) { testQueueSendRace(t, s, s) })
	t.Run("NoOverdraft", func(t *testing.T) { testNoOverdraft(t, s, s) })
	t.Run("CollectRace", func(t *testing.T) { testCollectRace(t, s, s) })
	t.Run("OpenRace", func(t *testing.T) { testOpenRace(t, s, s) })
}

// RunSharedBroadcasts races two stores on one database (two processes):
// no double debit, no overdraft, every send collected once, every
// broadcast opened once.
func RunSharedBroadcasts(t *testing.T, open func(t *testing.T) (a, b LedgerStore)) {
	a, b := open(t)
	t.Run("QueueSendRace", func(t *testing.T) { testQueueSendRace(t, a, b) })
	t.Run("NoOverdraft", func(t *testing.T) { testNoOverdraft(t, a, b) })
	t.Run("CollectRace", func(t *testing.T) { testCollectRace(t, a, b) })
	t.Run("OpenRace", func(t *testing.T) { testOpenRace(t, a, b) })
}

func uniqueCoin(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
}

// credit gives account sats on coin through a confirmed deposit, the only
// way balances grow.
func credit(t *testing.T, s LedgerStore, coin, account string, sats int64) {
	t.Helper()
	addr := "dep-" + account + "-" + fmt.Sprint(time.Now().UnixNano())
	watch(t, s, coin, addr, account)
	apply(t, s, coin, walletgate.WalletTx{TxID: "credit-" + addr, Confirmations: 6, Details: []walletgate.WalletTxDetail{recv(addr, sats)}})
}

func queue(t *testing.T, s LedgerStore, r walletgate.SendRequest) walletgate.OutgoingTx {
	t.Helper()
	o, err := s.QueueSend(ctxT(t), r, t0)
	if err != nil {
		t.Fatalf("QueueSend(%+v): %v", r, err)
	}
	return o
}

func collect(t *testing.T, s LedgerStore, coin string, max int) (walletgate.Broadcast, bool) {
	t.Helper()
	b, ok, err := s.CollectBroadcast(ctxT(t), coin, max, t0)
	if err != nil {
		t.Fatalf("CollectBroadcast(%s): %v", coin, err)
	}
	return b, ok
}

func fakeTxID(n int) string { return fmt.Sprintf("%064x", 0xb0000+n) }

func testQueueSend(t *testing.T, s LedgerStore) {
	ctx := ctxT(t)
	coin := uniqueCoin("qs")
	credit(t, s, coin, "alice", 10_000)
	r := walletgate.SendRequest{Coin: coin, Account: "alice", Address: "dest1", Amount: 3_000, ExternalID: "pay-1"}
	o := queue(t, s, r)
	if o.ID == 0 || o.State != walletgate.SendPending || o.Type != walletgate.OutgoingSend || o.BroadcastID != 0 ||
		o.Amount != 3_000 || o.Account != "alice" || o.Address != "dest1" || o.ExternalID != "pay-1" || o.Confirmations != -1 {
		t.Fatalf("QueueSend returned %+v", o)
	}
	if b := balance(t, s, coin, "alice"); b != 7_000 {
		t.Fatalf("balance after queueing 3000 of 10000: %d", b)
	}
	// The same request again is the same send, debited once.
	again := queue(t, s, r)
	if again.ID != o.ID || balance(t, s, coin, "alice") != 7_000 {
		t.Fatalf("repeat gave %+v, balance %d; want send %d and 7000", again, balance(t, s, coin, "alice"), o.ID)
	}
	for _, bad := range []walletgate.SendRequest{
		{Coin: coin, Account: "alice", Address: "dest1", Amount: 3_001, ExternalID: "pay-1"},
		{Coin: coin, Account: "alice", Address: "dest2", Amount: 3_000, ExternalID: "pay-1"},
		{Coin: coin, Account: "bob", Address: "dest1", Amount: 3_000, ExternalID: "pay-1"},
	} {
		_, err := s.QueueSend(ctx, bad, t0)
		wantErrPart(t, err, walletgate.EConflict, `external_id "pay-1" was already used`)
	}
	// Not enough: the error names the balance and the amount.
	_, err := s.QueueSend(ctx, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "dest1", Amount: 7_001, ExternalID: "pay-2"}, t0)
	if walletgate.ErrorCode(err) != walletgate.EInvalid || !strings.Contains(walletgate.ErrorMessage(err), "0.00007000") ||
		!strings.Contains(walletgate.ErrorMessage(err), "0.00007001") {
		t.Fatalf("overdraft: %v; want EInvalid naming 0.00007000 and 0.00007001", err)
	}
	// An account never credited has nothing.
	_, err = s.QueueSend(ctx, walletgate.SendRequest{Coin: coin, Account: "nobody", Address: "dest1", Amount: 1, ExternalID: "pay-3"}, t0)
	wantErrPart(t, err, walletgate.EInvalid, `account "nobody" has 0.00000000`)
	// A failed send leaves no trace: the id is free for a valid request.
	if _, err := s.OutgoingTx(ctx, coin, "pay-2"); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("OutgoingTx of a refused send: %v", err)
	}
	queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "dest1", Amount: 7_000, ExternalID: "pay-2"})
	if b := balance(t, s, coin, "alice"); b != 0 {
		t.Fatalf("balance after spending all: %d", b)
	}
	got, err := s.OutgoingTx(ctx, coin, "pay-1")
	if err != nil || got.ID != o.ID || got.Amount != 3_000 {
		t.Fatalf("OutgoingTx(pay-1) = %+v, %v", got, err)
	}
	// The external id is per coin.
	if _, err := s.OutgoingTx(ctx, "other"+coin, "pay-1"); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("OutgoingTx on another coin: %v", err)
	}
}

func testBroadcastLifecycle(t *testing.T, s LedgerStore) {
	ctx := ctxT(t)
	coin := uniqueCoin("bl")
	credit(t, s, coin, "alice", 100_000)
	credit(t, s, coin, "bob", 100_000)
	s1 := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "x1", Amount: 1_000, ExternalID: "a1"})
	s2 := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "bob", Address: "x1", Amount: 2_000, ExternalID: "b1"})
	s3 := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "x2", Amount: 500, ExternalID: "a2"})

	b, ok := collect(t, s, coin, 100)
	if !ok || b.ID == 0 || b.State() != walletgate.BroadcastPending || b.Total() != 3_500 ||
		fmt.Sprint(b.Outputs) != "map[x1:3000 x2:500]" || !slices.Equal(b.SendIDs, []int64{s1.ID, s2.ID, s3.ID}) {
		t.Fatalf("collected %+v, %v; want one pending broadcast paying x1 3000 and x2 500", b, ok)
	}
	if _, ok := collect(t, s, coin, 100); ok {
		t.Fatal("a second collect found sends again")
	}
	if o, _ := s.OutgoingTx(ctx, coin, "a1"); o.BroadcastID != b.ID || o.State != walletgate.SendPending {
		t.Fatalf("collected send %+v", o)
	}
	list := func(state string) []int64 {
		t.Helper()
		bs, _, err := s.ListBroadcasts(ctx, coin, state, walletgate.Page{Limit: 10})
		if err != nil {
			t.Fatalf("ListBroadcasts(%s): %v", state, err)
		}
		var ids []int64
		for _, x := range bs {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if fmt.Sprint(list(walletgate.BroadcastPending)) != fmt.Sprint([]int64{b.ID}) || len(list(walletgate.BroadcastOpen)) != 0 {
		t.Fatalf("pending %v, open %v", list(walletgate.BroadcastPending), list(walletgate.BroadcastOpen))
	}

	opened, err := s.OpenBroadcast(ctx, coin, b.ID, t0)
	if err != nil || opened.State() != walletgate.BroadcastOpen || !opened.OpenedAt.Equal(t0) || opened.Total() != 3_500 {
		t.Fatalf("OpenBroadcast = %+v, %v", opened, err)
	}
	_, err = s.OpenBroadcast(ctx, coin, b.ID, t0)
	wantErrPart(t, err, walletgate.EConflict, "is open, not pending")
	if fmt.Sprint(list(walletgate.BroadcastOpen)) != fmt.Sprint([]int64{b.ID}) {
		t.Fatalf("open broadcasts %v", list(walletgate.BroadcastOpen))
	}
	// Release: refused while the send may be in flight, then allowed.
	_, err = s.ReleaseBroadcast(ctx, coin, b.ID, t0.Add(-time.Second))
	wantErrPart(t, err, walletgate.EConflict, "too recently")
	rel, err := s.ReleaseBroadcast(ctx, coin, b.ID, t0.Add(time.Minute))
	if err != nil || rel.State() != walletgate.BroadcastPending {
		t.Fatalf("ReleaseBroadcast = %+v, %v", rel, err)
	}
	_, err = s.ReleaseBroadcast(ctx, coin, b.ID, t0.Add(time.Minute))
	wantErrPart(t, err, walletgate.EConflict, "not open")
	if _, err := s.OpenBroadcast(ctx, coin, b.ID, t0.Add(time.Second)); err != nil {
		t.Fatalf("re-open after release: %v", err)
	}

	closed, err := s.CloseBroadcast(ctx, coin, b.ID, fakeTxID(1), 150, t0.Add(2*time.Second))
	if err != nil || closed.State() != walletgate.BroadcastClosed || closed.TxID != fakeTxID(1) || closed.Fee != 150 || closed.NetworkTxID == 0 {
		t.Fatalf("CloseBroadcast = %+v, %v", closed, err)
	}
	for _, ext := range []string{"a1", "b1", "a2"} {
		o, err := s.OutgoingTx(ctx, coin, ext)
		if err != nil || o.State != walletgate.SendBroadcasted || o.TxID != fakeTxID(1) || o.ProcessedAt == nil {
			t.Fatalf("send %s after close: %+v, %v", ext, o, err)
		}
	}
	if fees := balance(t, s, coin, walletgate.NetworkFeesAccount); fees != -150 {
		t.Fatalf("%q balance %d, want -150", walletgate.NetworkFeesAccount, fees)
	}
	ntx, err := s.NetworkTx(ctx, coin, walletgate.TxTypeBroadcast, fakeTxID(1))
	if err != nil || ntx.ID != closed.NetworkTxID || ntx.Confirmations != -1 {
		t.Fatalf("broadcast NetworkTx %+v, %v", ntx, err)
	}
	open, err := s.OpenNetworkTxs(ctx, coin, 15)
	if err != nil || !slices.ContainsFunc(open, func(n walletgate.NetworkTx) bool {
		return n.TxID == fakeTxID(1) && n.Type == walletgate.TxTypeBroadcast
	}) {
		t.Fatalf("OpenNetworkTxs %+v, %v: the broadcast must be polled", open, err)
	}
	// Closing again with the same txid changes nothing (no second fee);
	// with another txid it is refused.
	if again, err := s.CloseBroadcast(ctx, coin, b.ID, fakeTxID(1), 150, t0.Add(time.Hour)); err != nil || !again.ClosedAt.Equal(*closed.ClosedAt) {
		t.Fatalf("re-close: %+v, %v", again, err)
	}
	if fees := balance(t, s, coin, walletgate.NetworkFeesAccount); fees != -150 {
		t.Fatalf("fee booked twice: balance %d", fees)
	}
	_, err = s.CloseBroadcast(ctx, coin, b.ID, fakeTxID(2), 0, t0)
	wantErrPart(t, err, walletgate.EConflict, "already closed")
	_, err = s.OpenBroadcast(ctx, coin, b.ID, t0)
	wantErrPart(t, err, walletgate.EConflict, "is closed")
	_, err = s.ReleaseBroadcast(ctx, coin, b.ID, t0.Add(time.Hour))
	wantErrPart(t, err, walletgate.EConflict, "is closed, not open")
	if got := list(walletgate.BroadcastClosed); fmt.Sprint(got) != fmt.Sprint([]int64{b.ID}) {
		t.Fatalf("closed broadcasts %v", got)
	}

	// A cap on sends splits the backlog; a zero fee books nothing; one
	// txid cannot close two broadcasts.
	for i := range 3 {
		queue(t, s, walletgate.SendRequest{Coin: coin, Account: "bob", Address: "y", Amount: 10, ExternalID: fmt.Sprint("cap", i)})
	}
	c1, _ := collect(t, s, coin, 2)
	c2, _ := collect(t, s, coin, 2)
	if len(c1.SendIDs) != 2 || len(c2.SendIDs) != 1 || c1.Outputs["y"] != 20 || c2.Outputs["y"] != 10 {
		t.Fatalf("capped collects %+v then %+v", c1, c2)
	}
	if _, err := s.OpenBroadcast(ctx, coin, c1.ID, t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.CloseBroadcast(ctx, coin, c1.ID, fakeTxID(1), 0, t0)
	wantErrPart(t, err, walletgate.EConflict, "already recorded")
	if _, err := s.CloseBroadcast(ctx, coin, c1.ID, fakeTxID(3), 0, t0); err != nil {
		t.Fatal(err)
	}
	if fees := balance(t, s, coin, walletgate.NetworkFeesAccount); fees != -150 {
		t.Fatalf("zero fee changed %q to %d", walletgate.NetworkFeesAccount, fees)
	}
	if all := list(walletgate.BroadcastAll); fmt.Sprint(all) != fmt.Sprint([]int64{b.ID, c1.ID, c2.ID}) {
		t.Fatalf("all broadcasts %v", all)
	}
	bs, next, err := s.ListBroadcasts(ctx, coin, walletgate.BroadcastAll, walletgate.Page{Limit: 2})
	if err != nil || len(bs) != 2 || next != c1.ID || bs[1].TxID != fakeTxID(3) {
		t.Fatalf("first page %+v next %d, %v", bs, next, err)
	}
	got, err := s.Broadcast(ctx, coin, c2.ID)
	if err != nil || got.State() != walletgate.BroadcastPending || got.Outputs["y"] != 10 {
		t.Fatalf("Broadcast(%d) = %+v, %v", c2.ID, got, err)
	}
	_, err = s.Broadcast(ctx, "other"+coin, c2.ID)
	wantErrPart(t, err, walletgate.ENotFound, "does not exist")
}

func testApplyBroadcastTx(t *testing.T, s LedgerStore) {
	ctx := ctxT(t)
	coin := uniqueCoin("ab")
	h := "bcast-handler-" + coin
	if err := s.RegisterHandler(ctx, h); err != nil {
		t.Fatal(err)
	}
	credit(t, s, coin, "alice", 100_000)
	credit(t, s, coin, "bob", 100_000)
	// carol's watched address is paid by the broadcast too: a send to
	// ourselves is both a deposit and a broadcast.
	watch(t, s, coin, "carol-addr", "carol")
	s1 := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "ext", Amount: 1_000, ExternalID: "a"})
	s2 := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "bob", Address: "ext", Amount: 2_000, ExternalID: "b"})
	s3 := queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "carol-addr", Amount: 300, ExternalID: "c"})
	b, _ := collect(t, s, coin, 10)
	if _, err := s.OpenBroadcast(ctx, coin, b.ID, t0); err != nil {
		t.Fatal(err)
	}
	txid := fakeTxID(10)
	b, err := s.CloseBroadcast(ctx, coin, b.ID, txid, 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Drain what crediting queued for this handler.
	ack(t, s, h, claim(t, s, h, 100, t0)...)

	wtx := walletgate.WalletTx{TxID: txid, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategorySend, Address: "ext", Amount: -3_000},
		{Category: walletgate.CategorySend, Address: "carol-addr", Amount: -300},
		recv("carol-addr", 300),
	}}
	var all []walletgate.TxUpdate
	for conf := int64(0); conf <= 6; conf++ {
		wtx.Confirmations = conf
		ev, err := s.ApplyBroadcastTx(ctx, coin, wtx, 5, t0)
		if err != nil {
			t.Fatalf("ApplyBroadcastTx at %d: %v", conf, err)
		}
		if conf > 5 {
			if len(ev) != 0 {
				t.Fatalf("events past max confirmations: %+v", ev)
			}
			continue
		}
		if len(ev) != 3 {
			t.Fatalf("at %d: %d events, want one per send: %+v", conf, len(ev), ev)
		}
		if again, err := s.ApplyBroadcastTx(ctx, coin, wtx, 5, t0); err != nil || len(again) != 0 {
			t.Fatalf("unchanged confirmations gave %+v, %v", again, err)
		}
		all = append(all, ev...)
	}
	for i, e := range all {
		conf := int64(i / 3)
		snd := []walletgate.OutgoingTx{s1, s2, s3}[i%3]
		want := walletgate.TxUpdate{EventID: walletgate.BroadcastEventID(coin, txid, snd.ID, conf), Coin: coin,
			TransactionType: walletgate.TxTypeBroadcast, TransactionID: snd.ID, NetworkTxID: b.NetworkTxID,
			Account: snd.Account, TxID: txid, Address: snd.Address, Amount: snd.Amount, Confirmations: conf}
		if e != want {
			t.Fatalf("event %d = %+v\nwant %+v", i, e, want)
		}
	}
	// The deposit side of the same txid (carol) is its own event.
	dep := apply(t, s, coin, walletgate.WalletTx{TxID: txid, Confirmations: 5, Details: wtx.Details})
	if len(dep) != 1 || dep[0].Account != "carol" || dep[0].TransactionType != walletgate.TxTypeDeposit || !dep[0].Credited {
		t.Fatalf("deposit events %+v", dep)
	}
	if o, _ := s.OutgoingTx(ctx, coin, "a"); o.Confirmations != 5 {
		t.Fatalf("send confirmations %d, want 5", o.Confirmations)
	}
	// Every event reached the outbox: 18 broadcast events and 1 deposit.
	var got []walletgate.TxUpdate
	for range 30 {
		items := claim(t, s, h, 100, t0)
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			got = append(got, it.Event)
		}
		ack(t, s, h, items...)
	}
	var bcast, deps int
	for _, e := range got {
		switch e.TransactionType {
		case walletgate.TxTypeBroadcast:
			bcast++
			if e.Credited {
				t.Fatalf("broadcast event read back credited: %+v", e)
			}
		case walletgate.TxTypeDeposit:
			deps++
		}
	}
	if bcast != 18 || deps != 1 {
		t.Fatalf("outbox held %d broadcast and %d deposit events, want 18 and 1: %+v", bcast, deps, got)
	}
	if open, _ := s.OpenNetworkTxs(ctx, coin, 5); slices.ContainsFunc(open, func(n walletgate.NetworkTx) bool { return n.Type == walletgate.TxTypeBroadcast }) {
		t.Fatalf("a final broadcast is still open: %+v", open)
	}
	_, err = s.ApplyBroadcastTx(ctx, coin, walletgate.WalletTx{TxID: fakeTxID(99)}, 5, t0)
	wantErrPart(t, err, walletgate.ENotFound, "not tracked")
}

func testBroadcastValidation(t *testing.T, s LedgerStore) {
	ctx := ctxT(t)
	coin := uniqueCoin("bv")
	good := walletgate.SendRequest{Coin: coin, Account: "a", Address: "x", Amount: 1, ExternalID: "e"}
	for name, mut := range map[string]func(*walletgate.SendRequest){
		"no coin":      func(r *walletgate.SendRequest) { r.Coin = "" },
		"no account":   func(r *walletgate.SendRequest) { r.Account = "" },
		"fees account": func(r *walletgate.SendRequest) { r.Account = walletgate.NetworkFeesAccount },
		"no address":   func(r *walletgate.SendRequest) { r.Address = "" },
		"no ext id":    func(r *walletgate.SendRequest) { r.ExternalID = "" },
		"zero":         func(r *walletgate.SendRequest) { r.Amount = 0 },
		"negative":     func(r *walletgate.SendRequest) { r.Amount = -1 },
		"too much":     func(r *walletgate.SendRequest) { r.Amount = walletgate.MaxAmount + 1 },
	} {
		r := good
		mut(&r)
		if _, err := s.QueueSend(ctx, r, t0); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("QueueSend %s: %v, want EInvalid", name, err)
		}
	}
	for _, c := range []struct {
		txid string
		fee  int64
	}{{"abc", 0}, {strings.Repeat("g", 64), 0}, {fakeTxID(1), -1}} {
		if _, err := s.CloseBroadcast(ctx, coin, 1, c.txid, c.fee, t0); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("CloseBroadcast(%q, fee %d): %v, want EInvalid", c.txid, c.fee, err)
		}
	}
	if _, err := s.CloseBroadcast(ctx, coin, 12345678, fakeTxID(1), 0, t0); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Errorf("CloseBroadcast of a missing broadcast: %v", err)
	}
	if _, err := s.OpenBroadcast(ctx, coin, 12345678, t0); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Errorf("OpenBroadcast of a missing broadcast: %v", err)
	}
	if _, _, err := s.ListBroadcasts(ctx, coin, "opened", walletgate.Page{Limit: 1}); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Errorf("ListBroadcasts with a bad state: %v", err)
	}
	if _, _, err := s.CollectBroadcast(ctx, coin, 0, t0); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Errorf("CollectBroadcast with max 0: %v", err)
	}
}

// testQueueSendRace: many goroutines on two stores queue the same request
// at once; one send exists and the account is debited once.
func testQueueSendRace(t *testing.T, a, b LedgerStore) {
	coin := uniqueCoin("qr")
	credit(t, a, coin, "alice", 1_000_000)
	r := walletgate.SendRequest{Coin: coin, Account: "alice", Address: "dst", Amount: 1_000, ExternalID: "same"}
	const workers = 16
	ids := make([]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		s := []LedgerStore{a, b}[i%2]
		wg.Go(func() {
			o, err := s.QueueSend(context.Background(), r, t0)
			ids[i], errs[i] = o.ID, err
		})
	}
	wg.Wait()
	for i := range workers {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("worker %d: send %d, %v; want send %d", i, ids[i], errs[i], ids[0])
		}
	}
	if got := balance(t, b, coin, "alice"); got != 999_000 {
		t.Fatalf("balance %d after racing one send of 1000, want 999000 (debited once)", got)
	}
}

// testNoOverdraft: 20 racing sends of 100 from a balance of 1000 — exactly
// 10 succeed and the balance ends at 0, never below.
func testNoOverdraft(t *testing.T, a, b LedgerStore) {
	coin := uniqueCoin("od")
	credit(t, a, coin, "alice", 1_000)
	const workers = 20
	var ok, refused int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range workers {
		s := []LedgerStore{a, b}[i%2]
		wg.Go(func() {
			_, err := s.QueueSend(context.Background(), walletgate.SendRequest{Coin: coin, Account: "alice", Address: "dst",
				Amount: 100, ExternalID: fmt.Sprint("od", i)}, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case walletgate.ErrorCode(err) == walletgate.EInvalid && strings.Contains(walletgate.ErrorMessage(err), "not enough"):
				refused++
			default:
				t.Errorf("QueueSend %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 10 || refused != 10 {
		t.Fatalf("%d sends accepted and %d refused; want 10 and 10", ok, refused)
	}
	if got := balance(t, b, coin, "alice"); got != 0 {
		t.Fatalf("balance %d, want 0", got)
	}
}

// testCollectRace: collectors on two stores race over a backlog; every
// send lands in exactly one broadcast, and each broadcast's outputs are
// exactly its sends.
func testCollectRace(t *testing.T, a, b LedgerStore) {
	coin := uniqueCoin("cr")
	credit(t, a, coin, "alice", 1_000_000)
	const sends = 40
	want := map[int64]bool{}
	for i := range sends {
		o := queue(t, []LedgerStore{a, b}[i%2], walletgate.SendRequest{Coin: coin, Account: "alice",
			Address: fmt.Sprint("d", i%7), Amount: int64(100 + i), ExternalID: fmt.Sprint("c", i)})
		want[o.ID] = true
	}
	var mu sync.Mutex
	var got []walletgate.Broadcast
	var wg sync.WaitGroup
	for i := range 8 {
		s := []LedgerStore{a, b}[i%2]
		wg.Go(func() {
			for {
				bc, ok, err := s.CollectBroadcast(context.Background(), coin, 3, t0)
				if err != nil {
					t.Errorf("CollectBroadcast: %v", err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				got = append(got, bc)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	seen := map[int64]int{}
	var total int64
	for _, bc := range got {
		if len(bc.SendIDs) == 0 || len(bc.SendIDs) > 3 {
			t.Fatalf("broadcast %d carries %d sends, want 1..3", bc.ID, len(bc.SendIDs))
		}
		stored, err := a.Broadcast(ctxT(t), coin, bc.ID)
		if err != nil || !slices.Equal(stored.SendIDs, bc.SendIDs) || fmt.Sprint(stored.Outputs) != fmt.Sprint(bc.Outputs) {
			t.Fatalf("broadcast %d as returned %+v, as stored %+v, %v", bc.ID, bc, stored, err)
		}
		for _, id := range bc.SendIDs {
			seen[id]++
		}
		total += bc.Total()
	}
	if len(seen) != sends {
		t.Fatalf("%d of %d sends collected", len(seen), sends)
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Fatalf("send %d collected %d times", id, n)
		}
	}
	if total != sends*100+sends*(sends-1)/2 {
		t.Fatalf("broadcast total %d", total)
	}
}

// testOpenRace: many goroutines on two stores open one broadcast at once;
// exactly one may send it.
func testOpenRace(t *testing.T, a, b LedgerStore) {
	coin := uniqueCoin("or")
	credit(t, a, coin, "alice", 10_000)
	queue(t, a, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "dst", Amount: 100, ExternalID: "o"})
	bc, _ := collect(t, b, coin, 10)
	const workers = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	var opened, refused int
	for i := range workers {
		s := []LedgerStore{a, b}[i%2]
		wg.Go(func() {
			_, err := s.OpenBroadcast(context.Background(), coin, bc.ID, t0)
			mu.Lock()
			defer mu.Unlock()
			switch walletgate.ErrorCode(err) {
			case "":
				opened++
			case walletgate.EConflict:
				refused++
			default:
				t.Errorf("OpenBroadcast: %v", err)
			}
		})
	}
	wg.Wait()
	if opened != 1 || refused != workers-1 {
		t.Fatalf("%d opens succeeded and %d were refused; want exactly 1 and %d", opened, refused, workers-1)
	}
}

// wantErrPart fails t unless err carries code and a client message
// containing part.
func wantErrPart(t *testing.T, err error, code, part string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s containing %q", code, part)
	}
	if got := walletgate.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
	if got := walletgate.ErrorMessage(err); !strings.Contains(got, part) {
		t.Fatalf("error message %q, want it to contain %q", got, part)
	}
}
