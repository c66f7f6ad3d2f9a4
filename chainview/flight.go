package chainview

import (
	"context"
	"sync"
	"time"
)

// flightGroup coalesces concurrent identical backend requests: while a fetch
// for a key runs, later callers with the same key wait for its result
// instead of sending their own request. Keys carry a generation where
// freshness matters, so a caller that arrives after an invalidation never
// joins a fetch that started before it.
//
// The fetch runs in its own goroutine under a context detached from the
// first caller (so one impatient client cannot fail the others) but bounded
// by timeout and by the group's base context, which Service.Close cancels;
// every caller still returns as soon as its own context ends.
type flightGroup[V any] struct {
	base    context.Context
	timeout time.Duration

	mu    sync.Mutex
	calls map[string]*flightCall[V]
}

type flightCall[V any] struct {
	done chan struct{}
	val  V
	err  error
}

func newFlightGroup[V any](base context.Context, timeout time.Duration) *flightGroup[V] {
	return &flightGroup[V]{base: base, timeout: timeout, calls: make(map[string]*flightCall[V])}
}

// do runs fn once for all concurrent callers of key and returns its result.
// shared reports whether this caller joined a fetch another caller started.
func (g *flightGroup[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (v V, shared bool, err error) {
	g.mu.Lock()
	c, ok := g.calls[key]
	if !ok {
		c = &flightCall[V]{done: make(chan struct{})}
		g.calls[key] = c
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
		stop := context.AfterFunc(g.base, cancel)
		go func() {
			defer cancel()
			defer stop()
			c.val, c.err = fn(fctx)
			g.mu.Lock()
			delete(g.calls, key)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, ok, c.err
	case <-ctx.Done():
		var zero V
		return zero, ok, ctx.Err()
	}
}
