package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestGracefulShutdown: SIGTERM with idle Socket.IO polling sessions, a
// Socket.IO websocket and /ws clients connected. Long polls are answered
// at once with the close packet and websockets get 1001, so the drain
// ends by itself and the process exits 0 — long before the five-minute
// shutdown_timeout it would otherwise wait out (the test gives it 60 s).
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	wg := startWalletgate(t, dir, port, fmt.Sprintf(`server:
  host: 127.0.0.1
  port: %d
  shutdown_timeout: 5m
  log_format: json
data_dir: %s/data
peer_channels: {enabled: false}
coins:
  bitweb:
    network: regtest
    backend: {type: null}
`, port, dir))

	var clients []*sioClient
	for i := 0; i < 10; i++ {
		clients = append(clients, startSIOClient(t, wg.base, "polling"))
	}
	clients = append(clients, startSIOClient(t, wg.base, "websocket"))
	for i, c := range clients {
		c.until(t, fmt.Sprintf("client %d connect", i), func(ev sioEvent) bool { return ev.Event == "connect" })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wss []*wsClient
	for i := 0; i < 2; i++ {
		c := dialWS(t, ctx, wsURL(wg.base)+"/ws", nil)
		if m := c.call(t, "getInfo", nil); m.Error != nil {
			t.Fatalf("getInfo: %s", m.raw)
		}
		wss = append(wss, c)
	}
	// Let every polling client park its GET.
	time.Sleep(500 * time.Millisecond)

	if err := wg.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wg.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("walletgate still running 60 s after SIGTERM: the drain waited for sockets\n%s", wg.logs.String())
	}
	if code := wg.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, wg.logs.String())
	}
	// log_format json reaches every package on these paths (hub, wsapi,
	// socketio used to print Go's default text format).
	for _, line := range strings.Split(strings.TrimSpace(wg.logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log_format json printed a non-JSON line: %q", line)
		}
	}
	for i, c := range clients {
		for {
			select {
			case ev, ok := <-c.events:
				if !ok {
					t.Fatalf("client %d: driver exited before a disconnect", i)
				}
				c.seen = append(c.seen, ev)
				if ev.Event != "disconnect" {
					continue
				}
				if ev.Reason != "transport close" {
					t.Errorf("client %d (%s) disconnected with %q, want the server's close (transport close)", i, ev.Transport, ev.Reason)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("client %d saw no disconnect", i)
			}
			break
		}
	}
	for i, c := range wss {
		select {
		case <-c.closed:
		case <-time.After(30 * time.Second):
			t.Fatalf("/ws client %d still open", i)
		}
		if st := websocket.CloseStatus(c.err); st != websocket.StatusGoingAway {
			t.Errorf("/ws client %d ended with %v (status %d), want 1001 going away", i, c.err, st)
		}
	}
}
