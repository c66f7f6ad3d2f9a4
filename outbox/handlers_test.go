package outbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/outbox"
	"github.com/walletgate/walletgate/sqlite"
)

var ev = walletgate.TxUpdate{EventID: "btc:tx:addr:3", Coin: "btc", TransactionType: "deposit", TransactionID: 1, NetworkTxID: 1,
	Account: "alice", TxID: "tx", Address: "addr", Amount: 21000, Credited: true, Confirmations: 3}

func payload(t *testing.T) []byte {
	b, err := walletgate.MarshalTxUpdate(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTP(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var body []byte
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, body = r, b
		s := status
		mu.Unlock()
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(s)
		io.WriteString(w, "nope")
	}))
	defer srv.Close()
	ctx := context.Background()

	form, _ := outbox.NewHTTP(outbox.HTTPOptions{Name: "f", URL: srv.URL + "/hook"})
	if err := form.Deliver(ctx, ev, payload(t)); err != nil {
		t.Fatalf("form POST: %v", err)
	}
	if got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("content type %q", got.Header.Get("Content-Type"))
	}
	vals, _ := parseQuery(string(body))
	if vals["event_name"] != "txupdate" || vals["data"] != string(payload(t)) || vals["xdata"] != vals["data"] {
		t.Fatalf("form fields %v", vals)
	}

	secret := []byte("s3cret")
	js, _ := outbox.NewHTTP(outbox.HTTPOptions{Name: "j", URL: srv.URL, JSON: true, Secret: secret})
	if err := js.Deliver(ctx, ev, payload(t)); err != nil {
		t.Fatalf("JSON POST: %v", err)
	}
	if sig := got.Header.Get(outbox.SignatureHeader); sig != outbox.Sign(secret, body) || !strings.HasPrefix(sig, "sha256=") {
		t.Fatalf("signature %q over %s", sig, body)
	}
	var env struct {
		EventName string          `json:"event_name"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.EventName != "txupdate" || string(env.Data) != string(payload(t)) {
		t.Fatalf("JSON body %s (%v)", body, err)
	}

	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	if err := form.Deliver(ctx, ev, payload(t)); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("503 gave %v, want an error naming the status and body", err)
	}
	slow, _ := outbox.NewHTTP(outbox.HTTPOptions{Name: "s", URL: srv.URL + "/slow", Timeout: 50 * time.Millisecond})
	if err := slow.Deliver(ctx, ev, payload(t)); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("hanging receiver gave %v, want a timeout", err)
	}
	for _, bad := range []outbox.HTTPOptions{{Name: "x", URL: "ftp://x"}, {Name: "x", URL: "::"}, {URL: srv.URL}} {
		if _, err := outbox.NewHTTP(bad); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("NewHTTP(%+v) = %v, want EInvalid", bad, err)
		}
	}
}

func parseQuery(s string) (map[string]string, error) {
	r, _ := http.NewRequest("POST", "/", strings.NewReader(s))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range r.PostForm {
		out[k] = v[0]
	}
	return out, nil
}

func TestScript(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	s, err := outbox.NewScript(outbox.ScriptOptions{Name: "s", Script: `printf '%s\n%s' "$CRYPTOASSETS_EVENT_NAME" "$CRYPTOASSETS_EVENT_DATA" > "` + out + `"`})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), ev, payload(t)); err != nil {
		t.Fatalf("script: %v", err)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "txupdate\n"+string(payload(t)) {
		t.Fatalf("script saw %q", b)
	}
	fail, _ := outbox.NewScript(outbox.ScriptOptions{Name: "f", Script: "echo broken >&2; exit 3"})
	if err := fail.Deliver(context.Background(), ev, payload(t)); err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("failing script gave %v", err)
	}
	slow, _ := outbox.NewScript(outbox.ScriptOptions{Name: "z", Script: "sleep 30", Timeout: 100 * time.Millisecond})
	start := time.Now()
	if err := slow.Deliver(context.Background(), ev, payload(t)); err == nil {
		t.Fatal("a script past its timeout succeeded")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the timed-out script was not killed")
	}
}

func TestRedis(t *testing.T) {
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	channel := "wgtest_txupdate_" + time.Now().Format("150405.000000000")
	sub := c.Subscribe(ctx, channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := outbox.NewRedis(outbox.RedisOptions{Name: "r", Client: c, Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Deliver(ctx, ev, payload(t)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"event_name":"txupdate","data":` + string(payload(t)) + `}`; msg.Payload != want {
		t.Fatalf("message %s\nwant    %s", msg.Payload, want)
	}
	c2 := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c2.Close()
	down, _ := outbox.NewRedis(outbox.RedisOptions{Name: "d", Client: c2, Timeout: time.Second})
	if err := down.Deliver(ctx, ev, payload(t)); err == nil {
		t.Fatal("publish to a dead Redis succeeded")
	}
}

// TestWorker: a handler failing for a while gets every event afterwards,
// in order per address, and the worker backs off meanwhile.
func TestWorker(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var mu sync.Mutex
	failing := true
	calls := 0
	var got []string
	h := outbox.Func{HandlerName: "fn", Fn: func(_ context.Context, name string, u walletgate.TxUpdate, _ []byte) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if failing {
			return io.ErrUnexpectedEOF
		}
		got = append(got, u.EventID)
		return nil
	}}
	w := outbox.NewWorker(st, h, outbox.WorkerOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err := w.Register(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a1", "a2"} {
		if _, err := st.AddWatch(ctx, walletgate.Watch{Coin: "btc", Address: a, Account: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for conf := int64(0); conf < 5; conf++ {
		for _, a := range []string{"a1", "a2"} {
			tx := walletgate.WalletTx{TxID: "tx" + a, Confirmations: conf, Details: []walletgate.WalletTxDetail{{Category: "receive", Address: a, Amount: 5}}}
			if _, err := st.ApplyTx(ctx, "btc", tx, 3, 15, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	failedCalls := calls
	failing = false
	mu.Unlock()
	// Backoff: 300ms of a dead receiver at ≥20ms per round and one try per
	// batch, not a busy loop.
	if failedCalls == 0 || failedCalls > 40 {
		t.Fatalf("%d delivery attempts in 300ms of failure; want a few (backoff)", failedCalls)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of 10", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	next := map[string]int{}
	for _, id := range got {
		parts := strings.Split(id, ":")
		addr := parts[2]
		if want := walletgate.TxUpdateEventID("btc", "tx"+addr, addr, int64(next[addr])); id != want {
			t.Fatalf("delivery order %v: got %s, want %s", got, id, want)
		}
		next[addr]++
	}
	if n, _ := st.PendingOutbox(ctx, "fn"); n != 0 {
		t.Fatalf("%d events left", n)
	}
}

type publisher struct {
	coin, account string
	payload       []byte
}

func (p *publisher) PublishAccountEvent(coin, account string, payload []byte) error {
	p.coin, p.account, p.payload = coin, account, payload
	return nil
}

func TestSockets(t *testing.T) {
	p := &publisher{}
	if err := (outbox.Sockets{HandlerName: "ws", Publisher: p}).Deliver(context.Background(), ev, payload(t)); err != nil {
		t.Fatal(err)
	}
	if p.coin != "btc" || p.account != "alice" || string(p.payload) != string(payload(t)) {
		t.Fatalf("published %s %s %s", p.coin, p.account, p.payload)
	}
}
