package headers_test

import (
	"context"
	"errors"
	"github.com/walletgate/walletgate/internal/testenv"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/peerchannels/headers"
)

// TestShutdownSendsTipsSocketsAway checks Shutdown with real clients:
// every tips websocket reads a close 1001, Shutdown returns once they are
// gone, and a new one is refused with HTTP 503, while Run still runs.
func TestShutdownSendsTipsSocketsAway(t *testing.T) {
	e := newEnv(t, 3)
	runHandler(t, e.handler)
	conns := []*websocket.Conn{dialTips(t, e), dialTips(t, e)}
	for e.handler.Subscribers() != len(conns) {
		time.Sleep(5 * time.Millisecond)
	}
	errs := make(chan error, len(conns))
	for _, c := range conns {
		go func() {
			for { // tip frames may come first
				if _, _, err := c.Read(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.handler.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range conns {
		err := <-errs
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
			t.Fatalf("tips socket ended with %v, want close 1001 \"server shutting down\"", err)
		}
	}
	if n := e.handler.Subscribers(); n != 0 {
		t.Fatalf("%d tips sockets after Shutdown returned", n)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	c, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/headers/tips/websocket", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("a tips websocket after Shutdown was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a tips websocket after Shutdown got %v (%v), want HTTP 503", resp, err)
	}
}

// failingSource fails every call and reports each Tips call.
type failingSource struct{ polled chan struct{} }

var errDown = errors.New("source down")

func (f failingSource) HeaderByHash(context.Context, chainhash.Hash) (headers.Header, error) {
	return headers.Header{}, errDown
}

func (f failingSource) HeadersByHeight(context.Context, uint32, uint32) ([]headers.Header, error) {
	return nil, errDown
}

func (f failingSource) Tips(context.Context) ([]headers.Tip, error) {
	select {
	case f.polled <- struct{}{}:
	default:
	}
	return nil, errDown
}

// TestLoggerNeverDefault checks that the poller's lines go to
// Config.Logger, and nowhere when it is nil; never to slog's default
// logger (replaced here by a recorder, and restored).
func TestLoggerNeverDefault(t *testing.T) {
	defaults := testenv.RecordDefaultLogger(t)
	for _, set := range []bool{true, false} {
		logged := &testenv.LogRecorder{}
		cfg := headers.Config{Source: failingSource{polled: make(chan struct{}, 1)}, PollInterval: 5 * time.Millisecond}
		if set {
			cfg.Logger = slog.New(logged)
		}
		h, err := headers.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()
		for range 2 { // the second call begins after the first one's log line
			<-cfg.Source.(failingSource).polled
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if set && !contains(logged.Messages(), "headers: tip poll failed") {
			t.Fatalf("Config.Logger got %q, want the poll failure", logged.Messages())
		}
	}
	if l := defaults.Messages(); len(l) != 0 {
		t.Fatalf("the default logger got %q", l)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
