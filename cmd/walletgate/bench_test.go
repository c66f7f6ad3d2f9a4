package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

// BenchmarkWholeServer measures the real walletgate process over loopback
// HTTP with 64 keep-alive connections, against an Electrum server that
// applies ElectrumX's 1 s flush rule (spec §7.1). It reports requests per
// second and latency percentiles per endpoint. Run with:
//
//	go test -run '^$' -bench WholeServer -benchtime 20000x ./cmd/walletgate
func BenchmarkWholeServer(b *testing.B) {
	mc := electrumtest.NewMemChain()
	params, _ := chain.Lookup("bitweb", "regtest")
	script, _ := hex.DecodeString("001462e907b15cbf27d5425399ebf6f0fb50ebb88f18")
	addr, err := params.Encode(script)
	if err != nil {
		b.Fatal(err)
	}
	mc.Mine(150)
	mc.Pay(script, 5_0000_0000)
	mc.Mine(1)
	srv, err := electrumtest.NewServer(mc, electrumtest.Config{FlushRule: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Addr())
	bin := buildBinary(b)
	p := startProc(b, bin, b.TempDir(), freePort(b), "WALLETGATE_NETWORK=regtest", "ELECTRUM_PORT="+port,
		"ELECTRUM_TLS=false", "ELECTRUM_TIMEOUT=15", "LOG_LEVEL=warn")

	// Distinct addresses, so neither caching nor request coalescing can
	// answer for the backend: every request is one ElectrumX call.
	var distinct []string
	for i := 0; i < 5000; i++ {
		spk := append([]byte{0x00, 0x14}, make([]byte, 20)...)
		binary.BigEndian.PutUint64(spk[2:], uint64(i))
		a, _ := params.Encode(spk)
		distinct = append(distinct, p.base+"/balance/"+a)
	}
	for _, tc := range []struct {
		name string
		urls []string
	}{
		{"info", []string{p.base + "/info"}},
		{"fee", []string{p.base + "/fee"}},
		{"balance-one-address", []string{p.base + "/balance/" + addr}},
		{"balance-distinct-addresses-flushrule", distinct},
	} {
		b.Run(tc.name, func(b *testing.B) { load(b, tc.urls, 64) })
	}
}

// load sends b.N GETs, round-robin over urls, from conc keep-alive connections and reports
// req/s, p50 and p99.
func load(b *testing.B, urls []string, conc int) {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// Warm up: connections, caches, the backend pool.
	for i := 0; i < conc; i++ {
		if resp, err := client.Get(urls[0]); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([][]time.Duration, conc)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[int(n)%len(urls)], nil)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
}
