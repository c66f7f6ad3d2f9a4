package wsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

// Server is the /ws endpoint of one coin. Build it with New and stop it
// with Close.
type Server struct {
	hub  *hub.Hub
	coin string
	dec  hub.AddressDecoder
	cfg  Config

	base   context.Context // parent of every connection; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the endpoint for coin, whose wallet service must be attached
// to h; addresses are decoded by dec.
func New(h *hub.Hub, coin string, dec hub.AddressDecoder, cfg Config) (*Server, error) {
	if _, ok := h.Service(coin); !ok {
		return nil, walletgate.Errorf(walletgate.ENotFound, "coin %q is not attached to the hub", coin)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Server{hub: h, coin: coin, dec: dec, cfg: cfg.withDefaults(), base: base, cancel: cancel}, nil
}

// Config returns the effective configuration.
func (s *Server) Config() Config { return s.cfg }

// Close disconnects every client and waits for their goroutines.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// ServeHTTP upgrades the request and serves the connection until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.base.Err() != nil {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
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
		out:    make(chan frame, s.hub.Config().QueueSize+s.cfg.MaxInFlight+1),
		sem:    make(chan struct{}, s.cfg.MaxInFlight),
		subs:   make(map[string]walletgate.ScriptHash),
	}
	c.serve()
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

// closeWith ends the connection with a status and reason. It waits for
// the close handshake, which the library bounds (and a stuck write is
// bounded by WriteTimeout), so it is called only by the hub's goroutine
// that closes slow consumers, which may wait.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.srv.cfg.Logger.Info("wsapi: closing connection", "reason", reason)
		_ = c.ws.Close(code, reason)
		c.cancel()
	})
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
	c.closeWith(websocket.StatusTryAgainLater, reason)
}
