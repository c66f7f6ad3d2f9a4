package walletnotify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a TxNotifier that records what it got and can be told to
// fail chosen hashes.
type recorder struct {
	mu    sync.Mutex
	got   []string // "coin tx|block hash"
	fail  map[string]bool
	wake  chan struct{}
	calls int
}

func newRecorder() *recorder {
	return &recorder{fail: map[string]bool{}, wake: make(chan struct{}, 1000)}
}

func (r *recorder) record(coin, kind, hash string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	defer func() { r.wake <- struct{}{} }()
	if r.fail[hash] {
		return errors.New("node says: Invalid or non-wallet transaction id")
	}
	r.got = append(r.got, coin+" "+kind+" "+hash)
	return nil
}

func (r *recorder) WalletNotify(_ context.Context, coin, txid string) error {
	return r.record(coin, "tx", txid)
}

func (r *recorder) BlockNotify(_ context.Context, coin, hash string) error {
	return r.record(coin, "block", hash)
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// waitFor waits until the recorder holds exactly want (in order).
func (r *recorder) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		got := r.snapshot()
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if len(got) > len(want) {
			t.Fatalf("notified %q, want %q", got, want)
		}
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("timed out: notified %q, want %q", got, want)
		}
	}
}

func hash(n int) string { return fmt.Sprintf("%064x", n) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runIntake runs fn in a goroutine owned by the test and returns a stop
// function that cancels it and waits for its result.
func runIntake(t *testing.T, run func(ctx context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(15 * time.Second):
				err = errors.New("intake did not stop within 15 s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}
