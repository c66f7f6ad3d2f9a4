package socketio

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The HTTP long-polling transport. A GET is held until packets are queued
// (or a ping is due, which queues one) and then answered with all of them
// as one payload; a POST carries the client's packets. One GET and one
// POST at a time: a second concurrent one closes the session, as the
// reference server does. The headers are those the reference server (and
// the library this package replaced) sends: CORS "*", Cache-Control
// no-store, text/plain payloads, "ok" as text/html for a POST.

// Engine.IO's HTTP errors: HTTP 400 with {"code", "message"}.
const (
	errUnknownTransport = `{"code":0,"message":"Transport unknown"}`
	errUnknownSid       = `{"code":1,"message":"Session ID unknown"}`
	errBadHandshake     = `{"code":2,"message":"Bad handshake method"}`
	errBadRequest       = `{"code":3,"message":"Bad request"}`
)

// abort answers with one of Engine.IO's JSON errors.
func abort(w http.ResponseWriter, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, body)
}

// status answers with a bare status, as the reference does for an
// overlapping request (400), an oversize POST (413) or another method (500).
func status(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(code)
}

// preflight answers a CORS preflight as the cors middleware of the
// reference server does with origin "*".
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
	if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
		h.Set("Access-Control-Allow-Headers", rh)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// pollHeaders are the headers of every polling answer.
func pollHeaders(h http.Header, r *http.Request, contentType string) {
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	// The reference server's guard against IE's XSS filter.
	if ua := r.UserAgent(); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		h.Set("X-XSS-Protection", "0")
	}
}

// handshakePolling opens a polling session: the GET is answered with the
// open packet at once.
func (s *Server) handshakePolling(w http.ResponseWriter, r *http.Request) {
	c := s.newConn()
	ok, stopping := s.register(c, nil)
	if !ok {
		http.Error(w, reasonGoingAway, http.StatusServiceUnavailable)
		return
	}
	if stopping {
		c.goAway()
	}
	s.writePayload(w, r, s.openPacket(c.sid, true))
}

// writePayload answers a GET with a payload, compressed when it is big
// enough and the client accepts it, within WriteTimeout.
func (s *Server) writePayload(w http.ResponseWriter, r *http.Request, body []byte) {
	rc := http.NewResponseController(w)
	// Errors mean the writer cannot set deadlines (HTTP/2, a recorder).
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	h := w.Header()
	pollHeaders(h, r, "text/plain; charset=UTF-8")
	if t := s.cfg.CompressionThreshold; t >= 0 && len(body) >= t {
		if enc := acceptedEncoding(r); enc != "" {
			if z, err := s.compress(enc, body); err == nil {
				h.Set("Content-Encoding", enc)
				body = z
			} else {
				s.cfg.Logger.Warn("socketio: compress poll", "err", err)
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	// Flushed under the deadline, which is then cleared: the connection
	// may carry other requests, whose deadlines are not ours to set.
	_ = rc.Flush()
	_ = rc.SetWriteDeadline(time.Time{})
}

// pollGet serves a long-poll GET of session c.
func (s *Server) pollGet(w http.ResponseWriter, r *http.Request, c *conn) {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		abort(w, errUnknownSid)
		return
	case c.ws != nil:
		c.mu.Unlock()
		abort(w, errBadRequest)
		return
	case c.poll != nil:
		// Overlap: the reference closes the session, so the pending GET
		// gets the close packet, and this one a bare 400.
		c.mu.Unlock()
		c.end(eioClose)
		status(w, http.StatusBadRequest)
		return
	}
	probing := c.upgrading != nil && c.upgrading.probed
	if len(c.queue) == 0 && !probing {
		wake := make(chan struct{}, 1)
		c.poll, c.pollSince = wake, time.Now()
		c.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			c.mu.Lock()
			if c.poll == wake {
				c.poll = nil
			}
			c.mu.Unlock()
			// The reference closes a session whose poll is dropped.
			c.end(eioClose)
			return
		}
		c.mu.Lock()
		if c.poll == wake {
			c.poll = nil
		}
	}
	var frames []outFrame
	final := byte(0)
	switch {
	case c.ws != nil:
		// Upgraded while waiting: the queue is the websocket's now.
		final = eioNoop
	case c.closed:
		frames, c.queue = c.queue, nil
		final = c.final
	default:
		frames, c.queue = c.queue, nil
		if len(frames) == 0 {
			final = eioNoop // a probing upgrade, or held too long
		}
	}
	c.mu.Unlock()

	n := len(frames)
	if final != 0 {
		n++
	}
	packets := make([][]byte, 0, n)
	size := 0
	for _, f := range frames {
		packets = append(packets, f.b)
		size += len(f.b) + 1
	}
	if final != 0 {
		packets = append(packets, []byte{final})
	}
	s.writePayload(w, r, appendPayload(make([]byte, 0, size+1), packets...))
	for _, f := range frames {
		if f.done != nil {
			f.done()
		}
	}
}

// errTooLarge reports a POST body over MaxPayload.
var errTooLarge = errors.New("payload too large")

// readBody reads a POST body of at most MaxPayload bytes within
// ReadTimeout.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxPayload {
		return nil, errTooLarge
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxPayload+1))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > s.cfg.MaxPayload {
		return nil, errTooLarge
	}
	return body, nil
}

// pollPost handles the packets a client POSTs to session c.
func (s *Server) pollPost(w http.ResponseWriter, r *http.Request, c *conn) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") {
		// Binary payloads are Engine.IO v3's; the reference closes a v4
		// session that sends one.
		c.end(eioClose)
		abort(w, errBadRequest)
		return
	}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		abort(w, errUnknownSid)
		return
	case c.ws != nil:
		c.mu.Unlock()
		abort(w, errBadRequest)
		return
	case c.posting:
		c.mu.Unlock()
		c.end(eioClose)
		status(w, http.StatusBadRequest)
		return
	}
	c.posting = true
	c.mu.Unlock()
	// The answer is written once the POST is done with, so the client's
	// next POST, sent when it has read it, never finds this one current.
	answer := s.takePost(w, r, c)
	c.mu.Lock()
	c.posting = false
	c.mu.Unlock()
	if answer != nil {
		answer()
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	h := w.Header()
	// text/html rather than text/plain avoids a download dialog on some
	// user agents (the reference server's choice).
	pollHeaders(h, r, "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
	_ = rc.Flush()
	_ = rc.SetWriteDeadline(time.Time{})
}

// takePost reads and handles a POST's packets. It returns how to answer
// when that is not "ok".
func (s *Server) takePost(w http.ResponseWriter, r *http.Request, c *conn) (answer func()) {
	body, err := s.readBody(w, r)
	if errors.Is(err, errTooLarge) {
		return func() { status(w, http.StatusRequestEntityTooLarge) } // the session stays
	}
	if err != nil {
		// The reference closes a session whose POST is cut off.
		c.end(eioClose)
		return func() { abort(w, errBadRequest) }
	}
	for _, p := range splitPayload(body) {
		switch final := c.handle(p); final {
		case 0:
		case eioNoop: // the client closed the session
			c.end(eioNoop)
			return nil
		default:
			c.end(final)
			return func() { abort(w, errBadRequest) }
		}
	}
	return nil
}
