package electrum

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of the client. Zero values take the defaults
// noted on each field (see Defaults).
type Config struct {
	// Host and Port of the ElectrumX server (ELECTRUM_HOST, ELECTRUM_PORT).
	Host string
	Port int
	// TLS dials TLS (≥1.2, SNI = Host) instead of plain TCP.
	TLS bool
	// SkipVerify turns off certificate and host name checks
	// (ELECTRUM_VERIFY_SSL=false).
	SkipVerify bool
	// Timeout bounds the connect and every call, retries included
	// (ELECTRUM_TIMEOUT; default 15 s). A caller's earlier deadline wins.
	Timeout time.Duration
	// PoolSize is the number of request connections (ELECTRUM_POOL_SIZE;
	// default 4). The subscriber has its own connection besides.
	PoolSize int
	// ProtocolMin and ProtocolMax are offered to server.version (default
	// "1.4" and "1.4", as the original server). At most "1.6": 1.7 removed
	// the scripthash methods.
	ProtocolMin, ProtocolMax string
	// MaxInFlight bounds request lines awaiting replies per connection
	// (default 10, ElectrumX's INITIAL_CONCURRENT). A batch line counts once.
	MaxInFlight int
	// MaxBatch bounds the calls coalesced into one batch line (default 50).
	MaxBatch int
	// PingInterval is the send-idleness after which a connection sends
	// server.ping (default 300 s; ElectrumX reaps after 600 s of silence).
	PingInterval time.Duration
	// StallTimeout replaces a connection whose oldest request has waited
	// this long (default 60 s; ElectrumX itself gives up after 30 s).
	StallTimeout time.Duration
	// BackoffMin and BackoffMax bound the jittered exponential backoff of
	// reconnects and of -101/-102 retries (default 250 ms and 30 s).
	BackoffMin, BackoffMax time.Duration
	// MaxLine is the longest reply line accepted; a longer one breaks the
	// connection (default 8,200,000 bytes, above ElectrumX's MAX_SEND).
	MaxLine int
	// MaxRetries bounds retries of a call answered -101 or -102 (default 3).
	MaxRetries int
	// ClientName is sent in server.version (default "walletgate").
	ClientName string
	// FlushHold is how long the server may hold a small reply (ElectrumX
	// ≥1.18 flush rule, 1 s) and FlushBytes the buffered size that releases
	// it (1024). See NoFlushFiller.
	FlushHold  time.Duration
	FlushBytes int
	// NoFlushFiller turns off the flush filler: by default a batch sent on a
	// connection the server would hold (busy, or answered within FlushHold)
	// whose replies would be under FlushBytes gets an extra
	// blockchain.block.headers(0, 8) item (or, on chains under 8 blocks,
	// blockchain.block.header(0) items) so that its reply alone releases the
	// server's buffer at once.
	NoFlushFiller bool
}

// Defaults returns c with every zero setting replaced by its default.
func (c Config) Defaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Timeout, 15*time.Second)
	defi(&c.PoolSize, 4)
	if c.ProtocolMin == "" {
		c.ProtocolMin = "1.4"
	}
	if c.ProtocolMax == "" {
		c.ProtocolMax = c.ProtocolMin
	}
	defi(&c.MaxInFlight, 10)
	defi(&c.MaxBatch, 50)
	def(&c.PingInterval, 300*time.Second)
	def(&c.StallTimeout, 60*time.Second)
	def(&c.BackoffMin, 250*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	defi(&c.MaxLine, 8_200_000)
	defi(&c.MaxRetries, 3)
	if c.ClientName == "" {
		c.ClientName = "walletgate"
	}
	def(&c.FlushHold, time.Second)
	defi(&c.FlushBytes, 1024)
	return c
}

// Validate reports every bad setting of c (after Defaults) in one error.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Host == "" {
		bad("electrum: host is empty")
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("electrum: port %d is not in 1..65535", c.Port)
	}
	minV, okMin := parseVersion(c.ProtocolMin)
	maxV, okMax := parseVersion(c.ProtocolMax)
	if !okMin {
		bad("electrum: protocol min %q is not a version like 1.4", c.ProtocolMin)
	}
	if !okMax {
		bad("electrum: protocol max %q is not a version like 1.4", c.ProtocolMax)
	}
	if okMin && okMax {
		if versionCmp(minV, maxV) > 0 {
			bad("electrum: protocol min %s is above max %s", c.ProtocolMin, c.ProtocolMax)
		}
		if versionCmp(minV, [3]int{1, 4}) < 0 {
			bad("electrum: protocol min %s is below 1.4 (raw headers and scripthash methods need 1.4)", c.ProtocolMin)
		}
		if versionCmp(maxV, [3]int{1, 6, 999}) > 0 {
			bad("electrum: protocol max %s is above 1.6: 1.7 removed the blockchain.scripthash methods this client uses", c.ProtocolMax)
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"pool size", c.PoolSize}, {"max in-flight", c.MaxInFlight}, {"max batch", c.MaxBatch}, {"max line", c.MaxLine}, {"flush bytes", c.FlushBytes}} {
		if p.v < 1 {
			bad("electrum: %s must be at least 1, got %d", p.name, p.v)
		}
	}
	if c.MaxRetries < 0 {
		bad("electrum: max retries must not be negative, got %d", c.MaxRetries)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", c.Timeout}, {"ping interval", c.PingInterval}, {"stall timeout", c.StallTimeout}, {"backoff min", c.BackoffMin}, {"backoff max", c.BackoffMax}, {"flush hold", c.FlushHold}} {
		if d.v <= 0 {
			bad("electrum: %s must be positive, got %s", d.name, d.v)
		}
	}
	if c.BackoffMin > c.BackoffMax {
		bad("electrum: backoff min %s is above backoff max %s", c.BackoffMin, c.BackoffMax)
	}
	return errors.Join(errs...)
}

// parseVersion reads "1.4" or "1.4.2".
func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) == 0 || len(p) > 4 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

func versionCmp(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// versionAtLeast reports whether negotiated version v is ≥ want.
func versionAtLeast(v, want string) bool {
	a, ok1 := parseVersion(v)
	b, ok2 := parseVersion(want)
	return ok1 && ok2 && versionCmp(a, b) >= 0
}
