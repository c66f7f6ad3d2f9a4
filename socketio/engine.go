package socketio

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The Engine.IO v4 layer: one conn per session, whatever carries it. A
// session starts on HTTP long-polling (polling.go) or on a websocket
// opened at once (websocket.go), and a polling session may move to a
// websocket (upgrade.go). Packets for the client wait in the conn's queue:
// a websocket session has a writer goroutine only while the queue is not
// empty, and a polling session's queue is taken by its pending GET. One
// keepalive goroutine pings every session and closes those that stop
// answering, so an idle websocket session costs one goroutine (its reader)
// and an idle polling session only the request its client holds open.

// conn is one Engine.IO session.
type conn struct {
	srv *Server
	sid string

	mu        sync.Mutex
	ws        *websocket.Conn // the websocket transport; nil while polling
	raw       net.Conn        // ws's connection, to drop it without a handshake
	upgrading *upgrade        // a websocket probing to take over from polling
	queue     []outFrame
	writing   bool          // a websocket drain goroutine runs
	poll      chan struct{} // wakes the pending GET; nil when none is pending
	pollSince time.Time
	posting   bool // a POST is being handled
	closed    bool
	final     byte // what a pending GET gets after the queue once closed
	leaving   bool // sent away by Shutdown: nothing more is written
	pingSent  time.Time
	nextPing  time.Time
	connectBy time.Time // zero once a namespace is joined

	// inMu serializes the client's packets: a websocket reader and a
	// polling POST (during an upgrade) may both deliver them.
	inMu     sync.Mutex
	sockets  map[string]*session // namespace → session
	finished bool                // the sockets are released: handle nothing more
}

type outFrame struct {
	b    []byte
	done func()
}

func randomID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) newConn() *conn {
	now := time.Now()
	return &conn{
		srv:       s,
		sid:       randomID(),
		nextPing:  now.Add(s.cfg.PingInterval),
		connectBy: now.Add(s.cfg.ConnectTimeout),
		sockets:   map[string]*session{},
	}
}

// openPacket is the handshake packet, with the fields and in the order
// of the reference server; upgrades names what the session may move to.
func (s *Server) openPacket(sid string, upgrades bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `0{"sid":"`...)
	b = append(b, sid...)
	if upgrades {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, s.cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, s.cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, s.cfg.MaxPayload, 10)
	return append(b, '}')
}

// register adds c to the sessions and starts run (if not nil) as its
// goroutine. It refuses once Close has run; stopping reports that
// Shutdown has started, so the caller sends c away.
func (s *Server) register(c *conn, run func()) (ok, stopping bool) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if s.closed {
		return false, false
	}
	s.conns[c.sid] = c
	if run != nil {
		// Started under the lock Close takes before it waits.
		s.wg.Go(run)
	}
	// Read under the lock Shutdown takes after setting it: a session
	// Shutdown did not see goes away here.
	return true, s.stopping.Load()
}

// lookup returns the open session sid, or nil.
func (s *Server) lookup(sid string) *conn {
	s.regMu.Lock()
	c := s.conns[sid]
	s.regMu.Unlock()
	if c == nil || c.isClosed() {
		return nil
	}
	return c
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// transport names what carries the session now.
func (c *conn) transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws != nil {
		return "websocket"
	}
	return "polling"
}

// enqueue queues an Engine.IO packet for the client.
func (c *conn) enqueue(b []byte, done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.leaving {
		return
	}
	c.queue = append(c.queue, outFrame{b: b, done: done})
	c.flushLocked()
}

// flushLocked hands the queue to the transport: a websocket drain, or
// the pending GET.
func (c *conn) flushLocked() {
	switch {
	case c.ws != nil:
		if !c.writing && len(c.queue) > 0 {
			c.writing = true
			c.srv.wg.Go(c.drain)
		}
	case c.poll != nil:
		c.wakePollLocked()
	}
}

// wakePollLocked answers the pending GET with whatever it finds: the
// queue, the final packet, or a noop.
func (c *conn) wakePollLocked() {
	if c.poll != nil {
		select {
		case c.poll <- struct{}{}:
		default:
		}
	}
}

