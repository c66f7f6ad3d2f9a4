package indexer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletgate/walletgate"
)

// AccountSockets is the part of the peer-channels service the indexer API
// needs: whether an account has its websocket open, and a way to push to it.
type AccountSockets interface {
	// AccountConnected reports whether the account has an open account websocket.
	AccountConnected(accountID int64) bool
	// SendAccount pushes one message to the account's websocket: binary
	// uint32BE kind ‖ payload, or the JSON form (kind 2 carries the hex of
	// the 104-byte output spend).
	SendAccount(ctx context.Context, accountID int64, kind uint32, payload []byte) error
}

// AccountLookup finds an account by its internal id, which is the
// account_id the indexer knows. walletgate.ChannelStore has no such method
// yet; a store that has one is used automatically.
type AccountLookup interface {
	AccountByID(ctx context.Context, accountID int64) (walletgate.Account, error)
}

// KindOutputSpend is the account-socket message kind of an output spend.
const KindOutputSpend uint32 = 2

// Config configures the indexer API. Zero values take the defaults below.
type Config struct {
	// URL is INDEXER_URL, e.g. http://127.0.0.1:49241.
	URL string
	// Store keeps accounts and tip-filter registrations; required.
	Store walletgate.ChannelStore
	// Sockets reaches the account websockets; required.
	Sockets AccountSockets
	// Accounts resolves the indexer's account ids for tip-filter callbacks.
	// Default: Store, when it implements AccountLookup. Without one, matches
	// are logged and dropped.
	Accounts AccountLookup
	// ReconnectInterval is the wait between attempts to open {URL}/ws. Default 10 s.
	ReconnectInterval time.Duration
	// PingInterval keeps the indexer websocket checked. Default 30 s.
	PingInterval time.Duration
	// DialTimeout bounds one TCP connect to the indexer. Default 5 s.
	DialTimeout time.Duration
	// RequestTimeout bounds one mirrored call, first byte to last. Default 60 s.
	RequestTimeout time.Duration
	// MaxRequestBytes caps a client request body. Default 1 MiB (aiohttp's cap).
	MaxRequestBytes int64
	// MaxErrorBodyBytes caps how much of an upstream error body is drained. Default 64 KiB.
	MaxErrorBodyBytes int64
	// MaxOutpointsPerAccount caps output-spend registrations per account. Default 100000.
	MaxOutpointsPerAccount int
	// CallbackTimeout bounds one tip-filter callback delivery. Default 10 s.
	CallbackTimeout time.Duration
	// CallbackRetryInterval is the wait before retrying failed deliveries. Default 30 s.
	CallbackRetryInterval time.Duration
	// CallbackMaxAttempts is how often one delivery is tried before it is dropped. Default 10.
	CallbackMaxAttempts int
	// MaxPendingCallbacks bounds the in-memory retry queue; when full the
	// oldest delivery is dropped (and logged). Default 10000.
	MaxPendingCallbacks int
	// MaxMatchesBodyBytes caps the internal tip-filter matches body. Default 16 MiB.
	MaxMatchesBodyBytes int64
	// HTTPClient replaces the client used for the indexer and callbacks.
	HTTPClient *http.Client
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultURL                    = "http://127.0.0.1:49241"
	DefaultReconnectInterval      = 10 * time.Second
	DefaultPingInterval           = 30 * time.Second
	DefaultDialTimeout            = 5 * time.Second
	DefaultRequestTimeout         = 60 * time.Second
	DefaultMaxRequestBytes        = 1 << 20
	DefaultMaxErrorBodyBytes      = 64 << 10
	DefaultMaxOutpointsPerAccount = 100000
	DefaultCallbackTimeout        = 10 * time.Second
	DefaultCallbackRetryInterval  = 30 * time.Second
	DefaultCallbackMaxAttempts    = 10
	DefaultMaxPendingCallbacks    = 10000
	DefaultMaxMatchesBodyBytes    = 16 << 20
)

// Handler serves the indexer routes and keeps the indexer websocket.
type Handler struct {
	cfg      Config
	base     *url.URL
	client   *http.Client
	log      *slog.Logger
	accounts AccountLookup

	connected atomic.Bool
	wake      chan struct{} // nudges the callback retrier

	mu       sync.Mutex
	regs     map[int64]map[Outpoint]struct{} // account → outpoints it watches
	watchers map[Outpoint]map[int64]struct{} // outpoint → accounts watching it
	queue    []*delivery                     // failed callbacks awaiting retry
}

