package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// RunDepositStore runs the DepositStore contract against a fresh store
// made by open. Subtests use coins and handler names of their own, so they
// share the store without seeing each other's rows.
func RunDepositStore(t *testing.T, open func(t *testing.T) walletgate.DepositStore) {
	s := open(t)
	t.Run("Watches", func(t *testing.T) { testWatches(t, s) })
	t.Run("ApplyTx", func(t *testing.T) { testApplyTx(t, s) })
	t.Run("ApplyTxValidation", func(t *testing.T) { testApplyTxValidation(t, s) })
	t.Run("ListDeposits", func(t *testing.T) { testListDeposits(t, s) })
	t.Run("OutboxOrder", func(t *testing.T) { testOutboxOrder(t, s) })
	t.Run("OutboxLease", func(t *testing.T) { testOutboxLease(t, s) })
	t.Run("ApplyTxRace", func(t *testing.T) { testApplyTxRace(t, s, s) })
	t.Run("StaleView", func(t *testing.T) { testStaleView(t, s) })
	t.Run("LateWatch", func(t *testing.T) { testLateWatch(t, s) })
	t.Run("OutboxPayload", func(t *testing.T) { testOutboxPayload(t, s) })
}

// RunSharedDeposits races two stores on one database (two processes):
// a transaction is credited once and an outbox row is leased once.
func RunSharedDeposits(t *testing.T, open func(t *testing.T) (a, b walletgate.DepositStore)) {
	a, b := open(t)
	t.Run("ApplyTxRace", func(t *testing.T) { testApplyTxRace(t, a, b) })
	t.Run("ClaimRace", func(t *testing.T) { testClaimRace(t, a, b) })
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func watch(t *testing.T, s walletgate.DepositStore, coin, addr, account string) walletgate.Watch {
	t.Helper()
	w, err := s.AddWatch(ctxT(t), walletgate.Watch{Coin: coin, Address: addr, Account: account, ExternalID: "ext-" + addr})
	if err != nil {
		t.Fatalf("AddWatch(%s, %s): %v", coin, addr, err)
	}
	return w
}

func recv(addr string, sats int64) walletgate.WalletTxDetail {
	return walletgate.WalletTxDetail{Category: walletgate.CategoryReceive, Address: addr, Amount: sats}
}

func apply(t *testing.T, s walletgate.DepositStore, coin string, tx walletgate.WalletTx) []walletgate.TxUpdate {
	t.Helper()
	ev, err := s.ApplyTx(ctxT(t), coin, tx, 3, 15, t0)
	if err != nil {
		t.Fatalf("ApplyTx(%s, %s at %d): %v", coin, tx.TxID, tx.Confirmations, err)
	}
	return ev
}

func balance(t *testing.T, s walletgate.DepositStore, coin, account string) int64 {
	t.Helper()
	b, err := s.Balance(ctxT(t), coin, account)
	if err != nil {
		t.Fatalf("Balance(%s, %s): %v", coin, account, err)
	}
	return b
}

func testWatches(t *testing.T, s walletgate.DepositStore) {
	ctx := ctxT(t)
	const coin = "wtc"
	w1 := watch(t, s, coin, "addr1", "alice")
	if w1.ID == 0 || w1.ExternalID != "ext-addr1" {
		t.Fatalf("AddWatch returned %+v", w1)
	}
	again := watch(t, s, coin, "addr1", "alice")
	if again.ID != w1.ID {
		t.Fatalf("re-adding the same watch gave id %d, want %d", again.ID, w1.ID)
	}
	_, err := s.AddWatch(ctx, walletgate.Watch{Coin: coin, Address: "addr1", Account: "bob"})
	wantErr(t, err, walletgate.EConflict, `address addr1 (wtc) is already watched for account "alice"`)
	// The same address on another coin is a different watch.
	watch(t, s, "wtc2", "addr1", "bob")
	for _, bad := range []walletgate.Watch{{Address: "a", Account: "x"}, {Coin: coin, Account: "x"}, {Coin: coin, Address: "a"}} {
		if _, err := s.AddWatch(ctx, bad); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("AddWatch(%+v) = %v, want EInvalid", bad, err)
		}
	}
	for i := 2; i <= 5; i++ {
		watch(t, s, coin, fmt.Sprintf("addr%d", i), []string{"alice", "bob"}[i%2])
	}
	var got []string
	cursor := int64(0)
	for pages := 0; ; pages++ {
		ws, next, err := s.ListWatches(ctx, coin, "", walletgate.Page{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatalf("ListWatches: %v", err)
		}
		for _, w := range ws {
			got = append(got, w.Address)
		}
		if next == 0 {
			break
		}
		cursor = next
		if pages > 5 {
			t.Fatal("ListWatches never ends")
		}
	}
	if fmt.Sprint(got) != "[addr1 addr2 addr3 addr4 addr5]" {
		t.Fatalf("paged watches %v", got)
	}
	ws, _, err := s.ListWatches(ctx, coin, "bob", walletgate.Page{Limit: 10})
	if err != nil || len(ws) != 2 || ws[0].Address != "addr3" || ws[1].Address != "addr5" {
		t.Fatalf("bob's watches %+v, %v", ws, err)
	}
	if _, _, err := s.ListWatches(ctx, coin, "", walletgate.Page{Limit: 0}); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("limit 0: %v, want EInvalid", err)
	}
}

