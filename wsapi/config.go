package wsapi

import (
	"log/slog"
	"time"
)

// Config holds the endpoint's bounds. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// MaxMessageBytes bounds one client message; a larger one closes the
	// connection with status 1009. Default 64 KiB.
	MaxMessageBytes int64
	// MaxAddresses bounds the addresses of one subscribe or unsubscribe
	// request. The hub bounds the total per connection. Default 1000.
	MaxAddresses int
	// MaxInFlight bounds the requests of one connection that run at once.
	// Default 4.
	MaxInFlight int
	// RequestTimeout bounds one request. Default 15 s.
	RequestTimeout time.Duration
	// PingInterval is how often the server pings. Default 25 s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take. Default 20 s.
	PingTimeout time.Duration
	// WriteTimeout bounds writing one frame. Default 10 s.
	WriteTimeout time.Duration
	// Logger receives connection problems and closes. Nil discards them:
	// the process's logger is passed in, never taken from slog.Default, so
	// the configured format and level hold.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults every zero field of Config takes.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes: 64 << 10,
		MaxAddresses:    1000,
		MaxInFlight:     4,
		RequestTimeout:  15 * time.Second,
		PingInterval:    25 * time.Second,
		PingTimeout:     20 * time.Second,
		WriteTimeout:    10 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = d.MaxMessageBytes
	}
	if c.MaxAddresses <= 0 {
		c.MaxAddresses = d.MaxAddresses
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = d.MaxInFlight
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = d.PingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = d.PingTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
