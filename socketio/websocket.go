package socketio

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The direct websocket path serves a client that opens a websocket right
// away (transport=websocket, no sid), as the Bitweb wallet does, without the
// library: one goroutine per connection (its reader), writes drained by a
// goroutine that exists only while something is queued, and one keepalive
// goroutine for all connections. The library costs four goroutines and two
// preallocated task queues per client (BENCH.md), three times the memory
// target; polling, and websockets upgraded from polling, stay with it.
//
// It speaks Engine.IO v4 and Socket.IO v5 as the library does: the open
// packet with the same settings, server pings, CONNECT with an optional
// namespace and auth, EVENT with an optional ack id (answered with an ACK
// packet by the account events, which acknowledge; the Bitweb events do
// not, as the original), DISCONNECT, and CONNECT_ERROR for an unknown
// namespace. Binary packets are ignored.

// directConns is the registry of direct connections.
type directConns struct {
	mu    sync.Mutex
	conns map[*wsConn]struct{}
	wg    sync.WaitGroup // readers, drains and the keepalive loop
	stop  chan struct{}
	pool  sync.Pool // write buffers, held only while writing
}

// wsConn is one direct websocket connection.
type wsConn struct {
	srv *Server
	ws  *websocket.Conn

	mu        sync.Mutex
	queue     []outFrame
	writing   bool
	closed    bool
	leaving   bool      // sent away by Shutdown: nothing more is written
	pingSent  time.Time // zero when no pong is owed
	nextPing  time.Time
	connectBy time.Time // zero once a namespace is joined

	sessions map[string]*session // namespace → session; the reader's
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

// serveDirect upgrades r and starts the connection's reader.
func (s *Server) serveDirect(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		http.Error(w, reasonGoingAway, http.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &s.direct.pool,
		CheckOrigin:     func(*http.Request) bool { return true }, // CORS "*"
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(s.cfg.MaxPayload)
	now := time.Now()
	c := &wsConn{srv: s, ws: ws, nextPing: now.Add(s.cfg.PingInterval), connectBy: now.Add(s.cfg.ConnectTimeout), sessions: map[string]*session{}}
	s.direct.mu.Lock()
	select {
	case <-s.direct.stop:
		s.direct.mu.Unlock()
		ws.Close()
		return
	default:
	}
	// Read under the lock Shutdown takes after setting it: a connection
	// Shutdown did not see goes away here.
	stopping := s.stopping.Load()
	s.direct.conns[c] = struct{}{}
	// A fresh goroutine reads, and this one returns: the HTTP server's
	// goroutine would keep its request buffers alive for the whole session.
	// It starts under the lock that closeDirect takes before waiting.
	s.direct.wg.Go(c.run)
	s.direct.mu.Unlock()
	if stopping {
		c.goAway()
	}
}

// run serves the connection until it ends.
func (c *wsConn) run() {
	s := c.srv
	open, _ := json.Marshal(map[string]any{
		"sid":          randomID(),
		"upgrades":     []string{},
		"pingInterval": s.cfg.PingInterval.Milliseconds(),
		"pingTimeout":  s.cfg.PingTimeout.Milliseconds(),
		"maxPayload":   s.cfg.MaxPayload,
	})
	c.enqueue(append([]byte{'0'}, open...), nil)
	c.read()

	c.close()
	for _, ss := range c.sessions {
		ss.closed()
	}
	s.direct.mu.Lock()
	delete(s.direct.conns, c)
	s.direct.mu.Unlock()
	s.signalGone()
}

// read handles Engine.IO packets until the connection ends.
func (c *wsConn) read() {
	for {
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage || len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case '3': // pong
			c.mu.Lock()
			c.pingSent = time.Time{}
			c.nextPing = time.Now().Add(c.srv.cfg.PingInterval)
			c.mu.Unlock()
		case '4':
			if !c.packet(msg[1:]) {
				return
			}
		case '1': // close
			return
		}
	}
}

// sioPacket is a decoded Socket.IO v5 packet.
type sioPacket struct {
	typ  byte   // '0' CONNECT … '6' BINARY_ACK
	nsp  string // "/" unless the packet names one
	ack  string // the ack id's digits, "" when the sender wants no ack
	body []byte // after the namespace and ack id
}

// parsePacket decodes a Socket.IO packet (the Engine.IO message's data).
// An ack id longer than maxAckDigits is dropped (the packet is handled
// without one): no client counts that far, and the id is echoed.
func parsePacket(p []byte) (sioPacket, bool) {
	if len(p) == 0 || p[0] < '0' || p[0] > '6' {
		return sioPacket{}, false
	}
	pk := sioPacket{typ: p[0], nsp: "/"}
	rest := p[1:]
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			pk.nsp, rest = string(rest), nil
		} else {
			pk.nsp, rest = string(rest[:i]), rest[i+1:]
		}
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i <= maxAckDigits {
		pk.ack = string(rest[:i])
	}
	pk.body = rest[i:]
	return pk, true
}

// maxAckDigits bounds an ack id: 20 digits hold any uint64, the ids of
// socket.io-client.
const maxAckDigits = 20

// eventArgs decodes an EVENT body: a JSON array whose first element is the
// event name.
func eventArgs(body []byte) (string, []any, bool) {
	var args []any
	if json.Unmarshal(body, &args) != nil || len(args) == 0 {
		return "", nil, false
	}
	name, ok := args[0].(string)
	if !ok {
		return "", nil, false
	}
	return name, args[1:], true
}

