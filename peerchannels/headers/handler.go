package headers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/walletgate/walletgate"
)

// AccountPusher delivers messages to the account websockets of the peer
// channels service. The headers API only broadcasts the tip text message.
type AccountPusher interface {
	// BroadcastAccountsText sends {"message_type":messageType,"result":result}
	// as a text frame to every open account websocket.
	BroadcastAccountsText(ctx context.Context, messageType string, result json.RawMessage)
}

// TipMessageType is the account-socket message type of a new headers tip.
const TipMessageType = "bsvapi.headers.tip"

// Config configures the headers API. Zero values take the defaults below.
type Config struct {
	// Source supplies the headers; required.
	Source Source
	// Pusher, when set, receives the tips array on every new tip.
	Pusher AccountPusher
	// PollInterval is how often the tip poller asks Source.Tips. Default 1 s.
	PollInterval time.Duration
	// PingInterval is the tips websocket heartbeat. Default 30 s.
	PingInterval time.Duration
	// WriteTimeout bounds one websocket frame or ping. Default 10 s.
	WriteTimeout time.Duration
	// SourceTimeout bounds one Source call made by the poller. Default 10 s.
	SourceTimeout time.Duration
	// MaxCount is the largest by-height count (HeaderSV's own limit). Default 2000.
	MaxCount uint32
	// SubscriberBuffer is how many tip frames may wait for a slow socket
	// before it is dropped. Default 16.
	SubscriberBuffer int
	// MaxSubscribers caps open tips websockets; more get 503. Default 10000.
	MaxSubscribers int
	// OriginPatterns admits browser origins to the tips websocket (see
	// coder/websocket AcceptOptions); non-browser clients send no Origin.
	OriginPatterns []string
	// Logger receives poll and source failures. Nil discards them: the
	// process's logger is passed in, never taken from slog.Default, so the
	// configured format and level hold.
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultPollInterval     = time.Second
	DefaultPingInterval     = 30 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultSourceTimeout    = 10 * time.Second
	DefaultMaxCount         = 2000
	DefaultSubscriberBuffer = 16
	DefaultMaxSubscribers   = 10000
)

// Handler serves the headers routes. Run must be running for the tips
// websocket and account pushes to see new tips.
type Handler struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{} // closed when Run returns or Shutdown starts: sockets end
	gone   chan struct{} // a tips websocket ended (Shutdown waits on it)
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Source == nil {
		return nil, errors.New("headers: Config.Source is required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.SourceTimeout <= 0 {
		cfg.SourceTimeout = DefaultSourceTimeout
	}
	if cfg.MaxCount == 0 {
		cfg.MaxCount = DefaultMaxCount
	}
	if cfg.SubscriberBuffer <= 0 {
		cfg.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, log: cfg.Logger, subs: map[*subscriber]struct{}{}, done: make(chan struct{}), gone: make(chan struct{}, 1)}, nil
}

// Register adds the headers routes through handle, literal paths before the
// {hash} wildcard so that an ordered router matches them first.
func (h *Handler) Register(handle func(method, pattern string, h http.Handler)) {
	handle(http.MethodGet, "/api/v1/headers/tips/websocket", http.HandlerFunc(h.serveTipsWebsocket))
	handle(http.MethodGet, "/api/v1/headers/tips", http.HandlerFunc(h.serveTips))
	handle(http.MethodGet, "/api/v1/headers/by-height", http.HandlerFunc(h.serveByHeight))
	handle(http.MethodGet, "/api/v1/headers/{hash}", http.HandlerFunc(h.serveHeader))
}

// wantsBinary reports whether the client asked for application/octet-stream.
// As in the reference server anything else (absent, */*, json) means JSON.
func wantsBinary(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Accept"))
	return err == nil && mt == "application/octet-stream"
}

