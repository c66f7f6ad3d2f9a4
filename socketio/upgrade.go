package socketio

import (
	"context"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

// The polling→websocket upgrade (Engine.IO v4). The client opens a
// websocket naming its sid and sends "2probe"; the server answers
// "3probe" and answers the pending GET (and any GET until the upgrade)
// with a noop, so the client can pause polling; the client then sends "5"
// and the session continues on the websocket, its queue with it. Polling
// goes on meanwhile: a POST during the probe is handled as any other, and
// a websocket that closes, times out (UpgradeTimeout) or sends anything
// else before "5" is dropped and the session stays on polling, as with
// the reference server. A "5" without a probe upgrades too, as there.

// upgrade is a websocket probing to take over a polling session.
type upgrade struct {
	ws     *websocket.Conn
	raw    net.Conn
	probed bool // "3probe" was sent: GETs get a noop
}

// serveUpgrade serves the websocket of session c's upgrade. A session
// that is closed, already on a websocket or already upgrading gets its
// websocket closed at once, as the reference server does.
func (s *Server) serveUpgrade(w http.ResponseWriter, r *http.Request, c *conn) {
	u := &upgrade{}
	c.mu.Lock()
	busy := c.closed || c.leaving || c.ws != nil || c.upgrading != nil
	if !busy {
		c.upgrading = u
	}
	c.mu.Unlock()
	ws, raw, err := s.acceptWebSocket(w, r)
	if busy {
		if err == nil {
			_ = ws.CloseNow()
		}
		return
	}
	c.mu.Lock()
	if err != nil || c.closed || c.upgrading != u {
		if c.upgrading == u {
			c.upgrading = nil
		}
		c.mu.Unlock()
		if err == nil {
			_ = ws.CloseNow()
		}
		return
	}
	u.ws, u.raw = ws, raw
	// Started under the session's lock: a session Close has not ended.
	s.wg.Go(func() { c.probe(u) })
	c.mu.Unlock()
}

// probe runs the upgrade on u and, once it is done, reads the session's
// packets from the websocket.
func (c *conn) probe(u *upgrade) {
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.cfg.UpgradeTimeout)
	defer cancel()
	for {
		typ, msg, err := u.ws.Read(ctx)
		if err != nil || typ != websocket.MessageText {
			c.abandon(u)
			return
		}
		switch string(msg) {
		case "2probe":
			wctx, wcancel := context.WithTimeout(ctx, c.srv.cfg.WriteTimeout)
			err := u.ws.Write(wctx, websocket.MessageText, []byte("3probe"))
			wcancel()
			if err != nil {
				c.abandon(u)
				return
			}
			c.mu.Lock()
			u.probed = true
			c.wakePollLocked() // a pending GET gets a noop
			c.mu.Unlock()
		case string(eioUpgrade):
			if !c.switchTo(u) {
				_ = u.ws.CloseNow()
				return
			}
			cancel()
			c.readWebSocket()
			return
		default:
			c.abandon(u)
			return
		}
	}
}

// switchTo moves the session to u's websocket; false if it ended or the
// upgrade was dropped meanwhile.
func (c *conn) switchTo(u *upgrade) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.upgrading != u {
		return false
	}
	c.upgrading = nil
	c.ws, c.raw = u.ws, u.raw
	c.wakePollLocked() // a GET still pending gets a noop
	c.flushLocked()
	return true
}

// abandon drops an upgrade that did not complete; polling goes on.
func (c *conn) abandon(u *upgrade) {
	c.mu.Lock()
	if c.upgrading == u {
		c.upgrading = nil
	}
	c.mu.Unlock()
	_ = u.ws.CloseNow()
}
