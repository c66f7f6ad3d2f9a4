package peerchannels

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config holds the reference server's settings (the environment variables of
// its server.py) plus the limits walletgate adds. The zero value of a limit
// means "use the default"; New applies defaults with WithDefaults.
type Config struct {
	// ExternalHost and ExternalPort are where the public API listens
	// (EXTERNAL_HOST, EXTERNAL_PORT; default 127.0.0.1:47124). The main
	// program binds them; this package only reports them.
	ExternalHost string
	ExternalPort int
	// InternalHost and InternalPort are the indexer-callback listener
	// (INTERNAL_HOST, INTERNAL_PORT; default 127.0.0.1:47126).
	InternalHost string
	InternalPort int
	// HrefHost and HrefPort build each channel's href (HREF_HOST,
	// HREF_PORT), so a reverse proxy can publish other addresses. They
	// default to the external host and port.
	HrefHost string
	HrefPort int
	// HrefFromRequest builds hrefs and the discovery document's baseUrl
	// from the address each request came to (its Host header) instead.
	// WithDefaults sets it when none of HrefHost, HrefPort, ExternalHost
	// and ExternalPort is given: the reference's default, 127.0.0.1:47124,
	// is where it listens, while walletgate serves these APIs on its main
	// listener unless told otherwise.
	HrefFromRequest bool

	// MaxMessageContentLength bounds a written message's payload
	// (MAX_MESSAGE_CONTENT_LENGTH). The reference code defaults to 0, which
	// rejects every write; walletgate defaults to 65536 as its .env does.
	MaxMessageContentLength int64
	// MaxRequestBodyBytes bounds the body of every other endpoint (aiohttp's
	// client_max_size of 1 MiB); larger bodies answer 413.
	MaxRequestBodyBytes int64
	// MaxTokenDescription bounds an access token's description, in bytes.
	MaxTokenDescription int

	// ExposeHeaderSVAPIs lists the headers endpoints in /api/v1/endpoints
	// (EXPOSE_HEADER_SV_APIS non-empty, even "0", as in the reference).
	ExposeHeaderSVAPIs bool
	// HeaderSVURL is the HeaderSV upstream (HEADER_SV_URL).
	HeaderSVURL string
	// ExposeIndexerAPIs lists the indexer endpoints (EXPOSE_INDEXER_APIS
	// non-empty).
	ExposeIndexerAPIs bool
	// IndexerURL is the indexer upstream (INDEXER_URL).
	IndexerURL string
	// Network is one of regtest, mainnet, testnet, scaling-testnet (NETWORK).
	Network string

	// PingInterval is the websocket heartbeat; proxies such as nginx drop
	// idle sockets, so the reference pings every 30 s.
	PingInterval time.Duration
	// WriteTimeout bounds the write of one websocket frame (and the wait
	// for a ping's pong); a socket that misses it is closed.
	WriteTimeout time.Duration
	// SendQueue is the number of frames a socket may have waiting; a socket
	// that falls further behind is closed so it never blocks the writers.
	SendQueue int
	// MaxClientFrame bounds a frame read from a /notify socket (clients
	// should send none; the reader discards them).
	MaxClientFrame int64

	// CloseHookTimeout bounds one run of the account-socket close hooks
	// (Service.OnAccountSocketClosed), which may call upstream services.
	CloseHookTimeout time.Duration

	// ChannelCacheSize bounds the cache of channel ids (external id to row
	// id, owner and sequencing, which never change) that spares each message
	// request a store read.
	ChannelCacheSize int

	// Now is the clock (token expiry, retention, timestamps); time.Now when nil.
	Now func() time.Time
	// Extra, when set, is called by New with the router so other packages
	// (the headers and indexer proxies) can add their routes to it.
	Extra func(*Router)
}

// Defaults of the reference server and of walletgate's added limits.
const (
	DefaultExternalHost            = "127.0.0.1"
	DefaultExternalPort            = 47124
	DefaultInternalHost            = "127.0.0.1"
	DefaultInternalPort            = 47126
	DefaultMaxMessageContentLength = 65536
	DefaultMaxRequestBodyBytes     = 1 << 20
	DefaultMaxTokenDescription     = 1024
	DefaultHeaderSVURL             = "http://127.0.0.1:33444"
	DefaultIndexerURL              = "http://127.0.0.1:49241"
	DefaultNetwork                 = "regtest"
	DefaultPingInterval            = 30 * time.Second
	DefaultWriteTimeout            = 10 * time.Second
	DefaultSendQueue               = 1024
	DefaultMaxClientFrame          = 64 << 10
	DefaultChannelCacheSize        = 10000
	DefaultCloseHookTimeout        = 10 * time.Second
)

// networkNames are the NETWORK values the reference server accepts.
const networkNames = "regtest, mainnet, testnet, scaling-testnet"

