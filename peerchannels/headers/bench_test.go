package headers_test

import (
	"testing"

	"github.com/walletgate/walletgate/peerchannels/headers"
)

// BenchmarkByHeightBinary2000 serves the largest by-height request: 2000
// headers fetched as JSON from (fake) HeaderSV, rebuilt, hash-checked and
// sent as 160,000 bytes.
func BenchmarkByHeightBinary2000(b *testing.B) {
	e := newEnv(b, 2100)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, _, body := e.get(b, "/api/v1/headers/by-height?height=1&count=2000", octet)
		if st != 200 || len(body) != 2000*headers.HeaderSize {
			b.Fatalf("status %d, %d bytes", st, len(body))
		}
	}
}

// BenchmarkHeaderRaw measures rebuilding one header from its JSON fields
// (with the hash check), the per-header cost of every binary answer.
func BenchmarkHeaderRaw(b *testing.B) {
	e := newEnv(b, 1)
	h := headers.HeaderFromWire(e.fake.HeaderAt(1), 1, "2")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Raw(); err != nil {
			b.Fatal(err)
		}
	}
}
