package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// fakeNode models btcd's HTTP JSON-RPC server closely enough for the
// transport tests: basic auth with "401 Unauthorized." on failure, an
// empty 200 body for requests without "jsonrpc", Connection: close on
// every reply, batches as arrays, and no estimatesmartfee/getnetworkinfo.
type fakeNode struct {
	user, pass string
	mu         sync.Mutex // guards pass after start
	delay      time.Duration
	inFlight   atomic.Int32
	maxSeen    atomic.Int32
	calls      atomic.Int32
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	w.Header().Set("Connection", "close")
	f.mu.Lock()
	pass := f.pass
	f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="btcd RPC"`)
		http.Error(w, "401 Unauthorized.", http.StatusUnauthorized)
		return
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	if len(raw) > 0 && raw[0] == '[' {
		var reqs []map[string]any
		_ = json.Unmarshal(raw, &reqs)
		out := make([]any, 0, len(reqs))
		for i := len(reqs) - 1; i >= 0; i-- { // answer out of order on purpose
			out = append(out, f.answer(reqs[i]))
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	var req map[string]any
	_ = json.Unmarshal(raw, &req)
	if req["jsonrpc"] == nil {
		w.WriteHeader(http.StatusOK) // btcd's empty body
		return
	}
	_ = json.NewEncoder(w).Encode(f.answer(req))
}

func (f *fakeNode) answer(req map[string]any) map[string]any {
	f.calls.Add(1)
	res := map[string]any{"id": req["id"], "result": nil, "error": nil}
	switch req["method"] {
	case "getblockcount":
		res["result"] = 7
	case "echo":
		res["result"] = req["params"]
	case "estimatefee":
		res["result"] = 0.0002
	case "getinfo":
		res["result"] = map[string]any{"version": 260200, "relayfee": 0.00001}
	case "getrawtransaction":
		res["error"] = map[string]any{"code": -5, "message": "No information available about transaction"}
	default:
		res["error"] = map[string]any{"code": -32601, "message": "Method not found"}
	}
	return res
}

func startFake(t *testing.T, f *fakeNode) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return "http://" + f.user + ":" + f.pass + "@" + srv.Listener.Addr().String() + "/"
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%q): %v", cfg.URL, err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCallKinds(t *testing.T) {
	f := &fakeNode{user: "u", pass: "p"}
	url := startFake(t, f)
	c := newClient(t, Config{URL: url})
	ctx := context.Background()

	n, err := c.BlockCount(ctx)
	if err != nil || n != 7 {
		t.Fatalf("BlockCount = %d, %v; want 7", n, err)
	}
	_, err = c.Call(ctx, "nosuch")
	var re *walletgate.RPCError
	if !errors.As(err, &re) || re.Code != -32601 || re.Message != "Method not found" {
		t.Fatalf("unknown method error = %v; want RPCError -32601 verbatim", err)
	}

	bad := newClient(t, Config{URL: "http://u:wrong@" + url[len("http://u:p@"):]})
	_, err = bad.BlockCount(ctx)
	if walletgate.ErrorCode(err) != walletgate.EUnauthorized || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong password: %v; want EUnauthorized wrapping ErrUnauthorized", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	refused := newClient(t, Config{URL: "http://u:p@" + addr + "/"})
	_, err = refused.BlockCount(ctx)
	if walletgate.ErrorCode(err) != walletgate.EUnavailable || !errors.Is(err, ErrRefused) {
		t.Fatalf("closed port: %v; want EUnavailable wrapping ErrRefused", err)
	}
}

func TestTimeout(t *testing.T) {
	f := &fakeNode{user: "u", pass: "p", delay: 300 * time.Millisecond}
	c := newClient(t, Config{URL: startFake(t, f), Timeout: 50 * time.Millisecond})
	_, err := c.BlockCount(context.Background())
	if walletgate.ErrorCode(err) != walletgate.ETimeout || !errors.Is(err, ErrTimeout) {
		t.Fatalf("slow node: %v; want ETimeout wrapping ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.BlockCount(ctx)
	if !errors.Is(err, context.Canceled) || walletgate.ErrorCode(err) == walletgate.ETimeout {
		t.Fatalf("cancelled call: %v; want context.Canceled, not a timeout", err)
	}
}

func TestBatchOrderAndSplit(t *testing.T) {
	f := &fakeNode{user: "u", pass: "p"}
	c := newClient(t, Config{URL: startFake(t, f), MaxBatch: 3})
	var reqs []Request
	for i := range 8 {
		reqs = append(reqs, Request{Method: "echo", Params: []any{i}})
	}
	reqs = append(reqs, Request{Method: "getrawtransaction", Params: []any{"00", 1}})
	res, err := c.Batch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 9 {
		t.Fatalf("got %d results, want 9", len(res))
	}
	for i := range 8 {
		var got []int
		if err := json.Unmarshal(res[i].Result, &got); err != nil || len(got) != 1 || got[0] != i {
			t.Errorf("result %d = %s, %v; want [%d]", i, res[i].Result, res[i].Err, i)
		}
	}
	if !IsRPCError(res[8].Err, -5) {
		t.Errorf("last result err = %v; want RPC -5", res[8].Err)
	}
}

func TestFallbacks(t *testing.T) {
	f := &fakeNode{user: "u", pass: "p"}
	c := newClient(t, Config{URL: startFake(t, f)})
	ctx := context.Background()
	for range 2 {
		rate, err := c.EstimateFee(ctx, 6)
		if err != nil || rate != 0.0002 {
			t.Fatalf("EstimateFee = %v, %v; want 0.0002 via estimatefee", rate, err)
		}
		ni, err := c.NetworkInfo(ctx)
		if err != nil || ni.RelayFee != 0.00001 || ni.Version != 260200 {
			t.Fatalf("NetworkInfo = %+v, %v; want getinfo's values", ni, err)
		}
	}
	// The first round asks the missing methods once each; the second goes
	// straight to the fallbacks: 2 + 2 + 2 calls.
	if got := f.calls.Load(); got != 6 {
		t.Errorf("node saw %d calls; want 6 (fallbacks remembered)", got)
	}
}

func TestConcurrencyBound(t *testing.T) {
	f := &fakeNode{user: "u", pass: "p", delay: 20 * time.Millisecond}
	c := newClient(t, Config{URL: startFake(t, f), MaxConcurrent: 3})
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			if _, err := c.BlockCount(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := f.maxSeen.Load(); m > 3 || m < 2 {
		t.Fatalf("max requests in flight = %d; want 2..3 with MaxConcurrent 3", m)
	}
}

func TestCookieFile(t *testing.T) {
	f := &fakeNode{user: "__cookie__", pass: "one"}
	url := startFake(t, f)
	host := url[len("http://__cookie__:one@"):]
	cookie := filepath.Join(t.TempDir(), ".cookie")
	if err := os.WriteFile(cookie, []byte("__cookie__:one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Config{URL: "http://" + host, CookieFile: cookie})
	if _, err := c.BlockCount(context.Background()); err != nil {
		t.Fatalf("with cookie: %v", err)
	}
	// The node restarts with a new cookie: the client re-reads it after 401.
	f.mu.Lock()
	f.pass = "two"
	f.mu.Unlock()
	if err := os.WriteFile(cookie, []byte("__cookie__:two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BlockCount(context.Background()); err != nil {
		t.Fatalf("after cookie rotation: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct{ name, url, ca string }{
		{"scheme", "ftp://h:1/", ""},
		{"no host", "http:///", ""},
		{"parse", "http://[::1", ""},
		{"missing CA", "https://h:1/", "/nonexistent/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{URL: tc.url, CAFile: tc.ca})
			if walletgate.ErrorCode(err) != walletgate.EInvalid {
				t.Fatalf("New(%q) = %v; want EInvalid", tc.url, err)
			}
		})
	}
}
