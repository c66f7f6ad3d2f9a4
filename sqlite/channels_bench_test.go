package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/walletgate/walletgate/internal/storetest"
)

// BenchmarkWriteMessage measures message writes from 32 concurrent writers
// (16 per core on the 2-core target) with synchronous=FULL; group commit is
// what lets them share fsyncs. Run with -benchtime=5000x or longer.
func BenchmarkWriteMessage(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "bench.sqlite"))
	defer s.Close()
	storetest.BenchmarkWriteMessage(b, s)
}
