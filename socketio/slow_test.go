package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// dialStalled connects, subscribes addr, and then never reads again.
func dialStalled(t *testing.T, url, addr string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if _, _, err := c.Read(ctx); err != nil { // open
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil { // connect
		t.Fatal(err)
	}
	sub := fmt.Sprintf(`42["subscribe",{"address":%q}]`, addr)
	if err := c.Write(ctx, websocket.MessageText, []byte(sub)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowConsumerIsDisconnected stalls one client on each transport: a
// websocket that is never read, and a polling session that never polls.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	for _, mode := range []string{modeWebSocket, modePolling} {
		t.Run(mode, func(t *testing.T) { testSlowConsumer(t, mode) })
	}
}

func testSlowConsumer(t *testing.T, mode string) {
	e := newTestEnv(t, hub.Config{QueueSize: 4}, socketio.Config{})
	addr, sc := e.addr(t, 1)
	var us []walletgate.UTXO
	for i := range 3000 { // about 300 kB per push: socket buffers fill fast
		us = append(us, walletgate.UTXO{TxHash: fmt.Sprintf("%064x", i), Height: 10, Value: 1})
	}
	e.be.SetUnspent(sc.Hash, us)

	if mode == modeWebSocket {
		dialStalled(t, e.wsURL(), addr)
	} else {
		pollStalled(t, e.ts.URL, fmt.Sprintf(`42["subscribe",{"address":%q}]`, addr))
	}
	fast := dialRaw(t, e.wsURL())
	fast.emit(t, "subscribe", map[string]any{"address": addr})
	fast.expect(t, "subscribed")
	fast.expect(t, "balance_changed")

	deadline := time.Now().Add(30 * time.Second)
	for n := 1; e.hub.Stats().Overflows == 0; n++ {
		if time.Now().After(deadline) {
			t.Fatal("a client that never reads was not disconnected")
		}
		e.be.SetBalance(sc.Hash, int64(n), 0)
		e.change(t, sc.Hash)
		if got := string(fast.expect(t, "balance_changed")); !strings.Contains(got, fmt.Sprintf(`"confirmed":%d,`, n)) {
			t.Fatalf("reading client got %.60s…, want state %d", got, n)
		}
	}
	// The others keep receiving, and the stalled one is gone.
	e.be.SetBalance(sc.Hash, -7, 0)
	e.change(t, sc.Hash)
	if got := string(fast.expect(t, "balance_changed")); !strings.Contains(got, `"confirmed":-7,`) {
		t.Fatalf("after the overflow the reading client got %.60s…", got)
	}
	for e.hub.Stats().Conns != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stalled client still registered: %+v", e.hub.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.svc.Watching(sc.Hash); n != 1 {
		t.Fatalf("watchers after the disconnect = %d, want 1", n)
	}
}

// pollStalled opens a polling session, joins "/", posts packet and then
// never polls again.
func pollStalled(t *testing.T, base, packet string) {
	t.Helper()
	sid := pollHandshake(t, base)
	url := base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	for _, body := range []string{"40", packet} {
		resp, err := http.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %q: HTTP %d", body, resp.StatusCode)
		}
	}
}
