package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/walletgate/walletgate/chain"
)

// Variables read besides the Bitweb server's own.
const (
	VarConfig     = "WALLETGATE_CONFIG"
	VarDataDir    = "WALLETGATE_DATA_DIR"
	VarCoin       = "WALLETGATE_COIN"
	VarNetwork    = "WALLETGATE_NETWORK"
	VarLogFormat  = "LOG_FORMAT"
	VarLogLevel   = "LOG_LEVEL"
	VarDatabase   = "DATABASE_URL"
	VarRedis      = "REDIS_URL"
	VarShutdown   = "SHUTDOWN_TIMEOUT"
	VarElectrumTL = "ELECTRUM_TLS"
	VarPeerOn     = "PEER_CHANNELS"
	VarPeerListen = "PEER_CHANNELS_LISTEN"
	VarAdminKey   = "WALLETGATE_ADMIN_KEY"
)

// LoadOptions says where to read from. Zero values read ".env" in the
// working directory, the process environment, and the YAML file named by
// WALLETGATE_CONFIG if set.
type LoadOptions struct {
	ConfigPath string
	DotenvPath string
	// Getenv reads the real environment; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
}

// Defaults returns the configuration walletgate runs with when nothing is
// set: the Bitweb server's defaults, SQLite under ./data, events in process.
func Defaults() Config {
	return Config{
		Server: Server{
			Host:              "0.0.0.0",
			Port:              21223,
			LogFormat:         "text",
			LogLevel:          "info",
			ShutdownTimeout:   Duration(15 * time.Second),
			ReadHeaderTimeout: Duration(10 * time.Second),
			IdleTimeout:       Duration(75 * time.Second),
			MaxHeaderBytes:    64 << 10,
			BodyReadTimeout:   Duration(30 * time.Second),
			WriteTimeout:      Duration(30 * time.Second),
		},
		DataDir:      "data",
		SecretKey:    "change-me-in-production",
		DefaultCoin:  "bitweb",
		PeerChannels: PeerChannels{Enabled: true},
	}
}

// Load reads, merges and validates the configuration. Real environment
// variables override the .env file; the YAML file, when given, describes the
// coins. An invalid configuration returns Problems, one line per problem.
func Load(opts LoadOptions) (*Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	var probs Problems
	cfg := Defaults()

	dotenvPath := opts.DotenvPath
	if dotenvPath == "" {
		dotenvPath = ".env"
	}
	dotenv := map[string]string{}
	if f, err := os.Open(dotenvPath); err == nil {
		vals, ps := parseDotenv(f, dotenvPath)
		f.Close()
		dotenv = vals
		probs = append(probs, ps...)
		cfg.Sources = append(cfg.Sources, dotenvPath)
	} else if !errors.Is(err, fs.ErrNotExist) || opts.DotenvPath != "" {
		probs.add(dotenvPath, "", "cannot read: %v", err)
	}
	lookup := func(key string) (string, bool) {
		if v, ok := getenv(key); ok {
			return v, true
		}
		v, ok := dotenv[key]
		return v, ok
	}
	cfg.Lookup = lookup
	// source names where a variable came from, for problem lines.
	source := func(key string) string {
		if _, ok := getenv(key); ok {
			return "environment"
		}
		return dotenvPath
	}

	path := opts.ConfigPath
	if path == "" {
		path, _ = getenv(VarConfig)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			probs.add(path, "", "cannot read: %v", err)
		} else {
			probs = append(probs, parseYAML(data, path, &cfg)...)
			cfg.Sources = append(cfg.Sources, path)
		}
	}

	env := envReader{lookup: lookup, source: source, probs: &probs}
	env.str("SECRET_KEY", &cfg.SecretKey)
	env.str("HOST", &cfg.Server.Host)
	env.port("PORT", &cfg.Server.Port)
	env.boolean("DEBUG", &cfg.Server.Debug)
	env.str(VarLogFormat, &cfg.Server.LogFormat)
	env.str(VarLogLevel, &cfg.Server.LogLevel)
	env.duration(VarShutdown, &cfg.Server.ShutdownTimeout)
	env.str(VarDataDir, &cfg.DataDir)
	env.str(VarDatabase, &cfg.Database.URL)
	env.str(VarRedis, &cfg.Redis.URL)
	env.boolean(VarPeerOn, &cfg.PeerChannels.Enabled)
	env.str(VarPeerListen, &cfg.PeerChannels.Listen)
	env.str(VarAdminKey, &cfg.Deposits.AdminKey)
	if cfg.PeerChannels.Listen == "" {
		// The ElectrumSV server's own variables give it a listener of its own.
		if port, ok := lookup("EXTERNAL_PORT"); ok && port != "" {
			host, _ := lookup("EXTERNAL_HOST")
			if host == "" {
				host = "127.0.0.1"
			}
			cfg.PeerChannels.Listen = host + ":" + port
		}
	}
	if sharesListener(cfg.PeerChannels.Listen, cfg.Server.Host, cfg.Server.Port) {
		// The reference server listens on EXTERNAL_*; an operator who sets
		// them to walletgate's own address means the one listener, which
		// serves the peer channels anyway.
		cfg.PeerChannels.Listen = ""
	}

	if path == "" {
		cfg.Coins = []Coin{singleCoin(env)}
		cfg.DefaultCoin = cfg.Coins[0].Name
	}
	probs = append(probs, validate(&cfg, path)...)
	if len(probs) > 0 {
		return nil, probs
	}
	if len(cfg.Sources) == 0 {
		cfg.Sources = []string{"defaults"}
	}
	return &cfg, nil
}

