package walletnotify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/blockio"
)

// DefaultWebhookAddr is cryptoassets.core's webhook listener.
const DefaultWebhookAddr = "127.0.0.1:33233"

// NotificationAPI is the part of the block.io API the webhook intake
// needs to keep its subscription; *blockio.Client implements it.
type NotificationAPI interface {
	Notifications(ctx context.Context) ([]blockio.Notification, error)
	CreateNotification(ctx context.Context, typ, target string) (blockio.Notification, error)
	DeleteNotification(ctx context.Context, id string) error
}

// WebhookConfig configures the block.io webhook intake.
type WebhookConfig struct {
	// URL is the public, secret URL block.io posts to (required), e.g.
	// https://example.com/hidden-7f3a/ behind an HTTPS reverse proxy. Only
	// requests to its path (trailing slash ignored) are accepted.
	URL string
	// Addr is the local listen address (DefaultWebhookAddr).
	Addr string
	// Coin the account belongs to (required).
	Coin string
	// API, when set, is used at start to replace every "account"
	// notification with one posting to URL, and at stop to delete it.
	API NotificationAPI
	// MaxBodyBytes caps a body (1 MiB less one byte, as the original).
	MaxBodyBytes int64
	// ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout: as in
	// HTTPConfig (10 s, NotifyTimeout+15 s, 60 s, 10 s).
	ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	// APITimeout bounds each subscription call at start and stop (15 s).
	APITimeout time.Duration
	// NotifyTimeout bounds one TxNotifier call (45 s).
	NotifyTimeout time.Duration
	// Logger gets failures and repeated deliveries (slog.Default()).
	Logger *slog.Logger
}

// Webhook is the block.io webhook intake.
type Webhook struct {
	cfg      WebhookConfig
	path     string
	notifier walletgate.TxNotifier
}

// NewWebhook makes a webhook intake delivering to n.
func NewWebhook(cfg WebhookConfig, n walletgate.TxNotifier) (*Webhook, error) {
	if n == nil {
		return nil, errors.New("walletnotify: NewWebhook: nil TxNotifier")
	}
	if cfg.Coin == "" {
		return nil, errors.New("walletnotify: webhook intake needs Coin")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("walletnotify: webhook URL %q: want the public http(s) URL block.io posts to (%v)", cfg.URL, err)
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultWebhookAddr
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1<<20 - 1
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 45 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = cfg.NotifyTimeout + 15*time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.APITimeout <= 0 {
		cfg.APITimeout = 15 * time.Second
	}
	cfg.Logger = orLogger(cfg.Logger)
	return &Webhook{cfg: cfg, path: cleanPath(u.Path), notifier: n}, nil
}

func cleanPath(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "/"
	}
	return p
}

// Run listens on WebhookConfig.Addr and serves until ctx ends.
func (h *Webhook) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", h.cfg.Addr)
	if err != nil {
		return fmt.Errorf("walletnotify: listen on %s: %w", h.cfg.Addr, err)
	}
	return h.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends. Once the listener is up it registers
// the subscription (when API is set): every existing "account"
// notification is deleted and one is created for URL, so restarts never
// pile up duplicates. At stop, after the server shut down, that
// notification is deleted. A failed registration is returned as an
// error: without it block.io would never call.
func (h *Webhook) Serve(ctx context.Context, ln net.Listener) error {
	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	errc := make(chan error, 1)
	go func() {
		errc <- serveHTTP(srvCtx, ln, h, h.cfg.ReadTimeout, h.cfg.WriteTimeout, h.cfg.IdleTimeout, h.cfg.ShutdownTimeout, h.cfg.Logger)
	}()
	var id string
	if h.cfg.API != nil {
		var err error
		if id, err = h.subscribe(ctx); err != nil {
			stopSrv()
			<-errc
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	err := <-errc
	if id != "" {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.APITimeout)
		defer cancel()
		if derr := h.cfg.API.DeleteNotification(dctx, id); derr != nil {
			h.cfg.Logger.Error("walletnotify: could not delete the block.io notification at stop", "id", id, "err", derr)
		}
	}
	return err
}

// subscribe replaces every account notification with ours.
func (h *Webhook) subscribe(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.APITimeout)
	defer cancel()
	// Listing may fail (the original ignored it); creating may not.
	list, err := h.cfg.API.Notifications(ctx)
	if err != nil {
		h.cfg.Logger.Warn("walletnotify: could not list block.io notifications; creating ours anyway", "err", err)
	}
	for _, n := range list {
		if n.Type != "account" {
			continue
		}
		if err := h.cfg.API.DeleteNotification(ctx, n.ID); err != nil {
			h.cfg.Logger.Warn("walletnotify: could not delete an old block.io account notification", "id", n.ID, "url", n.URL, "err", err)
		}
	}
	n, err := h.cfg.API.CreateNotification(ctx, "account", h.cfg.URL)
	if err != nil {
		return "", fmt.Errorf("walletnotify: register block.io webhook for %s: %w", h.cfg.Coin, err)
	}
	h.cfg.Logger.Info("walletnotify: block.io webhook registered", "coin", h.cfg.Coin, "id", n.ID)
	return n.ID, nil
}

// ServeHTTP handles one block.io delivery.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if cleanPath(r.URL.Path) != h.path {
		// A wrong path is a scanner, not block.io: say nothing more.
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "block.io webhook accepts only POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body over %d bytes", h.cfg.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return
	}
	env, note, ok, err := ParseBlockIO(body)
	if env.DeliveryAttempt > 1 {
		h.cfg.Logger.Warn("walletnotify: block.io retried a notification", "attempt", env.DeliveryAttempt, "id", env.NotificationID, "type", env.Type)
	}
	if err != nil {
		// 500, not 400: block.io retries for about a day, which gives an
		// operator time to fix a parser mismatch.
		h.cfg.Logger.Error("walletnotify: bad block.io webhook body", "err", err)
		http.Error(w, walletgate.ErrorMessage(err), http.StatusInternalServerError)
		return
	}
	if ok {
		if err := deliver(r.Context(), h.notifier, h.cfg.Coin, note, h.cfg.NotifyTimeout); err != nil {
			h.cfg.Logger.Error("walletnotify: block.io webhook notification failed", "coin", h.cfg.Coin, "hash", note.Hash, "err", err)
			http.Error(w, fmt.Sprintf("update of %s %s failed", note.Kind, note.Hash), http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