// New checks cfg and returns a Handler. Call Run to connect to the indexer.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Sockets == nil {
		return nil, errors.New("indexer: Config.Store and Config.Sockets are required")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("indexer: URL %q: want http(s)://host[:port]", cfg.URL)
	}
	setDefault(&cfg.ReconnectInterval, DefaultReconnectInterval)
	setDefault(&cfg.PingInterval, DefaultPingInterval)
	setDefault(&cfg.DialTimeout, DefaultDialTimeout)
	setDefault(&cfg.RequestTimeout, DefaultRequestTimeout)
	setDefault(&cfg.MaxRequestBytes, DefaultMaxRequestBytes)
	setDefault(&cfg.MaxErrorBodyBytes, DefaultMaxErrorBodyBytes)
	setDefault(&cfg.MaxOutpointsPerAccount, DefaultMaxOutpointsPerAccount)
	setDefault(&cfg.CallbackTimeout, DefaultCallbackTimeout)
	setDefault(&cfg.CallbackRetryInterval, DefaultCallbackRetryInterval)
	setDefault(&cfg.CallbackMaxAttempts, DefaultCallbackMaxAttempts)
	setDefault(&cfg.MaxPendingCallbacks, DefaultMaxPendingCallbacks)
	setDefault(&cfg.MaxMatchesBodyBytes, DefaultMaxMatchesBodyBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
			ResponseHeaderTimeout: cfg.RequestTimeout,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	accounts := cfg.Accounts
	if accounts == nil {
		accounts, _ = cfg.Store.(AccountLookup)
	}
	return &Handler{
		cfg: cfg, base: base, client: client, log: cfg.Logger, accounts: accounts,
		wake:     make(chan struct{}, 1),
		regs:     map[int64]map[Outpoint]struct{}{},
		watchers: map[Outpoint]map[int64]struct{}{},
	}, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Register adds the public indexer routes through handle. Literal paths come
// before the {txid} wildcards so that an ordered router matches them first.
// Leave Register uncalled to keep the routes absent (404) when the indexer
// APIs are disabled.
func (h *Handler) Register(handle func(method, pattern string, h http.Handler)) {
	handle(http.MethodGet, "/api/v1/indexer", http.HandlerFunc(h.serveGetSettings))
	handle(http.MethodPost, "/api/v1/indexer", http.HandlerFunc(h.servePostSettings))
	handle(http.MethodPost, "/api/v1/restoration/search", http.HandlerFunc(h.serveMirror))
	handle(http.MethodGet, "/api/v1/transaction/filter", http.HandlerFunc(h.serveListFilters))
	handle(http.MethodPost, "/api/v1/transaction/filter", http.HandlerFunc(h.serveAddFilters))
	handle(http.MethodPost, "/api/v1/transaction/filter:delete", http.HandlerFunc(h.serveDeleteFilters))
	handle(http.MethodGet, "/api/v1/transaction/{txid}", http.HandlerFunc(h.serveTransaction))
	handle(http.MethodGet, "/api/v1/merkle-proof/{txid}", http.HandlerFunc(h.serveMerkleProof))
	handle(http.MethodPost, "/api/v1/output-spend/notifications", http.HandlerFunc(h.serveSpendNotifications))
	handle(http.MethodPost, "/api/v1/output-spend", http.HandlerFunc(h.serveMirror))
}

// Connected reports whether the indexer websocket is open (routes answer
// 503 while it is not).
func (h *Handler) Connected() bool { return h.connected.Load() }

// Reason texts of the reference server.
const (
	reasonUnavailable  = "10026: This functionality is temporarily unavailable"
	reasonNotConnected = "client account not connected to websocket"
)

// writeError writes an aiohttp-style plain-text error: "<status>: <reason>".
func writeError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d: %s", status, reason)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// mediaType returns the media type of header name without parameters, or
// def when the header is absent.
func mediaType(r *http.Request, name, def string) string {
	v := r.Header.Get(name)
	if v == "" {
		return def
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return v
	}
	return mt
}

// authenticate resolves the master bearer token. Indexer routes answer 401
// both for a missing/non-Bearer header and for an unknown or disabled key,
// as the reference server's indexer handlers do.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (walletgate.Account, bool) {
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return walletgate.Account{}, false
	}
	acct, err := h.cfg.Store.AccountByAPIKey(r.Context(), key)
	if err != nil {
		if walletgate.ErrorCode(err) != walletgate.ENotFound {
			h.log.Error("indexer: account lookup failed", "err", err)
			writeError(w, http.StatusInternalServerError, "Internal Server Error")
			return walletgate.Account{}, false
		}
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return walletgate.Account{}, false
	}
	if acct.Disabled() {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return walletgate.Account{}, false
	}
	return acct, true
}

// readBody reads the request body up to MaxRequestBytes; false means an
// error reply (413 or 400) has been written.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", h.cfg.MaxRequestBytes))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "could not read request body")
		return nil, false
	}
	return b, true
}

// storeError answers an unexpected store failure.
func (h *Handler) storeError(w http.ResponseWriter, what string, err error) {
	h.log.Error("indexer: store failed", "op", what, "err", err)
	writeError(w, http.StatusInternalServerError, "Internal Server Error")
}
