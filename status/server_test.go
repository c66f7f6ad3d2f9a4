package status_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/status"
)

// client is an HTTP client whose every request is bounded.
func client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res, string(b)
}

// TestServe runs the server on a real listener: pages answer, HEAD has
// no body, and ending ctx stops it and closes the listener.
func TestServe(t *testing.T) {
	f := newFixture(t, status.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	c := client()

	res, body := fetch(t, c, http.MethodGet, base+"/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "1.23456789") {
		t.Fatalf("GET /: %d\n%s", res.StatusCode, body)
	}
	res, body = fetch(t, c, http.MethodHead, base+"/accounts")
	if res.StatusCode != http.StatusOK || body != "" || res.ContentLength <= 0 {
		t.Fatalf("HEAD /accounts: %d, length %d, body %q; want 200, the GET length and no body", res.StatusCode, res.ContentLength, body)
	}
	res, _ = fetch(t, c, http.MethodGet, base+"/error")
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /error: %d, want 500", res.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after ctx ended: %v, want nil", err)
	}
	c.CloseIdleConnections()
	if conn, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		conn.Close()
		t.Fatalf("listener %s still accepts after shutdown", ln.Addr())
	}
}

// TestServeClosedListener: a listener that fails is Serve's error.
func TestServeClosedListener(t *testing.T) {
	f := newFixture(t, status.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = f.srv.Serve(ctxT(t), ln)
	if err == nil || !strings.Contains(err.Error(), "status: serve on "+ln.Addr().String()) {
		t.Fatalf("Serve on a closed listener: %v", err)
	}
}

// TestRun listens on Config.Addr, answers, and stops when ctx ends; a busy
// address is an error naming it.
func TestRun(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()

	f := newFixture(t, status.Config{Addr: addr})
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx) }()

	// Wait until Run listens: retry refused connections only.
	c := client()
	var res *http.Response
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/wallets", nil)
		res, err = c.Do(req)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("GET /wallets: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "1.85000000") {
		t.Fatalf("GET /wallets: %d\n%s", res.StatusCode, b)
	}

	// A second server on the same address cannot listen.
	g := newFixture(t, status.Config{Addr: addr})
	if err := g.srv.Run(ctxT(t)); err == nil || !strings.Contains(err.Error(), "status: listen on "+addr) {
		t.Fatalf("Run on a busy address: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after ctx ended: %v, want nil", err)
	}
}

// TestNew checks the settings and sources New refuses.
func TestNew(t *testing.T) {
	store := openStore(t)
	ok := downSource{name: "btc"}
	cases := []struct {
		name    string
		cfg     status.Config
		store   status.Store
		sources []status.Source
		want    string
	}{
		{name: "no store", sources: []status.Source{ok}, want: "status: no store"},
		{name: "no coins", store: store, want: "status: no coins"},
		{name: "nil source", store: store, sources: []status.Source{ok, nil}, want: "status: source 1 is nil"},
		{name: "nameless", store: store, sources: []status.Source{downSource{}}, want: "status: source 0 has no name"},
		{name: "twice", store: store, sources: []status.Source{ok, ok}, want: `status: coin "btc" is listed twice`},
		{name: "page limit", cfg: status.Config{PageLimit: walletgate.MaxPageLimit + 1}, store: store, sources: []status.Source{ok}, want: "page limit 10001 is over 10000"},
		{name: "scan batch", cfg: status.Config{ScanBatch: walletgate.MaxPageLimit + 1}, store: store, sources: []status.Source{ok}, want: "scan batch 10001 is over 10000"},
		{name: "write timeout", cfg: status.Config{CallTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}, store: store, sources: []status.Source{ok}, want: "write timeout 10s must exceed the call timeout 10s"},
		{name: "defaults", store: store, sources: []status.Source{ok}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, err := status.New(c.cfg, c.store, c.sources)
			if c.want == "" {
				if err != nil || srv == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || walletgate.ErrorCode(err) != walletgate.EInvalid {
				t.Fatalf("New: %v, want invalid %q", err, c.want)
			}
		})
	}
}

// TestWalletSource checks the adapter's defaults: alive means the wallet
// answers, Check overrides it, no notifier means never.
func TestWalletSource(t *testing.T) {
	checkErr := errors.New("walletnotify intake stopped")
	cases := []struct {
		name      string
		src       status.WalletSource
		wantAlive string
		wantBal   string
	}{
		{name: "no wallet", src: status.WalletSource{Coin: "btc"}, wantAlive: "btc has no wallet backend", wantBal: "btc has no wallet backend"},
		{name: "check fails", src: status.WalletSource{Coin: "btc", Wallet: nullWallet(t), Check: func(context.Context) error { return checkErr }}, wantAlive: checkErr.Error()},
		{name: "negative min conf", src: status.WalletSource{Coin: "btc", Wallet: nullWallet(t), MinConf: -1}, wantAlive: "btc wallet does not answer", wantBal: "btc hot wallet balance (-1 conf)"},
		{name: "fine", src: status.WalletSource{Coin: "btc", Wallet: nullWallet(t)}},
		{name: "times", src: status.WalletSource{Coin: "btc", Wallet: nullWallet(t), Notifies: times{"btc": t0}, Broadcasts: times{"btc": t0.Add(time.Hour)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errIs(t, "Alive", c.src.Alive(ctxT(t)), c.wantAlive)
			b, err := c.src.HotBalance(ctxT(t))
			errIs(t, "HotBalance", err, c.wantBal)
			if err == nil && b != hotBTC {
				t.Errorf("HotBalance %d, want %d", b, hotBTC)
			}
			wantNotify, wantBroadcast := time.Time{}, time.Time{}
			if c.src.Notifies != nil {
				wantNotify, wantBroadcast = t0, t0.Add(time.Hour)
			}
			if !c.src.LastWalletNotify().Equal(wantNotify) || !c.src.LastBroadcast().Equal(wantBroadcast) {
				t.Errorf("times %v %v, want %v %v", c.src.LastWalletNotify(), c.src.LastBroadcast(), wantNotify, wantBroadcast)
			}
		})
	}
}

func errIs(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %v, want %q", what, err, want)
	}
}

// times is a NotifyTimes and BroadcastTimes over a fixed map.
type times map[string]time.Time

func (m times) LastWalletNotify(coin string) time.Time { return m[coin] }
func (m times) LastBroadcast(coin string) time.Time    { return m[coin] }
