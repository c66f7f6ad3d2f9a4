package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Each optional interface of the wrapped writer, exercised through a real
// net/http server (whose writer has them all) with StatusWriter in between.
func TestStatusWriterKeepsOptionalInterfaces(t *testing.T) {
	tests := []struct {
		name    string
		handler func(t *testing.T, sw *StatusWriter, r *http.Request)
		client  func(t *testing.T, url string)
		status  int
	}{
		{
			name: "hijack: a websocket upgrade through the wrapper",
			handler: func(t *testing.T, sw *StatusWriter, r *http.Request) {
				c, err := websocket.Accept(sw, r, nil)
				if err != nil {
					t.Errorf("accept through StatusWriter: %v", err)
					return
				}
				defer c.CloseNow()
				typ, msg, err := c.Read(r.Context())
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				c.Write(r.Context(), typ, append([]byte("echo "), msg...))
				c.Close(websocket.StatusNormalClosure, "")
			},
			client: func(t *testing.T, url string) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.CloseNow()
				if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
					t.Fatal(err)
				}
				_, msg, err := c.Read(ctx)
				if err != nil || string(msg) != "echo hi" {
					t.Fatalf("read = %q, %v; want the echo", msg, err)
				}
			},
			status: http.StatusSwitchingProtocols,
		},
		{
			name: "flush: the first chunk reaches the client before the handler ends",
			handler: func(t *testing.T, sw *StatusWriter, r *http.Request) {
				io.WriteString(sw, "first\n")
				sw.Flush()
				// The client answers only once it has the first line.
				<-r.Context().Done()
			},
			client: func(t *testing.T, url string) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				if err != nil || line != "first\n" {
					t.Fatalf("first line = %q, %v: the flush did not pass through", line, err)
				}
				cancel()
			},
			status: http.StatusOK,
		},
		{
			name: "unwrap: http.ResponseController sets deadlines through the wrapper",
			handler: func(t *testing.T, sw *StatusWriter, r *http.Request) {
				rc := http.NewResponseController(sw)
				if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
					t.Errorf("SetWriteDeadline: %v", err)
				}
				if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
					t.Errorf("SetReadDeadline: %v", err)
				}
				if err := rc.EnableFullDuplex(); err != nil {
					t.Errorf("EnableFullDuplex: %v", err)
				}
				sw.WriteHeader(http.StatusTeapot)
			},
			client: func(t *testing.T, url string) {
				resp, err := http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusTeapot {
					t.Fatalf("status %d", resp.StatusCode)
				}
			},
			status: http.StatusTeapot,
		},
		{
			name: "informational: a 103 does not count as the status",
			handler: func(t *testing.T, sw *StatusWriter, r *http.Request) {
				sw.Header().Set("Link", "</style.css>; rel=preload")
				sw.WriteHeader(http.StatusEarlyHints)
				sw.WriteHeader(http.StatusNotFound)
			},
			client: func(t *testing.T, url string) {
				resp, err := http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Fatalf("status %d", resp.StatusCode)
				}
			},
			status: http.StatusNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan int, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sw := NewStatusWriter(w)
				tt.handler(t, sw, r)
				got <- sw.Status()
			}))
			defer srv.Close()
			tt.client(t, srv.URL)
			select {
			case code := <-got:
				if code != tt.status {
					t.Fatalf("recorded status %d, want %d", code, tt.status)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("handler did not finish")
			}
		})
	}
}

// A writer without Hijack (httptest's recorder) gets an error that says so
// and wraps http.ErrNotSupported, as http.ResponseController reports it.
func TestStatusWriterHijackUnsupported(t *testing.T) {
	sw := NewStatusWriter(httptest.NewRecorder())
	_, _, err := sw.Hijack()
	if !errors.Is(err, http.ErrNotSupported) || !strings.Contains(err.Error(), "ResponseRecorder") {
		t.Fatalf("Hijack on a recorder = %v, want ErrNotSupported naming the writer", err)
	}
	if sw.Hijacked() {
		t.Fatal("Hijacked after a failed hijack")
	}
	io.WriteString(sw, "abc")
	if sw.Written() != 3 || sw.Status() != http.StatusOK {
		t.Fatalf("written %d status %d", sw.Written(), sw.Status())
	}
}
