package electrum

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

// benchBalances drives b.N Balance calls from workers goroutines against
// srv and reports calls/s and latency percentiles.
func benchBalances(b *testing.B, srv *electrumtest.Server, workers int, mod func(*Config)) {
	cfg := clientConfig(b, srv)
	cfg.Timeout = 30 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	cl := newClient(b, cfg, nil)
	waitReady(b, cl)
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				bal, err := cl.Balance(ctx, shOf(byte(i%50+1)))
				lat[i] = time.Since(t0)
				if err != nil || bal.Confirmed != (i%50+1)*1000 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d calls failed", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkBalanceFlushRule measures uncached balance calls against a server
// that applies ElectrumX's 1 s flush rule (DESIGN.md target: ≥2,000 calls/s,
// p50 < 50 ms). "no-filler" shows the rule's cost without the filler.
func BenchmarkBalanceFlushRule(b *testing.B) {
	srv := startServer(b, fundedChain(50), electrumtest.Config{FlushRule: true})
	for _, workers := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("callers=%d", workers), func(b *testing.B) { benchBalances(b, srv, workers, nil) })
	}
	b.Run("callers=16/no-filler", func(b *testing.B) {
		benchBalances(b, srv, 16, func(c *Config) { c.NoFlushFiller = true })
	})
}

// BenchmarkPipelinedCalls measures the same calls without the flush rule:
// the client's and test server's own overhead.
func BenchmarkPipelinedCalls(b *testing.B) {
	srv := startServer(b, fundedChain(50), electrumtest.Config{})
	for _, workers := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("callers=%d", workers), func(b *testing.B) { benchBalances(b, srv, workers, nil) })
	}
}

// BenchmarkOutageAnswer measures how long a call takes to fail while the
// server is down (connections refused), with ELECTRUM_TIMEOUT's default of
// 15 s: the original server answered such calls in 10–50 ms; waiting for
// the timeout would show here as 15 s per op. "never-up" starts with the
// server gone; "after-drop" loses a working server first.
func BenchmarkOutageAnswer(b *testing.B) {
	// What a direct client of the same dead server sees: its own refused
	// connect, for the ratio in BENCHMARKS.md.
	b.Run("direct-dial", func(b *testing.B) {
		host, port := closedPort(b)
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		for b.Loop() {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				b.Fatal("the closed port accepted")
			}
		}
	})
	for _, tc := range []struct {
		name string
		down func(b *testing.B) Config
	}{
		{"never-up", func(b *testing.B) Config {
			host, port := closedPort(b)
			return Config{Host: host, Port: port}
		}},
		{"after-drop", func(b *testing.B) Config {
			srv := startServer(b, fundedChain(1), electrumtest.Config{})
			cfg := clientConfig(b, srv)
			cl := newClient(b, cfg, nil)
			waitReady(b, cl)
			cl.Close()
			if err := srv.Down(); err != nil {
				b.Fatal(err)
			}
			return cfg
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := tc.down(b)
			cfg.Timeout = 15 * time.Second
			cl := newClient(b, cfg, nil)
			ctx := context.Background()
			_, _ = cl.Balance(ctx, shOf(1)) // the first attempt's outcome
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.Balance(ctx, shOf(1)); walletgate.ErrorCode(err) != walletgate.EUnavailable {
					b.Fatalf("balance during the outage: %v, want EUnavailable", err)
				}
			}
		})
	}
}
