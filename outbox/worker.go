package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/walletgate/walletgate"
)

// WorkerOptions tunes a Worker. Zero fields take the defaults named on each.
type WorkerOptions struct {
	// Batch is how many events one claim takes (default 16).
	Batch int
	// Lease is how long claimed events stay reserved for this worker; it
	// must outlast Batch deliveries, or a slow batch is delivered twice
	// (default 5m).
	Lease time.Duration
	// MinBackoff and MaxBackoff bound the retry delay, which doubles with
	// each consecutive failure of the handler (defaults 1s and 5m).
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often an idle worker looks for events nobody woke it
	// for, such as those written by another process (default 1s).
	Poll time.Duration
	// MaxErrorText is how much of a failure's text is stored with the
	// event for operators (default 1000 bytes).
	MaxErrorText int
	// ReleaseTimeout bounds each claim and the hand-back of unfinished
	// events at shutdown, which run to completion despite cancellation
	// (default 5s).
	ReleaseTimeout time.Duration
	// Logger receives delivery failures (default: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests may replace it.
	Now func() time.Time
}

func (o WorkerOptions) withDefaults() WorkerOptions {
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Minute, o.MinBackoff)
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxErrorText <= 0 {
		o.MaxErrorText = 1000
	}
	if o.ReleaseTimeout <= 0 {
		o.ReleaseTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Worker drains one handler's outbox. Its owner calls Run and stops it by
// cancelling Run's context.
type Worker struct {
	store    walletgate.DepositStore
	h        Handler
	o        WorkerOptions
	wake     chan struct{}
	failures int // consecutive; owned by Run's goroutine
}

// NewWorker returns a worker delivering store's events for h.
func NewWorker(store walletgate.DepositStore, h Handler, o WorkerOptions) *Worker {
	return &Worker{store: store, h: h, o: o.withDefaults(), wake: make(chan struct{}, 1)}
}

// Wake tells the worker new events may be waiting; it never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Register records the handler's queue in the store, so events applied
// from now on are kept for it even before Run starts. Run calls it too.
func (w *Worker) Register(ctx context.Context) error {
	if err := w.store.RegisterHandler(ctx, w.h.Name()); err != nil {
		return fmt.Errorf("outbox: register handler %q: %w", w.h.Name(), err)
	}
	return nil
}

// Run delivers events until ctx ends, then returns ctx's error.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Register(ctx); err != nil {
		return err
	}
	for {
		delay := w.o.Poll
		n, err := w.drainOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			w.o.Logger.Warn("outbox: outbox claim failed", "handler", w.h.Name(), "err", err)
			delay = w.backoff()
		case w.failures > 0:
			delay = w.backoff()
		case n > 0:
			continue // more may be waiting
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-w.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// backoff is the current retry delay: MinBackoff doubled per consecutive
// failure, capped at MaxBackoff.
func (w *Worker) backoff() time.Duration {
	d := w.o.MinBackoff
	for i := 1; i < w.failures && d < w.o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.o.MaxBackoff)
}

var errHeldBack = errors.New("held back: an earlier delivery of this batch failed")

// drainOnce claims one batch and delivers it, returning how many were
// claimed. A delivery failure holds that event (and so its address's
// later events) back for the backoff; other addresses go on.
func (w *Worker) drainOnce(ctx context.Context) (int, error) {
	// The claim is not cut short by ctx: a cancelled wait could leave rows
	// leased that this worker never learns about, stuck until the lease
	// expires. Instead it finishes, and a shutdown releases what it got.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.o.ReleaseTimeout)
	items, err := w.store.ClaimOutbox(cctx, w.h.Name(), w.o.Batch, w.o.Lease, w.o.Now())
	cancel()
	if err != nil {
		return 0, err
	}
	if ctx.Err() != nil {
		w.release(ctx, items)
		return len(items), nil
	}
	failed := false
	for i, it := range items {
		var err error
		if failed {
			// The handler just failed: most likely its receiver is down,
			// so the rest of the batch waits out the backoff untried.
			err = errHeldBack
		} else {
			// The payload goes out as it was queued: never re-encoded,
			// so every attempt, by any binary, delivers the same bytes.
			err = w.h.Deliver(ctx, it.Event, it.Payload)
		}
		if ctx.Err() != nil {
			// Shutting down: hand the unfinished rest back at once rather
			// than leave it leased (and stuck) until the lease expires.
			w.release(ctx, items[i:])
			return len(items), nil
		}
		if err != nil {
			if !failed {
				failed = true
				w.failures++
			}
			msg := err.Error()
			if len(msg) > w.o.MaxErrorText {
				msg = msg[:w.o.MaxErrorText]
			}
			if err != errHeldBack {
				w.o.Logger.Warn("outbox: delivery failed", "handler", w.h.Name(), "event", it.Event.EventID, "attempt", it.Attempts, "err", err)
			}
			if rerr := w.store.RetryOutbox(ctx, w.h.Name(), it.ID, w.o.Now().Add(w.backoff()), msg); rerr != nil {
				return len(items), rerr
			}
			continue
		}
		if err := w.store.AckOutbox(ctx, w.h.Name(), it.ID); err != nil {
			return len(items), err
		}
	}
	if !failed && len(items) > 0 {
		w.failures = 0
	}
	return len(items), nil
}

// release returns claimed items to the queue, due now, after ctx ended.
// An event being delivered when ctx ended may still have arrived: that is
// the at-least-once repeat receivers dedupe by event_id.
func (w *Worker) release(ctx context.Context, items []walletgate.OutboxItem) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.o.ReleaseTimeout)
	defer cancel()
	for _, it := range items {
		if err := w.store.RetryOutbox(rctx, w.h.Name(), it.ID, w.o.Now(), "released at shutdown"); err != nil {
			w.o.Logger.Warn("outbox: release at shutdown failed; the lease will expire", "handler", w.h.Name(), "event", it.Event.EventID, "err", err)
			return
		}
	}
}
