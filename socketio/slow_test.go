package socketio_test

import (
	"context"
	"fmt"
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

func TestSlowConsumerIsDisconnected(t *testing.T) {
	for _, lib := range []bool{false, true} {
		t.Run(fmt.Sprintf("library=%v", lib), func(t *testing.T) { testSlowConsumer(t, lib) })
	}
}

func testSlowConsumer(t *testing.T, library bool) {
	e := newTestEnv(t, hub.Config{QueueSize: 4}, socketio.Config{LibraryWebSocket: library})
	addr, sc := e.addr(t, 1)
	var us []walletgate.UTXO
	for i := range 3000 { // about 300 kB per push: socket buffers fill fast
		us = append(us, walletgate.UTXO{TxHash: fmt.Sprintf("%064x", i), Height: 10, Value: 1})
	}
	e.be.SetUnspent(sc.Hash, us)

	dialStalled(t, e.wsURL(), addr)
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
