package status

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// DefaultAddr is cryptoassets.core's documented status server address.
const DefaultAddr = "127.0.0.1:18881"

// Config tunes a Server. Zero fields take the defaults named on each.
type Config struct {
	// Addr is where Run listens (DefaultAddr).
	Addr string
	// PageLimit is how many rows a listing page shows (100).
	PageLimit int
	// ScanLimit caps the rows /accounts and /wallets read to build their
	// totals, since the store has no aggregate queries for them (100000).
	// Past it the page says its totals are partial.
	ScanLimit int
	// ScanBatch is the page size of those scans (1000).
	ScanBatch int
	// CallTimeout bounds each Source call made for / and /wallets (5 s).
	CallTimeout time.Duration
	// MaxConfirmations is where the deposit tracker stops polling a
	// transaction; /network_transactions lists the ones below it as open
	// (15, cryptoassets' max_confirmation_count).
	MaxConfirmations int64
	// ReadHeaderTimeout bounds reading a request's headers (5 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request (10 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from its start to the end of the
	// reply; it must exceed CallTimeout (CallTimeout + 25 s).
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (60 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps request headers (16 KiB).
	MaxHeaderBytes int
	// ShutdownTimeout is how long Run lets requests in flight finish
	// after ctx ends (5 s).
	ShutdownTimeout time.Duration
	// Logger gets store failures and server errors (slog.Default()).
	Logger *slog.Logger
	// Now is the clock used for "ago" texts (time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.PageLimit <= 0 {
		c.PageLimit = 100
	}
	if c.PageLimit > walletgate.MaxPageLimit {
		return c, walletgate.Errorf(walletgate.EInvalid, "status: page limit %d is over %d", c.PageLimit, walletgate.MaxPageLimit)
	}
	if c.ScanLimit <= 0 {
		c.ScanLimit = 100000
	}
	if c.ScanBatch <= 0 {
		c.ScanBatch = 1000
	}
	if c.ScanBatch > walletgate.MaxPageLimit {
		return c, walletgate.Errorf(walletgate.EInvalid, "status: scan batch %d is over %d", c.ScanBatch, walletgate.MaxPageLimit)
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 5 * time.Second
	}
	if c.MaxConfirmations <= 0 {
		c.MaxConfirmations = 15
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = c.CallTimeout + 25*time.Second
	}
	if c.WriteTimeout <= c.CallTimeout {
		return c, walletgate.Errorf(walletgate.EInvalid, "status: write timeout %s must exceed the call timeout %s", c.WriteTimeout, c.CallTimeout)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 16 << 10
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Source is one coin as the status page sees it. Calls taking a context
// must return soon after it ends: the page stops waiting at
// Config.CallTimeout either way, but a call that ignores ctx keeps its
// goroutine until it returns.
type Source interface {
	// Name is the coin's name as the store knows it ("btc").
	Name() string
	// Alive is nil when the coin's backend is reachable and its workers
	// (walletnotify intake, tracker) run; otherwise it says what is wrong.
	Alive(ctx context.Context) error
	// HotBalance is the hot wallet's total in satoshis.
	HotBalance(ctx context.Context) (int64, error)
	// LastWalletNotify is when the coin last had a walletnotify (zero:
	// never since start).
	LastWalletNotify() time.Time
	// LastBroadcast is when the coin last broadcast a send (zero: never).
	LastBroadcast() time.Time
}

// Store is what the listing pages read. Every walletgate.DepositStore
// satisfies it; it is narrowed so the server can only read.
type Store interface {
	// ListWatches pages through coin's watched addresses (/addresses,
	// and /accounts by scanning).
	ListWatches(ctx context.Context, coin, account string, p walletgate.Page) ([]walletgate.Watch, int64, error)
	// ListDeposits pages through deposits (/transactions,
	// /network_transactions, and /wallets by scanning).
	ListDeposits(ctx context.Context, f walletgate.DepositFilter, p walletgate.Page) ([]walletgate.Deposit, int64, error)
	// Balance is an account's credited total (/accounts).
	Balance(ctx context.Context, coin, account string) (int64, error)
	// OpenNetworkTxs lists the transactions still polled
	// (/network_transactions).
	OpenNetworkTxs(ctx context.Context, coin string, maxConf int64) ([]walletgate.NetworkTx, error)
}

// Every deposit store can back the status pages.
var _ Store = walletgate.DepositStore(nil)

// Server is the status site: an http.Handler, plus Run and Serve to put
// it on a listener with deadlines on every connection.
type Server struct {
	cfg     Config
	store   Store
	sources []Source
	byName  map[string]Source
	pages   map[string]*template.Template
	routes  []route
}

// New makes a status server over store for the coins in sources, shown
// in the order given.
func New(cfg Config, store Store, sources []Source) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, walletgate.Errorf(walletgate.EInvalid, "status: no store")
	}
	if len(sources) == 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "status: no coins")
	}
	byName := make(map[string]Source, len(sources))
	for i, src := range sources {
		if src == nil {
			return nil, walletgate.Errorf(walletgate.EInvalid, "status: source %d is nil", i)
		}
		name := src.Name()
		if name == "" {
			return nil, walletgate.Errorf(walletgate.EInvalid, "status: source %d has no name", i)
		}
		if _, dup := byName[name]; dup {
			return nil, walletgate.Errorf(walletgate.EInvalid, "status: coin %q is listed twice", name)
		}
		byName[name] = src
	}
	pages, err := parsePages(cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, store: store, sources: append([]Source(nil), sources...), byName: byName, pages: pages, routes: routeTable()}, nil
}

