package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/walletgate/walletgate/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// expectDisconnect reads the driver's lines up to the disconnect and
// returns it.
func expectDisconnect(t *testing.T, nc *nodeClient) (reason string, code int) {
	t.Helper()
	m := nc.expect(t, "disconnect")
	var d struct {
		Reason string
		Code   int
	}
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &d)
	return d.Reason, d.Code
}

// TestShutdownPollingClients is the SIGTERM case of the issue: idle
// official clients on long polling. Shutdown runs beside net/http's own
// shutdown, as the binary runs them; both must return without error (the
// long polls no longer hold the drain), and every client must hear a
// server close ("transport close"), not a ping timeout or an error.
func TestShutdownPollingClients(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	addr, sc := e.addr(t, 1)
	e.be.SetBalance(sc.Hash, 5, 0)
	const clients = 10
	ncs := make([]*nodeClient, clients)
	var started sync.WaitGroup
	for i := range ncs {
		started.Go(func() { ncs[i] = startNodeClient(t, e.ts.URL, "polling-only") })
	}
	started.Wait()
	for _, nc := range ncs {
		awaitConnected(t, nc, "polling-only")
		nc.emit(t, "subscribe", map[string]any{"address": addr})
		nc.expect(t, "subscribed")
		nc.expect(t, "balance_changed")
	}
	// Idle: every client waits on its long poll. (One between two polls
	// could find its keep-alive connection closed by net/http's shutdown
	// before its next GET, and report "transport error";
	// TestShutdownLatePoll covers such a poll when it does arrive.)
	deadline := time.Now().Add(10 * time.Second)
	for socketio.PendingPolls(e.srv) != clients {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d clients have a poll pending", socketio.PendingPolls(e.srv), clients)
		}
		time.Sleep(5 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- e.ts.Config.Shutdown(ctx) }()
	go func() { errs <- e.srv.Shutdown(ctx) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	}
	var wrong []string
	for i, nc := range ncs {
		if reason, _ := expectDisconnect(t, nc); reason != "transport close" {
			wrong = append(wrong, fmt.Sprintf("client %d: %q", i, reason))
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("disconnects other than \"transport close\": %v", wrong)
	}
	if n := e.hub.Stats().Conns; n != 0 {
		t.Fatalf("%d sockets still registered", n)
	}
}

// TestShutdownOfficialClientWebsockets checks the websocket transports
// with the official client: opened directly, and upgraded from polling.
// Each must see the close 1001, reported as "transport close".
func TestShutdownOfficialClientWebsockets(t *testing.T) {
	for _, tc := range officialModes[:2] {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, hub.Config{}, socketio.Config{})
			nc := startNodeClient(t, e.ts.URL, tc.mode)
			awaitConnected(t, nc, tc.mode)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := e.srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			reason, code := expectDisconnect(t, nc)
			if reason != "transport close" || code != 1001 {
				t.Fatalf("disconnect %q with close code %d, want \"transport close\" with 1001", reason, code)
			}
		})
	}
}

// TestShutdownRawWebsockets reads the close frame itself on websockets
// opened directly and upgraded from polling, and checks that new sessions
// are refused afterwards, over websocket and over polling, with HTTP 503.
func TestShutdownRawWebsockets(t *testing.T) {
	for _, mode := range []string{modeWebSocket, modeUpgrade} {
		t.Run(mode, func(t *testing.T) {
			defaults := testenv.RecordDefaultLogger(t)
			e := newTestEnv(t, hub.Config{}, socketio.Config{})
			addr, _ := e.addr(t, 1)
			rcs := []*rawClient{e.dialMode(t, mode), e.dialMode(t, mode)}
			for _, rc := range rcs {
				rc.emit(t, "subscribe", map[string]any{"address": addr})
				rc.expect(t, "subscribed")
				rc.expect(t, "balance_changed")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := e.srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			for i, rc := range rcs {
				<-rc.closed
				var ce websocket.CloseError
				if !errors.As(rc.err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
					t.Fatalf("client %d ended with %v, want close 1001 \"server shutting down\"", i, rc.err)
				}
			}
			if n := e.hub.Stats().Conns; n != 0 {
				t.Fatalf("%d sockets still registered after Shutdown returned", n)
			}

			dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer dcancel()
			c, resp, err := websocket.Dial(dctx, e.wsURL(), nil)
			if err == nil {
				c.CloseNow()
				t.Fatal("a websocket after Shutdown was accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("a websocket after Shutdown got %v (%v), want HTTP 503", resp, err)
			}
			poll, err := http.Get(e.ts.URL + "/socket.io/?EIO=4&transport=polling")
			if err != nil {
				t.Fatal(err)
			}
			poll.Body.Close()
			if poll.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("a polling handshake after Shutdown got %d, want 503", poll.StatusCode)
			}
			if l := defaults.Messages(); len(l) != 0 {
				t.Fatalf("the default logger got %q", l)
			}
		})
	}
}

// TestShutdownLatePoll checks a polling session that had no GET pending
// when Shutdown ran (a client between two polls): its next GET is
// answered with the Engine.IO close packet, not held or refused.
func TestShutdownLatePoll(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	base := e.ts.URL + "/socket.io/?EIO=4&transport=polling"
	open := httpGet(t, base)
	var hs struct{ Sid string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hs) != nil || hs.Sid == "" {
		t.Fatalf("handshake %q", open)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := httpGet(t, base+"&sid="+hs.Sid); got != "1" {
		t.Fatalf("poll after Shutdown: %q, want the close packet \"1\"", got)
	}
}

// httpGet returns the body of a GET that must answer 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

// TestLogger checks that Config.Logger receives the package's lines and
// the default logger none, with and without a Logger set: a socket the
// hub refuses (it is closed) logs a warning.
func TestLogger(t *testing.T) {
	for _, set := range []bool{true, false} {
		t.Run(map[bool]string{true: "configured", false: "nil"}[set], func(t *testing.T) {
			defaults := testenv.RecordDefaultLogger(t)
			logged := &testenv.LogRecorder{}
			cfg := socketio.Config{}
			if set {
				cfg.Logger = slog.New(logged)
			}
			e := newTestEnv(t, hub.Config{}, cfg)
			e.hub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, e.wsURL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if _, _, err := c.Read(ctx); err != nil { // open
				t.Fatal(err)
			}
			if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err == nil {
				t.Fatal("a socket the hub refused was connected")
			}
			found := false
			for _, l := range logged.Messages() {
				found = found || l == "socketio: register socket"
			}
			if set && !found {
				t.Fatalf("Config.Logger got %q, want the register warning", logged.Messages())
			}
			if l := defaults.Messages(); len(l) != 0 {
				t.Fatalf("the default logger got %q", l)
			}
		})
	}
}
