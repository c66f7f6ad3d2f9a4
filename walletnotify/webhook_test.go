package walletnotify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate/blockio"
	"github.com/walletgate/walletgate/blockio/blockiotest"
)

// syncBuffer is a log sink the test can read while the intake writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func blockioPair(t *testing.T) (*blockio.Client, *blockiotest.Server) {
	t.Helper()
	srv := blockiotest.New("key", "btctest")
	t.Cleanup(srv.Close)
	c, err := blockio.New(blockio.Config{APIKey: "key", Network: "btctest", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func webhookBody(typ string, attempt int, data string) string {
	return fmt.Sprintf(`{"notification_id":"n1","delivery_attempt":%d,"type":%q,"data":%s,"created_at":1700000000}`, attempt, typ, data)
}

func TestWebhookRequests(t *testing.T) {
	rec := newRecorder()
	rec.fail[hash(99)] = true
	logs := &syncBuffer{}
	h, err := NewWebhook(WebhookConfig{URL: "https://public.example/hidden-7f3a/", Coin: "doge", MaxBodyBytes: 4096,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}, rec)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runIntake(t, func(ctx context.Context) error { return h.Serve(ctx, ln) })
	base := "http://" + ln.Addr().String()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantNote   string
		wantLog    string
	}{
		{"account", "POST", "/hidden-7f3a/", webhookBody("account", 1, `{"network":"DOGETEST","address":"x","balance_change":"1.0","txid":"`+hash(1)+`","confirmations":0}`), 200, "doge tx " + hash(1), ""},
		{"no trailing slash", "POST", "/hidden-7f3a", webhookBody("address", 1, `{"txid":"`+hash(2)+`"}`), 200, "doge tx " + hash(2), ""},
		{"retried delivery is logged", "POST", "/hidden-7f3a/", webhookBody("account", 3, `{"txid":"`+hash(3)+`"}`), 200, "doge tx " + hash(3), "attempt=3"},
		{"new-transactions", "POST", "/hidden-7f3a/", webhookBody("new-transactions", 1, `{"txid":"`+hash(4)+`","inputs":[],"outputs":[]}`), 200, "doge tx " + hash(4), ""},
		{"new-blocks", "POST", "/hidden-7f3a/", webhookBody("new-blocks", 1, `{"block_hash":"`+hash(5)+`","block_no":7,"txs":[]}`), 200, "doge block " + hash(5), ""},
		{"ping", "POST", "/hidden-7f3a/", `{"type":"ping"}`, 200, "", ""},
		{"wrong path", "POST", "/hidden-7f3b/", webhookBody("account", 1, `{"txid":"`+hash(6)+`"}`), 404, "", ""},
		{"root path", "POST", "/", webhookBody("account", 1, `{"txid":"`+hash(6)+`"}`), 404, "", ""},
		{"GET", "GET", "/hidden-7f3a/", "", 405, "", ""},
		{"missing txid", "POST", "/hidden-7f3a/", webhookBody("account", 1, `{"address":"x"}`), 500, "", "missing data.txid"},
		{"not JSON", "POST", "/hidden-7f3a/", `txid=` + hash(7), 500, "", "not a JSON object"},
		{"data not an object", "POST", "/hidden-7f3a/", webhookBody("account", 1, `"x"`), 500, "", "data is not an object"},
		{"notifier fails", "POST", "/hidden-7f3a/", webhookBody("account", 1, `{"txid":"`+hash(99)+`"}`), 500, "", "webhook notification failed"},
		{"too large", "POST", "/hidden-7f3a/", webhookBody("account", 1, `{"txid":"`+hash(8)+`","pad":"`+strings.Repeat("x", 5000)+`"}`), 413, "", ""},
	}
	var want []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantNote != "" {
				want = append(want, tc.wantNote)
			}
			if got := rec.snapshot(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("notified %q, want %q", got, want)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

func TestWebhookSubscriptionLifecycle(t *testing.T) {
	api, fake := blockioPair(t)
	fake.AddNotification("account", "https://old.example/a")
	fake.AddNotification("account", "https://old.example/b")
	keep := fake.AddNotification("address", "https://other.example/")
	const url = "https://public.example/hidden/"
	h, err := NewWebhook(WebhookConfig{URL: url, Coin: "btc", API: api, Logger: quietLogger()}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := runIntake(t, func(ctx context.Context) error { return h.Serve(ctx, ln) })
	deadline := time.Now().Add(10 * time.Second)
	var ours string
	for {
		var accounts []blockio.Notification
		for _, n := range fake.Notifications() {
			if n.Type == "account" {
				accounts = append(accounts, n)
			}
		}
		if len(accounts) == 1 && accounts[0].URL == url {
			ours = accounts[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications %+v: want exactly one account notification for %s", fake.Notifications(), url)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	left := fake.Notifications()
	if len(left) != 1 || left[0].ID != keep {
		t.Fatalf("after stop: %+v; want only the address notification %s (ours was %s)", left, keep, ours)
	}
}

func TestWebhookRegistrationFailure(t *testing.T) {
	api, fake := blockioPair(t)
	fake.SetFault("create_notification", blockiotest.Fault{FailMessage: "Notification limit reached"})
	fake.SetFault("get_notifications", blockiotest.Fault{HTTPStatus: 502}) // listing errors are tolerated
	h, err := NewWebhook(WebhookConfig{URL: "https://x.example/h", Coin: "btc", API: api, Logger: quietLogger()}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = h.Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "Notification limit reached") {
		t.Fatalf("Serve: %v, want the registration failure", err)
	}
	// The listener is closed: the port no longer answers.
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("listener still open after a failed start")
	}
}

func TestNewWebhookRejects(t *testing.T) {
	tests := []struct {
		cfg  WebhookConfig
		want string
	}{
		{WebhookConfig{URL: "https://x/"}, "needs Coin"},
		{WebhookConfig{Coin: "btc"}, "want the public http(s) URL"},
		{WebhookConfig{Coin: "btc", URL: "/relative"}, "want the public http(s) URL"},
	}
	for _, tc := range tests {
		if _, err := NewWebhook(tc.cfg, newRecorder()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWebhook(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