// packet handles one Socket.IO packet; false ends the connection.
func (c *wsConn) packet(p []byte) bool {
	pk, ok := parsePacket(p)
	if !ok {
		return false
	}
	prefix := ""
	if pk.nsp != "/" {
		prefix = pk.nsp + ","
	}
	switch pk.typ {
	case '0': // CONNECT
		if c.sessions[pk.nsp] != nil {
			return true
		}
		c.srv.mu.Lock()
		b, ok := c.srv.nsps[pk.nsp]
		c.srv.mu.Unlock()
		if !ok {
			c.enqueue([]byte(`44`+prefix+`{"message":"Invalid namespace"}`), nil)
			return true
		}
		ss, err := c.srv.newSession(wsPeer{c: c, prefix: prefix}, b)
		if err != nil {
			c.srv.cfg.Logger.Warn("socketio: register socket", "coin", b.coin, "err", err)
			return false
		}
		c.sessions[pk.nsp] = ss
		c.mu.Lock()
		c.connectBy = time.Time{}
		c.mu.Unlock()
		c.enqueue([]byte(`40`+prefix+`{"sid":"`+randomID()+`"}`), nil)
	case '1': // DISCONNECT
		if ss := c.sessions[pk.nsp]; ss != nil {
			delete(c.sessions, pk.nsp)
			ss.closed()
		}
	case '2': // EVENT
		if ss := c.sessions[pk.nsp]; ss != nil {
			if name, args, ok := eventArgs(pk.body); ok {
				var ack func(any)
				if pk.ack != "" {
					ack = func(v any) { c.ack(prefix, pk.ack, v) }
				}
				ss.onEvent(name, args, ack)
			}
		}
	}
	return true
}

// ack answers the EVENT of ack id with an ACK packet carrying v.
func (c *wsConn) ack(prefix, id string, v any) {
	body, err := json.Marshal([]any{v})
	if err != nil {
		c.srv.cfg.Logger.Error("socketio: encode ack", "err", err)
		return
	}
	b := make([]byte, 0, 2+len(prefix)+len(id)+len(body))
	b = append(b, '4', '3')
	b = append(b, prefix...)
	b = append(b, id...)
	c.enqueue(append(b, body...), nil)
}

// enqueue queues an Engine.IO packet and starts a drain if none runs.
func (c *wsConn) enqueue(b []byte, done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.leaving {
		return
	}
	c.queue = append(c.queue, outFrame{b: b, done: done})
	if !c.writing {
		c.writing = true
		c.srv.direct.wg.Go(c.drain)
	}
}

// drain writes queued packets until the queue is empty.
func (c *wsConn) drain() {
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		if len(q) == 0 || c.closed || c.leaving {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for i, f := range q {
			if i > 0 && c.isLeaving() {
				break // the close frame is out: a write now would fail
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
			err := c.ws.WriteMessage(websocket.TextMessage, f.b)
			if f.done != nil {
				f.done()
			}
			if err != nil {
				c.close()
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				return
			}
		}
	}
}

func (c *wsConn) isLeaving() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaving
}

// close ends the connection: the reader and any write fail at once.
func (c *wsConn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	_ = c.ws.Close()
}

// keepalive pings every direct connection on schedule and closes those
// that owe a pong too long or never join a namespace.
func (s *Server) keepalive() {
	tick := min(s.cfg.PingInterval, s.cfg.PingTimeout) / 4
	tick = max(10*time.Millisecond, min(tick, time.Second))
	t := time.NewTicker(tick)
	defer t.Stop()
	var dead []*wsConn
	for {
		select {
		case <-s.direct.stop:
			return
		case now := <-t.C:
			dead = dead[:0]
			s.direct.mu.Lock()
			for c := range s.direct.conns {
				c.mu.Lock()
				switch {
				case c.leaving:
					// Sent away: the read deadline of Shutdown ends it.
				case !c.connectBy.IsZero() && now.After(c.connectBy):
					dead = append(dead, c)
				case !c.pingSent.IsZero():
					if now.Sub(c.pingSent) > s.cfg.PingTimeout {
						dead = append(dead, c)
					}
				case !now.Before(c.nextPing):
					c.pingSent = now
					c.mu.Unlock()
					c.enqueue([]byte{'2'}, nil)
					continue
				}
				c.mu.Unlock()
			}
			s.direct.mu.Unlock()
			for _, c := range dead {
				c.close()
			}
		}
	}
}

// closeDirect closes every direct connection and waits for their
// goroutines and the keepalive loop.
func (s *Server) closeDirect() {
	s.direct.mu.Lock()
	select {
	case <-s.direct.stop:
	default:
		close(s.direct.stop)
	}
	conns := make([]*wsConn, 0, len(s.direct.conns))
	for c := range s.direct.conns {
		conns = append(conns, c)
	}
	s.direct.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.direct.wg.Wait()
}

// wsPeer is a socket of a direct connection.
type wsPeer struct {
	c      *wsConn
	prefix string // "" or "/nsp,"
}

func (p wsPeer) emit(name string, data any) {
	body, err := json.Marshal([]any{name, data})
	if err != nil {
		p.c.srv.cfg.Logger.Error("socketio: encode event", "event", name, "err", err)
		return
	}
	b := make([]byte, 0, 2+len(p.prefix)+len(body))
	b = append(b, '4', '2')
	b = append(b, p.prefix...)
	p.c.enqueue(append(b, body...), nil)
}

func (p wsPeer) write(packet string, done func()) {
	b := make([]byte, 0, 1+len(packet))
	b = append(b, '4')
	p.c.enqueue(append(b, packet...), done)
}

func (p wsPeer) kill(reason string) {
	p.emit("error", map[string]any{"message": reason})
	p.c.close()
}
