package hub

import (
	"context"
	"encoding/json"
	"time"

	"github.com/walletgate/walletgate"
)

// jobKey names one coalesced push: a script hash's balance. (Block pushes
// need no build: Hub.onBlock sends them at once.)
type jobKey struct {
	coin string
	sh   walletgate.ScriptHash
}

// target is one subscription of one connection.
type target struct {
	c   *Conn
	tag string
}

// job accumulates the requests for one key until a builder takes it.
// Requests that arrive while a builder runs the key wait in a fresh job,
// so one key is never built twice at once and a newer state is never
// overtaken by an older one.
type job struct {
	all     bool                // every watcher (a change)
	targets map[target]struct{} // initial pushes to single subscriptions; each holds a refresh slot
	attempt int                 // failed builds so far
	queued  bool
	running bool
	next    *job // requests that arrived while running
}

// jobLocked returns the job collecting requests for k, queueing k when
// needed. h.mu must be held.
func (h *Hub) jobLocked(k jobKey) *job {
	j := h.jobs[k]
	if j == nil {
		j = &job{}
		h.jobs[k] = j
	}
	if j.running {
		if j.next == nil {
			j.next = &job{}
		}
		return j.next
	}
	if !j.queued {
		j.queued = true
		h.queue = append(h.queue, k)
		h.cond.Signal()
	}
	return j
}

// builder takes queued jobs until the hub closes.
func (h *Hub) builder() {
	for {
		h.mu.Lock()
		for len(h.queue) == 0 && !h.closed {
			h.cond.Wait()
		}
		if h.closed {
			h.mu.Unlock()
			return
		}
		k := h.queue[0]
		h.queue[0] = jobKey{}
		h.queue = h.queue[1:]
		j := h.jobs[k]
		j.queued, j.running = false, true
		h.mu.Unlock()

		h.runBalance(k, j)

		h.mu.Lock()
		if n := j.next; n != nil && !h.closed {
			n.queued = true
			h.jobs[k] = n
			h.queue = append(h.queue, k)
			h.cond.Signal()
		} else {
			delete(h.jobs, k)
		}
		h.mu.Unlock()
	}
}

// runBalance builds the script hash's payload once and sends it to every
// subscription the job asks for that still exists.
func (h *Hub) runBalance(k jobKey, j *job) {
	h.mu.Lock()
	cs := h.coins[k.coin]
	w := cs.watchers[k.sh]
	if w == nil {
		h.dropTargetsLocked(j.targets)
		h.mu.Unlock()
		return
	}
	script := w.script
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(h.base, h.cfg.BuildTimeout)
	p, err := cs.svc.BalancePayload(ctx, script)
	cancel()
	h.builds.Add(1)
	if err != nil {
		h.buildErrs.Add(1)
		h.errorf("hub: build balance of %s %s (attempt %d): %v", k.coin, k.sh, j.attempt+1, err)
		h.retryLater(k, j)
		return
	}
	body, err := json.Marshal(p)
	if err != nil {
		h.buildErrs.Add(1)
		h.errorf("hub: encode balance of %s %s: %v", k.coin, k.sh, err)
		h.mu.Lock()
		h.dropTargetsLocked(j.targets)
		h.mu.Unlock()
		return
	}
	ev := &Event{Kind: KindBalance, Coin: k.coin, ScriptHash: k.sh, Payload: body}

	// Initial pushes (j.targets) hold refresh slots and go out through
	// sendInitial, which frees them; a target whose subscription is gone
	// frees its slot here.
	var out, initial []target
	h.mu.Lock()
	w = cs.watchers[k.sh]
	for t := range j.targets {
		if w != nil && t.c.subscribedLocked(k.sh, t.tag) {
			initial = append(initial, t)
		} else {
			t.c.releaseLocked(1)
		}
	}
	if w != nil && j.all {
		for c := range w.conns {
			for tag := range c.watches[k.sh].tags {
				if _, ok := j.targets[target{c, tag}]; !ok {
					out = append(out, target{c, tag})
				}
			}
		}
	}
	h.mu.Unlock()
	for _, t := range initial {
		t.c.sendInitial(ev, t.tag)
	}
	for _, t := range out {
		t.c.send(ev, t.tag)
	}
}

// dropTargetsLocked frees the refresh slots of initial pushes that will
// not be made. h.mu must be held.
func (h *Hub) dropTargetsLocked(ts map[target]struct{}) {
	for t := range ts {
		t.c.releaseLocked(1)
	}
}

// retryLater asks again, after Config.RetryDelay, for what a failed build
// was to push, so a backend hiccup (a reconnect in progress) does not lose
// the change. After Config.BuildRetries failures it gives up; the next
// change of the script hash pushes the state anyway.
func (h *Hub) retryLater(k jobKey, j *job) {
	if j.attempt >= h.cfg.BuildRetries {
		h.errorf("hub: giving up on the balance of %s %s after %d attempts", k.coin, k.sh, j.attempt+1)
		h.mu.Lock()
		h.dropTargetsLocked(j.targets)
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(h.cfg.RetryDelay, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.timers, t)
		if h.closed {
			return
		}
		n := h.jobLocked(k)
		n.all = n.all || j.all
		for tg := range j.targets {
			h.addInitialLocked(n, tg)
		}
		n.attempt = max(n.attempt, j.attempt+1)
	})
	h.timers[t] = struct{}{}
}
