package deposits_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/deposits"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
	"github.com/walletgate/walletgate/sqlite"
)

// benchStores opens each store the machine has: SQLite always, PostgreSQL
// when WALLETGATE_TEST_POSTGRES is set.
func benchStores(b *testing.B) map[string]walletgate.DepositStore {
	b.Helper()
	out := map[string]walletgate.DepositStore{}
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.sqlite"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	out["sqlite"] = st
	if os.Getenv(testenv.VarPostgres) != "" {
		pg, err := postgres.Open(context.Background(), testenv.PostgresDB(b), postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pg.Close() })
		out["postgres"] = pg.Deposits(postgres.DepositOptions{})
	}
	return out
}

// BenchmarkWalletNotify measures a walletnotify from the tracker's side:
// fetch the (in-memory) wallet transaction, apply it in one serializable
// commit that credits nothing yet and queues one event per registered
// handler (two here). Each op is a new txid to one of 1,000 watched
// addresses, run from 8 goroutines per CPU as concurrent intakes would.
func BenchmarkWalletNotify(b *testing.B) {
	for name, store := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			w := newScripted()
			for _, h := range []string{"app", "bus"} {
				if err := store.RegisterHandler(ctx, h); err != nil {
					b.Fatal(err)
				}
			}
			const addrs = 1000
			for i := 0; i < addrs; i++ {
				if _, err := store.AddWatch(ctx, walletgate.Watch{Coin: "btc", Address: fmt.Sprintf("bench-%s-%d", name, i), Account: fmt.Sprintf("acct-%d", i%50)}); err != nil {
					b.Fatal(err)
				}
			}
			base := int(b.N) * 7919
			for i := 0; i < b.N; i++ {
				w.set(receive(txid(base+i), 0, fmt.Sprintf("bench-%s-%d", name, i%addrs), 10_000+int64(i)))
			}
			tr, err := deposits.New(store, map[string]deposits.Coin{"btc": {Wallet: w}}, deposits.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism(8) // 8 x GOMAXPROCS concurrent notifies
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1) - 1)
					if err := tr.WalletNotify(ctx, "btc", txid(base+i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifies/s")
		})
	}
}
