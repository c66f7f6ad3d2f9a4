// Package electrumtest is an Electrum-protocol server for tests. ElectrumX
// cannot run here, so this models ElectrumX 1.20/2.0 as §7 of the Bitweb spec
// describes it: the version-first rule, v2-shaped replies, space padding and
// the 1 s flush rule, batches, notifications, ElectrumX's error codes, idle
// reaping — plus fault injection (drops, stalls, reordering, -101/-102,
// refusal, outages, restarts, a scripted step right behind a reply) driven
// by the test. Its chain comes from a ChainState:
// a scripted MemChain, or an Indexer over a real btcd regtest node.
package electrumtest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets the server's behaviour. Zero values take the defaults noted.
type Config struct {
	// ServerVersion is the software string (default "ElectrumX 2.0.0").
	ServerVersion string
	// ProtocolMin and ProtocolMax bound negotiation (default "1.4", "1.7").
	ProtocolMin, ProtocolMax string
	// FlushRule holds small replies up to FlushInterval (ElectrumX ≥1.18).
	FlushRule bool
	// FlushInterval is the hold time of the flush rule (default 1 s).
	FlushInterval time.Duration
	// FlushBytes is the buffered size that forces a flush (default 1024).
	FlushBytes int
	// NoPadding turns off space padding of outgoing data.
	NoPadding bool
	// MaxRecv drops longer incoming lines silently (default 1,000,000).
	MaxRecv int
	// MaxSend turns longer replies into -32600 (default 8,100,000).
	MaxSend int
	// SessionTimeout closes sessions that send nothing (default 600 s).
	SessionTimeout time.Duration
	// WriteTimeout closes sessions the server cannot write to (default 20 s).
	WriteTimeout time.Duration
	// TLS, when set, makes the listener speak TLS.
	TLS *tls.Config
	// Addr is the listen address (default "127.0.0.1:0").
	Addr string
	// Log receives debug logs; nil discards them.
	Log *slog.Logger
}

func (c *Config) defaults() {
	if c.ServerVersion == "" {
		c.ServerVersion = "ElectrumX 2.0.0"
	}
	if c.ProtocolMin == "" {
		c.ProtocolMin = "1.4"
	}
	if c.ProtocolMax == "" {
		c.ProtocolMax = "1.7"
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = 1024
	}
	if c.MaxRecv == 0 {
		c.MaxRecv = 1_000_000
	}
	if c.MaxSend == 0 {
		c.MaxSend = 8_100_000
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 600 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 20 * time.Second
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Server is a running Electrum-protocol server.
type Server struct {
	cfg   Config
	state ChainState

	mu       sync.Mutex
	ln       net.Listener
	addr     string
	sessions map[*session]struct{}
	closed   bool
	counts   map[string]int
	wg       sync.WaitGroup
	stop     chan struct{}

	// Faults.
	dropAfter  atomic.Int64 // >0: the request that brings it to 0 kills its session
	gate       chan struct{}
	reorderN   int
	reorderBuf []heldReply
	injectCode int
	injectLeft int
	injectFor  map[string]bool
	extraPad   atomic.Int64
	afterFor   string // AfterReply's method; "" when none is armed
	afterFn    func()
}

type heldReply struct {
	s   *session
	msg []byte
}

// NewServer starts a server for state and returns it listening.
func NewServer(state ChainState, cfg Config) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, state: state, sessions: make(map[*session]struct{}), counts: make(map[string]int), stop: make(chan struct{})}
	if err := s.listen(cfg.Addr); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.watch()
	return s, nil
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("electrumtest: listen on %s: %w", addr, err)
	}
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.mu.Lock()
	s.ln = ln
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		ss := newSession(s, c)
		s.sessions[ss] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			ss.run()
			s.mu.Lock()
			delete(s.sessions, ss)
			s.mu.Unlock()
		}()
	}
}

// watch sends notifications when the chain changes.
func (s *Server) watch() {
	defer s.wg.Done()
	for {
		// Take the channel before the snapshot, so a change between the two
		// wakes the next round instead of being missed.
		ch := s.state.Changed()
		idx := s.state.Snapshot()
		for _, ss := range s.sessionList() {
			ss.notify(idx)
		}
		select {
		case <-s.stop:
			return
		case <-ch:
		}
	}
}

// sessionList returns the open sessions.
func (s *Server) sessionList() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		out = append(out, ss)
	}
	return out
}

// Addr returns the listen address, host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// SessionCount returns the number of open sessions.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Count returns how many requests of method the server has received.
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[method]
}

// Close stops the server and closes every session.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ln := s.ln
	s.ln = nil
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
	close(s.stop)
	if ln != nil {
		ln.Close()
	}
	s.DropAll()
	s.wg.Wait()
}

