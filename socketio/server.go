package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

// msgUnsupportedVersion is python-engineio's answer to an Engine.IO v3
// (socket.io-client 2.x) handshake, sent as a JSON string.
const msgUnsupportedVersion = "The client is using an unsupported version of the Socket.IO or Engine.IO protocols"

// Server is the Socket.IO endpoint. Build it with New, bind namespaces to
// coins with Serve, mount it at Config.Path, send its clients away with
// Shutdown when the process stops, and stop it with Close.
type Server struct {
	cfg  Config
	hub  *hub.Hub
	io   *socket.Server
	eio  http.Handler
	path string // Config.Path without its trailing slash

	sess   sessions
	direct directConns

	stopping atomic.Bool   // Shutdown has started: no new sessions
	gone     chan struct{} // a session or direct connection ended

	mu     sync.Mutex
	nsps   map[string]binding
	closed bool
}

// binding is what a namespace serves.
type binding struct {
	coin   string
	dec    hub.AddressDecoder
	prefix string // EVENT packet prefix: "2", or "2/nsp," for other namespaces
}

// New builds the endpoint over h. It serves nothing until Serve binds a
// namespace.
func New(h *hub.Hub, cfg Config) *Server {
	cfg = cfg.withDefaults()
	opts := socket.DefaultServerOptions()
	opts.SetPath(cfg.Path)
	opts.SetServeClient(false)
	opts.SetPingInterval(cfg.PingInterval)
	opts.SetPingTimeout(cfg.PingTimeout)
	opts.SetMaxHttpBufferSize(cfg.MaxPayload)
	opts.SetConnectTimeout(cfg.ConnectTimeout)
	opts.SetUpgradeTimeout(cfg.UpgradeTimeout)
	opts.SetAllowEIO3(false)
	opts.SetAllowUpgrades(true)
	opts.SetTransports(types.NewSet(engine.Polling, engine.WebSocket))
	opts.SetCors(&types.Cors{Origin: "*"})
	io := socket.NewServer(nil, opts)
	s := &Server{
		cfg:    cfg,
		hub:    h,
		io:     io,
		eio:    io.ServeHandler(nil),
		path:   strings.TrimSuffix(cfg.Path, "/"),
		sess:   sessions{ready: make(map[string]*gate), live: make(map[string]*libSession), away: make(map[string]struct{})},
		gone:   make(chan struct{}, 1),
		direct: directConns{conns: make(map[*wsConn]struct{}), stop: make(chan struct{})},
		nsps:   make(map[string]binding),
	}
	s.direct.wg.Go(s.keepalive)
	io.Engine().Use(captureUpgrade)
	// Registered after Socket.IO's own listener, so it runs after it.
	_ = io.Engine().On("connection", func(args ...any) {
		if eng, ok := args[0].(engine.Socket); ok {
			s.announced(eng)
		}
	})
	return s
}

// NewBitweb is the Bitweb server's push in one call: New plus Serve of
// namespace "/" for coin, whose wallet service must be attached to h.
// Mount the result at cfg.Path ("/socket.io/" by default) and Close it on
// shutdown, before h.
func NewBitweb(h *hub.Hub, coin string, dec hub.AddressDecoder, cfg Config) (*Server, error) {
	s := New(h, cfg)
	if err := s.Serve("/", coin, dec); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Config returns the effective configuration.
func (s *Server) Config() Config { return s.cfg }

// Serve binds Socket.IO namespace nsp ("/" for the Bitweb server's) to
// coin: its sockets subscribe to coin's addresses, decoded by dec, and get
// coin's blocks. The coin must be attached to the hub.
func (s *Server) Serve(nsp, coin string, dec hub.AddressDecoder) error {
	if !strings.HasPrefix(nsp, "/") {
		return walletgate.Errorf(walletgate.EInvalid, "namespace %q must start with /", nsp)
	}
	if _, ok := s.hub.Service(coin); !ok {
		return walletgate.Errorf(walletgate.ENotFound, "coin %q is not attached to the hub", coin)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nsps[nsp]; ok {
		return walletgate.Errorf(walletgate.EConflict, "namespace %q is already served", nsp)
	}
	b := binding{coin: coin, dec: dec, prefix: "2"}
	if nsp != "/" {
		b.prefix = "2" + nsp + ","
	}
	s.nsps[nsp] = b
	_ = s.io.Of(nsp, nil).On("connection", func(args ...any) {
		if sock, ok := args[0].(*socket.Socket); ok {
			s.attach(sock, b)
		}
	})
	return nil
}

// ServeHTTP serves the Engine.IO transports under Config.Path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path && !strings.HasPrefix(r.URL.Path, s.path+"/") {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if s.stopping.Load() {
		sid := q.Get("sid")
		if sid == "" {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			http.Error(w, reasonGoingAway, http.StatusServiceUnavailable)
			return
		}
		if s.answerGoneAway(w, r, sid) {
			return
		}
	}
	if q.Get("sid") == "" && q.Get("EIO") != "4" && r.Method != http.MethodOptions {
		// Flask-SocketIO refuses Engine.IO v3 before any upgrade; the
		// library would upgrade a websocket first and close it after.
		body, _ := json.Marshal(msgUnsupportedVersion)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return
	}
	if q.Get("sid") == "" && q.Get("transport") == "websocket" && isWebSocketUpgrade(r) && !s.cfg.LibraryWebSocket {
		s.serveDirect(w, r)
		return
	}
	var upgrade *upgradeHolder
	if sid := q.Get("sid"); sid != "" {
		s.awaitSession(r.Context(), sid)
		if isWebSocketUpgrade(r) {
			upgrade = &upgradeHolder{}
			r = r.WithContext(context.WithValue(r.Context(), upgradeKey{}, upgrade))
		}
	} else if isWebSocketUpgrade(r) {
		g := newGate()
		r = r.WithContext(context.WithValue(r.Context(), gateKey{}, g))
		w = &gatedWriter{ResponseWriter: w, g: g}
		defer g.open() // a refused handshake must not hold anything
	}
	s.eio.ServeHTTP(w, r)
	// The library upgrades within the call, so the connection is known now.
	if upgrade != nil && upgrade.hc != nil && upgrade.hc.Websocket != nil {
		s.upgraded(q.Get("sid"), upgrade.hc.Websocket)
	}
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// Close disconnects every socket and stops the engine.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.closeDirect()
	var err error
	s.io.Close(func(e error) { err = e })
	if err != nil {
		return fmt.Errorf("close socket.io server: %w", err)
	}
	return nil
}
