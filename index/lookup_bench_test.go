package index

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkLookupHotAddress builds (outside the timer) a store where one
// script has 10,000 transactions, then measures Balance, History and
// Unspent on it, reporting p50 and p99 latencies.
func BenchmarkLookupHotAddress(b *testing.B) {
	path := filepath.Join(b.TempDir(), "index.db")
	x, err := Open(nil, Options{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	s := newSynth(7, 2000)
	hot := []byte{0x00, 0x14, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}
	const blocks, perBlock = 120, 100
	for h := int64(0); h < blocks; h++ {
		if h >= 20 {
			s.hot = hot
		}
		blk := s.block(h, perBlock)
		if err := x.db.Update(func(tx *bolt.Tx) error { return applyBlock(tx, h, blk, false, 100, nil) }); err != nil {
			b.Fatal(err)
		}
	}
	sh := HashScript(hot)
	hist, _ := x.History(sh)
	utxos, _ := x.Unspent(sh)
	if len(hist) < 9_000 {
		b.Fatalf("hot script has %d txs; want about 10,000", len(hist))
	}
	b.Logf("hot script: %d history entries, %d unspent outputs", len(hist), len(utxos))
	for _, q := range []struct {
		name string
		fn   func() error
	}{
		{"Balance", func() error { _, err := x.Balance(sh); return err }},
		{"History", func() error { _, err := x.History(sh); return err }},
		{"Unspent", func() error { _, err := x.Unspent(sh); return err }},
		{"Status", func() error { _, err := x.Status(sh); return err }},
	} {
		b.Run(q.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := q.fn(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
		})
	}
}
