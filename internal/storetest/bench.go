package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// BenchmarkParallelism is the number of writer goroutines per GOMAXPROCS in
// BenchmarkWriteMessage.
const BenchmarkParallelism = 16

// BenchmarkWriteMessage writes 1 KiB messages from many goroutines into 8
// unsequenced channels (each with an owner and a reader token, so every
// message also gets two state rows) and reports writes/s.
func BenchmarkWriteMessage(b *testing.B, s walletgate.ChannelStore) {
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, pubKey(b), secret(b))
	if err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	type target struct{ ch, tok int64 }
	var targets []target
	for i := 0; i < 8; i++ {
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
	b.SetParallelism(BenchmarkParallelism)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		tg := targets[int(next.Add(1))%len(targets)]
		for pb.Next() {
			if _, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: tg.ch, TokenID: tg.tok,
				ContentType: "application/octet-stream", Payload: payload, Received: time.Now()}); err != nil {
				b.Errorf("WriteMessage: %v", err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
}
