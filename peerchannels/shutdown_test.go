package peerchannels

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Shutdown sends the /notify and account websockets away with a close
// 1001, returns once they have closed, and refuses new ones with 503.
func TestShutdownSendsSocketsAway(t *testing.T) {
	e := newEnv(t)
	key, acctID := e.account()
	ch := e.channel(key, "")
	notify := e.mustDial("/api/v1/channel/" + ch.ID + "/notify?token=" + ch.AccessTokens[0].Token)
	account := e.mustDial("/api/v1/web-socket?token=" + key)
	eventually(t, "both sockets tracked", func() bool {
		e.svc.sockets.mu.Lock()
		defer e.svc.sockets.mu.Unlock()
		return e.svc.sockets.serving == 2
	})

	// The client side reads concurrently, as a real client does: the
	// closing handshake needs its answer.
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 2)
	for name, c := range map[string]*websocket.Conn{"notify": notify, "account": account} {
		go func() {
			_, _, err := c.Read(context.Background())
			results <- result{name, err}
		}()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := e.svc.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range 2 {
		r := <-results
		var ce websocket.CloseError
		if !errors.As(r.err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
			t.Fatalf("%s socket ended with %v, want close 1001 \"server shutting down\"", r.name, r.err)
		}
	}
	if e.svc.AccountConnected(acctID) {
		t.Fatal("account socket still tracked after Shutdown returned")
	}

	for _, path := range []string{"/api/v1/web-socket?token=" + key, "/api/v1/channel/" + ch.ID + "/notify?token=" + ch.AccessTokens[0].Token} {
		c, resp, err := e.dial(path)
		if err == nil {
			c.CloseNow()
			t.Fatalf("%s accepted after Shutdown", path)
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s after Shutdown: %v (%v), want HTTP 503", path, resp, err)
		}
	}
}