func knownNetwork(n string) bool {
	switch n {
	case "regtest", "mainnet", "testnet", "scaling-testnet":
		return true
	}
	return false
}

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.HrefHost == "" && c.HrefPort == 0 && c.ExternalHost == "" && c.ExternalPort == 0 {
		c.HrefFromRequest = true
	}
	if c.ExternalHost == "" {
		c.ExternalHost = DefaultExternalHost
	}
	if c.ExternalPort == 0 {
		c.ExternalPort = DefaultExternalPort
	}
	if c.InternalHost == "" {
		c.InternalHost = DefaultInternalHost
	}
	if c.InternalPort == 0 {
		c.InternalPort = DefaultInternalPort
	}
	if c.HrefHost == "" {
		c.HrefHost = c.ExternalHost
	}
	if c.HrefPort == 0 {
		c.HrefPort = c.ExternalPort
	}
	if c.MaxMessageContentLength == 0 {
		c.MaxMessageContentLength = DefaultMaxMessageContentLength
	}
	if c.MaxRequestBodyBytes == 0 {
		c.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if c.MaxTokenDescription == 0 {
		c.MaxTokenDescription = DefaultMaxTokenDescription
	}
	if c.HeaderSVURL == "" {
		c.HeaderSVURL = DefaultHeaderSVURL
	}
	if c.IndexerURL == "" {
		c.IndexerURL = DefaultIndexerURL
	}
	if c.Network == "" {
		c.Network = DefaultNetwork
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.MaxClientFrame == 0 {
		c.MaxClientFrame = DefaultMaxClientFrame
	}
	if c.CloseHookTimeout == 0 {
		c.CloseHookTimeout = DefaultCloseHookTimeout
	}
	if c.ChannelCacheSize == 0 {
		c.ChannelCacheSize = DefaultChannelCacheSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every setting that cannot work, joined.
func (c Config) Validate() error {
	var errs []error
	port := func(name string, p int) {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: must be a port 1..65535", name, p))
		}
	}
	port("external port", c.ExternalPort)
	port("internal port", c.InternalPort)
	port("href port", c.HrefPort)
	if c.MaxMessageContentLength < 1 {
		errs = append(errs, fmt.Errorf("max message content length %d: must be positive", c.MaxMessageContentLength))
	}
	if c.MaxRequestBodyBytes < 1 {
		errs = append(errs, fmt.Errorf("max request body bytes %d: must be positive", c.MaxRequestBodyBytes))
	}
	if c.MaxTokenDescription < 1 {
		errs = append(errs, fmt.Errorf("max token description %d: must be positive", c.MaxTokenDescription))
	}
	for _, nu := range [...][2]string{{"header sv url", c.HeaderSVURL}, {"indexer url", c.IndexerURL}} {
		name, u := nu[0], nu[1]
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: must be an http(s) URL with a host", name, u))
		}
	}
	if !knownNetwork(c.Network) {
		errs = append(errs, fmt.Errorf("network %q: must be one of %s", c.Network, networkNames))
	}
	if c.PingInterval < 0 || c.WriteTimeout < 0 || c.CloseHookTimeout < 0 {
		errs = append(errs, fmt.Errorf("ping interval %v, write timeout %v and close hook timeout %v: must not be negative",
			c.PingInterval, c.WriteTimeout, c.CloseHookTimeout))
	}
	if c.SendQueue < 1 {
		errs = append(errs, fmt.Errorf("send queue %d: must be positive", c.SendQueue))
	}
	if c.MaxClientFrame < 1 {
		errs = append(errs, fmt.Errorf("max client frame %d: must be positive", c.MaxClientFrame))
	}
	if c.ChannelCacheSize < 1 {
		errs = append(errs, fmt.Errorf("channel cache size %d: must be positive", c.ChannelCacheSize))
	}
	return errors.Join(errs...)
}

// ConfigFromEnv reads the reference server's variables through lookup
// (os.LookupEnv in production) and returns an error naming every bad value.
// Unset variables keep their defaults. EXPOSE_*_APIS count as enabled when
// non-empty, as in the reference server.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	var c Config
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int) {
		v, ok := lookup(name)
		if !ok || v == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("%s=%q: want a port number 1..65535", name, v))
			return
		}
		*dst = n
	}
	str("EXTERNAL_HOST", &c.ExternalHost)
	num("EXTERNAL_PORT", &c.ExternalPort)
	str("INTERNAL_HOST", &c.InternalHost)
	num("INTERNAL_PORT", &c.InternalPort)
	str("HREF_HOST", &c.HrefHost)
	num("HREF_PORT", &c.HrefPort)
	if v, ok := lookup("MAX_MESSAGE_CONTENT_LENGTH"); ok && v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("MAX_MESSAGE_CONTENT_LENGTH=%q: want a positive number of bytes", v))
		} else {
			c.MaxMessageContentLength = n
		}
	}
	if v, ok := lookup("EXPOSE_HEADER_SV_APIS"); ok && v != "" {
		c.ExposeHeaderSVAPIs = true
	}
	if v, ok := lookup("EXPOSE_INDEXER_APIS"); ok && v != "" {
		c.ExposeIndexerAPIs = true
	}
	str("HEADER_SV_URL", &c.HeaderSVURL)
	str("INDEXER_URL", &c.IndexerURL)
	str("NETWORK", &c.Network)
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("peer channels configuration: %w", err)
	}
	return c, nil
}

// href is the public address of a channel.
func (c Config) href(r *http.Request, externalID string) string {
	return c.publicBase(r) + "/api/v1/channel/" + externalID
}

// publicBase is the scheme and address clients reach the APIs at. From
// HREF_*/EXTERNAL_*: port 80 → http without a port, 443 → https,
// otherwise http://host:port. From the request: its Host, over https when
// it came by TLS or a proxy says so (X-Forwarded-Proto).
func (c Config) publicBase(r *http.Request) string {
	if c.HrefFromRequest && r != nil && r.Host != "" {
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	switch c.HrefPort {
	case 80:
		return "http://" + c.HrefHost
	case 443:
		return "https://" + c.HrefHost
	default:
		return "http://" + net.JoinHostPort(c.HrefHost, strconv.Itoa(c.HrefPort))
	}
}