func testApplyTx(t *testing.T, s walletgate.DepositStore) {
	const coin = "atc"
	watch(t, s, coin, "a1", "alice")
	watch(t, s, coin, "a2", "bob")
	tx := walletgate.WalletTx{TxID: "tx1", Details: []walletgate.WalletTxDetail{
		recv("a1", 1000), recv("a1", 500), // two outputs to one address are summed
		recv("a2", 7),
		recv("change", 99999), // not watched: ignored
		{Category: walletgate.CategorySend, Address: "a1", Amount: -1500},
	}}
	var all []walletgate.TxUpdate
	for conf := int64(0); conf <= 17; conf++ {
		tx.Confirmations = conf
		ev := apply(t, s, coin, tx)
		if conf > 15 {
			if len(ev) != 0 {
				t.Fatalf("at %d confirmations (past max 15) got events %+v", conf, ev)
			}
			continue
		}
		if len(ev) != 2 {
			t.Fatalf("at %d confirmations got %d events, want 2: %+v", conf, len(ev), ev)
		}
		if again := apply(t, s, coin, tx); len(again) != 0 {
			t.Fatalf("repeating %d confirmations gave events %+v", conf, again)
		}
		all = append(all, ev...)
		if got, want := balance(t, s, coin, "alice"), map[bool]int64{false: 0, true: 1500}[conf >= 3]; got != want {
			t.Fatalf("alice's balance at %d confirmations is %d, want %d", conf, got, want)
		}
	}
	if b := balance(t, s, coin, "bob"); b != 7 {
		t.Fatalf("bob's balance %d, want 7", b)
	}
	for i, e := range all {
		conf := int64(i / 2)
		want := walletgate.TxUpdate{
			EventID: walletgate.TxUpdateEventID(coin, "tx1", e.Address, conf), Coin: coin,
			TransactionType: walletgate.TxTypeDeposit, TransactionID: e.TransactionID, NetworkTxID: e.NetworkTxID,
			TxID: "tx1", Confirmations: conf, Credited: conf >= 3,
		}
		if i%2 == 0 {
			want.Address, want.Account, want.Amount = "a1", "alice", 1500
		} else {
			want.Address, want.Account, want.Amount = "a2", "bob", 7
		}
		if e != want {
			t.Fatalf("event %d = %+v, want %+v", i, e, want)
		}
		if e.TransactionID == 0 || e.NetworkTxID != all[0].NetworkTxID {
			t.Fatalf("event %d ids %+v", i, e)
		}
	}
	n, err := s.NetworkTx(ctxT(t), coin, walletgate.TxTypeDeposit, "tx1")
	if err != nil || n.Confirmations != 15 {
		t.Fatalf("NetworkTx = %+v, %v; want 15 confirmations", n, err)
	}
	if open, err := s.OpenNetworkTxs(ctxT(t), coin, 15); err != nil || len(open) != 0 {
		t.Fatalf("OpenNetworkTxs after max = %+v, %v; want none", open, err)
	}
	_, err = s.NetworkTx(ctxT(t), coin, walletgate.TxTypeDeposit, "nope")
	wantErr(t, err, walletgate.ENotFound, "")

	// A transaction paying nothing we watch is tracked (it may be ours)
	// but fires nothing; it stays open for polling.
	if ev := apply(t, s, coin, walletgate.WalletTx{TxID: "tx2", Confirmations: 1, Details: []walletgate.WalletTxDetail{recv("other", 5)}}); len(ev) != 0 {
		t.Fatalf("foreign tx gave events %+v", ev)
	}
	open, err := s.OpenNetworkTxs(ctxT(t), coin, 15)
	if err != nil || len(open) != 1 || open[0].TxID != "tx2" || open[0].Type != walletgate.TxTypeDeposit || open[0].Confirmations != 1 {
		t.Fatalf("OpenNetworkTxs = %+v, %v; want tx2 at 1", open, err)
	}
	// Jumping straight past the credit threshold credits at once, once.
	watch(t, s, coin, "a3", "carol")
	ev := apply(t, s, coin, walletgate.WalletTx{TxID: "tx3", Confirmations: 6, Details: []walletgate.WalletTxDetail{recv("a3", 42)}})
	if len(ev) != 1 || !ev[0].Credited || balance(t, s, coin, "carol") != 42 {
		t.Fatalf("tx3 at 6 confirmations: events %+v, balance %d", ev, balance(t, s, coin, "carol"))
	}
	// A reorg lowering the count is a change (an event) but no second credit.
	ev = apply(t, s, coin, walletgate.WalletTx{TxID: "tx3", Confirmations: 2, Details: []walletgate.WalletTxDetail{recv("a3", 42)}})
	ev2 := apply(t, s, coin, walletgate.WalletTx{TxID: "tx3", Confirmations: 7, Details: []walletgate.WalletTxDetail{recv("a3", 42)}})
	if len(ev) != 1 || !ev[0].Credited || len(ev2) != 1 || balance(t, s, coin, "carol") != 42 {
		t.Fatalf("tx3 reorg: events %+v then %+v, balance %d (want 42)", ev, ev2, balance(t, s, coin, "carol"))
	}
}

