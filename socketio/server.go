package socketio

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

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
	path string // Config.Path without its trailing slash

	stopping atomic.Bool   // Shutdown has started: no new sessions
	gone     chan struct{} // a session ended

	mu   sync.Mutex
	nsps map[string]binding

	regMu  sync.Mutex
	conns  map[string]*conn    // sid → open session
	away   map[string]struct{} // polling sessions Shutdown closed
	closed bool

	wg        sync.WaitGroup // every goroutine of the package
	stop      chan struct{}  // closed by Close: stops the keepalive loop
	gzipPool  sync.Pool      // *gzip.Writer
	flatePool sync.Pool      // *flate.Writer
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
	s := &Server{
		cfg:   cfg,
		hub:   h,
		path:  strings.TrimSuffix(cfg.Path, "/"),
		gone:  make(chan struct{}, 1),
		nsps:  make(map[string]binding),
		conns: make(map[string]*conn),
		away:  make(map[string]struct{}),
		stop:  make(chan struct{}),
	}
	s.wg.Go(s.keepalive)
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
	return nil
}

// ServeHTTP serves the Engine.IO transports under Config.Path. Requests
// are checked in the reference server's order (transport, then sid, then
// method), after two checks of this server's: Engine.IO v3 is refused
// before anything, as Flask-SocketIO does, and new sessions are refused
// with 503 once Shutdown has started. Every answer carries CORS "*".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path && !strings.HasPrefix(r.URL.Path, s.path+"/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	q := r.URL.Query()
	sid := q.Get("sid")
	if s.stopping.Load() {
		if sid == "" {
			http.Error(w, reasonGoingAway, http.StatusServiceUnavailable)
			return
		}
		if s.answerGoneAway(w, r, sid) {
			return
		}
	}
	if sid == "" && q.Get("EIO") != "4" && r.Method != http.MethodOptions {
		body, _ := json.Marshal(msgUnsupportedVersion)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return
	}
	if r.Method == http.MethodOptions {
		preflight(w, r)
		return
	}
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		abort(w, errUnknownTransport)
		return
	}
	upgrade := isWebSocketUpgrade(r)
	if sid == "" {
		switch {
		case r.Method != http.MethodGet:
			abort(w, errBadHandshake)
		case transport == "websocket" && !upgrade:
			abort(w, errBadRequest)
		case transport == "websocket":
			s.serveWebSocket(w, r)
		default:
			s.handshakePolling(w, r)
		}
		return
	}
	c := s.lookup(sid)
	if transport == "websocket" && upgrade {
		if c == nil {
			// The reference answers a websocket's unknown sid as text.
			msg := "Session ID unknown"
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, msg)
			return
		}
		s.serveUpgrade(w, r, c)
		return
	}
	switch {
	case c == nil:
		abort(w, errUnknownSid)
	case transport == "websocket" || c.transport() != transport:
		abort(w, errBadRequest) // a transport the session is not on
	case r.Method == http.MethodGet:
		s.pollGet(w, r, c)
	case r.Method == http.MethodPost:
		s.pollPost(w, r, c)
	default:
		status(w, http.StatusInternalServerError)
	}
}

func isWebSocketUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}

// Close disconnects every socket and waits for the package's goroutines.
func (s *Server) Close() error {
	s.closeAll()
	return nil
}
