package wsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

// Server is the /ws endpoint of one coin. Build it with New, send its
// clients away with Shutdown when the process stops, and stop it with
// Close.
type Server struct {
	hub  *hub.Hub
	coin string
	dec  hub.AddressDecoder
	cfg  Config

	base   context.Context // parent of every connection; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[*conn]struct{}
	stopping bool          // Shutdown has started: no new connections
	gone     chan struct{} // a connection ended (Shutdown waits on it)
}

// New builds the endpoint for coin, whose wallet service must be attached
// to h; addresses are decoded by dec.
func New(h *hub.Hub, coin string, dec hub.AddressDecoder, cfg Config) (*Server, error) {
	if _, ok := h.Service(coin); !ok {
		return nil, walletgate.Errorf(walletgate.ENotFound, "coin %q is not attached to the hub", coin)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Server{
		hub: h, coin: coin, dec: dec, cfg: cfg.withDefaults(), base: base, cancel: cancel,
		conns: make(map[*conn]struct{}), gone: make(chan struct{}, 1),
	}, nil
}

// Config returns the effective configuration.
func (s *Server) Config() Config { return s.cfg }

// Close disconnects every client and waits for their goroutines.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Shutdown sends every client away: each connection is closed with status
// 1001 (going away), so clients know to reconnect elsewhere or later
// rather than seeing a dropped connection, and new connections are
// refused with HTTP 503. net/http's own shutdown neither closes nor waits
// for these hijacked connections. Shutdown returns once every connection
// has ended; when ctx ends first, the rest are dropped and ctx's error is
// returned. Close is still needed afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// Each close waits for the client's answer (bounded by the library),
	// so they run at once rather than one after another.
	var closing sync.WaitGroup
	for _, c := range conns {
		closing.Go(c.goAway)
	}
	defer closing.Wait()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-s.gone:
		case <-ctx.Done():
			s.cancel() // drop the rest
			return fmt.Errorf("wsapi %s: %d connections still open: %w", s.coin, n, ctx.Err())
		}
	}
}

// reasonGoingAway is the close reason of Shutdown.
const reasonGoingAway = "server shutting down"

// ServeHTTP upgrades the request and serves the connection until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if stopping || s.base.Err() != nil {
		http.Error(w, reasonGoingAway, http.StatusServiceUnavailable)
		return
	}
	// The API is public, like the REST API with its CORS "*": any origin.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the request
	}
	s.wg.Add(1)
	defer s.wg.Done()
	ws.SetReadLimit(s.cfg.MaxMessageBytes)
	ctx, cancel := context.WithCancel(s.base)
	defer cancel()
	c := &conn{
		srv:    s,
		ws:     ws,
		ctx:    ctx,
		cancel: cancel,
		out:    make(chan frame, outCap(s.hub.Config(), s.cfg)),
		sem:    make(chan struct{}, s.cfg.MaxInFlight),
		subs:   make(map[string]walletgate.ScriptHash),
	}
	if !s.track(c) {
		_ = ws.Close(websocket.StatusGoingAway, reasonGoingAway)
		return
	}
	defer s.untrack(c)
	c.serve()
}

// track registers c for Shutdown; false once Shutdown has started (a
// connection accepted meanwhile).
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	select {
	case s.gone <- struct{}{}:
	default:
	}
}

// outCap is the room of a connection's write queue: every push the hub may
// hand it unwritten (QueueSize change pushes plus RefreshWindow initial
// ones) and every answer of the requests in flight, so Send never finds it
// full.
func outCap(h hub.Config, c Config) int {
	return h.QueueSize + h.RefreshWindow + c.MaxInFlight + 1
}

// frame is one message for the writer; done (pushes only) reports it
// written to the hub.
type frame struct {
	b    []byte
	done func()
}

// conn is one client connection.
type conn struct {
	srv    *Server
	ws     *websocket.Conn
	hc     *hub.Conn
	ctx    context.Context
	cancel context.CancelFunc
	out    chan frame
	sem    chan struct{}
	blocks atomic.Bool

	subMu sync.Mutex
	subs  map[string]walletgate.ScriptHash // address as subscribed → script hash

	closeOnce sync.Once
}

func (c *conn) serve() {
	hc, err := c.srv.hub.Connect(c.srv.coin, c)
	if err != nil {
		c.srv.cfg.Logger.Warn("wsapi: register connection", "err", err)
		_ = c.ws.Close(websocket.StatusTryAgainLater, "server unavailable")
		return
	}
	c.hc = hc
	var wg sync.WaitGroup
	wg.Go(c.writer)
	wg.Go(c.pinger)
	var reqs sync.WaitGroup
	c.reader(&reqs)
	c.cancel()
	reqs.Wait()
	if err := hc.Close(); err != nil {
		c.srv.cfg.Logger.Warn("wsapi: release subscriptions", "err", err)
	}
	wg.Wait()
	c.ws.CloseNow()
}