// sharesListener reports whether listen (host:port) would bind the same
// socket as the main listener on host:port: the same port on the same
// host, or on a wildcard host on either side (binding 127.0.0.1:P beside
// 0.0.0.0:P fails on Linux).
func sharesListener(listen, host string, port int) bool {
	if listen == "" {
		return false
	}
	h, p, err := net.SplitHostPort(listen)
	if err != nil || p != strconv.Itoa(port) {
		return false
	}
	wildcard := func(s string) bool { return s == "" || s == "0.0.0.0" || s == "::" || s == "[::]" }
	return h == host || wildcard(h) || wildcard(host)
}

// singleCoin builds the one coin the Bitweb variables describe.
func singleCoin(env envReader) Coin {
	c := Coin{
		Name:             "bitweb",
		Network:          "mainnet",
		FixedFeeSatoshis: 10000,
		Backend: Backend{
			Type:     BackendElectrumX,
			Host:     "electrumx.example.com",
			Port:     20002,
			Timeout:  Duration(15 * time.Second),
			PoolSize: 4,
		},
	}
	tls, verify := true, true
	env.str(VarCoin, &c.Name)
	env.str(VarNetwork, &c.Network)
	env.str("ELECTRUM_HOST", &c.Backend.Host)
	env.port("ELECTRUM_PORT", &c.Backend.Port)
	env.duration("ELECTRUM_TIMEOUT", &c.Backend.Timeout)
	env.boolean("ELECTRUM_VERIFY_SSL", &verify)
	env.boolean(VarElectrumTL, &tls)
	env.integer("ELECTRUM_POOL_SIZE", &c.Backend.PoolSize)
	env.int64("FIXED_FEE_SATOSHIS", &c.FixedFeeSatoshis)
	c.Backend.TLS, c.Backend.VerifyTLS = &tls, &verify
	return c
}