// end closes the session. A pending GET is answered with the queue and
// then final: the close packet when the server ends the session, a noop
// when the client asked for it (as the reference does). Websockets are
// dropped at once. end does not block; the sockets are released on a
// goroutine of their own, since the hub may be the caller.
func (c *conn) end(final byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.final = final
	if c.ws != nil {
		c.queue = nil
	}
	c.wakePollLocked()
	raws := []net.Conn{c.raw}
	if u := c.upgrading; u != nil {
		raws = append(raws, u.raw)
		c.upgrading = nil
	}
	c.mu.Unlock()
	for _, r := range raws {
		if r != nil {
			_ = r.Close()
		}
	}
	c.srv.wg.Go(c.finish)
}

// finish releases the session's sockets and forgets it.
func (c *conn) finish() {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		_ = ws.CloseNow() // its connection is closed: this only tidies
	}
	c.inMu.Lock()
	c.finished = true
	for nsp, ss := range c.sockets {
		delete(c.sockets, nsp)
		ss.closed()
	}
	c.inMu.Unlock()
	s := c.srv
	s.regMu.Lock()
	if s.conns[c.sid] == c {
		delete(s.conns, c.sid)
	}
	s.regMu.Unlock()
	s.signalGone()
}

// onPacket handles one Engine.IO packet from the client, from either
// transport. It returns 0 to go on, or the final packet of the session it
// ended: the client's close (answered with a noop) or a Socket.IO packet
// that does not parse (the close packet). Pings, noops, upgrades outside
// an upgrade, binary messages and unknown types are ignored.
func (c *conn) onPacket(p []byte) byte {
	if len(p) == 0 {
		return 0
	}
	switch p[0] {
	case eioPong:
		c.mu.Lock()
		c.pingSent = time.Time{}
		c.nextPing = time.Now().Add(c.srv.cfg.PingInterval)
		c.mu.Unlock()
	case eioMessage:
		if !c.message(p[1:]) {
			return eioClose
		}
	case eioClose:
		return eioNoop
	}
	return 0
}

// keepalive pings every session on schedule and closes those that owe a
// pong too long or never join a namespace. A long poll is held no longer
// than a ping interval and a ping timeout (the ping normally answers it
// sooner): then it gets a noop.
func (s *Server) keepalive() {
	tick := min(s.cfg.PingInterval, s.cfg.PingTimeout) / 4
	tick = max(10*time.Millisecond, min(tick, time.Second))
	t := time.NewTicker(tick)
	defer t.Stop()
	var dead []*conn
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			dead = s.sweep(now, dead[:0])
			for _, c := range dead {
				c.end(eioClose)
			}
			clear(dead)
		}
	}
}

func (s *Server) sweep(now time.Time, dead []*conn) []*conn {
	holdMax := s.cfg.PingInterval + s.cfg.PingTimeout
	s.regMu.Lock()
	defer s.regMu.Unlock()
	for _, c := range s.conns {
		c.mu.Lock()
		switch {
		case c.closed || c.leaving:
			// Ending, or sent away: Shutdown's deadline ends it.
		case !c.connectBy.IsZero() && now.After(c.connectBy):
			dead = append(dead, c)
		case !c.pingSent.IsZero():
			if now.Sub(c.pingSent) > s.cfg.PingTimeout {
				dead = append(dead, c)
			}
		case !now.Before(c.nextPing):
			c.pingSent = now
			c.queue = append(c.queue, outFrame{b: []byte{eioPing}})
			c.flushLocked()
		}
		if c.poll != nil && now.Sub(c.pollSince) > holdMax {
			c.wakePollLocked()
		}
		c.mu.Unlock()
	}
	return dead
}

// signalGone wakes a waiting Shutdown: a session ended.
func (s *Server) signalGone() {
	select {
	case s.gone <- struct{}{}:
	default:
	}
}

// closeAll ends every session, stops the keepalive loop and waits for
// every goroutine of the package.
func (s *Server) closeAll() {
	s.regMu.Lock()
	s.closed = true
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.regMu.Unlock()
	for _, c := range conns {
		c.end(eioClose)
	}
	s.wg.Wait()
}
