package walletnotify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeNBlockIO models n.block.io: it greets each connection, expects an
// {"type":"account","api_key":...} subscription, confirms it with a status
// message (or refuses a wrong key), then sends what the test scripts.
type fakeNBlockIO struct {
	srv      *httptest.Server
	apiKey   string
	sessions chan *fakeSession
	refused  chan struct{}
}

type fakeSession struct {
	conn *websocket.Conn
	done chan struct{} // closed by the test to end the handler
}

func newFakeNBlockIO(t *testing.T, apiKey string) *fakeNBlockIO {
	f := &fakeNBlockIO{apiKey: apiKey, sessions: make(chan *fakeSession, 16), refused: make(chan struct{}, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"status":"success","data":{"message":"Welcome! Subscribe within 60 seconds."}}`)); err != nil {
			return
		}
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var sub struct {
			Type   string `json:"type"`
			APIKey string `json:"api_key"`
		}
		if json.Unmarshal(msg, &sub) != nil || sub.Type != "account" || sub.APIKey != f.apiKey {
			c.Write(ctx, websocket.MessageText, []byte(`{"status":"fail","data":{"error_message":"Invalid API Key."}}`))
			f.refused <- struct{}{}
			c.Close(websocket.StatusPolicyViolation, "bad subscription")
			return
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"status":"success","data":{"message":"Subscribed."}}`)); err != nil {
			return
		}
		s := &fakeSession{conn: c, done: make(chan struct{})}
		f.sessions <- s
		select {
		case <-s.done:
		case <-ctx.Done():
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNBlockIO) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/" }

func (f *fakeNBlockIO) next(t *testing.T) *fakeSession {
	t.Helper()
	select {
	case s := <-f.sessions:
		return s
	case <-time.After(15 * time.Second):
		t.Fatal("no subscribed websocket session")
		return nil
	}
}

func (s *fakeSession) send(t *testing.T, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func startWebsocket(t *testing.T, f *fakeNBlockIO, key string, rec *recorder) func() error {
	t.Helper()
	ws, err := NewWebsocket(WebsocketConfig{URL: f.url(), APIKey: key, Coin: "ltc", MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: quietLogger()}, rec)
	if err != nil {
		t.Fatal(err)
	}
	return runIntake(t, ws.Run)
}

func TestWebsocketIntake(t *testing.T) {
	f := newFakeNBlockIO(t, "key")
	rec := newRecorder()
	rec.fail[hash(99)] = true
	stop := startWebsocket(t, f, "key", rec)
	s := f.next(t)
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{"ping ignored", `{"type":"ping","data":{"timestamp":1700000000}}`, ""},
		{"address", `{"notification_id":"n","delivery_attempt":1,"type":"address","data":{"network":"LTCTEST","address":"x","txid":"` + hash(1) + `","confirmations":0}}`, "ltc tx " + hash(1)},
		{"account", `{"type":"account","data":{"txid":"` + hash(2) + `"}}`, "ltc tx " + hash(2)},
		{"new-blocks", `{"type":"new-blocks","data":{"block_hash":"` + hash(3) + `"}}`, "ltc block " + hash(3)},
		{"status message", `{"status":"success","data":{}}`, ""},
		{"garbage skipped", `not json`, ""},
		{"missing txid skipped", `{"type":"account","data":{"address":"x"}}`, ""},
		{"failing txid skipped", `{"type":"account","data":{"txid":"` + hash(99) + `"}}`, ""},
	}
	var want []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.send(t, tc.msg)
			s.send(t, `{"type":"account","data":{"txid":"`+hash(1000)+`"}}`) // marker: still reading, nothing extra
			if tc.want != "" {
				want = append(want, tc.want)
			}
			want = append(want, "ltc tx "+hash(1000))
			rec.waitFor(t, want...)
		})
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestWebsocketReconnects(t *testing.T) {
	tests := []struct {
		name string
		drop func(s *fakeSession)
	}{
		{"server closes", func(s *fakeSession) { s.conn.Close(websocket.StatusGoingAway, "restart") }},
		{"connection dropped", func(s *fakeSession) { s.conn.CloseNow() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNBlockIO(t, "key")
			rec := newRecorder()
			startWebsocket(t, f, "key", rec)
			s := f.next(t)
			s.send(t, `{"type":"address","data":{"txid":"`+hash(1)+`"}}`)
			rec.waitFor(t, "ltc tx "+hash(1))
			tc.drop(s)
			close(s.done)
			// A new connection must subscribe again and deliver.
			s2 := f.next(t)
			defer close(s2.done)
			s2.send(t, `{"type":"address","data":{"txid":"`+hash(2)+`"}}`)
			rec.waitFor(t, "ltc tx "+hash(1), "ltc tx "+hash(2))
		})
	}
}

// A refused subscription (wrong key) is retried with backoff, not fatal,
// and the intake still stops on cancel.
func TestWebsocketRefusedKeepsTrying(t *testing.T) {
	f := newFakeNBlockIO(t, "key")
	stop := startWebsocket(t, f, "wrong", newRecorder())
	for i := 0; i < 2; i++ {
		select {
		case <-f.refused:
		case <-time.After(15 * time.Second):
			t.Fatalf("subscription attempt %d not seen", i+1)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestNewWebsocketRejects(t *testing.T) {
	if _, err := NewWebsocket(WebsocketConfig{Coin: "btc"}, newRecorder()); err == nil || !strings.Contains(err.Error(), "needs APIKey") {
		t.Errorf("no key: %v", err)
	}
	if _, err := NewWebsocket(WebsocketConfig{APIKey: "k"}, newRecorder()); err == nil || !strings.Contains(err.Error(), "needs Coin") {
		t.Errorf("no coin: %v", err)
	}
	ws, err := NewWebsocket(WebsocketConfig{APIKey: "k", Coin: "btc"}, newRecorder())
	if err != nil || ws.cfg.URL != DefaultWebsocketURL {
		t.Errorf("defaults: %v %+v", err, ws)
	}
}
