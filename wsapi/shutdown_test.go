package wsapi_test

import (
	"context"
	"errors"
	"github.com/walletgate/walletgate/internal/testenv"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/wsapi"
)

// TestShutdownSendsClientsAway checks Shutdown with real clients: every
// open connection reads a close with status 1001, Shutdown returns once
// they are gone (the hub has released them), and a connection attempted
// afterwards is refused with HTTP 503. Every line it logs goes to
// Config.Logger, none to the default logger.
func TestShutdownSendsClientsAway(t *testing.T) {
	defaults := testenv.RecordDefaultLogger(t)
	logged := &testenv.LogRecorder{}
	e := newTestEnv(t, hub.Config{}, wsapi.Config{Logger: slog.New(logged)})
	a, _ := e.addr(t, 1)
	var clients []*client
	for range 3 {
		cl := e.dial(t, true)
		cl.send(t, `{"id":1,"method":"subscribeAddresses","params":{"addresses":["`+a+`"]}}`)
		cl.next(t) // the answer
		cl.next(t) // the initial balance
		clients = append(clients, cl)
	}
	if n := e.hub.Stats().Conns; n != 3 {
		t.Fatalf("%d connections registered, want 3", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, cl := range clients {
		select {
		case err := <-cl.err:
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
				t.Fatalf("client %d ended with %v, want a close 1001 \"server shutting down\"", i, err)
			}
		case m := <-cl.msgs:
			t.Fatalf("client %d got %s instead of the close", i, m)
		}
	}
	if n := e.hub.Stats().Conns; n != 0 {
		t.Fatalf("%d connections still registered after Shutdown returned", n)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	c, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/ws", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("a connection after Shutdown was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection after Shutdown got %v (%v), want HTTP 503", resp, err)
	}

	var closes int
	for _, l := range logged.Lines() {
		if strings.HasPrefix(l, "wsapi: closing connection") && strings.Contains(l, "status=1001") {
			closes++
		}
	}
	if closes != 3 {
		t.Fatalf("Config.Logger got %d going-away lines, want 3: %q", closes, logged.Lines())
	}
	if l := defaults.Lines(); len(l) != 0 {
		t.Fatalf("the default logger got %q", l)
	}
}

// TestLoggerDefaultsToDiscard checks that without Config.Logger nothing
// goes to the default logger either: a refused connection (the hub is
// closed) logs a warning, which must be discarded.
func TestLoggerDefaultsToDiscard(t *testing.T) {
	defaults := testenv.RecordDefaultLogger(t)
	e := newTestEnv(t, hub.Config{}, wsapi.Config{})
	e.hub.Close()
	cl := e.dial(t, true)
	select {
	case err := <-cl.err:
		if websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
			t.Fatalf("with the hub closed the connection ended with %v, want 1013", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("with the hub closed the connection stayed open")
	}
	if l := defaults.Lines(); len(l) != 0 {
		t.Fatalf("the default logger got %q", l)
	}
}

// TestLoggerReceivesLines checks that Config.Logger gets the lines the
// default logger must not: the same refused connection's warning.
func TestLoggerReceivesLines(t *testing.T) {
	defaults := testenv.RecordDefaultLogger(t)
	logged := &testenv.LogRecorder{}
	e := newTestEnv(t, hub.Config{}, wsapi.Config{Logger: slog.New(logged)})
	e.hub.Close()
	cl := e.dial(t, true)
	select {
	case <-cl.err:
	case <-time.After(5 * time.Second):
		t.Fatal("with the hub closed the connection stayed open")
	}
	found := false
	for _, l := range logged.Lines() {
		found = found || strings.HasPrefix(l, "wsapi: register connection")
	}
	if !found {
		t.Fatalf("Config.Logger got %q, want the register warning", logged.Lines())
	}
	if l := defaults.Lines(); len(l) != 0 {
		t.Fatalf("the default logger got %q", l)
	}
}
