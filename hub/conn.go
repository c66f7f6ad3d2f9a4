package hub

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
)

// ErrConnClosed is returned by Watch on a closed connection.
var ErrConnClosed = errors.New("connection closed")

// Conn is one client connection registered with the hub.
type Conn struct {
	hub  *Hub
	coin *coinState
	sink Sink

	pending atomic.Int64 // pushes handed to the sink and not yet done
	dead    atomic.Bool  // overflowed: no more pushes

	// guarded by hub.mu
	closed      bool
	watches     map[walletgate.ScriptHash]*connWatch
	accounts    map[string]struct{} // made on the first account subscribe
	keyFailures int
	// Initial-state pushes (Refresh) waiting for a slot of
	// Config.RefreshWindow, oldest first, and the set of them, so asking
	// again for one that waits costs nothing.
	refreshQ   []refreshReq
	refreshSet map[refreshReq]struct{}
	// refreshSlots counts the initial pushes admitted (in a job, or handed
	// to the sink) and not yet written or dropped.
	refreshSlots int
}

// refreshReq is one initial-state push a connection asked for.
type refreshReq struct {
	sh  walletgate.ScriptHash
	tag string
}

// connWatch is one watched script hash of a connection: the tags the
// transport subscribed it under, and whether the service watch is in place.
type connWatch struct {
	tags  map[string]struct{}
	ready chan struct{} // closed once the service watch succeeded or failed
	err   error
}

// Coin returns the coin the connection belongs to.
func (c *Conn) Coin() string { return c.coin.name }

// Service returns the coin's wallet service, for the transport's reads.
func (c *Conn) Service() *chainview.Service { return c.coin.svc }

// Watch subscribes the connection to script's balance under tag (the
// transport's own name for the subscription: the hub hands it back with
// every push). The first tag of a script hash makes one chainview.Service
// watch; more tags, or the same tag again, cost nothing more. Once the watch
// is in place, announce (if not nil) is called; change pushes can reach the
// subscription only after announce, so a transport can confirm the
// subscription there first. announce must not block. Watch pushes nothing
// itself: call Refresh for the current balance.
func (c *Conn) Watch(ctx context.Context, script chainview.Script, tag string, announce func()) error {
	h, sh := c.hub, script.Hash
	h.mu.Lock()
	for {
		if c.closed {
			h.mu.Unlock()
			return ErrConnClosed
		}
		cw := c.watches[sh]
		if cw == nil {
			break
		}
		// A failed attempt removes its entry under the same lock that marks
		// it ready, so a ready entry seen here succeeded.
		select {
		case <-cw.ready:
			cw.tags[tag] = struct{}{}
			if announce != nil {
				announce()
			}
			h.mu.Unlock()
			return nil
		default:
		}
		// Another Watch of the same script hash is in flight: wait for it.
		h.mu.Unlock()
		select {
		case <-cw.ready:
		case <-ctx.Done():
			return fmt.Errorf("watch %s: %w", sh, ctx.Err())
		}
		h.mu.Lock()
	}
	if len(c.watches) >= h.cfg.MaxWatchesPerConn {
		h.mu.Unlock()
		return walletgate.Errorf(walletgate.ETooLarge, "too many addresses on this connection (max %d)", h.cfg.MaxWatchesPerConn)
	}
	cw := &connWatch{tags: map[string]struct{}{tag: {}}, ready: make(chan struct{})}
	c.watches[sh] = cw
	h.mu.Unlock()

	err := c.coin.svc.Watch(ctx, sh)

	h.mu.Lock()
	if err == nil && c.closed {
		err = ErrConnClosed
		defer c.release(sh)
	}
	if err != nil {
		cw.err = err
		close(cw.ready)
		if c.watches[sh] == cw {
			delete(c.watches, sh)
		}
		h.mu.Unlock()
		return err
	}
	w := c.coin.watchers[sh]
	if w == nil {
		w = &watchers{script: script, conns: make(map[*Conn]struct{})}
		c.coin.watchers[sh] = w
	}
	if announce != nil {
		announce()
	}
	w.conns[c] = struct{}{}
	close(cw.ready)
	h.mu.Unlock()
	return nil
}

// Refresh queues a push of sh's current balance to the connection's
// subscription tag alone (the first push after a subscribe). The payload is
// shared with any change push of sh queued meanwhile. It never blocks: at
// most Config.RefreshWindow of these pushes are handed to the transport at
// a time, and the others wait in the hub, in order, until the client has
// read the earlier ones (see Config.RefreshWindow). They never count
// against Config.QueueSize, so a subscribe of any size up to
// Config.MaxWatchesPerConn does not make a reading client a slow consumer.
func (c *Conn) Refresh(sh walletgate.ScriptHash, tag string) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || c.closed || c.coin.watchers[sh] == nil {
		return
	}
	r := refreshReq{sh, tag}
	if _, waiting := c.refreshSet[r]; waiting {
		return
	}
	if c.refreshSet == nil {
		c.refreshSet = make(map[refreshReq]struct{})
	}
	c.refreshSet[r] = struct{}{}
	c.refreshQ = append(c.refreshQ, r)
	c.admitLocked()
}

// admitLocked turns waiting refreshes into builder jobs while the
// connection has free slots. h.mu must be held.
func (c *Conn) admitLocked() {
	h := c.hub
	for len(c.refreshQ) > 0 && c.refreshSlots < h.cfg.RefreshWindow {
		if h.closed || c.closed || c.dead.Load() {
			c.refreshQ, c.refreshSet = nil, nil
			return
		}
		r := c.refreshQ[0]
		c.refreshQ[0] = refreshReq{}
		c.refreshQ = c.refreshQ[1:]
		delete(c.refreshSet, r)
		if !c.subscribedLocked(r.sh, r.tag) {
			continue // unsubscribed meanwhile
		}
		c.refreshSlots++
		h.addInitialLocked(h.jobLocked(jobKey{coin: c.coin.name, sh: r.sh}), target{c, r.tag})
	}
	if len(c.refreshQ) == 0 {
		c.refreshQ = nil // drop the backing array of a large subscribe
	}
}

