package bitweb

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
)

// serveParallel runs GET target through h from all Ps and reports req/s.
func serveParallel(b *testing.B, f *fixture, target string) {
	b.Helper()
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			if rec.Code != 200 {
				b.Errorf("%s: %d %s", target, rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func BenchmarkInfo(b *testing.B) {
	f := newFixture(b)
	seed(f.fb)
	serveParallel(b, f, "/info")
}

// BenchmarkBalanceCached: /balance of a watched address, which the service
// answers from cache until the address's next change event.
func BenchmarkBalanceCached(b *testing.B) {
	f := newFixture(b)
	seed(f.fb)
	if err := f.svc.Watch(context.Background(), shE); err != nil {
		b.Fatal(err)
	}
	serveParallel(b, f, "/balance/"+addrE)
	if n := f.fb.Calls(chainviewtest.MBalance); n != 1 {
		b.Fatalf("cached balance made %d backend calls, want 1", n)
	}
}

// history50 gives addrE 60 confirmed transactions, each spending two
// previous transactions of addrE.
func history50(fb *chainviewtest.Backend) {
	var hist []walletgate.HistoryEntry
	for i := range 60 {
		id := fmt.Sprintf("%064x", i+1)
		var ins []chainviewtest.In
		for j := range 2 {
			p := fmt.Sprintf("%064x", 1000+2*i+j)
			fb.AddTx(p, chainviewtest.VerboseTx{Txid: p, Outs: []chainviewtest.Out{{Value: "1.0", Script: spkE, Address: addrE}}, Blockhash: "b", Blocktime: 5, Confs: 9}.JSON(), "")
			ins = append(ins, chainviewtest.In{Txid: p})
		}
		fb.AddTx(id, chainviewtest.VerboseTx{Txid: id, Ins: ins, Outs: []chainviewtest.Out{
			{Value: "0.5", Script: spkB, Address: "B"}, {Value: "1.4999", Script: spkE, Address: addrE},
		}, Blockhash: "b", Blocktime: 6, Confs: 8}.JSON(), "")
		hist = append(hist, walletgate.HistoryEntry{TxHash: id, Height: int64(10 + i)})
	}
	fb.SetHistory(shE, hist)
}

// BenchmarkHistory50 measures /history?limit=50. "cold" starts every
// request with empty caches and reports the backend round trips it needs:
// one get_history and two transaction batches, whatever the list length.
// "warm" repeats on one service (history within its TTL, confirmed
// transactions cached).
func BenchmarkHistory50(b *testing.B) {
	target := "/history/" + addrE + "?limit=50"
	b.Run("cold", func(b *testing.B) {
		fb := chainviewtest.New()
		history50(fb)
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			svc := chainview.New(fb, chainview.Config{})
			h := New(svc, testDecoder, Config{}, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			svc.Close()
			if rec.Code != 200 || strings.Count(rec.Body.String(), `"direction":"out"`) != 50 {
				b.Fatalf("%d %.200s", rec.Code, rec.Body)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		b.ReportMetric(float64(fb.RoundTrips())/float64(b.N), "backend-round-trips/op")
		b.ReportMetric(float64(fb.Calls(chainviewtest.MTransaction))/float64(b.N), "tx-batches/op")
	})
	b.Run("warm", func(b *testing.B) {
		f := newFixture(b)
		history50(f.fb)
		serveParallel(b, f, target)
		b.ReportMetric(float64(f.fb.RoundTrips())/float64(b.N), "backend-round-trips/op")
	})
}
