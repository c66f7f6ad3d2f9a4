package socketio_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// dialBare opens a websocket to the endpoint and returns it without any
// Engine.IO exchange.
func dialBare(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readFrame(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFrame(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestDirectProtocol(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	addr, _ := e.addr(t, 3)
	c := dialBare(t, e.wsURL())
	open := readFrame(t, c)
	var o struct {
		Sid          string
		Upgrades     []string
		PingInterval int
		PingTimeout  int
		MaxPayload   int
	}
	if !strings.HasPrefix(open, "0{") || json.Unmarshal([]byte(open[1:]), &o) != nil ||
		len(o.Sid) < 16 || o.Upgrades == nil || len(o.Upgrades) != 0 || o.PingInterval != 25000 || o.PingTimeout != 20000 || o.MaxPayload != 1_000_000 {
		t.Fatalf("open packet %s", open)
	}
	writeFrame(t, c, "40/nope,")
	if f := readFrame(t, c); f != `44/nope,{"message":"Invalid namespace"}` {
		t.Fatalf("unknown namespace: %s", f)
	}
	writeFrame(t, c, `40{"token":"ignored"}`)
	if f := readFrame(t, c); !strings.HasPrefix(f, `40{"sid":"`) {
		t.Fatalf("connect: %s", f)
	}
	writeFrame(t, c, `42["subscribe"`) // broken JSON: ignored
	writeFrame(t, c, `4217["subscribe",{"address":"`+addr+`"}]`)
	if f := readFrame(t, c); f != `42["subscribed",{"address":"`+addr+`"}]` {
		t.Fatalf("subscribe with an ack id: %s", f)
	}
	if f := readFrame(t, c); !strings.HasPrefix(f, `42["balance_changed",{"balance":0,`) {
		t.Fatalf("first push: %s", f)
	}
	writeFrame(t, c, "41")
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Stats().Watched != 0 {
		if time.Now().After(deadline) {
			t.Fatal("namespace disconnect did not release the subscription")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDirectKeepalive(t *testing.T) {
	cfg := socketio.Config{PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond, ConnectTimeout: 300 * time.Millisecond}
	waitConns := func(t *testing.T, e *testEnv, n int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for e.hub.Stats().Conns != n {
			if time.Now().After(deadline) {
				t.Fatalf("connections = %d, want %d", e.hub.Stats().Conns, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Run("answered pings keep it open", func(t *testing.T) {
		e := newTestEnv(t, hub.Config{}, cfg)
		c := dialRaw(t, e.wsURL())
		time.Sleep(600 * time.Millisecond) // a dozen ping rounds
		e.block(5)
		if d := string(c.expect(t, "block")); d != `{"height":5}` {
			t.Fatalf("block %s", d)
		}
	})
	t.Run("unanswered pings close it", func(t *testing.T) {
		e := newTestEnv(t, hub.Config{}, cfg)
		c := dialBare(t, e.wsURL())
		readFrame(t, c)
		writeFrame(t, c, "40")
		readFrame(t, c)
		waitConns(t, e, 1, 5*time.Second)
		waitConns(t, e, 0, 2*time.Second) // never answers "2"
	})
	t.Run("no namespace closes it", func(t *testing.T) {
		e := newTestEnv(t, hub.Config{}, socketio.Config{PingInterval: 10 * time.Second, ConnectTimeout: 300 * time.Millisecond})
		c := dialBare(t, e.wsURL())
		readFrame(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				if ctx.Err() != nil {
					t.Fatal("a client that never connects a namespace stayed open")
				}
				return
			}
		}
	})
}
