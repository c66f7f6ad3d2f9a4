package testenv

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogRecorder is a slog.Handler that keeps every record, for tests that
// check where a package logs (its Config.Logger, and never slog's default).
type LogRecorder struct {
	mu    sync.Mutex
	msgs  []string
	lines []string
}

// Enabled records every level.
func (r *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps the record's message, and the message with its attributes.
func (r *LogRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

// WithAttrs returns r: attributes added by With are not kept.
func (r *LogRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }

// WithGroup returns r.
func (r *LogRecorder) WithGroup(string) slog.Handler { return r }

// Messages are the records' messages so far.
func (r *LogRecorder) Messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// Lines are the records' messages with their attributes ("msg k=v ...").
func (r *LogRecorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// RecordDefaultLogger points slog's default logger (and with it the log
// package's output) at a new LogRecorder until t ends, then restores it:
// a package under test must log only through its Config.Logger, so the
// recorder must stay empty. Tests using it must not run in parallel.
func RecordDefaultLogger(t testing.TB) *LogRecorder {
	t.Helper()
	old := slog.Default()
	rec := &LogRecorder{}
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(old) })
	return rec
}