func testApplyTxValidation(t *testing.T, s walletgate.DepositStore) {
	for _, c := range []struct {
		coin              string
		tx                walletgate.WalletTx
		creditAt, maxConf int64
	}{
		{"", walletgate.WalletTx{TxID: "x"}, 3, 15},
		{"vtc", walletgate.WalletTx{}, 3, 15},
		{"vtc", walletgate.WalletTx{TxID: "x"}, 0, 15},
		{"vtc", walletgate.WalletTx{TxID: "x"}, 3, 2},
	} {
		if _, err := s.ApplyTx(ctxT(t), c.coin, c.tx, c.creditAt, c.maxConf, t0); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("ApplyTx(%q, %+v, %d, %d) = %v, want EInvalid", c.coin, c.tx, c.creditAt, c.maxConf, err)
		}
	}
}

func testListDeposits(t *testing.T, s walletgate.DepositStore) {
	const coin = "ltd"
	watch(t, s, coin, "l1", "alice")
	watch(t, s, coin, "l2", "bob")
	for i := 0; i < 5; i++ {
		apply(t, s, coin, walletgate.WalletTx{TxID: fmt.Sprintf("ltx%d", i), Confirmations: int64(i),
			Details: []walletgate.WalletTxDetail{recv([]string{"l1", "l2"}[i%2], int64(100+i))}})
	}
	ds, next, err := s.ListDeposits(ctxT(t), walletgate.DepositFilter{Coin: coin, Account: "alice"}, walletgate.Page{Limit: 2})
	if err != nil || len(ds) != 2 || next == 0 || ds[0].TxID != "ltx0" || ds[1].TxID != "ltx2" {
		t.Fatalf("alice page 1: %+v next %d, %v", ds, next, err)
	}
	ds, next2, err := s.ListDeposits(ctxT(t), walletgate.DepositFilter{Coin: coin, Account: "alice"}, walletgate.Page{Cursor: next, Limit: 2})
	if err != nil || len(ds) != 1 || next2 != 0 || ds[0].TxID != "ltx4" || ds[0].Amount != 104 || ds[0].Confirmations != 4 || ds[0].CreditedAt == nil {
		t.Fatalf("alice page 2: %+v next %d, %v", ds, next2, err)
	}
	ds, _, err = s.ListDeposits(ctxT(t), walletgate.DepositFilter{Coin: coin, Address: "l2"}, walletgate.Page{Limit: 10})
	if err != nil || len(ds) != 2 || ds[0].Account != "bob" || ds[0].CreditedAt != nil || ds[1].CreditedAt == nil {
		t.Fatalf("deposits to l2: %+v, %v (want ltx1 at 1 uncredited, ltx3 at 3 credited)", ds, err)
	}
}