// subscribedLocked reports whether the connection watches sh under tag.
// h.mu must be held.
func (c *Conn) subscribedLocked(sh walletgate.ScriptHash, tag string) bool {
	cw := c.watches[sh]
	if cw == nil {
		return false
	}
	_, ok := cw.tags[tag]
	return ok
}

// releaseLocked frees n refresh slots and admits waiting refreshes into
// them. h.mu must be held.
func (c *Conn) releaseLocked(n int) {
	c.refreshSlots -= n
	c.admitLocked()
}

// addInitialLocked adds t, which holds a refresh slot, to j's initial
// pushes; a target already there frees the slot, as one push serves both.
// h.mu must be held.
func (h *Hub) addInitialLocked(j *job, t target) {
	if j.targets == nil {
		j.targets = make(map[target]struct{})
	}
	if _, dup := j.targets[t]; dup {
		t.c.releaseLocked(1)
		return
	}
	j.targets[t] = struct{}{}
}

// Unwatch drops the subscription of sh under tag. When it was the
// connection's last tag for sh, the service watch is released.
func (c *Conn) Unwatch(ctx context.Context, sh walletgate.ScriptHash, tag string) error {
	h := c.hub
	h.mu.Lock()
	cw := c.watches[sh]
	if cw == nil {
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	select {
	case <-cw.ready:
	case <-ctx.Done():
		return fmt.Errorf("unwatch %s: %w", sh, ctx.Err())
	}
	h.mu.Lock()
	if c.watches[sh] != cw || cw.err != nil {
		h.mu.Unlock()
		return nil
	}
	delete(cw.tags, tag)
	if len(cw.tags) > 0 {
		h.mu.Unlock()
		return nil
	}
	c.forgetLocked(sh)
	h.mu.Unlock()
	return c.unwatchService(ctx, sh)
}

// Watches returns how many script hashes the connection watches.
func (c *Conn) Watches() int {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return len(c.watches)
}

// forgetLocked removes sh from the connection and from the coin's
// watchers. h.mu must be held.
func (c *Conn) forgetLocked(sh walletgate.ScriptHash) {
	delete(c.watches, sh)
	if w := c.coin.watchers[sh]; w != nil {
		delete(w.conns, c)
		if len(w.conns) == 0 {
			delete(c.coin.watchers, sh)
		}
	}
}

func (c *Conn) unwatchService(ctx context.Context, sh walletgate.ScriptHash) error {
	if err := c.coin.svc.Unwatch(ctx, sh); err != nil {
		return fmt.Errorf("unwatch %s: %w", sh, err)
	}
	return nil
}

// release undoes the service watch of sh made for a connection that closed
// meanwhile.
func (c *Conn) release(sh walletgate.ScriptHash) {
	ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.UnwatchTimeout)
	defer cancel()
	if err := c.unwatchService(ctx, sh); err != nil {
		c.hub.errorf("hub: release %s of a closed connection: %v", sh, err)
	}
}

// Close unregisters the connection and releases its watches. It is safe
// to call more than once.
func (c *Conn) Close() error {
	h := c.hub
	h.mu.Lock()
	if c.closed {
		h.mu.Unlock()
		return nil
	}
	c.closed = true
	c.refreshQ, c.refreshSet = nil, nil
	delete(c.coin.conns, c)
	for acct := range c.accounts {
		c.dropAccountLocked(acct)
	}
	var shs []walletgate.ScriptHash
	for sh, cw := range c.watches {
		select {
		case <-cw.ready:
			if cw.err == nil {
				shs = append(shs, sh)
				c.forgetLocked(sh)
			}
		default: // in flight: that Watch releases it when it sees closed
		}
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.UnwatchTimeout)
	defer cancel()
	var errs []error
	for _, sh := range shs {
		if err := c.unwatchService(ctx, sh); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// send hands ev to the sink unless the connection is too far behind, in
// which case it is closed as a slow consumer.
func (c *Conn) send(ev *Event, tag string) {
	if c.dead.Load() {
		return
	}
	limit := int64(c.hub.cfg.QueueSize)
	if n := c.pending.Add(1); n > limit {
		c.pending.Add(-1)
		if c.dead.CompareAndSwap(false, true) {
			c.hub.overflows.Add(1)
			reason := fmt.Sprintf("send queue full: %d pushes not yet written (slow consumer)", limit)
			c.hub.cfg.Logger.Info("hub: closing slow connection", "coin", c.coin.name, "reason", reason)
			c.hub.wg.Go(func() { c.sink.Close(reason) })
		}
		return
	}
	var once atomic.Bool
	c.sink.Send(ev, tag, func() {
		if once.CompareAndSwap(false, true) {
			c.pending.Add(-1)
		}
	})
}

// sendInitial hands an initial-state push, which holds a refresh slot, to
// the sink; the slot is freed, and the next waiting refresh admitted, once
// the push is written. It must not be called with h.mu held.
func (c *Conn) sendInitial(ev *Event, tag string) {
	h := c.hub
	var once atomic.Bool
	done := func() {
		if once.CompareAndSwap(false, true) {
			h.mu.Lock()
			c.releaseLocked(1)
			h.mu.Unlock()
		}
	}
	if c.dead.Load() {
		done()
		return
	}
	c.sink.Send(ev, tag, done)
}

// Pending returns how many pushes the transport has not yet written.
func (c *Conn) Pending() int { return int(c.pending.Load()) }
