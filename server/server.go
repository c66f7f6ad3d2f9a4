// Package server runs walletgate's HTTP listeners: it binds them, serves
// them, recovers handler panics, and on shutdown stops accepting, drains
// in-flight requests up to a deadline and then runs the closers (backends,
// stores) in reverse order.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Options are the listener settings shared by every listener.
type Options struct {
	// ShutdownTimeout bounds the drain of in-flight requests.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps request headers.
	MaxHeaderBytes int
	// BodyReadTimeout bounds how long a client may take to send a request
	// body, from the moment its handler starts.
	BodyReadTimeout time.Duration
	// WriteTimeout bounds how long a request may take from its headers to
	// the last byte of its answer, so clients that never read their
	// answers do not hold connections. It must exceed the slowest backend
	// call a handler waits for. Sockets are exempt (see StreamPaths).
	WriteTimeout time.Duration
	// StreamPaths are path prefixes of long polls (Socket.IO's polling
	// transport): requests under them, like every websocket upgrade, have
	// neither the body nor the write deadline.
	StreamPaths []string
}

// DefaultOptions are used for zero fields.
func DefaultOptions() Options {
	return Options{
		ShutdownTimeout:   15 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       75 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BodyReadTimeout:   30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
}

// Server owns a set of listeners and the things to close after them.
type Server struct {
	log     *slog.Logger
	opts    Options
	entries []*entry
	closers []namedCloser
	goAways []namedGoAway
	errs    chan error
	wg      sync.WaitGroup
}

type entry struct {
	name    string
	addr    string
	handler http.Handler
	ln      net.Listener
	srv     *http.Server
}

type namedCloser struct {
	name string
	c    io.Closer
}

type namedGoAway struct {
	name string
	f    func(ctx context.Context) error
}

// New returns a server with no listeners yet.
func New(log *slog.Logger, opts Options) *Server {
	d := DefaultOptions()
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = d.ShutdownTimeout
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = d.IdleTimeout
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if opts.BodyReadTimeout <= 0 {
		opts.BodyReadTimeout = d.BodyReadTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = d.WriteTimeout
	}
	return &Server{log: log, opts: opts, errs: make(chan error, 8)}
}

// Listen adds a listener on addr (host:port; port 0 picks a free one).
func (s *Server) Listen(name, addr string, h http.Handler) {
	s.entries = append(s.entries, &entry{name: name, addr: addr, handler: h})
}

// OnClose registers c to be closed after the listeners have drained.
// Closers run in reverse order of registration, like defers.
func (s *Server) OnClose(name string, c io.Closer) {
	s.closers = append(s.closers, namedCloser{name, c})
}

// OnShutdown registers f to run when shutdown starts, beside the drain of
// in-flight requests and with the same deadline. It is for what the drain
// does not end by itself: net/http neither waits for nor closes hijacked
// connections, and it waits for a long poll until the poll answers. So
// each socket server tells its clients to go away there (a websocket close
// 1001, a long poll answered now) and returns once they are gone.
func (s *Server) OnShutdown(name string, f func(ctx context.Context) error) {
	s.goAways = append(s.goAways, namedGoAway{name, f})
}

// Start binds every listener and serves them in the background. If one
// cannot bind, the ones already bound are closed and the error names it.
func (s *Server) Start() error {
	for i, e := range s.entries {
		ln, err := net.Listen("tcp", e.addr)
		if err != nil {
			for _, prev := range s.entries[:i] {
				prev.ln.Close()
			}
			return fmt.Errorf("listen %s on %s: %w", e.name, e.addr, err)
		}
		e.ln = ln
		e.srv = &http.Server{
			Handler:           Recover(s.log, deadlines(s.opts, e.handler)),
			ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
			WriteTimeout:      s.opts.WriteTimeout,
			IdleTimeout:       s.opts.IdleTimeout,
			MaxHeaderBytes:    s.opts.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
	}
	for _, e := range s.entries {
		s.log.Info("listening", "listener", e.name, "addr", e.ln.Addr().String())
		s.wg.Add(1)
		go func(e *entry) {
			defer s.wg.Done()
			if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errs <- fmt.Errorf("serve %s: %w", e.name, err)
			}
		}(e)
	}
	return nil
}

// Addr returns the bound address of the named listener ("" if none).
func (s *Server) Addr(name string) string {
	for _, e := range s.entries {
		if e.name == name && e.ln != nil {
			return e.ln.Addr().String()
		}
	}
	return ""
}

// Wait serves until ctx ends or a listener fails, then shuts down: stops
// accepting, runs the OnShutdown hooks while it drains in-flight requests
// up to ShutdownTimeout (then closes what is left), and runs the closers. It returns the listener failure, if
// any, joined with shutdown errors.
func (s *Server) Wait(ctx context.Context) error {
	var cause error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "drain_timeout", s.opts.ShutdownTimeout.String())
	case cause = <-s.errs:
		s.log.Error("listener failed; shutting down", "err", cause)
	}
	dctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	errs := []error{cause}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range s.goAways {
		wg.Add(1)
		go func(g namedGoAway) {
			defer wg.Done()
			if err := g.f(dctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("shut down %s: %w", g.name, err))
				mu.Unlock()
			}
		}(g)
	}
	for _, e := range s.entries {
		wg.Add(1)
		go func(e *entry) {
			defer wg.Done()
			if err := e.srv.Shutdown(dctx); err != nil {
				e.srv.Close()
				mu.Lock()
				errs = append(errs, fmt.Errorf("drain %s: %w", e.name, err))
				mu.Unlock()
			}
		}(e)
	}
	wg.Wait()
	s.wg.Wait()
	for i := len(s.closers) - 1; i >= 0; i-- {
		c := s.closers[i]
		if err := c.c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
		}
	}
	s.log.Info("stopped")
	return errors.Join(errs...)
}

// Recover turns a handler panic into a logged 500 so one bad request never
// takes the process down. http.ErrAbortHandler is re-raised: it is how
// handlers deliberately abort a response.
func Recover(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}()
		h.ServeHTTP(w, r)
	})
}

// Health answers GET /healthz with {"status":"ok"} while the process serves.
func Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
}
