package deposits_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/deposits"
	"github.com/walletgate/walletgate/sqlite"
)

// scripted is a WalletBackend whose transactions, pages and failures a
// test sets; it models a node wallet (receives and sends in one tx).
type scripted struct {
	mu      sync.Mutex
	txs     map[string]walletgate.WalletTx
	fail    map[string]error
	pages   [][]walletgate.WalletTx
	fetches map[string]int
	addrs   int
}

func newScripted() *scripted {
	return &scripted{txs: map[string]walletgate.WalletTx{}, fail: map[string]error{}, fetches: map[string]int{}}
}

func (s *scripted) CreateAddress(ctx context.Context, label string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addrs++
	return fmt.Sprintf("addr-%s-%d", label, s.addrs), nil
}

func (s *scripted) Transaction(ctx context.Context, txid string) (walletgate.WalletTx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches[txid]++
	if err := s.fail[txid]; err != nil {
		return walletgate.WalletTx{}, err
	}
	tx, ok := s.txs[txid]
	if !ok {
		return tx, walletgate.Errorf(walletgate.ENotFound, "Invalid or non-wallet transaction id")
	}
	return tx, nil
}

func (s *scripted) ReceivedPage(ctx context.Context, cursor string) ([]walletgate.WalletTx, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	if cursor != "" {
		fmt.Sscan(cursor, &i)
	}
	if i >= len(s.pages) {
		return nil, "", nil
	}
	next := ""
	if i+1 < len(s.pages) {
		next = fmt.Sprint(i + 1)
	}
	return s.pages[i], next, nil
}

func (s *scripted) Balance(ctx context.Context, minConf int) (int64, error) { return 0, nil }
func (s *scripted) TracksConfirmations() bool                               { return true }

func (s *scripted) set(tx walletgate.WalletTx) { s.mu.Lock(); s.txs[tx.TxID] = tx; s.mu.Unlock() }

func txid(n int) string { return fmt.Sprintf("%064x", n) }

func receive(txID string, conf int64, addr string, sats int64) walletgate.WalletTx {
	return walletgate.WalletTx{TxID: txID, Confirmations: conf, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategoryReceive, Address: addr, Amount: sats},
	}}
}

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newTracker tracks c as coin "btc" in a fresh SQLite store.
func newTracker(t *testing.T, c deposits.Coin, o deposits.Options) (*deposits.Tracker, *sqlite.Store) {
	t.Helper()
	st := newStore(t)
	tr, err := deposits.New(st, map[string]deposits.Coin{"btc": c}, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr, st
}

func TestWalletNotify(t *testing.T) {
	ctx := context.Background()
	b := newScripted()
	var got []walletgate.TxUpdate
	tr, st := newTracker(t, deposits.Coin{Wallet: b}, deposits.Options{OnEvents: func(_ string, ev []walletgate.TxUpdate) { got = append(got, ev...) }})
	w, err := tr.CreateAddress(ctx, "btc", "alice", "x1")
	if err != nil || w.Address != "addr-alice-1" || w.Account != "alice" || w.ExternalID != "x1" {
		t.Fatalf("CreateAddress = %+v, %v", w, err)
	}
	tx := receive(txid(1), 0, w.Address, 1500)
	// Change back to the sender and its send detail are ignored.
	tx.Details = append(tx.Details,
		walletgate.WalletTxDetail{Category: walletgate.CategoryReceive, Address: "change", Amount: 900},
		walletgate.WalletTxDetail{Category: walletgate.CategorySend, Address: w.Address, Amount: -1500})
	b.set(tx)
	for _, c := range []struct {
		coin, txid string
		code       string
	}{
		{"btc", "nothex", walletgate.EInvalid},
		{"btc", strings.Repeat("z", 64), walletgate.EInvalid},
		{"doge", txid(1), walletgate.ENotFound},
		{"btc", txid(2), walletgate.ENotFound}, // the wallet does not know it
	} {
		if err := tr.WalletNotify(ctx, c.coin, c.txid); walletgate.ErrorCode(err) != c.code {
			t.Errorf("WalletNotify(%s, %s) = %v, want %s", c.coin, c.txid, err, c.code)
		}
	}
	if err := tr.WalletNotify(ctx, "btc", txid(1)); err != nil {
		t.Fatalf("WalletNotify: %v", err)
	}
	if err := tr.WalletNotify(ctx, "btc", txid(1)); err != nil { // repeated notify: no event
		t.Fatalf("WalletNotify again: %v", err)
	}
	if len(got) != 1 || got[0].Amount != 1500 || got[0].Address != w.Address || got[0].Credited {
		t.Fatalf("events %+v", got)
	}
	if tr.LastWalletNotify("btc").IsZero() {
		t.Fatal("LastWalletNotify not stamped")
	}
	// A wallet answering for another txid is refused, not applied.
	b.set(walletgate.WalletTx{TxID: txid(9)})
	b.mu.Lock()
	b.txs[txid(8)] = b.txs[txid(9)]
	b.mu.Unlock()
	if err := tr.WalletNotify(ctx, "btc", txid(8)); walletgate.ErrorCode(err) != walletgate.EBackend {
		t.Fatalf("mismatched answer: %v, want EBackend", err)
	}
	if _, err := st.NetworkTx(ctx, "btc", walletgate.TxTypeDeposit, txid(8)); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("mismatched tx was stored: %v", err)
	}
}

