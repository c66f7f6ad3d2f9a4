package status_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/deposits"
	"github.com/walletgate/walletgate/nullwallet"
	"github.com/walletgate/walletgate/sqlite"
	"github.com/walletgate/walletgate/status"
)

// t0 is the fixed clock of the fixtures.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Fixture txids and values.
const (
	txA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // alice1 1.5 + alice2 0.25, 3 conf: credited
	txB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" // evil 21000 sats, 1 conf: pending
	txC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" // bob 0.1, 20 conf: credited, closed
	txL = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" // ltc carol 2.0, 5 conf

	evilAccount = `<script>alert("x")</script>`
	evilEscaped = `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`
	hotBTC      = 123_456_789 // nullwallet balance of btc: "1.23456789"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openStore opens a fresh SQLite store in a temp dir.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(ctxT(t), filepath.Join(t.TempDir(), "walletgate.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func recv(addr string, sats int64) walletgate.WalletTxDetail {
	return walletgate.WalletTxDetail{Category: walletgate.CategoryReceive, Address: addr, Amount: sats}
}

// seed fills s with btc watches for alice (2), the script-named account and
// bob, one ltc watch for carol, and their deposits via ApplyTx.
func seed(t testing.TB, s walletgate.DepositStore) {
	t.Helper()
	ctx := ctxT(t)
	for _, w := range []walletgate.Watch{
		{Coin: "btc", Address: "bc1qalice1", Account: "alice", ExternalID: "user-1"},
		{Coin: "btc", Address: "bc1qalice2", Account: "alice"},
		{Coin: "btc", Address: "bc1qevil", Account: evilAccount},
		{Coin: "btc", Address: "bc1qbob", Account: "bob"},
		{Coin: "ltc", Address: "ltc1qcarol", Account: "carol"},
	} {
		w.CreatedAt = t0
		if _, err := s.AddWatch(ctx, w); err != nil {
			t.Fatalf("AddWatch %+v: %v", w, err)
		}
	}
	for _, a := range []struct {
		coin string
		tx   walletgate.WalletTx
	}{
		{"btc", walletgate.WalletTx{TxID: txA, Confirmations: 3, Details: []walletgate.WalletTxDetail{recv("bc1qalice1", 150_000_000), recv("bc1qalice2", 25_000_000)}}},
		{"btc", walletgate.WalletTx{TxID: txB, Confirmations: 1, Details: []walletgate.WalletTxDetail{recv("bc1qevil", 21_000)}}},
		{"btc", walletgate.WalletTx{TxID: txC, Confirmations: 20, Details: []walletgate.WalletTxDetail{recv("bc1qbob", 10_000_000)}}},
		{"ltc", walletgate.WalletTx{TxID: txL, Confirmations: 5, Details: []walletgate.WalletTxDetail{recv("ltc1qcarol", 200_000_000)}}},
	} {
		if _, err := s.ApplyTx(ctx, a.coin, a.tx, 3, 15, t0); err != nil {
			t.Fatalf("ApplyTx %s %s: %v", a.coin, a.tx.TxID, err)
		}
	}
}

// stuckSource never answers its context calls until released: it ignores
// ctx, the worst a backend can do.
type stuckSource struct {
	name    string
	release chan struct{}
}

func (s stuckSource) Name() string { return s.name }
func (s stuckSource) Alive(ctx context.Context) error {
	<-s.release
	return nil
}
func (s stuckSource) HotBalance(ctx context.Context) (int64, error) {
	<-s.release
	return 1, nil
}
func (s stuckSource) LastWalletNotify() time.Time { return time.Time{} }
func (s stuckSource) LastBroadcast() time.Time    { return time.Time{} }

// downSource is a coin whose backend refuses connections and whose calls
// panic when panicky is set.
type downSource struct {
	name    string
	panicky bool
}

func (s downSource) Name() string { return s.name }
func (s downSource) Alive(ctx context.Context) error {
	return walletgate.WrapError(walletgate.EUnavailable, errors.New("connection refused"), "%s node <unreachable>", s.name)
}
func (s downSource) HotBalance(ctx context.Context) (int64, error) {
	if s.panicky {
		panic("balance exploded")
	}
	return 0, errors.New("dial tcp 127.0.0.1:8332: connection refused")
}
func (s downSource) LastWalletNotify() time.Time { return time.Time{} }
func (s downSource) LastBroadcast() time.Time    { return t0.Add(-90 * time.Second) }

// fixture is a seeded store behind a Server with four coins: btc (a real
// null wallet and deposit tracker), ltc (stuck), doge (down) and bch
// (panics).
type fixture struct {
	store *sqlite.Store
	srv   *status.Server
}

func newFixture(t testing.TB, cfg status.Config) fixture {
	t.Helper()
	store := openStore(t)
	seed(t, store)
	wallet := nullWallet(t)
	tracker, err := deposits.New(store, map[string]deposits.Coin{"btc": {Wallet: wallet}},
		deposits.Options{Now: func() time.Time { return t0.Add(-5 * time.Minute) }})
	if err != nil {
		t.Fatalf("deposits.New: %v", err)
	}
	// The null wallet has no transactions, so the update fails, but the
	// tracker has recorded the notify time the page shows.
	if err := tracker.WalletNotify(ctxT(t), "btc", txA); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("WalletNotify on the null wallet: %v, want not found", err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 }
	}
	srv, err := status.New(cfg, store, []status.Source{
		status.WalletSource{Coin: "btc", Wallet: wallet, Notifies: tracker},
		stuckSource{name: "ltc", release: release},
		downSource{name: "doge"},
		downSource{name: "bch", panicky: true},
	})
	if err != nil {
		t.Fatalf("status.New: %v", err)
	}
	return fixture{store: store, srv: srv}
}

// get runs one request through the handler.
func get(t testing.TB, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(ctxT(t), method, target, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// checkBody asserts body has every want and none of not.
func checkBody(t testing.TB, body string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q:\n%s", w, body)
		}
	}
	for _, n := range not {
		if strings.Contains(body, n) {
			t.Errorf("body has %q:\n%s", n, body)
		}
	}
}

// nullWallet is a real null backend for btc regtest holding hotBTC.
func nullWallet(t testing.TB) *nullwallet.Wallet {
	t.Helper()
	w, err := nullwallet.New(nullwallet.Config{Coin: "btc", Network: "regtest", Balance: hotBTC})
	if err != nil {
		t.Fatalf("nullwallet.New: %v", err)
	}
	return w
}
