// Command wgload measures a running walletgate from outside, the way a
// fleet of wallets sees it: it keeps a fixed number of keep-alive
// connections busy with GET requests for a bounded time and prints requests
// per second and latency percentiles. It refuses targets off loopback, so a
// mistyped URL can never load someone else's server.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one run measured.
type result struct {
	URLs        []string `json:"urls"`
	Concurrency int      `json:"concurrency"`
	Seconds     float64  `json:"seconds"`
	Requests    int64    `json:"requests"`
	Errors      int64    `json:"errors"`
	NonOK       int64    `json:"non_2xx"`
	RPS         float64  `json:"requests_per_second"`
	P50ms       float64  `json:"p50_ms"`
	P90ms       float64  `json:"p90_ms"`
	P99ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
}

func main() {
	conc := flag.Int("c", 64, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "how long to run (at most 5m)")
	maxReq := flag.Int64("n", 0, "stop after this many requests (0: only the duration bounds it)")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: wgload [flags] URL [URL...]\n\nRequests the URLs round-robin from -c connections for -d and prints req/s and latency percentiles.\nOnly loopback targets are allowed.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *dur <= 0 || *dur > 5*time.Minute || *conc < 1 || *conc > 10000 {
		fmt.Fprintln(os.Stderr, "wgload: -d must be in (0, 5m] and -c in [1, 10000]")
		os.Exit(2)
	}
	for _, u := range flag.Args() {
		if err := checkLoopback(u); err != nil {
			fmt.Fprintf(os.Stderr, "wgload: %v\n", err)
			os.Exit(2)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	r := run(ctx, flag.Args(), *conc, *maxReq, *timeout)
	if *asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("%d requests in %.1fs over %d connections: %.0f req/s; p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %d errors, %d non-2xx\n",
		r.Requests, r.Seconds, r.Concurrency, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors, r.NonOK)
}

// checkLoopback refuses any URL whose host is not a loopback address.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("not an http(s) URL: %q", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q is not a loopback address; wgload only loads servers on this machine", host)
	}
	return nil
}

func run(ctx context.Context, urls []string, conc int, maxReq int64, timeout time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	var seq, errs, nonOK atomic.Int64
	lat := make([][]time.Duration, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				// One shared sequence both bounds the run and picks the URL,
				// so the URLs get equal shares whatever the workers' speeds.
				n := seq.Add(1)
				if maxReq > 0 && n > maxReq {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[(n-1)%int64(len(urls))], nil)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
						errs.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					nonOK.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	return result{
		URLs: urls, Concurrency: conc, Seconds: elapsed.Seconds(), Requests: int64(len(all)),
		Errors: errs.Load(), NonOK: nonOK.Load(), RPS: float64(len(all)) / elapsed.Seconds(),
		P50ms: pct(0.50), P90ms: pct(0.90), P99ms: pct(0.99), MaxMs: pct(1),
	}
}
