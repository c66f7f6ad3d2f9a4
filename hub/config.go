package hub

import (
	"log/slog"
	"time"
)

// Config holds the hub's bounds. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// QueueSize is how many pushes may be handed to a connection's
	// transport and not yet written to the client. One more closes the
	// connection as a slow consumer. Default 256.
	QueueSize int
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
	// Logger receives build failures and slow-consumer disconnects.
	// Default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults every zero field of Config takes.
func DefaultConfig() Config {
	return Config{
		QueueSize:         256,
		MaxWatchesPerConn: 1000,
		Builders:          16,
		BuildTimeout:      15 * time.Second,
		BuildRetries:      5,
		RetryDelay:        time.Second,
		UnwatchTimeout:    15 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.QueueSize <= 0 {
		c.QueueSize = d.QueueSize
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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
