package socketio

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Going away. net/http's shutdown waits for every request in flight, and a
// polling client always has one: its long-poll GET, which the library
// answers only when it has something to send, so a shutdown with idle
// polling clients waits its whole drain timeout. Websockets are hijacked
// connections, which net/http neither waits for nor closes, so their
// clients saw the connection drop (1006). Shutdown tells every client to
// go away the way its transport can hear: a websocket gets a close frame
// 1001 (going away) and the client's answer is awaited, and a polling
// session's pending GET is answered at once with the Engine.IO close
// packet. socket.io-client reports both as "transport close" and, unlike
// after a Socket.IO DISCONNECT ("io server disconnect"), reconnects on its
// own, which is what a restart or a rolling deploy wants.
//
// The library cannot do the polling part itself: its polling transport
// stops its write queue before it queues the close packet, so the packet
// is never sent and the GET hangs. Shutdown queues the packet first, and
// answers a GET that comes later for a session it sent away with the
// close packet itself.

// reasonGoingAway is the close reason of Shutdown.
const reasonGoingAway = "server shutting down"

// libSession is an Engine.IO session the library serves.
type libSession struct {
	eng engine.Socket
	// ws is the websocket the session was upgraded to, if any (guarded by
	// sessions.mu): the library keeps it out of reach, and a close frame
	// can only be written through it.
	ws *types.WebSocketConn
}

// upgradeKey carries an *upgradeHolder in a websocket upgrade request of
// an existing session.
type upgradeKey struct{}

// upgradeHolder receives the library's context of an upgrade request,
// whose Websocket field holds the connection once the upgrade is done.
type upgradeHolder struct{ hc *types.HttpContext }

// captureUpgrade is an engine middleware: it hands the request's library
// context to the upgradeHolder that ServeHTTP put in the request.
func captureUpgrade(ctx *types.HttpContext, next func(error)) {
	if h, ok := ctx.Request().Context().Value(upgradeKey{}).(*upgradeHolder); ok {
		h.hc = ctx
	}
	next(nil)
}

// upgraded records the websocket session sid was upgraded to.
func (s *Server) upgraded(sid string, ws *types.WebSocketConn) {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	if ls := s.sess.live[sid]; ls != nil {
		ls.ws = ws
	}
}

// signalGone wakes a waiting Shutdown: a session or connection ended.
func (s *Server) signalGone() {
	select {
	case s.gone <- struct{}{}:
	default:
	}
}

// Shutdown sends every client away (see above) and refuses new sessions
// with HTTP 503; requests of existing sessions still reach them. It
// returns once every session and direct connection has ended. A websocket
// client that does not answer the close within Config.CloseTimeout is
// dropped. When ctx ends first, everything left is dropped and ctx's error
// is returned. Call it when shutdown starts, beside net/http's drain; Close
// is still needed afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	s.sess.mu.Lock()
	libs := make([]*libSession, 0, len(s.sess.live))
	for _, ls := range s.sess.live {
		libs = append(libs, ls)
	}
	s.sess.mu.Unlock()
	s.direct.mu.Lock()
	conns := make([]*wsConn, 0, len(s.direct.conns))
	for c := range s.direct.conns {
		conns = append(conns, c)
	}
	s.direct.mu.Unlock()

	// A close frame may wait up to WriteTimeout on a client that stopped
	// reading, so they are all sent at once.
	var wg sync.WaitGroup
	for _, ls := range libs {
		wg.Go(func() { s.goAwayLib(ls) })
	}
	for _, c := range conns {
		wg.Go(c.goAway)
	}
	wg.Wait()

	for {
		n := s.open()
		if n == 0 {
			return nil
		}
		select {
		case <-s.gone:
		case <-ctx.Done():
			s.dropAll()
			return fmt.Errorf("socket.io: %d sessions still open: %w", n, ctx.Err())
		}
	}
}

// open counts the sessions and direct connections not yet ended.
func (s *Server) open() int {
	s.sess.mu.Lock()
	n := len(s.sess.live)
	s.sess.mu.Unlock()
	s.direct.mu.Lock()
	n += len(s.direct.conns)
	s.direct.mu.Unlock()
	return n
}

// dropAll closes what is left without waiting for anyone.
func (s *Server) dropAll() {
	s.sess.mu.Lock()
	libs := make([]engine.Socket, 0, len(s.sess.live))
	for _, ls := range s.sess.live {
		libs = append(libs, ls.eng)
	}
	s.sess.mu.Unlock()
	for _, eng := range libs {
		eng.Close(true)
	}
	s.direct.mu.Lock()
	conns := make([]*wsConn, 0, len(s.direct.conns))
	for c := range s.direct.conns {
		conns = append(conns, c)
	}
	s.direct.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// goAwayLib sends a library session away: a websocket gets the close
// frame 1001 and CloseTimeout to answer it; a polling session's pending
// GET gets the close packet, and the session is closed at once.
func (s *Server) goAwayLib(ls *libSession) {
	eng := ls.eng
	tr := eng.Transport()
	if tr.Name() == transports.WEBSOCKET {
		s.sess.mu.Lock()
		ws := ls.ws
		s.sess.mu.Unlock()
		if ws == nil {
			ws = eng.Request().Websocket // opened as a websocket, not upgraded
		}
		if ws != nil && ws.Conn != nil {
			err := ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, reasonGoingAway), time.Now().Add(s.cfg.WriteTimeout))
			if err == nil {
				// The library's reader ends the session when the client
				// answers, or when this deadline passes.
				_ = ws.SetReadDeadline(time.Now().Add(s.cfg.CloseTimeout))
				return
			}
			s.cfg.Logger.Debug("socketio: close frame", "err", err)
		}
		eng.Close(true)
		return
	}
	s.sess.mu.Lock()
	s.sess.away[eng.Id()] = struct{}{}
	s.sess.mu.Unlock()
	if tr.Writable() {
		// A GET is pending: answer it now. Queued before Close, which
		// stops the transport's write queue but lets it finish.
		tr.Send([]*packet.Packet{{Type: packet.CLOSE}})
	}
	eng.Close(true)
}

// answerGoneAway answers the poll of a session Shutdown sent away, which
// the engine no longer knows, with the close packet, so the client hears
// the same as a client whose GET was pending. It reports whether r was
// such a poll.
func (s *Server) answerGoneAway(w http.ResponseWriter, r *http.Request, sid string) bool {
	if r.Method != http.MethodGet || isWebSocketUpgrade(r) {
		return false
	}
	s.sess.mu.Lock()
	_, away := s.sess.away[sid]
	s.sess.mu.Unlock()
	if !away {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("1")) // Engine.IO v4 close packet
	return true
}

// goAway sends a direct connection away: the close frame 1001, nothing
// more written after it, and CloseTimeout for the client's answer, on
// which the reader ends the connection. Closing the socket before the
// client has answered could reset the connection under the close frame.
func (c *wsConn) goAway() {
	c.mu.Lock()
	if c.closed || c.leaving {
		c.mu.Unlock()
		return
	}
	c.leaving = true
	c.queue = nil
	c.mu.Unlock()
	s := c.srv
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, reasonGoingAway), time.Now().Add(s.cfg.WriteTimeout))
	if err != nil {
		c.close()
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.CloseTimeout))
}