// TestPollContinuesPastErrors: one failing txid does not stop the cycle
// (the original aborted at the first error).
func TestPollContinuesPastErrors(t *testing.T) {
	ctx := context.Background()
	b := newScripted()
	tr, st := newTracker(t, deposits.Coin{Wallet: b}, deposits.Options{})
	w, _ := tr.CreateAddress(ctx, "btc", "alice", "")
	for i := 1; i <= 3; i++ {
		b.set(receive(txid(i), 0, w.Address, int64(i)))
		if err := tr.WalletNotify(ctx, "btc", txid(i)); err != nil {
			t.Fatal(err)
		}
		b.set(receive(txid(i), 5, w.Address, int64(i)))
	}
	b.mu.Lock()
	b.fail[txid(1)] = errors.New("connection reset")
	b.mu.Unlock()
	err := tr.Poll(ctx, "btc")
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Poll error %v, want the txid 1 failure", err)
	}
	for i, want := range map[int]int64{1: 0, 2: 5, 3: 5} {
		n, err := st.NetworkTx(ctx, "btc", walletgate.TxTypeDeposit, txid(i))
		if err != nil || n.Confirmations != want {
			t.Fatalf("tx %d after poll: %+v, %v; want %d confirmations", i, n, err, want)
		}
	}
	if bal, _ := st.Balance(ctx, "btc", "alice"); bal != 5 {
		t.Fatalf("balance %d, want 5 (txs 2 and 3 credited)", bal)
	}
	// Final transactions are never fetched again.
	for i := 2; i <= 3; i++ {
		b.set(receive(txid(i), 15, w.Address, int64(i)))
	}
	tr.Poll(ctx, "btc")
	b.mu.Lock()
	before := b.fetches[txid(2)]
	b.mu.Unlock()
	tr.Poll(ctx, "btc")
	b.mu.Lock()
	after := b.fetches[txid(2)]
	b.mu.Unlock()
	if after != before {
		t.Fatalf("a final transaction was polled again (%d → %d fetches)", before, after)
	}
}

