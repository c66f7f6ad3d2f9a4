package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsMatchBitwebServer(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(LoadOptions{DotenvPath: filepath.Join(dir, "none.env"), Getenv: envFrom(nil)}); err == nil {
		t.Fatalf("an explicitly named missing .env must be an error")
	}
	cfg, err := Load(LoadOptions{Getenv: envFrom(nil), DotenvPath: write(t, dir, ".env", "")})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Server.Host != "0.0.0.0" || cfg.Server.Port != 21223 || cfg.Server.Debug {
		t.Errorf("server = %+v, want 0.0.0.0:21223 debug off", cfg.Server)
	}
	c := cfg.Coins[0]
	b := c.Backend
	if c.Name != "bitweb" || c.Network != "mainnet" || c.FixedFeeSatoshis != 10000 {
		t.Errorf("coin = %+v", c)
	}
	if b.Type != BackendElectrumX || b.Host != "electrumx.example.com" || b.Port != 20002 ||
		b.Timeout.D() != 15*time.Second || b.PoolSize != 4 || !*b.TLS || !*b.VerifyTLS {
		t.Errorf("backend = %+v", b)
	}
	if cfg.SecretKey != "change-me-in-production" || cfg.DefaultCoin != "bitweb" {
		t.Errorf("secret/default coin = %q/%q", cfg.SecretKey, cfg.DefaultCoin)
	}
}

