package hub_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

// logRecorder is a slog.Handler that keeps every record's message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// TestLoggerNeverDefault checks that the slow-consumer line goes to
// Config.Logger, and nowhere when it is nil; never to slog's default
// logger (replaced here by a recorder, and restored after).
func TestLoggerNeverDefault(t *testing.T) {
	old := slog.Default()
	defaults := &logRecorder{}
	slog.SetDefault(slog.New(defaults))
	t.Cleanup(func() { slog.SetDefault(old) })
	for _, set := range []bool{true, false} {
		logged := &logRecorder{}
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
		if got := logged.lines(); set && (len(got) != 1 || got[0] != "hub: closing slow connection") {
			t.Fatalf("Config.Logger got %q, want the slow-consumer line", got)
		}
	}
	if l := defaults.lines(); len(l) != 0 {
		t.Fatalf("the default logger got %q", l)
	}
}
