package hub

import (
	"log/slog"
	"time"
)

// Config holds the hub's bounds. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// QueueSize is how many change, block and account pushes may be
	// handed to a connection's transport and not yet written to the
	// client. One more closes the connection as a slow consumer: these
	// pushes come when the chain moves, and the hub never waits for a
	// client. Default 256.
	QueueSize int
	// RefreshWindow is how many initial-state pushes (Conn.Refresh: the
	// balance that follows a subscribe) of one connection may be handed
	// to its transport and not yet written. They do not count against
	// QueueSize: a subscribe asks for them all at once (up to
	// MaxWatchesPerConn), far faster than any client reads, so the rest
	// wait in the hub, in order, and each one written lets the next one
	// go. A client that reads therefore always gets them all; one that
	// does not read holds at most RefreshWindow of them in its transport
	// and is closed by the transport's write or ping timeout. Default 64.
	RefreshWindow int
	// MaxWatchesPerConn bounds the scripts one connection may watch.
	// Default 1000.
	MaxWatchesPerConn int
	// Builders is how many balance payloads are built at once (each costs
	// backend calls when not cached). Default 16.
	Builders int
	// BuildTimeout bounds building one balance payload. Default 15 s.
	BuildTimeout time.Duration
	// BuildRetries is how often a failed balance build is retried before
	// the push is given up (the next change pushes the state anyway).
	// Default 5.
	BuildRetries int
	// RetryDelay is the wait before retrying a failed build. Default 1 s.
	RetryDelay time.Duration
	// UnwatchTimeout bounds releasing a connection's watches when it
	// closes. Default 15 s.
	UnwatchTimeout time.Duration
	// AccountKey decides whether key opens the txupdate events of
	// (coin, account) (Conn.SubscribeAccount). Account events carry
	// deposit data, so they are never public. It must compare in constant
	// time. Nil disables account subscriptions: every subscribe is
	// refused with EForbidden "account subscriptions are not enabled".
	AccountKey func(coin, account, key string) bool
	// MaxAccountsPerConn bounds the accounts one connection may subscribe
	// to. Default 100.
	MaxAccountsPerConn int
	// MaxAccountLen bounds an account label in bytes, as the deposit API
	// bounds the labels it stores (depositapi.Config.MaxLabelLen).
	// Default 128.
	MaxAccountLen int
	// MaxKeyFailures is how many wrong keys one connection may try; after
	// that every account subscribe of the connection is refused without
	// consulting AccountKey, so a client cannot guess keys at the rate of
	// its requests. Default 5.
	MaxKeyFailures int
	// Logger receives build failures and slow-consumer disconnects. Nil
	// discards them: the process's logger is passed in, never taken from
	// slog.Default, so the configured format and level hold.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults every zero field of Config takes.
func DefaultConfig() Config {
	return Config{
		QueueSize:          256,
		RefreshWindow:      64,
		MaxWatchesPerConn:  1000,
		Builders:           16,
		BuildTimeout:       15 * time.Second,
		BuildRetries:       5,
		RetryDelay:         time.Second,
		UnwatchTimeout:     15 * time.Second,
		MaxAccountsPerConn: 100,
		MaxAccountLen:      128,
		MaxKeyFailures:     5,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.QueueSize <= 0 {
		c.QueueSize = d.QueueSize
	}
	if c.RefreshWindow <= 0 {
		c.RefreshWindow = d.RefreshWindow
	}
	if c.MaxWatchesPerConn <= 0 {
		c.MaxWatchesPerConn = d.MaxWatchesPerConn
	}
	if c.Builders <= 0 {
		c.Builders = d.Builders
	}
	if c.BuildTimeout <= 0 {
		c.BuildTimeout = d.BuildTimeout
	}
	if c.BuildRetries <= 0 {
		c.BuildRetries = d.BuildRetries
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = d.RetryDelay
	}
	if c.UnwatchTimeout <= 0 {
		c.UnwatchTimeout = d.UnwatchTimeout
	}
	if c.MaxAccountsPerConn <= 0 {
		c.MaxAccountsPerConn = d.MaxAccountsPerConn
	}
	if c.MaxAccountLen <= 0 {
		c.MaxAccountLen = d.MaxAccountLen
	}
	if c.MaxKeyFailures <= 0 {
		c.MaxKeyFailures = d.MaxKeyFailures
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
