package socketio_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// dialUpgrade opens the websocket of p's upgrade.
func (p *pollSession) dialUpgrade() *websocket.Conn {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, p.e.wsURL()+"&sid="+p.sid, nil)
	if err != nil {
		p.t.Fatalf("upgrade websocket: %v", err)
	}
	p.t.Cleanup(func() { c.CloseNow() })
	return c
}

// expectDropped checks that the server closes c without a message.
func expectDropped(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if typ, b, err := c.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("the websocket stayed open (read %v %q, %v)", typ, b, err)
	}
}

// TestUpgrade walks the polling→websocket upgrade as socket.io-client does
// it, with a POST racing it: the probe is answered, the pending GET gets a
// noop so the client can pause polling, the POST made meanwhile is handled
// and its answer comes over the websocket once "5" has moved the session,
// after which polling is refused.
func TestUpgrade(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	a, _ := e.addr(t, 1)
	p := e.openPoll(t)
	p.connect()
	pending := p.getPending(1)
	c := p.dialUpgrade()
	writeFrame(t, c, "2probe")
	if f := readFrame(t, c); f != "3probe" {
		t.Fatalf("probe answered %q", f)
	}
	if r := recv(t, pending); r.code != http.StatusOK || r.body != "6" {
		t.Fatalf("pending GET during the upgrade: %d %q, want a noop", r.code, r.body)
	}
	p.mustPost(`42["subscribe",{"address":"` + a + `"}]`)
	writeFrame(t, c, "5")
	if f := readFrame(t, c); f != `42["subscribed",{"address":"`+a+`"}]` {
		t.Fatalf("first message on the websocket: %q", f)
	}
	if f := readFrame(t, c); !strings.HasPrefix(f, `42["balance_changed",{"balance":0,`) {
		t.Fatalf("then %q", f)
	}
	for _, r := range []pollResult{p.getResult(), func() pollResult { code, b := p.post("6"); return pollResult{code: code, body: b} }()} {
		if r.code != http.StatusBadRequest || r.body != `{"code":3,"message":"Bad request"}` {
			t.Fatalf("polling after the upgrade: %d %q", r.code, r.body)
		}
	}
	e.block(1001)
	if f := readFrame(t, c); f != `42["block",{"height":1001}]` {
		t.Fatalf("push after the upgrade: %q", f)
	}
}

// TestUpgradeRaces: upgrades that do not complete leave the session on
// polling, and upgrades that cannot start are closed at once.
func TestUpgradeRaces(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{UpgradeTimeout: 300 * time.Millisecond})
	stillPolling := func(t *testing.T, p *pollSession, height int64) {
		t.Helper()
		e.block(height)
		for {
			pk := p.get()
			if pk[0] == "6" {
				continue // the noop of the dropped probe
			}
			if want := `42["block",{"height":` + strconv.FormatInt(height, 10) + `}]`; pk[0] != want {
				t.Fatalf("polling after the dropped upgrade: %q, want %s", pk, want)
			}
			return
		}
	}
	t.Run("websocket closed mid-probe", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		c := p.dialUpgrade()
		writeFrame(t, c, "2probe")
		readFrame(t, c)
		c.CloseNow()
		stillPolling(t, p, 2001)
	})
	t.Run("no upgrade packet in time", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		c := p.dialUpgrade()
		writeFrame(t, c, "2probe")
		readFrame(t, c)
		expectDropped(t, c) // UpgradeTimeout
		stillPolling(t, p, 2002)
	})
	t.Run("another packet than the probe", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		c := p.dialUpgrade()
		writeFrame(t, c, "40")
		expectDropped(t, c)
		stillPolling(t, p, 2003)
	})
	t.Run("a second upgrade", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		c := p.dialUpgrade()
		writeFrame(t, c, "2probe")
		readFrame(t, c)
		expectDropped(t, p.dialUpgrade())
		writeFrame(t, c, "5")
		e.block(2004)
		if f := readFrame(t, c); f != `42["block",{"height":2004}]` {
			t.Fatalf("the first upgrade after the second was refused: %q", f)
		}
	})
	t.Run("closed session", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		p.mustPost("1")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, e.wsURL()+"&sid="+p.sid, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("upgrade of a closed session: %v, %v", resp, err)
		}
	})
	t.Run("session on a websocket", func(t *testing.T) {
		c := dialBare(t, e.wsURL())
		open := readFrame(t, c)
		sid := open[len(`0{"sid":"`) : len(`0{"sid":"`)+20]
		p := &pollSession{t: t, e: e, sid: sid}
		expectDropped(t, p.dialUpgrade())
		writeFrame(t, c, "40")
		if f := readFrame(t, c); !strings.HasPrefix(f, `40{"sid":"`) {
			t.Fatalf("the websocket session after a refused upgrade: %q", f)
		}
	})
	t.Run("session ends mid-probe", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		c := p.dialUpgrade()
		writeFrame(t, c, "2probe")
		readFrame(t, c)
		p.mustPost("1")
		expectDropped(t, c)
	})
}