// Run listens on Config.Addr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("status: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully, giving
// requests in flight Config.ShutdownTimeout; it closes ln. It returns nil
// after a shutdown caused by ctx, or the error that stopped serving.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("status: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("status: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// route is one page: its path, nav label and handler.
type route struct {
	path, label string
	handle      func(s *Server, w http.ResponseWriter, r *http.Request)
}

// routeTable lists the pages in nav order; /error is served but not
// linked.
func routeTable() []route {
	return []route{
		{"/", "Status", (*Server).overview},
		{"/wallets", "Wallets", (*Server).wallets},
		{"/accounts", "Accounts", (*Server).accounts},
		{"/addresses", "Addresses", (*Server).addresses},
		{"/transactions", "Transactions", (*Server).transactions},
		{"/network_transactions", "Network transactions", (*Server).networkTxs},
		{"/error", "", (*Server).failOnPurpose},
	}
}

// ServeHTTP routes one request: exact paths only, GET and HEAD only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, rt := range s.routes {
		if r.URL.Path != rt.path {
			continue
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, fmt.Sprintf("method %s is not allowed; the status pages answer GET and HEAD", clip(r.Method)), http.StatusMethodNotAllowed)
			return
		}
		rt.handle(s, w, r)
		return
	}
	http.Error(w, fmt.Sprintf("no status page at %s", clip(r.URL.Path)), http.StatusNotFound)
}

// failOnPurpose answers 500, so operators can check that alerting fires.
func (s *Server) failOnPurpose(w http.ResponseWriter, r *http.Request) {
	s.cfg.Logger.Warn("status: /error requested; answering 500 on purpose", "remote", r.RemoteAddr)
	http.Error(w, "deliberate error: this page always answers 500, to test alerting", http.StatusInternalServerError)
}

// navLink is one link of the nav bar or the coin switcher.
type navLink struct {
	Label   string
	URL     string
	Current bool
}

// pageData is what the layout renders; Body is the page's own data.
type pageData struct {
	Title  string
	Nav    []navLink
	Coins  []navLink // coin switcher of per-coin pages
	Notice string    // e.g. "totals are partial"
	Next   string    // URL of the next page, "" at the end
	Body   any
}

// render executes page into a buffer first, so a template failure is a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, page string, d pageData) {
	d.Nav = make([]navLink, 0, len(s.routes))
	for _, rt := range s.routes {
		if rt.label != "" {
			d.Nav = append(d.Nav, navLink{Label: rt.label, URL: rt.path, Current: rt.path == r.URL.Path})
		}
	}
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.cfg.Logger.Error("status: render failed", "page", page, "err", err)
		http.Error(w, "status page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// storeFailed answers 500 for a store error: the client-safe message on
// the page, the whole error in the log.
func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.cfg.Logger.Error("status: store read failed", "page", r.URL.Path, "what", what, "err", err)
	http.Error(w, fmt.Sprintf("could not read %s: %s", what, walletgate.ErrorMessage(err)), http.StatusInternalServerError)
}

// badRequest answers 400 naming the problem.
func badRequest(w http.ResponseWriter, err error) {
	http.Error(w, walletgate.ErrorMessage(err), http.StatusBadRequest)
}

// clip shortens outside input echoed in error texts.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
