package metrics

import (
	"context"
	"time"

	"github.com/coder/websocket"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrapCountsBySurfaceAndCode(t *testing.T) {
	m := New()
	h := m.Wrap("bitweb", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	for _, p := range []string{"/info", "/info", "/missing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`walletgate_http_requests_total{code="200",surface="bitweb"} 2`,
		`walletgate_http_requests_total{code="404",surface="bitweb"} 1`,
		`walletgate_http_request_duration_seconds_count{surface="bitweb"} 3`,
		`walletgate_http_requests_in_flight 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestTwoRegistriesDoNotClash(t *testing.T) {
	a, b := New(), New()
	a.Wrap("x", http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), `surface="x"`) {
		t.Fatal("a request counted in one registry showed up in another")
	}
}

// A websocket upgrade through Wrap works and counts as 101: the wrapper
// once hid http.Hijacker and every Socket.IO websocket got a 500.
func TestWrapPassesWebsocketUpgrades(t *testing.T) {
	m := New()
	srv := httptest.NewServer(m.Wrap("ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(websocket.StatusNormalClosure, "bye")
	})))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("dial through metrics.Wrap: %v", err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("read = %v, want the server's normal close", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if strings.Contains(rec.Body.String(), `walletgate_http_requests_total{code="101",surface="ws"} 1`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 101 counted:\n%s", rec.Body.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
