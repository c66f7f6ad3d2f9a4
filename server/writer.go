package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// StatusWriter is the one http.ResponseWriter wrapper of walletgate: every
// middleware that must see the status of a response (metrics, logging,
// limits) wraps the writer in one of these and nothing else.
//
// A wrapper that hides the optional interfaces of the writer it wraps
// breaks whatever needs them further in, and only on the built binary,
// because tests mount handlers bare: a missing Hijack once answered 500 to
// every Socket.IO websocket. So StatusWriter keeps them all reachable:
// Hijack for websocket upgrades, Flush for long polls and streams, and
// Unwrap for http.ResponseController (deadlines, full duplex).
type StatusWriter struct {
	w        http.ResponseWriter
	code     int
	wrote    bool
	hijacked bool
	n        int64
}

// NewStatusWriter wraps w. Its status reads 200 until a handler writes
// another, as net/http answers a handler that writes nothing.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return &StatusWriter{w: w, code: http.StatusOK}
}

// Header returns the wrapped writer's header map.
func (s *StatusWriter) Header() http.Header { return s.w.Header() }

// WriteHeader records the first final status (informational 1xx answers
// other than 101 are sent on but do not count: a 103 precedes the real one).
func (s *StatusWriter) WriteHeader(code int) {
	if !s.wrote && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.code, s.wrote = code, true
	}
	s.w.WriteHeader(code)
}

// Write passes body bytes on and counts them.
func (s *StatusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	n, err := s.w.Write(b)
	s.n += int64(n)
	return n, err
}

// Flush sends buffered bytes to the client, when the wrapped writer can.
func (s *StatusWriter) Flush() {
	if f, ok := s.w.(http.Flusher); ok {
		s.wrote = true
		f.Flush()
	}
}

// Hijack hands the connection to a websocket library. The status reads
// 101 from then on: what happens on the connection is the library's.
func (s *StatusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("hijack: %T does not support it: %w", s.w, http.ErrNotSupported)
	}
	c, brw, err := h.Hijack()
	if err == nil {
		s.hijacked = true
		if !s.wrote {
			s.code, s.wrote = http.StatusSwitchingProtocols, true
		}
	}
	return c, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.w }

// Status is the response's status code.
func (s *StatusWriter) Status() int { return s.code }

// Hijacked reports whether the connection was taken over.
func (s *StatusWriter) Hijacked() bool { return s.hijacked }

// Written is the number of body bytes written.
func (s *StatusWriter) Written() int64 { return s.n }
