package storetest

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// BenchmarkWriteMessage writes 1 KiB messages from writers goroutines (at
// least GOMAXPROCS, rounded to a multiple of it) and reports writes/s. Each
// writer has its own unsequenced channel when channels is 0, else writers
// share channels round-robin; every channel has an owner and a reader token,
// so each message also gets two state rows. Writes to one channel are
// serialised by design (gap-free sequences), so one channel per writer
// measures the store rather than one channel's lock.
func BenchmarkWriteMessage(b *testing.B, s walletgate.ChannelStore, writers, channels int) {
	ctx := context.Background()
	procs := runtime.GOMAXPROCS(0)
	par := max(1, writers/procs)
	if channels <= 0 {
		channels = par * procs
	}
	a, err := s.CreateAccount(ctx, pubKey(b), secret(b))
	if err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	type target struct{ ch, tok int64 }
	var targets []target
	for i := 0; i < channels; i++ {
		ch, err := s.CreateChannel(ctx, walletgate.Channel{ExternalID: secret(b), AccountID: a.ID},
			walletgate.Token{Value: secret(b), Flags: walletgate.TokenRead | walletgate.TokenWrite | walletgate.TokenOwner})
		if err != nil {
			b.Fatalf("CreateChannel: %v", err)
		}
		if _, err := s.CreateToken(ctx, walletgate.Token{ChannelID: ch.ID, Value: secret(b), Flags: walletgate.TokenRead}); err != nil {
			b.Fatalf("CreateToken: %v", err)
		}
		targets = append(targets, target{ch.ID, ch.Tokens[0].ID})
	}
	payload := make([]byte, 1024)
	var next atomic.Int64
	b.SetParallelism(par)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		tg := targets[int(next.Add(1)-1)%len(targets)]
		for pb.Next() {
			if _, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: tg.ch, TokenID: tg.tok,
				ContentType: "application/octet-stream", Payload: payload, Received: time.Now()}); err != nil {
				b.Errorf("WriteMessage: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	// CPU per write does not depend on what else the machine runs, unlike
	// writes/s on a shared box: 1e6 / cpu-µs/write is the rate one idle core
	// would sustain if the disk keeps up.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/write")
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
