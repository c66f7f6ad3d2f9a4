// Package config reads walletgate's configuration: the Bitweb server's .env
// variables for the single-coin setup it replaces, and a YAML file for many
// coins. It only reads and validates; cmd/walletgate turns the result into
// backends and listeners.
package config

import (
	"time"
)

// Backend types a coin may use.
const (
	BackendElectrumX = "electrumx"
	BackendNode      = "node"
	BackendBlockIO   = "blockio"
	BackendNull      = "null"
)

// Config is the whole validated configuration.
type Config struct {
	// Sources lists where values came from, for the startup log line.
	Sources []string

	Server   Server
	DataDir  string
	Database Database
	Redis    Redis
	// SecretKey is accepted for Bitweb compatibility; nothing uses it.
	SecretKey string
	// DefaultCoin serves the root paths (Bitweb compatibility).
	DefaultCoin string
	Coins       []Coin
	// PeerChannels configures the ElectrumSV-compatible APIs.
	PeerChannels PeerChannels
	// Deposits configures deposit tracking and txupdate delivery.
	Deposits Deposits
	// Events are the txupdate handlers, in file order.
	Events []EventHandler
	// StatusServer, when set, serves cryptoassets' operator status page.
	StatusServer *StatusServer
	// Service is cryptoassets' service section (broadcast_period).
	Service Service

	// Lookup reads a variable from the environment, falling back to the
	// .env file, so packages with their own variables (peer channels) see
	// the same merged view.
	Lookup func(key string) (string, bool) `yaml:"-"`
}

// Server is the main HTTP listener.
type Server struct {
	Host            string   `yaml:"host"`
	Port            int      `yaml:"port"`
	Debug           bool     `yaml:"debug"`
	LogFormat       string   `yaml:"log_format"` // text or json
	LogLevel        string   `yaml:"log_level"`  // debug, info, warn, error
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// BodyReadTimeout bounds how long a client may take to send a request
	// body (slow-body clients are cut off).
	BodyReadTimeout Duration `yaml:"body_read_timeout"`
	// WriteTimeout bounds a request from its headers to the end of its
	// answer, so clients that never read do not hold connections; it must
	// exceed every backend timeout. Websockets and long polls are exempt:
	// they live for hours.
	WriteTimeout   Duration `yaml:"write_timeout"`
	IdleTimeout    Duration `yaml:"idle_timeout"`
	MaxHeaderBytes int      `yaml:"max_header_bytes"`
}

// Database selects the store. An empty URL means SQLite under DataDir.
type Database struct {
	URL string `yaml:"url"`
	// Echo is cryptoassets' SQLAlchemy echo; accepted and ignored.
	Echo bool `yaml:"echo"`
	// TransactionRetries is how often a serialization failure is retried
	// (cryptoassets' database.transaction_retries; 0 takes the store's
	// default, 10, since several instances racing one txid need more than
	// cryptoassets' 3).
	TransactionRetries int `yaml:"transaction_retries"`
}

// Redis is optional; with it several instances share events.
type Redis struct {
	URL string `yaml:"url"`
}

// PeerChannels switches the ElectrumSV-compatible APIs on or off and says
// where they listen; their own variables (HREF_HOST, ...) are read by the
// peerchannels package through Config.Lookup.
type PeerChannels struct {
	Enabled bool `yaml:"enabled"`
	// Listen is host:port of a listener of their own; empty serves them on
	// the main listener.
	Listen string `yaml:"listen"`
}

// Coin is one coin walletgate serves.
type Coin struct {
	Name    string `yaml:"-"`
	Network string `yaml:"network"`
	// LegacyVersions overrides the coin's extra base58 version bytes; nil
	// keeps the coin's default (on for Bitweb mainnet only).
	LegacyVersions *LegacyVersions `yaml:"legacy_versions"`
	// AcceptUpperBech32 overrides whether all-upper-case bech32 is
	// accepted (BIP173 allows it; mixed case is always refused).
	AcceptUpperBech32 *bool `yaml:"accept_upper_bech32"`
	// FixedFeeSatoshis is what GET /fee answers.
	FixedFeeSatoshis int64   `yaml:"fixed_fee_satoshis"`
	Backend          Backend `yaml:"backend"`
	// Testnet is cryptoassets' flag: true means network testnet when
	// network is not set.
	Testnet bool `yaml:"testnet"`
	// CreditConfirmations is when a deposit is credited (3).
	CreditConfirmations int64 `yaml:"credit_confirmations"`
	// MaxConfirmations stops tracking a transaction (15).
	MaxConfirmations int64 `yaml:"max_confirmation_count"`
	// Models is cryptoassets' SQLAlchemy model module; accepted and
	// ignored (walletgate's schema serves every coin).
	Models string `yaml:"models"`
}