// TestScanRawPages: the startup scan finds a deposit behind a page with
// no receives (the original stopped there) and skips final ones.
func TestScanRawPages(t *testing.T) {
	ctx := context.Background()
	b := newScripted()
	tr, st := newTracker(t, deposits.Coin{Wallet: b}, deposits.Options{})
	w, _ := tr.CreateAddress(ctx, "btc", "bob", "")
	sendOnly := walletgate.WalletTx{TxID: txid(5), Confirmations: 2, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategorySend, Address: "elsewhere", Amount: -10}}}
	missed := receive(txid(6), 4, w.Address, 7000)
	final := receive(txid(7), 20, w.Address, 1)
	b.set(sendOnly)
	b.set(missed)
	b.set(final)
	if _, err := st.ApplyTx(ctx, "btc", walletgate.WalletTx{TxID: txid(7), Confirmations: 15}, 3, 15, t0()); err != nil {
		t.Fatal(err)
	}
	b.pages = [][]walletgate.WalletTx{{sendOnly}, {missed, final}}
	if err := tr.Scan(ctx, "btc"); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	ds, _, err := st.ListDeposits(ctx, walletgate.DepositFilter{Coin: "btc", Account: "bob"}, walletgate.Page{Limit: 10})
	if err != nil || len(ds) != 1 || ds[0].TxID != txid(6) || ds[0].Amount != 7000 || ds[0].CreditedAt == nil {
		t.Fatalf("deposits after scan: %+v, %v", ds, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fetches[txid(7)] != 0 || b.fetches[txid(5)] != 0 {
		t.Fatalf("scan fetched a final or receive-less tx: %v", b.fetches)
	}
}

// TestCoinRules: one tracker serves two coins, and each credits at its own
// threshold and stops tracking at its own maximum, in WalletNotify, Poll
// and the polls of Run alike.
func TestCoinRules(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newStore(t)
	bw, lw := newScripted(), newScripted()
	var mu sync.Mutex
	credited := map[string]int64{} // coin -> confirmations of its first credited event
	tr, err := deposits.New(st, map[string]deposits.Coin{
		"btc": {Wallet: bw, CreditAt: 1, MaxConfirmations: 2},
		"ltc": {Wallet: lw, CreditAt: 3, MaxConfirmations: 5},
	}, deposits.Options{PollInterval: 5 * time.Millisecond, OnEvents: func(coin string, ev []walletgate.TxUpdate) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ev {
			if _, seen := credited[coin]; e.Credited && !seen {
				credited[coin] = e.Confirmations
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Coins(); len(got) != 2 || got[0] != "btc" || got[1] != "ltc" {
		t.Fatalf("Coins() = %v", got)
	}
	bAddr, err := tr.CreateAddress(ctx, "btc", "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	lAddr, err := tr.CreateAddress(ctx, "ltc", "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	balances := func() (btc, ltc int64) {
		btc, _ = st.Balance(ctx, "btc", "alice")
		ltc, _ = st.Balance(ctx, "ltc", "alice")
		return btc, ltc
	}
	setBoth := func(conf int64) {
		bw.set(receive(txid(1), conf, bAddr.Address, 1000))
		lw.set(receive(txid(2), conf, lAddr.Address, 2000))
	}

	setBoth(1)
	for coin, id := range map[string]string{"btc": txid(1), "ltc": txid(2)} {
		if err := tr.WalletNotify(ctx, coin, id); err != nil {
			t.Fatalf("WalletNotify %s: %v", coin, err)
		}
	}
	if b, l := balances(); b != 1000 || l != 0 {
		t.Fatalf("at 1 confirmation: btc %d, ltc %d; want btc credited (threshold 1), ltc not (threshold 3)", b, l)
	}

	setBoth(2)
	for _, coin := range []string{"btc", "ltc"} {
		if err := tr.Poll(ctx, coin); err != nil {
			t.Fatalf("Poll %s: %v", coin, err)
		}
	}
	if b, l := balances(); b != 1000 || l != 0 {
		t.Fatalf("at 2 confirmations: btc %d, ltc %d; want ltc still not credited", b, l)
	}
	bw.mu.Lock()
	btcFetches := bw.fetches[txid(1)]
	bw.mu.Unlock()

	// Run polls both coins; ltc reaches its threshold, btc is final at its
	// own maximum (2) and is never fetched again.
	setBoth(3)
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, l := balances(); l == 2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not credit ltc at 3 confirmations")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond) // a few more cycles
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	bw.mu.Lock()
	after := bw.fetches[txid(1)]
	bw.mu.Unlock()
	if after != btcFetches {
		t.Fatalf("btc tx final at its max 2 was fetched again (%d → %d)", btcFetches, after)
	}
	for _, c := range []struct {
		coin, txid string
		conf       int64
	}{{"btc", txid(1), 2}, {"ltc", txid(2), 3}} {
		if n, err := st.NetworkTx(context.Background(), c.coin, walletgate.TxTypeDeposit, c.txid); err != nil || n.Confirmations != c.conf {
			t.Fatalf("%s tx: %+v, %v; want %d confirmations", c.coin, n, err, c.conf)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if credited["btc"] != 1 || credited["ltc"] != 3 {
		t.Fatalf("first credited events at %v; want btc 1, ltc 3", credited)
	}
}

func TestOptions(t *testing.T) {
	if _, err := deposits.New(nil, map[string]deposits.Coin{"btc": {Wallet: newScripted(), CreditAt: 6, MaxConfirmations: 3}},
		deposits.Options{}); walletgate.ErrorCode(err) != walletgate.EInvalid || !strings.Contains(err.Error(), "coin btc") {
		t.Fatalf("max below credit: %v", err)
	}
	// The check is per coin: a coin whose default maximum (15) is below
	// its own threshold is refused, another coin's rules do not matter.
	if _, err := deposits.New(nil, map[string]deposits.Coin{
		"btc": {Wallet: newScripted()},
		"ltc": {Wallet: newScripted(), CreditAt: 20},
	}, deposits.Options{}); walletgate.ErrorCode(err) != walletgate.EInvalid || !strings.Contains(err.Error(), "coin ltc") {
		t.Fatalf("ltc max below its credit: %v", err)
	}
	if _, err := deposits.New(nil, map[string]deposits.Coin{"btc": {}}, deposits.Options{}); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("no wallet: %v", err)
	}
	if _, err := deposits.New(nil, nil, deposits.Options{}); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("no coins: %v", err)
	}
}

func t0() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
