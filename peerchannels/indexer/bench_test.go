package indexer_test

import (
	"net/http"
	"testing"
)

// BenchmarkTransactionMirror measures the proxy overhead of one mirrored
// GET /api/v1/transaction/{txid} (client → walletgate → fake indexer).
func BenchmarkTransactionMirror(b *testing.B) {
	e := newEnv(b)
	txid := e.fake.AddTransaction(testTx(1))
	path := "/api/v1/transaction/" + txid.String()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if st, _, body := e.call(http.MethodGet, path, nil, "Accept: "+octet); st != 200 || len(body) == 0 {
			b.Fatalf("status %d", st)
		}
	}
}
