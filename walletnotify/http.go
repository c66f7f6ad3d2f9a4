package walletnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// DefaultHTTPAddr is cryptoassets.core's documented walletnotify listener.
const DefaultHTTPAddr = "127.0.0.1:28882"

// HTTPConfig configures the HTTP intake. Zero fields take the defaults
// noted on each.
type HTTPConfig struct {
	// Addr is the listen address (DefaultHTTPAddr).
	Addr string
	// Coin is the coin of a request that names none. Empty means every
	// request must name one of Coins.
	Coin string
	// Coins are further coins this listener accepts, chosen by a "coin"
	// form field or by the first path segment (POST /ltc).
	Coins []string
	// MaxBodyBytes caps a request body (64 KiB; a txid form is ~70 bytes).
	MaxBodyBytes int64
	// ReadTimeout bounds reading a whole request (10 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from its start to the end of the
	// reply, update included, so it must exceed NotifyTimeout (60 s).
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (60 s).
	IdleTimeout time.Duration
	// NotifyTimeout bounds one TxNotifier call (45 s).
	NotifyTimeout time.Duration
	// ShutdownTimeout is how long Run lets requests in flight finish
	// after ctx ends (10 s).
	ShutdownTimeout time.Duration
	// Logger gets per-request failures (slog.Default()).
	Logger *slog.Logger
}

func (c *HTTPConfig) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultHTTPAddr
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 45 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = c.NotifyTimeout + 15*time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	c.Logger = orLogger(c.Logger)
}

// HTTP is the HTTP walletnotify/blocknotify intake.
type HTTP struct {
	cfg      HTTPConfig
	notifier walletgate.TxNotifier
}

// NewHTTP makes an HTTP intake delivering to n.
func NewHTTP(cfg HTTPConfig, n walletgate.TxNotifier) (*HTTP, error) {
	if n == nil {
		return nil, errors.New("walletnotify: NewHTTP: nil TxNotifier")
	}
	cfg.setDefaults()
	if cfg.Coin == "" && len(cfg.Coins) == 0 {
		return nil, errors.New("walletnotify: HTTP intake needs Coin or Coins")
	}
	return &HTTP{cfg: cfg, notifier: n}, nil
}

// Run listens on HTTPConfig.Addr and serves until ctx ends.
func (h *HTTP) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", h.cfg.Addr)
	if err != nil {
		return fmt.Errorf("walletnotify: listen on %s: %w", h.cfg.Addr, err)
	}
	return h.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully; it closes ln.
func (h *HTTP) Serve(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, h, h.cfg.ReadTimeout, h.cfg.WriteTimeout, h.cfg.IdleTimeout, h.cfg.ShutdownTimeout, h.cfg.Logger)
}

// serveHTTP runs an http.Server on ln with the given deadlines and stops
// it when ctx ends; it is shared by the HTTP and webhook intakes.
func serveHTTP(ctx context.Context, ln net.Listener, handler http.Handler, read, write, idle, shutdown time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: read,
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       idle,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("walletnotify: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-errc
	return nil
}

// ServeHTTP handles one notification request.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "walletnotify accepts only POST", http.StatusMethodNotAllowed)
		return
	}
	coin, note, err := h.parseRequest(w, r)
	if err != nil {
		status := http.StatusBadRequest
		if walletgate.ErrorCode(err) == walletgate.ETooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		h.cfg.Logger.Warn("walletnotify: rejected HTTP notification", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		http.Error(w, walletgate.ErrorMessage(err), status)
		return
	}
	if err := deliver(r.Context(), h.notifier, coin, note, h.cfg.NotifyTimeout); err != nil {
		h.cfg.Logger.Error("walletnotify: HTTP notification failed", "coin", coin, "kind", note.Kind.String(), "hash", note.Hash, "err", err)
		http.Error(w, fmt.Sprintf("update of %s %s failed: %v", note.Kind, note.Hash, err), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// parseRequest reads the form and picks coin and hash.
func (h *HTTP) parseRequest(w http.ResponseWriter, r *http.Request) (string, Note, error) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	if err := parseForm(r, h.cfg.MaxBodyBytes); err != nil {
		return "", Note{}, err
	}
	coin, err := h.pickCoin(r)
	if err != nil {
		return "", Note{}, err
	}
	note, err := FormNote(r.PostFormValue("txid"), r.PostFormValue("blockhash"))
	return coin, note, err
}

// parseForm parses an urlencoded or multipart body. A missing
// Content-Type is read as urlencoded (curl --data always sends one; the
// original dropped the connection without one).
func parseForm(r *http.Request, maxBytes int64) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	var err error
	if mt, _, _ := mime.ParseMediaType(ct); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBytes)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || errors.Is(err, multipart.ErrMessageTooLarge) {
			return &walletgate.Error{Code: walletgate.ETooLarge, Message: fmt.Sprintf("request body over %d bytes", maxBytes), Err: err}
		}
		return &walletgate.Error{Code: walletgate.EInvalid, Message: fmt.Sprintf("unreadable form body (%s): %v", ct, err), Err: err}
	}
	return nil
}

// FormNote turns the txid and blockhash form fields into a Note: exactly
// one must be present.
func FormNote(txid, blockhash string) (Note, error) {
	switch {
	case strings.TrimSpace(txid) != "" && strings.TrimSpace(blockhash) != "":
		return Note{}, invalid("both txid and blockhash given; send one per request")
	case strings.TrimSpace(blockhash) != "":
		h, err := ParseHash("blockhash", blockhash)
		return Note{Kind: KindBlock, Hash: h}, err
	default:
		h, err := ParseHash("txid", txid)
		return Note{Kind: KindTx, Hash: h}, err
	}
}

// pickCoin chooses the coin: the coin field, else a first path segment
// naming a configured coin, else the default.
func (h *HTTP) pickCoin(r *http.Request) (string, error) {
	if c := strings.TrimSpace(r.PostFormValue("coin")); c != "" {
		if c == h.cfg.Coin || slices.Contains(h.cfg.Coins, c) {
			return c, nil
		}
		return "", invalid("unknown coin %q (this listener serves %s)", clipStr(c, 40), h.served())
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if seg != "" && (seg == h.cfg.Coin || slices.Contains(h.cfg.Coins, seg)) {
		return seg, nil
	}
	if h.cfg.Coin == "" {
		return "", invalid("no coin: send a coin field or POST to /<coin> (one of %s)", h.served())
	}
	return h.cfg.Coin, nil
}

func (h *HTTP) served() string {
	all := slices.Clone(h.cfg.Coins)
	if h.cfg.Coin != "" {
		all = append([]string{h.cfg.Coin}, all...)
	}
	return strings.Join(all, ", ")
}
