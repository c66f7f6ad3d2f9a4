package socketio

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// Going away. net/http's shutdown waits for every request in flight, and a
// polling client always has one: its long-poll GET, answered only when
// there is something to send, so a shutdown with idle polling clients
// would wait its whole drain timeout. Websockets are hijacked connections,
// which net/http neither waits for nor closes, so their clients would see
// the connection drop (1006). Shutdown tells every client to go away the
// way its transport can hear: a websocket gets a close frame 1001 (going
// away) and the client's answer is awaited, and a polling session's
// pending GET is answered at once with the Engine.IO close packet (a GET
// that comes later for a session it sent away too). socket.io-client
// reports both as "transport close" and, unlike after a Socket.IO
// DISCONNECT ("io server disconnect"), reconnects on its own, which is
// what a restart or a rolling deploy wants.

// reasonGoingAway is the close reason of Shutdown.
const reasonGoingAway = "server shutting down"

// Shutdown sends every client away (see above) and refuses new sessions
// with HTTP 503; requests of existing sessions still reach them. It
// returns once every session has ended. A websocket client that does not
// answer the close within Config.CloseTimeout is dropped. When ctx ends
// first, everything left is dropped and ctx's error is returned. Call it
// when shutdown starts, beside net/http's drain; Close is still needed
// afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	conns := s.snapshot()
	// A close frame may wait up to CloseTimeout on a client that stopped
	// reading, so they are all sent at once.
	var wg sync.WaitGroup
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
			for _, c := range s.snapshot() {
				c.end(eioClose)
			}
			return fmt.Errorf("socket.io: %d sessions still open: %w", n, ctx.Err())
		}
	}
}

// snapshot lists the sessions, taken under the lock register reads
// stopping under.
func (s *Server) snapshot() []*conn {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// open counts the sessions not yet ended.
func (s *Server) open() int {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	return len(s.conns)
}

// markAway records a polling session Shutdown closed.
func (s *Server) markAway(sid string) {
	s.regMu.Lock()
	s.away[sid] = struct{}{}
	s.regMu.Unlock()
}

// answerGoneAway answers the poll of a session Shutdown sent away with
// the close packet, so the client hears the same as a client whose GET was
// pending. It reports whether r was such a poll.
func (s *Server) answerGoneAway(w http.ResponseWriter, r *http.Request, sid string) bool {
	if r.Method != http.MethodGet || isWebSocketUpgrade(r) {
		return false
	}
	s.regMu.Lock()
	_, away := s.away[sid]
	s.regMu.Unlock()
	if !away {
		return false
	}
	s.writePayload(w, r, []byte{eioClose})
	return true
}
