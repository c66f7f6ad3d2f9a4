package walletnotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate"
)

// DefaultWebsocketURL is block.io's notification socket.
const DefaultWebsocketURL = "wss://n.block.io/"

// WebsocketConfig configures the block.io websocket intake.
type WebsocketConfig struct {
	// URL of the socket (DefaultWebsocketURL).
	URL string
	// APIKey of the account to subscribe to (required).
	APIKey string
	// Coin the account belongs to (required).
	Coin string
	// DialTimeout bounds connecting and the handshake (10 s).
	DialTimeout time.Duration
	// ReadyTimeout bounds the wait from connect to the subscription's
	// "status":"success" (10 s, as the original's wait_until_ready).
	ReadyTimeout time.Duration
	// IdleTimeout: a socket silent this long (block.io pings regularly)
	// is taken for dead and replaced (5 min).
	IdleTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (500 ms, 30 s); it doubles per failed session and resets after a
	// subscription succeeded.
	MinBackoff, MaxBackoff time.Duration
	// MaxMessageBytes caps one message (1 MiB).
	MaxMessageBytes int64
	// NotifyTimeout bounds one TxNotifier call (45 s).
	NotifyTimeout time.Duration
	// Logger gets failures and reconnects (slog.Default()).
	Logger *slog.Logger
}

// Websocket is the block.io websocket intake. The original had no
// reconnect: a closed socket silently ended it. Here every session end
// leads to a new connection and subscription after a backoff.
type Websocket struct {
	cfg      WebsocketConfig
	notifier walletgate.TxNotifier
}

// NewWebsocket makes a websocket intake delivering to n.
func NewWebsocket(cfg WebsocketConfig, n walletgate.TxNotifier) (*Websocket, error) {
	if n == nil {
		return nil, errors.New("walletnotify: NewWebsocket: nil TxNotifier")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("walletnotify: websocket intake needs APIKey")
	}
	if cfg.Coin == "" {
		return nil, errors.New("walletnotify: websocket intake needs Coin")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultWebsocketURL
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 1 << 20
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 45 * time.Second
	}
	cfg.Logger = orLogger(cfg.Logger)
	return &Websocket{cfg: cfg, notifier: n}, nil
}

// Run connects, subscribes and delivers until ctx ends.
func (ws *Websocket) Run(ctx context.Context) error {
	bo := backoff{min: ws.cfg.MinBackoff, max: ws.cfg.MaxBackoff}
	for {
		err := ws.session(ctx, &bo)
		if ctx.Err() != nil {
			return nil
		}
		d := bo.next()
		ws.cfg.Logger.Warn("walletnotify: block.io websocket lost; reconnecting", "url", ws.cfg.URL, "err", err, "retry_in", d)
		if !sleep(ctx, d) {
			return nil
		}
	}
}

// subscribe is the account subscription block.io expects.
type subscribe struct {
	Type   string `json:"type"`
	APIKey string `json:"api_key"`
}

// session is one connection: dial, subscribe on the first server
// message, then read until the socket fails.
func (ws *Websocket) session(ctx context.Context, bo *backoff) error {
	dctx, cancel := context.WithTimeout(ctx, ws.cfg.DialTimeout)
	conn, _, err := websocket.Dial(dctx, ws.cfg.URL, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("dial %s: %w", ws.cfg.URL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(ws.cfg.MaxMessageBytes)

	readyBy := time.Now().Add(ws.cfg.ReadyTimeout)
	ready, sent := false, false
	for {
		deadline := time.Now().Add(ws.cfg.IdleTimeout)
		if !ready && readyBy.Before(deadline) {
			deadline = readyBy
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		typ, msg, err := conn.Read(rctx)
		cancel()
		if err != nil {
			if !ready && time.Now().After(readyBy) {
				return fmt.Errorf("no subscription confirmation within %s: %w", ws.cfg.ReadyTimeout, err)
			}
			return fmt.Errorf("read: %w", err)
		}
		if !sent {
			// block.io greets first; the subscription answers the
			// greeting, which itself confirms nothing.
			b, _ := json.Marshal(subscribe{Type: "account", APIKey: ws.cfg.APIKey})
			wctx, cancel := context.WithTimeout(ctx, ws.cfg.DialTimeout)
			err := conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return fmt.Errorf("send subscription: %w", err)
			}
			sent = true
			continue
		}
		if typ != websocket.MessageText {
			continue
		}
		env, note, ok, err := ParseBlockIO(msg)
		switch {
		case err != nil:
			ws.cfg.Logger.Error("walletnotify: bad block.io websocket message; skipped", "err", err, "message", clipStr(string(msg), 200))
		case ok:
			deliverLogged(ctx, ws.cfg.Logger, ws.notifier, ws.cfg.Coin, note, ws.cfg.NotifyTimeout, "blockio-websocket")
		case env.Type == "" && env.Status == "success" && !ready:
			ready = true
			bo.reset()
			ws.cfg.Logger.Info("walletnotify: block.io websocket subscribed", "url", ws.cfg.URL, "coin", ws.cfg.Coin)
		case env.Type == "" && env.Status == "fail":
			return fmt.Errorf("subscription refused: %s", clipStr(string(msg), 200))
		}
	}
}