// reader reads requests until the connection ends, running each on a
// goroutine of its own, at most Config.MaxInFlight at once.
func (c *conn) reader(reqs *sync.WaitGroup) {
	for {
		typ, msg, err := c.ws.Read(c.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == -1 && c.ctx.Err() == nil {
				c.srv.cfg.Logger.Debug("wsapi: read", "err", err)
			}
			return
		}
		if typ != websocket.MessageText {
			c.answer(encodeError(nullID, badRequest("binary messages are not supported; send JSON text")))
			continue
		}
		select {
		case c.sem <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		reqs.Go(func() {
			defer func() { <-c.sem }()
			c.handle(msg)
		})
	}
}

func (c *conn) handle(msg []byte) {
	req, e := parseRequest(msg)
	if e != nil {
		c.answer(encodeError(req.ID, e))
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.cfg.RequestTimeout)
	defer cancel()
	var after func()
	result, e := c.call(ctx, req, &after)
	if e != nil {
		c.answer(encodeError(req.ID, e))
		return
	}
	b, err := encodeResult(req.ID, result)
	if err != nil {
		c.srv.cfg.Logger.Error("wsapi: encode result", "method", req.Method, "err", err)
		c.answer(encodeError(req.ID, &rpcError{Code: CodeInternal, Message: "internal error"}))
		return
	}
	c.answer(b)
	if after != nil {
		after()
	}
}

// answer queues a reply, waiting for room: replies are bounded by
// MaxInFlight, so this never waits for long unless the client stopped
// reading, and then the write deadline ends the connection.
func (c *conn) answer(b []byte) {
	select {
	case c.out <- frame{b: b}:
	case <-c.ctx.Done():
	}
}

// writer owns every write to the client.
func (c *conn) writer() {
	for {
		select {
		case f := <-c.out:
			ctx, cancel := context.WithTimeout(c.ctx, c.srv.cfg.WriteTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, f.b)
			cancel()
			if f.done != nil {
				f.done()
			}
			if err != nil {
				c.cancel()
				return
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// pinger checks that the client is alive.
func (c *conn) pinger() {
	t := time.NewTicker(c.srv.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.srv.cfg.PingTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				if c.ctx.Err() == nil {
					// The peer does not answer: a close handshake would
					// only wait for it too.
					c.srv.cfg.Logger.Info("wsapi: closing connection", "reason", "ping timeout")
					c.cancel()
					c.ws.CloseNow()
				}
				return
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// closeWith ends the connection with a status and reason, logged at
// level. It waits for the close handshake, which the library bounds (and a
// stuck write is bounded by WriteTimeout), so it is called only from
// goroutines that may wait: the hub's, which closes slow consumers, and
// Shutdown's.
func (c *conn) closeWith(level slog.Level, code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.srv.cfg.Logger.Log(context.Background(), level, "wsapi: closing connection", "coin", c.srv.coin, "status", int(code), "reason", reason)
		_ = c.ws.Close(code, reason)
		c.cancel()
	})
}

// goAway closes the connection with 1001 for Shutdown. One line per
// client at shutdown would drown the log, so it is a debug line.
func (c *conn) goAway() {
	c.closeWith(slog.LevelDebug, websocket.StatusGoingAway, reasonGoingAway)
}

// Send implements hub.Sink.
func (c *conn) Send(ev *hub.Event, tag string, done func()) {
	var b []byte
	switch ev.Kind {
	case hub.KindBlock:
		if !c.blocks.Load() {
			done()
			return
		}
		b = append(b, `{"event":"block","data":{"height":`...)
		b = strconv.AppendInt(b, ev.Height, 10)
		b = append(b, `}}`...)
	case hub.KindAccount:
		b = make([]byte, 0, len(ev.Payload)+len(walletgate.EventTxUpdate)+24)
		b = append(b, `{"event":"`...)
		b = append(b, walletgate.EventTxUpdate...)
		b = append(b, `","data":`...)
		b = append(b, ev.Payload...)
		b = append(b, '}')
	default:
		addr, _ := json.Marshal(tag)
		b = make([]byte, 0, len(ev.Payload)+len(addr)+48)
		b = append(b, `{"event":"balance_changed","data":{"address":`...)
		b = append(b, addr...)
		b = append(b, ',')
		b = append(b, ev.Payload[1:]...)
		b = append(b, '}')
	}
	select {
	case c.out <- frame{b: b, done: done}:
	default:
		// Cannot happen while the hub bounds pushes below the channel's
		// room; drop the connection rather than block the hub.
		done()
		c.srv.cfg.Logger.Warn("wsapi: send queue full; dropping connection")
		c.cancel()
	}
}

// Close implements hub.Sink.
func (c *conn) Close(reason string) {
	c.closeWith(slog.LevelInfo, websocket.StatusTryAgainLater, reason)
}
