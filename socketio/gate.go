package socketio

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// The library starts reading a new websocket before Socket.IO has
// registered its handlers on the Engine.IO socket (the handshake sends the
// open packet, then announces the socket). A client that answers the open
// packet at once, as socket.io-client does, can have its CONNECT packet
// dropped in that gap and hang until the connect timeout. The same gap
// exists for a polling client's first POST. The gates below hold a new
// session's first read, and the first requests naming its sid, until the
// server has seen the socket announced.

// gateWait bounds how long a request waits for its session to be
// announced; the announcement normally takes microseconds.
const gateWait = 5 * time.Second

type gateKey struct{}

// gate opens once.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gate) wait(ctx context.Context) {
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case <-g.ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// gatedWriter hands the websocket upgrader a connection whose first read
// waits for the gate.
type gatedWriter struct {
	http.ResponseWriter
	g *gate
}

// Hijack wraps the hijacked connection in a gatedConn.
func (w *gatedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &gatedConn{Conn: c, g: w.g}, brw, nil
}

type gatedConn struct {
	net.Conn
	g      *gate
	passed bool // only the reading goroutine touches it
}

// Read waits for the gate before the first read.
func (c *gatedConn) Read(p []byte) (int, error) {
	if !c.passed {
		c.g.wait(context.Background())
		c.passed = true
	}
	return c.Conn.Read(p)
}

// sessions tracks which Engine.IO sessions Socket.IO has taken over.
type sessions struct {
	mu    sync.Mutex
	ready map[string]*gate
	live  map[string]*libSession // every announced session until it closes
	// away holds the polling sessions Shutdown closed: a later poll of one
	// is answered with the close packet (Server.answerGoneAway).
	away map[string]struct{}
}

// announced is called after Socket.IO's own connection handler.
func (s *Server) announced(eng engine.Socket) {
	if g, ok := eng.Request().Request().Context().Value(gateKey{}).(*gate); ok {
		g.open()
	}
	id := eng.Id()
	ls := &libSession{eng: eng}
	s.sess.mu.Lock()
	g := s.sess.ready[id]
	if g == nil {
		g = newGate()
		s.sess.ready[id] = g
	}
	s.sess.live[id] = ls
	// Read under the lock Shutdown takes after setting it: a session
	// Shutdown did not see goes away here.
	stopping := s.stopping.Load()
	s.sess.mu.Unlock()
	g.open()
	_ = eng.Once("close", func(...any) {
		s.sess.mu.Lock()
		delete(s.sess.ready, id)
		delete(s.sess.live, id)
		ws := ls.ws
		s.sess.mu.Unlock()
		// The library does not close a websocket whose client closed it
		// (its transport is marked closed first, so closing it again does
		// nothing): the connection would stay open until the client gives
		// up waiting, which a client sent away by Shutdown would do only
		// after its own timeout.
		for _, w := range []*types.WebSocketConn{ws, eng.Request().Websocket} {
			if w != nil && w.Conn != nil {
				_ = w.Conn.Close()
			}
		}
		s.signalGone()
	})
	if stopping {
		s.goAwayLib(ls)
	}
}

// awaitSession holds a request naming sid until the session is announced,
// when the engine knows sid but Socket.IO has not taken it over yet.
func (s *Server) awaitSession(ctx context.Context, sid string) {
	s.sess.mu.Lock()
	g := s.sess.ready[sid]
	if g == nil {
		if _, known := s.io.Engine().Clients().Load(sid); !known {
			s.sess.mu.Unlock()
			return // unknown or closed: the engine answers it
		}
		g = newGate()
		s.sess.ready[sid] = g
	}
	s.sess.mu.Unlock()
	g.wait(ctx)
}
