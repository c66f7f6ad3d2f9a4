package walletnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletgate/walletgate"
)

// DefaultRedisChannel is cryptoassets.core's pub/sub channel.
const DefaultRedisChannel = "bitcoind_walletnotify_pubsub"

// RedisConfig configures the Redis pub/sub intake.
type RedisConfig struct {
	// Host ("localhost"), Port (6379), DB (0), Username and Password
	// address the server, as in cryptoassets.core's YAML (username was
	// documented there but rejected; here it works, for Redis 6 ACLs).
	Host     string
	Port     int
	DB       int
	Username string
	Password string
	// URL, when set, replaces the fields above (redis://user:pass@host:port/db).
	URL string
	// Channel to subscribe to (DefaultRedisChannel).
	Channel string
	// Coin every message belongs to (required).
	Coin string
	// ClientName is sent with CLIENT SETNAME so operators can find the
	// connection ("walletgate-walletnotify").
	ClientName string
	// DialTimeout bounds connecting (5 s).
	DialTimeout time.Duration
	// PingInterval: when no message arrived for this long, the intake
	// pings to prove the connection is alive (30 s); a failed ping
	// reconnects.
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (100 ms, 5 s); the wait doubles per failure and resets once a
	// subscription is confirmed.
	MinBackoff, MaxBackoff time.Duration
	// MaxMessageBytes drops longer messages (1 KiB).
	MaxMessageBytes int
	// NotifyTimeout bounds one TxNotifier call (45 s).
	NotifyTimeout time.Duration
	// Logger gets failures (slog.Default()).
	Logger *slog.Logger
}

// Redis is the Redis pub/sub intake: "redis-cli publish CHANNEL TXID".
type Redis struct {
	cfg      RedisConfig
	opts     *redis.Options
	notifier walletgate.TxNotifier
}

// NewRedis makes a Redis intake; Run connects.
func NewRedis(cfg RedisConfig, n walletgate.TxNotifier) (*Redis, error) {
	if n == nil {
		return nil, errors.New("walletnotify: NewRedis: nil TxNotifier")
	}
	if cfg.Coin == "" {
		return nil, errors.New("walletnotify: Redis intake needs Coin")
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultRedisChannel
	}
	if cfg.ClientName == "" {
		cfg.ClientName = "walletgate-walletnotify"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 1 << 10
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 45 * time.Second
	}
	cfg.Logger = orLogger(cfg.Logger)
	var opts *redis.Options
	if cfg.URL != "" {
		var err error
		if opts, err = redis.ParseURL(cfg.URL); err != nil {
			return nil, fmt.Errorf("walletnotify: Redis URL: %w", err)
		}
	} else {
		host, port := cfg.Host, cfg.Port
		if host == "" {
			host = "localhost"
		}
		if port == 0 {
			port = 6379
		}
		if port < 0 || port > 65535 {
			return nil, fmt.Errorf("walletnotify: Redis port %d out of range", port)
		}
		opts = &redis.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port)), DB: cfg.DB, Username: cfg.Username, Password: cfg.Password}
	}
	opts.ClientName = cfg.ClientName
	opts.DialTimeout = cfg.DialTimeout
	opts.ReadTimeout = cfg.DialTimeout
	opts.WriteTimeout = cfg.DialTimeout
	// The intake does its own reconnecting, with logs and backoff.
	opts.MaxRetries = -1
	opts.PoolSize = 2
	return &Redis{cfg: cfg, opts: opts, notifier: n}, nil
}

// Run subscribes and delivers messages until ctx ends. A dropped
// connection (Redis restarted, the client killed) is logged and the
// subscription is made again after a backoff; the original ended silently.
func (r *Redis) Run(ctx context.Context) error {
	client := redis.NewClient(r.opts)
	defer client.Close()
	bo := backoff{min: r.cfg.MinBackoff, max: r.cfg.MaxBackoff}
	for {
		err := r.session(ctx, client, &bo)
		if ctx.Err() != nil {
			return nil
		}
		d := bo.next()
		r.cfg.Logger.Warn("walletnotify: Redis subscription lost; resubscribing", "channel", r.cfg.Channel, "addr", r.opts.Addr, "err", err, "retry_in", d)
		if !sleep(ctx, d) {
			return nil
		}
	}
}

// session is one subscription: subscribe, confirm, read until an error.
func (r *Redis) session(ctx context.Context, client *redis.Client, bo *backoff) error {
	ps := client.Subscribe(ctx)
	defer ps.Close()
	// go-redis reads do not watch ctx; closing the subscription does
	// interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	if err := ps.Subscribe(ctx, r.cfg.Channel); err != nil {
		return fmt.Errorf("subscribe %s: %w", r.cfg.Channel, err)
	}
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, r.cfg.PingInterval)
		if err != nil {
			var nerr net.Error
			if errors.As(err, &nerr) && nerr.Timeout() && !pinged && ctx.Err() == nil {
				// Quiet channel: prove the connection still works. The
				// pong arrives as a message; a second timeout means dead.
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("receive on %s: %w", r.cfg.Channel, err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				bo.reset()
				r.cfg.Logger.Info("walletnotify: subscribed to Redis", "channel", m.Channel, "addr", r.opts.Addr)
			}
		case *redis.Message:
			r.handle(ctx, m.Payload)
		case *redis.Pong:
		}
	}
}

func (r *Redis) handle(ctx context.Context, payload string) {
	if len(payload) > r.cfg.MaxMessageBytes {
		r.cfg.Logger.Error("walletnotify: Redis message too long; dropped", "channel", r.cfg.Channel, "bytes", len(payload), "max", r.cfg.MaxMessageBytes)
		return
	}
	note, ok, err := ParseLine(payload)
	switch {
	case !ok:
	case err != nil:
		r.cfg.Logger.Error("walletnotify: bad Redis message; skipped", "channel", r.cfg.Channel, "err", err)
	default:
		deliverLogged(ctx, r.cfg.Logger, r.notifier, r.cfg.Coin, note, r.cfg.NotifyTimeout, "redis")
	}
}