// validate checks what the parsers could not: ranges, references and
// combinations. path is the YAML file, for problem lines.
func validate(cfg *Config, path string) Problems {
	var probs Problems
	src := path
	if src == "" {
		src = "environment"
	}
	switch cfg.Server.LogFormat {
	case "text", "json":
	default:
		probs.add(src, "server.log_format", "must be text or json, got %q", cfg.Server.LogFormat)
	}
	switch cfg.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		probs.add(src, "server.log_level", "must be debug, info, warn or error, got %q", cfg.Server.LogLevel)
	}
	if cfg.Server.Port < 0 || cfg.Server.Port > 65535 {
		probs.add(src, "server.port", "must be 0..65535, got %d", cfg.Server.Port)
	}
	if cfg.Server.ShutdownTimeout <= 0 {
		probs.add(src, "server.shutdown_timeout", "must be positive")
	}
	if cfg.Server.BodyReadTimeout <= 0 {
		probs.add(src, "server.body_read_timeout", "must be positive")
	}
	if cfg.Server.WriteTimeout <= 0 {
		probs.add(src, "server.write_timeout", "must be positive")
	}
	for _, c := range cfg.Coins {
		if c.Backend.Timeout > 0 && cfg.Server.WriteTimeout > 0 && c.Backend.Timeout >= cfg.Server.WriteTimeout {
			probs.add(src, "server.write_timeout", "%s must exceed the backend timeout of coin %s (%s), or its answers are cut off",
				cfg.Server.WriteTimeout.D(), c.Name, c.Backend.Timeout.D())
		}
	}
	if cfg.DataDir == "" {
		probs.add(src, "data_dir", "must not be empty")
	}
	if u := cfg.Database.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") && !strings.HasPrefix(u, "sqlite:") {
		probs.add(src, "database.url", "must start with postgres://, postgresql:// or sqlite:, got %q", u)
	}
	if len(cfg.Coins) == 0 {
		probs.add(src, "coins", "at least one coin is required")
	}
	seen := map[string]bool{}
	for i := range cfg.Coins {
		c := &cfg.Coins[i]
		key := "coins." + c.Name
		if seen[c.Name] {
			probs.add(src, key, "listed twice")
		}
		seen[c.Name] = true
		if !slices.Contains(KnownCoins(), c.Name) {
			probs.add(src, key, "unknown coin %q (known: %s)", c.Name, strings.Join(KnownCoins(), ", "))
		}
		if c.Network == "" {
			c.Network = "mainnet"
		}
		if slices.Contains(KnownCoins(), c.Name) {
			if _, err := chain.Lookup(c.Name, c.Network); err != nil {
				probs.add(src, key+".network", "%v", err)
			}
		}
		if c.FixedFeeSatoshis < 0 {
			probs.add(src, key+".fixed_fee_satoshis", "must not be negative")
		}
		if c.LegacyVersions != nil {
			for _, v := range append(slices.Clone(c.LegacyVersions.P2PKH), c.LegacyVersions.P2SH...) {
				if v < 0 || v > 255 {
					probs.add(src, key+".legacy_versions", "version byte %d is not 0..255", v)
				}
			}
		}
		probs = append(probs, validateBackend(src, key+".backend", &c.Backend)...)
	}
	probs = append(probs, validateDeposits(cfg, src)...)
	if cfg.Database.TransactionRetries < 0 || cfg.Database.TransactionRetries > 100 {
		probs.add(src, "database.transaction_retries", "must be 0..100, got %d", cfg.Database.TransactionRetries)
	}
	if cfg.DefaultCoin != "" && !seen[cfg.DefaultCoin] && len(cfg.Coins) > 0 {
		probs.add(src, "default_coin", "%q is not among the configured coins", cfg.DefaultCoin)
	}
	if cfg.DefaultCoin == "" && len(cfg.Coins) > 0 {
		cfg.DefaultCoin = cfg.Coins[0].Name
	}
	return probs
}

func validateBackend(src, key string, b *Backend) Problems {
	var probs Problems
	switch b.Type {
	case BackendElectrumX:
		if b.Host == "" {
			probs.add(src, key+".host", "required for backend type electrumx")
		}
		if b.Port <= 0 || b.Port > 65535 {
			probs.add(src, key+".port", "must be 1..65535, got %d", b.Port)
		}
		if b.PoolSize == 0 {
			b.PoolSize = 4
		}
		if b.PoolSize < 1 || b.PoolSize > 256 {
			probs.add(src, key+".pool_size", "must be 1..256, got %d", b.PoolSize)
		}
		for _, pv := range []struct{ k, v string }{{"protocol_min", b.ProtocolMin}, {"protocol_max", b.ProtocolMax}} {
			if pv.v == "" {
				continue
			}
			if !slices.Contains([]string{"1.4", "1.4.1", "1.4.2", "1.6"}, pv.v) {
				probs.add(src, key+"."+pv.k, "must be 1.4, 1.4.1, 1.4.2 or 1.6 (1.7 drops the scripthash methods), got %q", pv.v)
			}
		}
		if b.TLS == nil {
			t := true
			b.TLS = &t
		}
		if b.VerifyTLS == nil {
			t := true
			b.VerifyTLS = &t
		}
	case BackendNode:
		if b.URL == "" {
			probs.add(src, key+".url", "required for backend type node (http://user:pass@host:port/)")
		} else if !strings.HasPrefix(b.URL, "http://") && !strings.HasPrefix(b.URL, "https://") {
			probs.add(src, key+".url", "must be an http:// or https:// URL, got %q", b.URL)
		}
		if b.PollInterval == 0 {
			b.PollInterval = Duration(2 * time.Second)
		}
		if b.StartHeight < 0 {
			probs.add(src, key+".start_height", "must not be negative")
		}
		if b.MaxReorgDepth < 0 {
			probs.add(src, key+".max_reorg_depth", "must not be negative")
		}
		if b.Websocket != "" && !strings.HasPrefix(b.Websocket, "ws://") && !strings.HasPrefix(b.Websocket, "wss://") {
			probs.add(src, key+".websocket", "must be a ws:// or wss:// URL, got %q", b.Websocket)
		}
		for _, z := range b.ZMQ {
			if !strings.HasPrefix(z, "tcp://") && !strings.HasPrefix(z, "ipc://") {
				probs.add(src, key+".zmq", "must be tcp:// or ipc:// endpoints, got %q", z)
			}
		}
	case BackendBlockIO:
		if b.URL != "" && !strings.HasPrefix(b.URL, "http://") && !strings.HasPrefix(b.URL, "https://") {
			probs.add(src, key+".url", "must be an http:// or https:// URL (block.io's API base), got %q", b.URL)
		}
		switch b.Network {
		case "", "btc", "btctest", "doge", "dogetest", "ltc", "ltctest":
		default:
			probs.add(src, key+".network", "must be one of btc, btctest, doge, dogetest, ltc, ltctest, got %q", b.Network)
		}
	case BackendNull:
	case "":
		probs.add(src, key+".type", "required: one of %s", strings.Join(BackendTypes(), ", "))
	default:
		probs.add(src, key+".type", "unknown backend type %q (known: %s)", b.Type, strings.Join(BackendTypes(), ", "))
	}
	if b.Timeout == 0 {
		b.Timeout = Duration(15 * time.Second)
	}
	if b.Timeout < 0 {
		probs.add(src, key+".timeout", "must be positive")
	}
	return probs
}