func claim(t *testing.T, s walletgate.DepositStore, h string, limit int, now time.Time) []walletgate.OutboxItem {
	t.Helper()
	items, err := s.ClaimOutbox(ctxT(t), h, limit, time.Minute, now)
	if err != nil {
		t.Fatalf("ClaimOutbox(%s): %v", h, err)
	}
	return items
}

func ack(t *testing.T, s walletgate.DepositStore, h string, items ...walletgate.OutboxItem) {
	t.Helper()
	for _, it := range items {
		if err := s.AckOutbox(ctxT(t), h, it.ID); err != nil {
			t.Fatalf("AckOutbox(%s, %d): %v", h, it.ID, err)
		}
	}
}

func eventIDs(items []walletgate.OutboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Event.EventID)
	}
	return out
}

func testOutboxOrder(t *testing.T, s walletgate.DepositStore) {
	ctx := ctxT(t)
	const coin, h = "otc", "order-handler"
	if err := s.RegisterHandler(ctx, h); err != nil {
		t.Fatalf("RegisterHandler: %v", err)
	}
	if err := s.RegisterHandler(ctx, h); err != nil {
		t.Fatalf("RegisterHandler again: %v", err)
	}
	wantErr(t, s.RegisterHandler(ctx, " "), walletgate.EInvalid, "")
	watch(t, s, coin, "o1", "alice")
	watch(t, s, coin, "o2", "bob")
	for conf := int64(0); conf < 3; conf++ {
		apply(t, s, coin, walletgate.WalletTx{TxID: "otx1", Confirmations: conf, Details: []walletgate.WalletTxDetail{recv("o1", 10)}})
		apply(t, s, coin, walletgate.WalletTx{TxID: "otx2", Confirmations: conf, Details: []walletgate.WalletTxDetail{recv("o2", 20)}})
	}
	if n, err := s.PendingOutbox(ctx, h); err != nil || n != 6 {
		t.Fatalf("PendingOutbox = %d, %v; want 6", n, err)
	}
	// Only each address's head is claimable.
	items := claim(t, s, h, 10, t0)
	want := fmt.Sprint([]string{"otc:otx1:o1:0", "otc:otx2:o2:0"})
	if fmt.Sprint(eventIDs(items)) != want {
		t.Fatalf("first claim %v, want %s", eventIDs(items), want)
	}
	if items[0].Attempts != 1 || items[0].Event.Amount != 10 || items[0].Event.Account != "alice" {
		t.Fatalf("first item %+v", items[0])
	}
	// Leased: nothing more for anyone until acked or expired.
	if more := claim(t, s, h, 10, t0); len(more) != 0 {
		t.Fatalf("claim while leased gave %v", eventIDs(more))
	}
	// o1's head fails and backs off; o2 goes on; o1's next waits.
	if err := s.RetryOutbox(ctx, h, items[0].ID, t0.Add(time.Hour), "503 Service Unavailable"); err != nil {
		t.Fatalf("RetryOutbox: %v", err)
	}
	ack(t, s, h, items[1])
	items = claim(t, s, h, 10, t0.Add(time.Second))
	if fmt.Sprint(eventIDs(items)) != fmt.Sprint([]string{"otc:otx2:o2:1"}) {
		t.Fatalf("claim during o1's backoff %v, want only o2's second event", eventIDs(items))
	}
	ack(t, s, h, items...)
	items = claim(t, s, h, 10, t0.Add(2*time.Hour))
	if fmt.Sprint(eventIDs(items)) != fmt.Sprint([]string{"otc:otx1:o1:0", "otc:otx2:o2:2"}) || items[0].Attempts != 2 {
		t.Fatalf("claim after backoff %v (attempts %d)", eventIDs(items), items[0].Attempts)
	}
	ack(t, s, h, items...)
	ack(t, s, h, items[0]) // a second ack is harmless
	var rest []string
	for i := 0; i < 5; i++ {
		items = claim(t, s, h, 10, t0.Add(3*time.Hour))
		rest = append(rest, eventIDs(items)...)
		ack(t, s, h, items...)
	}
	if fmt.Sprint(rest) != fmt.Sprint([]string{"otc:otx1:o1:1", "otc:otx1:o1:2"}) {
		t.Fatalf("remaining events %v", rest)
	}
	if n, err := s.PendingOutbox(ctx, h); err != nil || n != 0 {
		t.Fatalf("PendingOutbox at the end = %d, %v", n, err)
	}
	// A handler registered later gets only later events.
	if err := s.RegisterHandler(ctx, "late-handler"); err != nil {
		t.Fatal(err)
	}
	apply(t, s, coin, walletgate.WalletTx{TxID: "otx1", Confirmations: 3, Details: []walletgate.WalletTxDetail{recv("o1", 10)}})
	items = claim(t, s, "late-handler", 10, t0.Add(4*time.Hour))
	if fmt.Sprint(eventIDs(items)) != fmt.Sprint([]string{"otc:otx1:o1:3"}) || !items[0].Event.Credited {
		t.Fatalf("late handler got %+v", items)
	}
	ack(t, s, "late-handler", items...)
}

