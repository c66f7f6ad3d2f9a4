package deposits_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/blockio"
	"github.com/walletgate/walletgate/blockio/blockiotest"
	"github.com/walletgate/walletgate/deposits"
	"github.com/walletgate/walletgate/outbox"
	"github.com/walletgate/walletgate/sqlite"
)

// receiver is the application's txupdate listener (cryptoassets'
// simple_http_event_listener): it dedupes by event_id and records the
// order in which new events arrived.
type receiver struct {
	mu     sync.Mutex
	down   bool // answer 503
	seen   map[string]int
	order  []map[string]any // first arrival of each event_id
	posts  int
	failed int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.down {
		r.failed++
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if err := req.ParseForm(); err != nil || req.PostForm.Get("event_name") != "txupdate" || req.PostForm.Get("data") != req.PostForm.Get("xdata") {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(req.PostForm.Get("data")), &data); err != nil {
		http.Error(w, "bad data", http.StatusBadRequest)
		return
	}
	id, _ := data["event_id"].(string)
	if r.seen[id]++; r.seen[id] == 1 {
		r.order = append(r.order, data)
	}
}

func (r *receiver) setDown(down bool) { r.mu.Lock(); r.down = down; r.mu.Unlock() }

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.order) }

// instance is one run of the service: store, tracker and outbox worker.
type instance struct {
	store   *sqlite.Store
	tracker *deposits.Tracker
	cancel  context.CancelFunc
	done    chan struct{}
}

func start(t *testing.T, path string, backend walletgate.WalletBackend, url string) *instance {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h, err := outbox.NewHTTP(outbox.HTTPOptions{Name: "app", URL: url, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := outbox.NewWorker(st, h, outbox.WorkerOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, Poll: 20 * time.Millisecond})
	// Registered before anything is applied, so no event predates the queue.
	if err := w.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr, err := deposits.New(st, map[string]deposits.Coin{"btc": {Wallet: backend}},
		deposits.Options{OnEvents: func(string, []walletgate.TxUpdate) { w.Wake() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{store: st, tracker: tr, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(in.done); _ = w.Run(ctx) }()
	return in
}

func (in *instance) stop(t *testing.T) {
	in.cancel()
	<-in.done
	if err := in.store.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

// TestEndToEnd follows one deposit from the block.io wallet to the
// application through 0..15 confirmations while the application refuses
// connections, then answers 503, and the service restarts in between.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	fake := blockiotest.New("key", "btctest")
	t.Cleanup(fake.Close)
	backend, err := blockio.New(blockio.Config{APIKey: "key", Network: "btctest", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The receiver's port is reserved, then closed: until the receiver
	// starts, deliveries are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rcv := &receiver{seen: map[string]int{}}
	path := filepath.Join(t.TempDir(), "walletgate.sqlite")

	in := start(t, path, backend, "http://"+addr+"/")
	w, err := in.tracker.CreateAddress(ctx, "btc", "alice", "user-17")
	if err != nil {
		t.Fatalf("CreateAddress: %v", err)
	}
	txid := strings.Repeat("ab", 32)
	fake.AddTx(blockiotest.Tx{TxID: txid, Confirmations: 0, Received: map[string]int64{w.Address: 21000, "2NotOurs": 5000}})
	if err := in.tracker.WalletNotify(ctx, "btc", txid); err != nil {
		t.Fatalf("WalletNotify: %v", err)
	}
	step := func(conf int64) {
		t.Helper()
		fake.SetConfirmations(txid, conf)
		if err := in.tracker.BlockNotify(ctx, "btc", "blockhash"); err != nil {
			t.Fatalf("BlockNotify at %d: %v", conf, err)
		}
	}
	for conf := int64(1); conf <= 4; conf++ {
		step(conf)
	}
	// The application comes up, but in maintenance.
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	rcv.setDown(true)
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	for conf := int64(5); conf <= 8; conf++ {
		step(conf)
	}
	waitFor(t, "a 503 answer", func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return rcv.failed > 0 })

	// Restart: the outbox and the deposit survive in the file.
	in.stop(t)
	in = start(t, path, backend, "http://"+addr+"/")
	defer in.stop(t)
	step(9)
	rcv.setDown(false)
	for conf := int64(10); conf <= 17; conf++ {
		step(conf)
	}
	waitFor(t, "16 events", func() bool { return rcv.count() >= 16 })
	waitFor(t, "an empty outbox", func() bool { n, err := in.store.PendingOutbox(ctx, "app"); return err == nil && n == 0 })
	// Polls past the maximum change nothing.
	if open, err := in.store.OpenNetworkTxs(ctx, "btc", 15); err != nil || len(open) != 0 {
		t.Fatalf("open transactions after 15 confirmations: %+v, %v", open, err)
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.order) != 16 {
		t.Fatalf("got %d distinct events, want 16 (0..15)", len(rcv.order))
	}
	for i, d := range rcv.order {
		conf := float64(i)
		want := map[string]any{
			"txid": txid, "address": w.Address, "account": "alice", "amount": "0.00021000",
			"credited": i >= 3, "confirmations": conf, "coin_name": "btc", "transaction_type": "deposit",
			"event_id": walletgate.TxUpdateEventID("btc", txid, w.Address, int64(i)),
		}
		for k, v := range want {
			if d[k] != v {
				t.Fatalf("event %d: %s = %v (%T), want %v; event %v", i, k, d[k], d[k], v, d)
			}
		}
		if d["transaction"] == nil || d["network_transaction"] == nil {
			t.Fatalf("event %d lacks row ids: %v", i, d)
		}
	}
	if b, err := in.store.Balance(ctx, "btc", "alice"); err != nil || b != 21000 {
		t.Fatalf("balance %d, %v; want 21000 credited once", b, err)
	}
	if n, err := in.store.PendingOutbox(ctx, "app"); err != nil || n != 0 {
		t.Fatalf("outbox still holds %d, %v", n, err)
	}
	t.Logf("%d POSTs for 16 events (%d answered 503)", rcv.posts, rcv.failed)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
