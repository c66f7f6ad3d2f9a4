package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/sqlite"
)

// BenchmarkWriteMessage measures message writes from concurrent writers.
// With synchronous=FULL every commit waits for an fsync, so throughput is
// about (writes per group commit) / (fsync latency): group commit turns more
// concurrent writers into bigger batches. Run with -benchtime=10000x or more.
func BenchmarkWriteMessage(b *testing.B) {
	cases := []struct {
		sync              string
		writers, channels int
	}{
		{"FULL", 32, 0},
		{"FULL", 128, 0},
		{"FULL", 32, 1},
		{"NORMAL", 32, 0},
	}
	for _, c := range cases {
		name := fmt.Sprintf("sync=%s/writers=%d/channels=%d", c.sync, c.writers, c.channels)
		if c.channels == 0 {
			name = fmt.Sprintf("sync=%s/writers=%d/channels=%d", c.sync, c.writers, c.writers)
		}
		b.Run(name, func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.sqlite"), sqlite.Options{Synchronous: c.sync})
			if err != nil {
				b.Fatalf("Open: %v", err)
			}
			defer s.Close()
			storetest.BenchmarkWriteMessage(b, s, c.writers, c.channels)
		})
	}
}