func testOutboxLease(t *testing.T, s walletgate.DepositStore) {
	const coin, h = "lsc", "lease-handler"
	if err := s.RegisterHandler(ctxT(t), h); err != nil {
		t.Fatal(err)
	}
	watch(t, s, coin, "ls1", "alice")
	apply(t, s, coin, walletgate.WalletTx{TxID: "lstx", Confirmations: 0, Details: []walletgate.WalletTxDetail{recv("ls1", 1)}})
	first := claim(t, s, h, 1, t0)
	if len(first) != 1 {
		t.Fatalf("claim got %d items", len(first))
	}
	if again := claim(t, s, h, 1, t0.Add(59*time.Second)); len(again) != 0 {
		t.Fatalf("claim inside the lease got %+v", again)
	}
	// The claimer died: once the lease expires the event goes out again.
	again := claim(t, s, h, 1, t0.Add(61*time.Second))
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 2 {
		t.Fatalf("claim after lease expiry got %+v, want row %d attempt 2", again, first[0].ID)
	}
	ack(t, s, h, again...)
	if _, err := s.ClaimOutbox(ctxT(t), h, 0, time.Minute, t0); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("limit 0: %v", err)
	}
}

// testApplyTxRace has many goroutines on two stores apply the same
// confirmation changes at once: every count is applied once (its event
// appears once), and the deposit is credited once.
func testApplyTxRace(t *testing.T, a, b walletgate.DepositStore) {
	coin := fmt.Sprintf("race%d", time.Now().UnixNano()%1e6)
	watch(t, a, coin, "r1", "alice")
	const workers = 8
	var mu sync.Mutex
	seen := map[string]int{}
	for conf := int64(0); conf <= 5; conf++ {
		tx := walletgate.WalletTx{TxID: "racetx", Confirmations: conf, Details: []walletgate.WalletTxDetail{recv("r1", 777)}}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range workers {
			s := []walletgate.DepositStore{a, b}[i%2]
			wg.Go(func() {
				ev, err := s.ApplyTx(context.Background(), coin, tx, 3, 15, t0)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, e := range ev {
					seen[e.EventID]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("racing ApplyTx at %d: %v", conf, err)
		}
	}
	if len(seen) != 6 {
		t.Fatalf("events %v, want one per confirmation count 0..5", seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s returned %d times", id, n)
		}
	}
	if got := balance(t, b, coin, "alice"); got != 777 {
		t.Fatalf("balance after the race %d, want 777 (credited once)", got)
	}
}

// testClaimRace has both stores claim one handler's outbox at once: no
// row is handed out twice while leased.
func testClaimRace(t *testing.T, a, b walletgate.DepositStore) {
	coin := fmt.Sprintf("claim%d", time.Now().UnixNano()%1e6)
	h := "claim-race-" + coin
	if err := a.RegisterHandler(ctxT(t), h); err != nil {
		t.Fatal(err)
	}
	const addrs = 40
	for i := range addrs {
		addr := fmt.Sprintf("cr%d", i)
		watch(t, a, coin, addr, "alice")
		apply(t, b, coin, walletgate.WalletTx{TxID: "ctx" + addr, Confirmations: 1, Details: []walletgate.WalletTxDetail{recv(addr, 1)}})
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	for i := range 8 {
		s := []walletgate.DepositStore{a, b}[i%2]
		wg.Go(func() {
			for {
				items, err := s.ClaimOutbox(context.Background(), h, 3, time.Hour, t0)
				if err != nil {
					t.Errorf("ClaimOutbox: %v", err)
					return
				}
				if len(items) == 0 {
					return
				}
				mu.Lock()
				for _, it := range items {
					got[it.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != addrs {
		t.Fatalf("claimed %d distinct rows, want %d", len(got), addrs)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("row %d claimed %d times under one lease", id, n)
		}
	}
}

// testStaleView: a wallet view asked for before the one already applied
// (a slow fetch overtaken by another intake or instance) is ignored, so
// confirmations never step back and no event repeats; a newer view with
// fewer confirmations (a reorg) still applies.
func testStaleView(t *testing.T, s walletgate.DepositStore) {
	ctx := ctxT(t)
	watch(t, s, "stale", "stale-addr", "acct")
	tx := func(conf int64) walletgate.WalletTx {
		return walletgate.WalletTx{TxID: strings.Repeat("5", 64), Confirmations: conf, Details: []walletgate.WalletTxDetail{recv("stale-addr", 1000)}}
	}
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	steps := []struct {
		conf   int64
		asked  time.Time
		events int
		want   int64 // stored confirmations after the step
	}{
		{0, at(1), 1, 0},
		{5, at(10), 1, 5},
		{4, at(9), 0, 5},  // asked before the view at 10: stale
		{5, at(11), 0, 5}, // unchanged
		{3, at(12), 1, 3}, // a reorg seen later: applies
	}
	for i, st := range steps {
		ev, err := s.ApplyTx(ctx, "stale", tx(st.conf), 3, 15, st.asked)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		n, err := s.NetworkTx(ctx, "stale", walletgate.TxTypeDeposit, strings.Repeat("5", 64))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(ev) != st.events || n.Confirmations != st.want {
			t.Errorf("step %d (conf %d asked %v): %d events, stored %d; want %d events, stored %d", i, st.conf, st.asked, len(ev), n.Confirmations, st.events, st.want)
		}
	}
}