func TestEnvironmentOverridesDotenv(t *testing.T) {
	dir := t.TempDir()
	dot := write(t, dir, ".env", `# Bitweb .env
SECRET_KEY='s3cret'
HOST=127.0.0.1
PORT=8080
export ELECTRUM_HOST="ex.dotenv"
ELECTRUM_PORT=20001 # tcp
ELECTRUM_VERIFY_SSL=no
ELECTRUM_POOL_SIZE=8
FIXED_FEE_SATOSHIS=2500
DEBUG=yes
`)
	cfg, err := Load(LoadOptions{DotenvPath: dot, Getenv: envFrom(map[string]string{
		"PORT": "9090", "ELECTRUM_HOST": "ex.env", "ELECTRUM_TIMEOUT": "2.5",
	})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	b := cfg.Coins[0].Backend
	tests := []struct {
		name      string
		got, want any
	}{
		{"secret from .env", cfg.SecretKey, "s3cret"},
		{"host from .env", cfg.Server.Host, "127.0.0.1"},
		{"port: env beats .env", cfg.Server.Port, 9090},
		{"electrum host: env beats .env", b.Host, "ex.env"},
		{"electrum port, comment stripped", b.Port, 20001},
		{"verify off", *b.VerifyTLS, false},
		{"pool", b.PoolSize, 8},
		{"timeout seconds", b.Timeout.D(), 2500 * time.Millisecond},
		{"fee", cfg.Coins[0].FixedFeeSatoshis, int64(2500)},
		{"debug", cfg.Server.Debug, true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if v, ok := cfg.Lookup("ELECTRUM_PORT"); !ok || v != "20001" {
		t.Errorf("Lookup falls back to .env: got %q %v", v, ok)
	}
}

func TestBadEnvironmentListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	dot := write(t, dir, ".env", "PORT=http\nnot a line\nELECTRUM_VERIFY_SSL=maybe\n")
	_, err := Load(LoadOptions{DotenvPath: dot, Getenv: envFrom(map[string]string{"ELECTRUM_POOL_SIZE": "x", "LOG_FORMAT": "xml"})})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		dot + ":2: expected KEY=VALUE",
		dot + ": PORT: not a port number",
		dot + ": ELECTRUM_VERIFY_SSL: not a boolean",
		"environment: ELECTRUM_POOL_SIZE: not an integer",
		"server.log_format: must be text or json",
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("problems lack %q:\n%s", w, text)
		}
	}
	if n := len(strings.Split(text, "\n")); n != len(probs) {
		t.Errorf("want one line per problem: %d lines, %d problems", n, len(probs))
	}
}

func TestYAMLManyCoins(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "walletgate.yaml", `
server:
  port: 3000
  log_format: json
data_dir: /var/lib/walletgate
database:
  url: postgres://u@db/walletgate
default_coin: btc
coins:
  bitweb:
    network: mainnet
    legacy_versions: {p2pkh: [0x42], p2sh: []}
    backend:
      type: electrumx
      host: electrumx.bitwebcore.net
      port: 20002
      timeout: 10s
  btc:
    network: regtest
    backend:
      type: node
      url: http://u:p@127.0.0.1:18443/
  doge:
    network: testnet
    backend: {type: "null"}
`)
	cfg, err := Load(LoadOptions{ConfigPath: p, DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(nil)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Coins) != 3 || cfg.Coins[0].Name != "bitweb" || cfg.Coins[1].Name != "btc" || cfg.Coins[2].Name != "doge" {
		t.Fatalf("coins in file order: %+v", cfg.Coins)
	}
	if cfg.DefaultCoin != "btc" || cfg.Server.Port != 3000 || cfg.Server.LogFormat != "json" || cfg.Server.Host != "0.0.0.0" {
		t.Errorf("top level: default %q server %+v", cfg.DefaultCoin, cfg.Server)
	}
	bw := cfg.Coins[0]
	if bw.Backend.Timeout.D() != 10*time.Second || bw.Backend.PoolSize != 4 || !*bw.Backend.TLS {
		t.Errorf("electrumx defaults filled: %+v", bw.Backend)
	}
	if bw.LegacyVersions == nil || len(bw.LegacyVersions.P2PKH) != 1 || bw.LegacyVersions.P2PKH[0] != 0x42 || len(bw.LegacyVersions.P2SH) != 0 {
		t.Errorf("legacy versions: %+v", bw.LegacyVersions)
	}
	if b := cfg.Coins[1].Backend; b.URL != "http://u:p@127.0.0.1:18443/" || b.PollInterval.D() != 2*time.Second {
		t.Errorf("node backend: %+v", b)
	}
}

func TestYAMLProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top key", "serve: {}\ncoins: {bitweb: {backend: {type: 'null'}}}\n", []string{"f.yaml: serve: line 1: unknown key"}},
		{"unknown coin", "coins:\n  xmr: {backend: {type: 'null'}}\n", []string{`f.yaml: coins.xmr: unknown coin "xmr"`}},
		{"no coins", "server: {port: 1}\n", []string{"f.yaml: coins: at least one coin is required"}},
		{"option of another backend", "coins:\n  btc:\n    backend: {type: node, url: 'http://x:1/', host: h}\n", []string{"f.yaml: coins.btc.backend.host: line 3: not an option of this backend type"}},
		{"unknown backend type", "coins:\n  btc:\n    backend: {type: ripple}\n", []string{`coins.btc.backend.type: unknown backend type "ripple"`}},
		{"missing electrum host and bad port", "coins:\n  bitweb:\n    backend: {type: electrumx, port: 70000}\n", []string{"coins.bitweb.backend.host: required", "coins.bitweb.backend.port: must be 1..65535"}},
		{"protocol 1.7 refused", "coins:\n  bitweb:\n    backend: {type: electrumx, host: h, port: 1, protocol_max: '1.7'}\n", []string{"protocol_max: must be 1.4"}},
		{"wrong type", "server: {port: abc}\ncoins: {bitweb: {backend: {type: 'null'}}}\n", []string{"cannot unmarshal"}},
		{"bad duration", "coins:\n  btc:\n    backend: {type: node, url: 'http://x:1/', timeout: soon}\n", []string{"not a duration"}},
		{"default coin not configured", "default_coin: ltc\ncoins: {btc: {backend: {type: 'null'}}}\n", []string{`default_coin: "ltc" is not among`}},
		{"unknown network", "coins:\n  doge:\n    network: signet\n    backend: {type: 'null'}\n", []string{"f.yaml: coins.doge.network:", "signet"}},
		{"syntax", "coins: [\n", []string{"f.yaml: yaml:"}},
		{"not a mapping", "- a\n- b\n", []string{"the top level must be a mapping"}},
		{"bad legacy byte", "coins:\n  bitweb:\n    legacy_versions: {p2pkh: [300]}\n    backend: {type: 'null'}\n", []string{"version byte 300 is not 0..255"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := write(t, dir, "f.yaml", tt.yaml)
			_, err := Load(LoadOptions{ConfigPath: p, DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(nil)})
			if err == nil {
				t.Fatalf("want an error")
			}
			text := strings.ReplaceAll(err.Error(), p, "f.yaml")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestConfigFromEnvVariable(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.yaml", "coins: {ltc: {network: testnet, backend: {type: 'null'}}}\n")
	cfg, err := Load(LoadOptions{DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(map[string]string{VarConfig: p, "PORT": "1234"})})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Coins[0].Name != "ltc" || cfg.DefaultCoin != "ltc" || cfg.Server.Port != 1234 {
		t.Errorf("got coins %+v default %q port %d", cfg.Coins, cfg.DefaultCoin, cfg.Server.Port)
	}
}

func TestPeerChannelsListener(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load(LoadOptions{DotenvPath: write(t, dir, ".env", "EXTERNAL_PORT=47124\n"), Getenv: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PeerChannels.Listen != "127.0.0.1:47124" || !cfg.PeerChannels.Enabled {
		t.Errorf("peer channels = %+v", cfg.PeerChannels)
	}
}

func FuzzDotenv(f *testing.F) {
	f.Add("A=1\nB='x y'\n# c\nexport C=\"q\\n\"\n")
	f.Add("=\n'\nA='unterminated\n")
	f.Fuzz(func(t *testing.T, s string) {
		vals, _ := parseDotenv(strings.NewReader(s), "f")
		for k := range vals {
			if k == "" || strings.ContainsAny(k, " \t\"'") {
				t.Fatalf("bad key %q accepted", k)
			}
		}
	})
}

// The README lists the null backend as `type: null`; unquoted, YAML reads
// that as null, and the file still means the null backend. Other YAML
// nulls (~, empty) name no backend and stay refused.
func TestYAMLUnquotedNullBackend(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"flow null", "coins: {btc: {backend: {type: null}}}\n", true},
		{"block Null", "coins:\n  btc:\n    backend:\n      type: Null\n", true},
		{"quoted", "coins: {btc: {backend: {type: 'null'}}}\n", true},
		{"tilde", "coins: {btc: {backend: {type: ~}}}\n", false},
		{"empty", "coins:\n  btc:\n    backend:\n      type:\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := Load(LoadOptions{ConfigPath: write(t, dir, "f.yaml", tt.body), DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(nil)})
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "coins.btc.backend") {
					t.Fatalf("Load = %v, want a problem naming coins.btc.backend", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := cfg.Coins[0].Backend.Type; got != BackendNull {
				t.Fatalf("backend type %q, want %q", got, BackendNull)
			}
		})
	}
}

// EXTERNAL_HOST/PORT naming walletgate's own address (the reference
// server listens there) means the one shared listener, not a second bind
// of the same socket; a different address keeps its own listener.
func TestExternalAddressSharesTheMainListener(t *testing.T) {
	tests := []struct {
		env        string
		wantListen string
	}{
		{"HOST=127.0.0.1\nPORT=21223\nEXTERNAL_HOST=127.0.0.1\nEXTERNAL_PORT=21223\n", ""},
		{"HOST=0.0.0.0\nPORT=21223\nEXTERNAL_HOST=127.0.0.1\nEXTERNAL_PORT=21223\n", ""},
		{"HOST=127.0.0.1\nPORT=21223\nEXTERNAL_HOST=0.0.0.0\nEXTERNAL_PORT=21223\n", ""},
		{"HOST=127.0.0.1\nPORT=21223\nPEER_CHANNELS_LISTEN=127.0.0.1:21223\n", ""},
		{"HOST=127.0.0.1\nPORT=21223\nEXTERNAL_HOST=127.0.0.1\nEXTERNAL_PORT=47124\n", "127.0.0.1:47124"},
		{"HOST=127.0.0.1\nPORT=21223\nEXTERNAL_HOST=127.0.0.2\nEXTERNAL_PORT=21223\n", "127.0.0.2:21223"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		cfg, err := Load(LoadOptions{DotenvPath: write(t, dir, ".env", tt.env), Getenv: envFrom(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.PeerChannels.Listen != tt.wantListen || !cfg.PeerChannels.Enabled {
			t.Errorf("%q: peer channels = %+v, want listen %q", tt.env, cfg.PeerChannels, tt.wantListen)
		}
	}
}

func TestServerTimeouts(t *testing.T) {
	dir := t.TempDir()
	env := write(t, dir, ".env", "")
	cfg, err := Load(LoadOptions{DotenvPath: env, Getenv: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.BodyReadTimeout.D() != 30*time.Second || cfg.Server.WriteTimeout.D() != 30*time.Second {
		t.Fatalf("defaults: body %s write %s", cfg.Server.BodyReadTimeout.D(), cfg.Server.WriteTimeout.D())
	}
	p := write(t, dir, "f.yaml", "server: {write_timeout: 10s, body_read_timeout: 5s}\ncoins: {btc: {backend: {type: node, url: 'http://x:1/', timeout: 10s}}}\n")
	_, err = Load(LoadOptions{ConfigPath: p, DotenvPath: env, Getenv: envFrom(nil)})
	if err == nil || !strings.Contains(err.Error(), "server.write_timeout: 10s must exceed the backend timeout of coin btc (10s)") {
		t.Fatalf("Load = %v, want the write timeout problem", err)
	}
	p = write(t, dir, "g.yaml", "server: {write_timeout: 11s, body_read_timeout: 5s}\ncoins: {btc: {backend: {type: node, url: 'http://x:1/', timeout: 10s}}}\n")
	cfg, err = Load(LoadOptions{ConfigPath: p, DotenvPath: env, Getenv: envFrom(nil)})
	if err != nil || cfg.Server.BodyReadTimeout.D() != 5*time.Second || cfg.Server.WriteTimeout.D() != 11*time.Second {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
}