func (h *Handler) serveHeader(w http.ResponseWriter, r *http.Request) {
	text := r.PathValue("hash")
	binaryMode := wantsBinary(r)
	var hdr Header
	hash, err := chainhash.NewHashFromStr(text)
	if err != nil || len(text) != 2*chainhash.HashSize {
		// The reference passes any text to HeaderSV, which finds no
		// header by it: clients see the not-found answer, not a 400.
		err = walletgate.Errorf(walletgate.ENotFound, "block header %q not found: not a block hash", text)
	} else {
		hdr, err = h.cfg.Source.HeaderByHash(r.Context(), *hash)
	}
	if err != nil {
		if walletgate.ErrorCode(err) == walletgate.ENotFound {
			if binaryMode {
				writeError(w, http.StatusNotFound, fmt.Sprintf("block header %s not found", text))
			} else {
				w.WriteHeader(http.StatusNoContent)
			}
			return
		}
		h.sourceError(w, r, err)
		return
	}
	if !binaryMode {
		writeJSON(w, hdr)
		return
	}
	raw, err := hdr.Raw()
	if err != nil {
		h.sourceError(w, r, walletgate.WrapError(walletgate.EBackend, err, "header source sent a bad header"))
		return
	}
	writeBinary(w, raw[:])
}

func (h *Handler) serveByHeight(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	height, err := queryUint32(q.Get("height"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid 'height' query parameter: "+err.Error())
		return
	}
	count, err := queryUint32(q.Get("count"), 1)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid 'count' query parameter: "+err.Error())
		return
	}
	if count == 0 || count > h.cfg.MaxCount {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("'count' must be between 1 and %d, got %d", h.cfg.MaxCount, count))
		return
	}
	hdrs, err := h.cfg.Source.HeadersByHeight(r.Context(), height, count)
	if err != nil {
		if walletgate.ErrorCode(err) == walletgate.ENotFound {
			hdrs = nil // past the tip: an empty answer, as HeaderSV gives
		} else {
			h.sourceError(w, r, err)
			return
		}
	}
	if !wantsBinary(r) {
		if hdrs == nil {
			hdrs = []Header{}
		}
		writeJSON(w, hdrs)
		return
	}
	out := make([]byte, 0, len(hdrs)*HeaderSize)
	for _, hd := range hdrs {
		raw, err := hd.Raw()
		if err != nil {
			h.sourceError(w, r, walletgate.WrapError(walletgate.EBackend, err, "header source sent a bad header"))
			return
		}
		out = append(out, raw[:]...)
	}
	writeBinary(w, out)
}

func (h *Handler) serveTips(w http.ResponseWriter, r *http.Request) {
	tips, err := h.cfg.Source.Tips(r.Context())
	if err != nil {
		h.sourceError(w, r, err)
		return
	}
	if r.URL.Query().Get("longest_chain") == "1" {
		kept := []Tip{}
		if t, ok := LongestChain(tips); ok {
			kept = append(kept, t)
		}
		tips = kept
	}
	if tips == nil {
		tips = []Tip{}
	}
	if !wantsBinary(r) {
		writeJSON(w, tips)
		return
	}
	out := make([]byte, 0, len(tips)*TipFrameSize)
	for _, t := range tips {
		frame, err := TipFrame(t)
		if err != nil {
			h.sourceError(w, r, walletgate.WrapError(walletgate.EBackend, err, "header source sent a bad tip"))
			return
		}
		out = append(out, frame...)
	}
	writeBinary(w, out)
}

// sourceError maps a Source failure to the reference server's statuses.
func (h *Handler) sourceError(w http.ResponseWriter, r *http.Request, err error) {
	code := walletgate.ErrorCode(err)
	h.log.Warn("headers: source failed", "path", r.URL.Path, "err", err)
	switch {
	case code == walletgate.EUnavailable || code == walletgate.ETimeout:
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
	case code == walletgate.EInvalid:
		writeError(w, http.StatusBadRequest, walletgate.ErrorMessage(err))
	default:
		if st, ok := upstreamStatus(err); ok {
			w.WriteHeader(st)
			return
		}
		writeError(w, http.StatusBadGateway, walletgate.ErrorMessage(err))
	}
}

func queryUint32(s string, def uint32) (uint32, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a non-negative 32-bit integer", s)
	}
	return uint32(v), nil
}

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
	w.Header().Set("User-Agent", "ESV-Ref-Server")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeBinary(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("User-Agent", "ESV-Ref-Server")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