// LegacyVersions are extra base58 version bytes accepted as P2PKH or P2SH.
type LegacyVersions struct {
	P2PKH []int `yaml:"p2pkh"`
	P2SH  []int `yaml:"p2sh"`
}

// Backend is a coin's backend and its options. The options are one flat
// block so the YAML stays short; keys that do not apply to Type are refused
// at load time (backendKeys lists which apply).
type Backend struct {
	Type string `yaml:"type"`
	// Class is a cryptoassets.core backend class name, an alias of Type.
	Class string `yaml:"class"`
	// Timeout bounds each call to the backend.
	Timeout Duration `yaml:"timeout"`

	// electrumx
	Host        string `yaml:"host"`
	Port        int    `yaml:"port"`
	TLS         *bool  `yaml:"tls"`
	VerifyTLS   *bool  `yaml:"verify_tls"`
	PoolSize    int    `yaml:"pool_size"`
	ProtocolMin string `yaml:"protocol_min"`
	ProtocolMax string `yaml:"protocol_max"`

	// node
	URL          string   `yaml:"url"`
	CookieFile   string   `yaml:"cookie_file"`
	CAFile       string   `yaml:"ca_file"`
	PollInterval Duration `yaml:"poll_interval"`
	StartHeight  int64    `yaml:"start_height"`
	// Websocket is btcd's ws://host:port/ws for push notifications (the
	// RPC URL's user and password are used on the upgrade).
	Websocket string `yaml:"websocket"`
	// ZMQ lists Bitcoin Core zmqpubhashblock/zmqpubrawtx endpoints.
	ZMQ []string `yaml:"zmq"`
	// MaxReorgDepth is the deepest reorg the index can undo.
	MaxReorgDepth int64 `yaml:"max_reorg_depth"`
	// Index builds the chain index that serves the wallet REST API and
	// push (true; false for cryptoassets' Bitcoind class, which only ever
	// used the node's wallet). Without it those paths answer 503.
	Index *bool `yaml:"index"`
	// Wallet turns on deposit tracking through the node's wallet.
	Wallet *Wallet `yaml:"wallet"`
	// MaxTrackedIncoming is a legacy cryptoassets key, ignored.
	MaxTrackedIncoming int `yaml:"max_tracked_incoming_confirmations"`

	// blockio
	APIKey string `yaml:"api_key"`
	PIN    string `yaml:"pin"`
	// Network is block.io's network name (btc, btctest, doge, dogetest,
	// ltc, ltctest); it picks the API key's network for checks.
	Network string `yaml:"network"`

	// Walletnotify lists the coin's walletnotify intakes.
	Walletnotify Walletnotifies `yaml:"walletnotify"`
}

// backendKeys says which Backend keys each type reads; nil for an unknown type.
func backendKeys(typ string) []string {
	switch typ {
	case BackendElectrumX:
		return []string{"type", "class", "timeout", "host", "port", "tls", "verify_tls", "pool_size", "protocol_min", "protocol_max"}
	case BackendNode:
		return []string{"type", "class", "timeout", "url", "cookie_file", "ca_file", "poll_interval", "start_height", "websocket", "zmq", "max_reorg_depth", "index", "wallet", "walletnotify", "max_tracked_incoming_confirmations"}
	case BackendBlockIO:
		return []string{"type", "class", "timeout", "url", "api_key", "pin", "network", "walletnotify"}
	case BackendNull:
		return []string{"type", "class", "walletnotify"}
	}
	return nil
}

// Duration reads "15s"-style strings or a plain number of seconds (the
// Bitweb variables count seconds).
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