// DropAll closes every open session now, without replies.
func (s *Server) DropAll() {
	for _, ss := range s.sessionList() {
		ss.close()
	}
}

// DropAfter kills the connection that sends the n-th next request, before
// it is answered (n ≥ 1).
func (s *Server) DropAfter(n int) { s.dropAfter.Store(int64(n)) }

// Stall holds every reply produced from now on until d has passed, or until
// Unstall when d ≤ 0.
func (s *Server) Stall(d time.Duration) {
	s.mu.Lock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
	g := s.gate
	s.mu.Unlock()
	if d > 0 {
		time.AfterFunc(d, func() { s.release(g) })
	}
}

// Unstall releases replies held by Stall.
func (s *Server) Unstall() {
	s.mu.Lock()
	g := s.gate
	s.mu.Unlock()
	if g != nil {
		s.release(g)
	}
}

func (s *Server) release(g chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == g {
		close(g)
		s.gate = nil
	}
}

// Reorder holds the next n replies and then sends them in reverse order.
func (s *Server) Reorder(n int) {
	s.mu.Lock()
	s.reorderN = n
	s.reorderBuf = nil
	s.mu.Unlock()
}

// ExtraPadding adds n spaces before the final brace of every message.
func (s *Server) ExtraPadding(n int) { s.extraPad.Store(int64(n)) }

// InjectError answers the next k requests of methods (any method but
// server.version when none are named) with code: -101 (excessive resource
// usage, then disconnect) or -102 (server busy), or any other code with a
// generic message.
func (s *Server) InjectError(code, k int, methods ...string) {
	s.mu.Lock()
	s.injectCode, s.injectLeft, s.injectFor = code, k, nil
	if len(methods) > 0 {
		s.injectFor = make(map[string]bool)
		for _, m := range methods {
			s.injectFor[m] = true
		}
	}
	s.mu.Unlock()
}

// Refuse closes the listener so new connections are refused; Refuse(false)
// listens again on the same address.
func (s *Server) Refuse(refuse bool) error {
	s.mu.Lock()
	ln := s.ln
	addr := s.addr
	if refuse {
		s.ln = nil
	}
	s.mu.Unlock()
	if refuse {
		if ln != nil {
			return ln.Close()
		}
		return nil
	}
	if ln != nil {
		return nil
	}
	return s.listen(addr)
}

// Down models a dead ElectrumX (the process gone, or its host): the
// listener closes, so connection attempts are refused, and every open
// session is dropped without replies. Up brings it back on the same
// address; the chain state is untouched meanwhile, so changes made while it
// was down are there when it is back, unnotified.
func (s *Server) Down() error {
	if err := s.Refuse(true); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	s.DropAll()
	return nil
}

// Up ends Down: the server listens again on the same address.
func (s *Server) Up() error { return s.Refuse(false) }

// AfterReply runs fn once, right after the reply to the next request of
// method has been queued for sending (for a batch containing it, after the
// batch's reply line), on the goroutine that answered it. With the flush
// rule off the reply is on the wire by then, so whatever fn causes — a
// chain change, whose notification follows — comes after that reply on
// the same connection: tests use it to script the order of a reply and a
// notification.
func (s *Server) AfterReply(method string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterFor, s.afterFn = method, fn
}

// takeAfterReply returns the armed AfterReply hook if one of methods is its
// method, disarming it.
func (s *Server) takeAfterReply(methods ...string) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.afterFn == nil {
		return nil
	}
	for _, m := range methods {
		if m == s.afterFor {
			fn := s.afterFn
			s.afterFor, s.afterFn = "", nil
			return fn
		}
	}
	return nil
}

// takeInjected returns an injected error for the next request, if any.
func (s *Server) takeInjected(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.injectLeft <= 0 || (s.injectFor != nil && !s.injectFor[method]) {
		return 0
	}
	s.injectLeft--
	return s.injectCode
}

func (s *Server) countRequest(method string) {
	s.mu.Lock()
	s.counts[method]++
	s.mu.Unlock()
}

// stallGate returns the current stall gate, nil when not stalled.
func (s *Server) stallGate() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gate
}

// holdForReorder keeps msg if reordering is on; it returns the replies to
// send now (possibly none).
func (s *Server) holdForReorder(ss *session, msg []byte) []heldReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reorderN <= 0 {
		return []heldReply{{ss, msg}}
	}
	s.reorderBuf = append(s.reorderBuf, heldReply{ss, msg})
	if len(s.reorderBuf) < s.reorderN {
		return nil
	}
	out := make([]heldReply, 0, len(s.reorderBuf))
	for i := len(s.reorderBuf) - 1; i >= 0; i-- {
		out = append(out, s.reorderBuf[i])
	}
	s.reorderBuf, s.reorderN = nil, 0
	return out
}
