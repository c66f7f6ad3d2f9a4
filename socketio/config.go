package socketio

import (
	"log/slog"
	"time"
)

// Config holds the server's settings. Zero fields take the defaults of
// DefaultConfig, which are the Bitweb server's.
type Config struct {
	// Path is where the endpoint is mounted. Default "/socket.io/".
	Path string
	// PingInterval is how often the server pings; the ping also answers a
	// long poll that had nothing else, so a GET is held about this long
	// at most. Default 25 s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the connection is
	// closed. Default 20 s.
	PingTimeout time.Duration
	// MaxPayload bounds what a client sends at once, in bytes: one
	// websocket message, or one polling POST (larger is answered 413).
	// The open packet tells the client. Default 1e6.
	MaxPayload int64
	// ConnectTimeout closes a transport that joins no namespace within it.
	// Default 45 s.
	ConnectTimeout time.Duration
	// UpgradeTimeout bounds the polling→websocket upgrade, from the
	// websocket's opening to the client's upgrade packet; a websocket that
	// takes longer is closed and the session stays on polling. Default 10 s.
	UpgradeTimeout time.Duration
	// SubscribeInterval is the least time between two subscribes of one
	// socket; a faster one is answered "rate limited". Default 1 s.
	SubscribeInterval time.Duration
	// MaxAddresses bounds the addresses of one subscribe or unsubscribe
	// (the extension's list form). Default 1000.
	MaxAddresses int
	// WatchTimeout bounds the backend subscription a subscribe waits for.
	// Default 15 s.
	WatchTimeout time.Duration
	// WriteTimeout bounds writing one websocket frame (the close frame of
	// Shutdown too) and one polling response. Default 10 s.
	WriteTimeout time.Duration
	// ReadTimeout bounds reading the body of one polling POST: a client
	// that sends its payload slower holds a request goroutine and a
	// connection that long at most. Default 10 s.
	ReadTimeout time.Duration
	// CompressionThreshold is the size from which a polling response is
	// compressed (gzip or deflate, as the client accepts), as the
	// reference server's httpCompression threshold. Negative disables
	// compression. Default 1024 bytes.
	CompressionThreshold int
	// CloseTimeout is how long a websocket Shutdown sent away (close
	// 1001) waits for the client's close frame before the connection is
	// dropped. Closing at once could reset the connection before the
	// client has read the close. Default 5 s (coder/websocket waits no
	// longer than that on its own).
	CloseTimeout time.Duration
	// Logger receives connection problems. Nil discards them: the
	// process's logger is passed in, never taken from slog.Default, so the
	// configured format and level hold.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults every zero field of Config takes.
func DefaultConfig() Config {
	return Config{
		Path:                 "/socket.io/",
		PingInterval:         25 * time.Second,
		PingTimeout:          20 * time.Second,
		MaxPayload:           1_000_000,
		ConnectTimeout:       45 * time.Second,
		UpgradeTimeout:       10 * time.Second,
		SubscribeInterval:    time.Second,
		MaxAddresses:         1000,
		WatchTimeout:         15 * time.Second,
		WriteTimeout:         10 * time.Second,
		ReadTimeout:          10 * time.Second,
		CompressionThreshold: 1024,
		CloseTimeout:         5 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Path == "" {
		c.Path = d.Path
	}
	if c.PingInterval <= 0 {
		c.PingInterval = d.PingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = d.PingTimeout
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = d.MaxPayload
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = d.UpgradeTimeout
	}
	if c.SubscribeInterval <= 0 {
		c.SubscribeInterval = d.SubscribeInterval
	}
	if c.MaxAddresses <= 0 {
		c.MaxAddresses = d.MaxAddresses
	}
	if c.WatchTimeout <= 0 {
		c.WatchTimeout = d.WatchTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = d.CompressionThreshold
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = d.CloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