// KnownCoins lists the coin names walletgate has parameters for.
func KnownCoins() []string { return []string{"bitweb", "btc", "ltc", "doge", "bsv"} }

// BackendTypes lists the backend types, sorted.
func BackendTypes() []string {
	t := []string{BackendElectrumX, BackendNode, BackendBlockIO, BackendNull}
	sort.Strings(t)
	return t
}

// DataPath joins name onto the data directory.
func (c *Config) DataPath(name string) string { return filepath.Join(c.DataDir, name) }

// Coin returns the configured coin named name.
func (c *Config) Coin(name string) (Coin, bool) {
	for _, co := range c.Coins {
		if co.Name == name {
			return co, true
		}
	}
	return Coin{}, false
}

// envReader parses variables into typed fields, recording a problem for
// each value it cannot read. Unlike the Python original, a malformed number
// is an error rather than a silent fall-back to the default.
type envReader struct {
	lookup func(string) (string, bool)
	source func(string) string
	probs  *Problems
}

func (e envReader) get(key string) (string, bool) {
	v, ok := e.lookup(key)
	if !ok {
		return "", false
	}
	return strings.TrimSpace(v), true
}

func (e envReader) str(key string, dst *string) {
	if v, ok := e.get(key); ok && v != "" {
		*dst = v
	}
}

func (e envReader) integer(key string, dst *int) {
	if v, ok := e.get(key); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.probs.add(e.source(key), key, "not an integer: %q", v)
			return
		}
		*dst = n
	}
}

func (e envReader) int64(key string, dst *int64) {
	if v, ok := e.get(key); ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.probs.add(e.source(key), key, "not an integer: %q", v)
			return
		}
		*dst = n
	}
}

func (e envReader) port(key string, dst *int) {
	if v, ok := e.get(key); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			e.probs.add(e.source(key), key, "not a port number 0..65535: %q", v)
			return
		}
		*dst = n
	}
}

// boolean accepts the Bitweb server's spellings: 1/true/yes and 0/false/no.
func (e envReader) boolean(key string, dst *bool) {
	if v, ok := e.get(key); ok && v != "" {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*dst = true
		case "0", "false", "no", "off":
			*dst = false
		default:
			e.probs.add(e.source(key), key, "not a boolean (1/true/yes or 0/false/no): %q", v)
		}
	}
}

func (e envReader) duration(key string, dst *Duration) {
	if v, ok := e.get(key); ok && v != "" {
		d, err := parseDuration(v)
		if err != nil {
			e.probs.add(e.source(key), key, "%v", err)
			return
		}
		*dst = d
	}
}

// parseDuration reads "15s", "1m30s" or a plain number of seconds.
func parseDuration(v string) (Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f <= 0 {
			return 0, fmt.Errorf("duration must be positive, got %q", v)
		}
		return Duration(time.Duration(f * float64(time.Second))), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("not a duration (15s, 2m) or number of seconds: %q", v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration must be positive, got %q", v)
	}
	return Duration(d), nil
}
