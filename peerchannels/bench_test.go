package peerchannels

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkMessageWrite writes 256-byte JSON messages through the HTTP
// handler of a real server on SQLite, from parallel clients, with one
// /notify websocket listening. It reports writes/s and the write→notice
// latency (from the start of the POST to the notice's arrival) at p50 and
// p99.
func BenchmarkMessageWrite(b *testing.B) {
	e := newEnv(b)
	key, _ := e.account()
	ch := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	url := e.srv.URL + "/api/v1/channel/" + ch.ID
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	sock := e.mustDial("/api/v1/channel/" + ch.ID + "/notify?token=" + owner)
	sock.SetReadLimit(1 << 20)
	var (
		mu      sync.Mutex
		started = map[int64]time.Time{}
		arrived = map[int64]time.Time{}
	)
	readDone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer close(readDone)
		for {
			_, data, err := sock.Read(ctx)
			if err != nil {
				return
			}
			now := time.Now()
			var n noticeJSON
			if json.Unmarshal(data, &n) == nil {
				mu.Lock()
				arrived[n.Sequence] = now
				mu.Unlock()
			}
		}
	}()
	payload := `{"data":"` + strings.Repeat("a", 244) + `"}`

	b.SetParallelism(16)
	b.ResetTimer()
	cpu0 := processCPU(b)
	begin := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rq, _ := http.NewRequest("POST", url, strings.NewReader(payload))
			rq.Header.Set("Authorization", "Bearer "+owner)
			rq.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(rq)
			if err != nil {
				b.Error(err)
				return
			}
			var m messageJSON
			err = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != 200 || err != nil {
				b.Errorf("write: %d %v", resp.StatusCode, err)
				return
			}
			mu.Lock()
			started[m.Sequence] = t0
			mu.Unlock()
		}
	})
	elapsed := time.Since(begin)
	cpu := processCPU(b) - cpu0
	b.StopTimer()

	// Wait for the last notices, then compute latencies.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n >= len(started) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	sock.Close(websocket.StatusNormalClosure, "")
	<-readDone
	var lat []time.Duration
	for seq, t0 := range started {
		if t1, ok := arrived[seq]; ok {
			lat = append(lat, t1.Sub(t0))
		}
	}
	if len(lat) != len(started) {
		b.Fatalf("%d of %d writes reached the websocket", len(lat), len(started))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(started))/elapsed.Seconds(), "writes/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	// CPU per write (server, store and the in-process clients together)
	// tells what the code costs when the machine is shared and wall-clock
	// rates mostly measure the neighbours.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(started)), "cpu-µs/write")
}

// processCPU is the process's user+system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
