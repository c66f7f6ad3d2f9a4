package electrum

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// errNoConnection marks a call failed at once because no connection to the
// server is up and the last attempt to make one failed: waiting for its
// deadline would only make the caller wait for an answer that cannot come
// (a dead ElectrumX refuses in milliseconds; the original server answered
// in 10–50 ms).
var errNoConnection = errors.New("electrum: no connection to the server")

// downError is errNoConnection with the reason the last connection attempt
// failed (or the last connection ended).
type downError struct{ last error }

func (e *downError) Error() string {
	if e.last == nil {
		return errNoConnection.Error()
	}
	return fmt.Sprintf("%v: %v", errNoConnection, e.last)
}

// Unwrap gives errNoConnection only: last may hold a server's JSON-RPC
// error (a refused server.version), which must not pass for an answer to
// this call (see Client.mapErr) nor trigger the -101/-102 retries.
func (e *downError) Unwrap() error { return errNoConnection }

// health is the reachability of one part of a client (the pool, the
// subscriber) as its callers need it: can a call be sent now, should it
// wait a moment for a connection that is being made, or must it fail at
// once?
type health struct {
	mu sync.Mutex
	// live counts connections that take calls now.
	live int
	// hopeful: none is up, but one is expected shortly, so callers wait
	// (within their deadline) rather than fail. True at start, before the
	// first attempt ended; after a connection dropped, until the attempt
	// that replaces it ended; and after a sibling connection of the same
	// client got through (the server is back; this part redials now, or
	// after its backoff when patient, see redial). A failed attempt while
	// none is live clears it.
	hopeful bool
	// last is why the latest attempt failed or the latest connection ended.
	last error
	// changed is closed, and replaced, on every change.
	changed chan struct{}
}

func newHealth() *health { return &health{hopeful: true, changed: make(chan struct{})} }

func (h *health) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// up records a connection that takes calls from now on.
func (h *health) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live++
	h.notifyLocked()
}

// down records that a connection counted by up ended, because of err.
// wait says whether callers wait for the attempt that replaces it (see
// redial.ended) and fail at once only if that fails.
func (h *health) down(err error, wait bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live--
	h.last = err
	if h.live == 0 {
		h.hopeful = wait
	}
	h.notifyLocked()
}

// failed records an attempt to connect that failed with err.
func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = err
	if h.live == 0 {
		h.hopeful = false
	}
	h.notifyLocked()
}

// hope records that a connection is expected shortly (see hopeful).
func (h *health) hope() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live == 0 && !h.hopeful {
		h.hopeful = true
		h.notifyLocked()
	}
}

// healthState is a snapshot of a health.
type healthState struct {
	live    int
	hopeful bool
	last    error
	changed <-chan struct{}
}

// unreachable reports the error a call must fail with at once, or nil when
// it may be sent or waited for.
func (st healthState) unreachable() error {
	if st.live > 0 || st.hopeful {
		return nil
	}
	return &downError{last: st.last}
}

func (h *health) state() healthState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return healthState{live: h.live, hopeful: h.hopeful, last: h.last, changed: h.changed}
}

// reach ties the parts of one client together: a connection of any of them
// that gets through shows the server is back, so the others stop sleeping
// in their reconnect backoff and redial now, and their callers wait for that
// instead of failing.
type reach struct {
	mu    sync.Mutex
	wake  chan struct{} // closed, and replaced, when a connection got through
	parts []*health
}

func newReach(parts ...*health) *reach {
	return &reach{wake: make(chan struct{}), parts: parts}
}

// connected is called when a connection of the client got through.
func (r *reach) connected() {
	r.mu.Lock()
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
	for _, h := range r.parts {
		h.hope()
	}
}

// sleep waits d, or less when a connection of the client gets through
// meanwhile; it returns false when ctx ends first.
func (r *reach) sleep(ctx context.Context, d time.Duration) bool {
	r.mu.Lock()
	wake := r.wake
	r.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// redial is the reconnect schedule of one connection slot (a pool slot, the
// subscriber): exponential backoff with jitter after failed attempts; a
// connection that served at least BackoffMin is redialled at once (one
// reconnect, as the original server made), and the backoff resets once one
// served BackoffMax; one that broke sooner, or after -101, waits the backoff
// first, so a server that drops every session cannot make the client spin.
// The wait is cut short when another connection of the client gets through
// (the server is back) — except after such a short-lived connection or
// -101, where the server asked for less and a wake-up would only make every
// part spin together.
type redial struct {
	cfg     *Config
	backoff time.Duration
	now     bool // the next attempt goes at once
	patient bool // the backoff is waited out in full
}

// wait sleeps until the next attempt is due; false means ctx ended first.
func (r *redial) wait(ctx context.Context, rc *reach) bool {
	if r.backoff == 0 || r.now {
		r.now = false
		return ctx.Err() == nil
	}
	if r.patient {
		return sleepCtx(ctx, jitter(r.backoff))
	}
	return rc.sleep(ctx, jitter(r.backoff))
}

// failed records a failed attempt and returns the next backoff.
func (r *redial) failed() time.Duration {
	r.backoff, r.now, r.patient = nextBackoff(r.backoff, r.cfg), false, false
	return r.backoff
}

// ended records the end of a connection that served for served; excessive
// says the server answered -101. It reports whether callers should wait
// for the next attempt (health.down): yes after a drop — the original
// server's one reconnect, which makes a dropped session invisible while the
// server is up, and a server that keeps dropping sessions is up — but not
// after -101, when the server asked to be left alone.
func (r *redial) ended(served time.Duration, excessive bool) bool {
	r.now, r.patient = false, false
	switch {
	case excessive:
		r.backoff, r.patient = nextBackoff(max(r.backoff, r.cfg.BackoffMin), r.cfg), true
	case served > r.cfg.BackoffMax:
		r.backoff = 0
	case served >= r.cfg.BackoffMin:
		r.now = true
	default:
		r.backoff, r.patient = nextBackoff(r.backoff, r.cfg), true
	}
	return !excessive
}
