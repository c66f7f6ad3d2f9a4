package server

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// deadlines bounds how long one request may hold its connection while it
// sends a body or while its answer is not being read, so that slow-body
// (slowloris) clients and clients that never read cannot pin connections
// and goroutines for ever.
//
// The write bound is http.Server.WriteTimeout, which net/http renews for
// every request on a connection. Sockets must not have it: a websocket
// keeps the deadline of the request that upgraded it, and a long poll
// waits for events on purpose, so for those both deadlines are cleared.
//
// The read bound covers the body only. http.Server.ReadTimeout would bound
// the whole request instead: net/http's background read hits it while the
// handler still works and cancels the request's context, and on a long
// poll it would end the poll. So the deadline is set when a request has a
// body and cleared when the handler has read all of it.
func deadlines(opts Options, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if isSocket(r, opts.StreamPaths) {
			// Errors mean the writer cannot set deadlines (an HTTP/2
			// stream, a test recorder); there is nothing to clear then.
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
			h.ServeHTTP(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && opts.BodyReadTimeout > 0 {
			if err := rc.SetReadDeadline(time.Now().Add(opts.BodyReadTimeout)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// isSocket reports whether r opens a websocket or is a request on one of
// the long-poll paths.
func isSocket(r *http.Request, streamPaths []string) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	for _, p := range streamPaths {
		if strings.HasPrefix(r.URL.Path, p) {
			return true
		}
	}
	return false
}

// deadlineBody clears the body's read deadline once the body is read to
// its end: after that the connection only waits for the next request,
// which ReadHeaderTimeout and IdleTimeout bound. A body left unread keeps
// the deadline, so net/http's discard of the rest after the handler is
// bounded too, and a body that timed out keeps its connection failing
// until net/http closes it.
type deadlineBody struct {
	io.ReadCloser
	once  sync.Once
	clear func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.clear)
	}
	return n, err
}
