package hub_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/internal/testenv"
)

// TestLoggerNeverDefault checks that the slow-consumer line goes to
// Config.Logger, and nowhere when it is nil; never to slog's default
// logger (replaced here by a recorder, and restored after).
func TestLoggerNeverDefault(t *testing.T) {
	defaults := testenv.RecordDefaultLogger(t)
	for _, set := range []bool{true, false} {
		logged := &testenv.LogRecorder{}
		cfg := hub.Config{QueueSize: 1}
		if set {
			cfg.Logger = slog.New(logged)
		}
		e := newEnv(t, cfg)
		slow := newSink(true)
		e.connect(t, slow)
		for h := range int64(2) {
			e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: coin, Tip: walletgate.Tip{Height: 300 + h}})
		}
		select {
		case <-slow.closeC:
		case <-time.After(5 * time.Second):
			t.Fatal("slow client was not closed")
		}
		if got := logged.Messages(); set && (len(got) != 1 || got[0] != "hub: closing slow connection") {
			t.Fatalf("Config.Logger got %q, want the slow-consumer line", got)
		}
	}
	if l := defaults.Messages(); len(l) != 0 {
		t.Fatalf("the default logger got %q", l)
	}
}
