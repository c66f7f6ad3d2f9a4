package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

// BenchmarkWriteMessage measures message writes from concurrent writers.
// Each write holds its channel's row lock until its commit is flushed, so a
// channel takes about one write per fsync; many channels share fsyncs
// through PostgreSQL's own WAL group flush, if the pool lets enough
// transactions run at once.
func BenchmarkWriteMessage(b *testing.B) {
	cases := []struct {
		writers, channels int
		maxConns          int32
	}{
		{32, 0, 0},
		{32, 0, 32},
		{32, 1, 0},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("writers=%d/channels=%d/maxconns=%d", c.writers, c.channels, c.maxConns), func(b *testing.B) {
			s, err := postgres.Open(context.Background(), testenv.PostgresDB(b), postgres.Options{MaxConns: c.maxConns})
			if err != nil {
				b.Fatalf("Open: %v", err)
			}
			defer s.Close()
			storetest.BenchmarkWriteMessage(b, s, c.writers, c.channels)
		})
	}
}
