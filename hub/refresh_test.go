package hub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

// heldSink records pushes and keeps their done callbacks, so a test
// decides when the client "has read" them.
type heldSink struct {
	mu     sync.Mutex
	pushes []push
	done   []func()
	closed chan string
	more   chan struct{} // a push arrived
}

func newHeldSink() *heldSink {
	return &heldSink{closed: make(chan string, 1), more: make(chan struct{}, 1)}
}

func (s *heldSink) Send(ev *hub.Event, tag string, done func()) {
	s.mu.Lock()
	s.pushes = append(s.pushes, push{kind: ev.Kind, tag: tag, height: ev.Height, sh: ev.ScriptHash, payload: string(ev.Payload)})
	s.done = append(s.done, done)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *heldSink) Close(reason string) { s.closed <- reason }

// connectHeld registers s.
func (e *env) connectHeld(t *testing.T, s *heldSink) *hub.Conn {
	t.Helper()
	c, err := e.hub.Connect(coin, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// held returns how many pushes arrived.
func (s *heldSink) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pushes)
}

// waitHeld waits until n pushes have arrived.
func (s *heldSink) waitHeld(t *testing.T, n int) {
	t.Helper()
	for s.held() < n {
		select {
		case <-s.more:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d pushes arrived, want %d", s.held(), n)
		}
	}
}

// write reports every push so far written, as a client that reads them.
func (s *heldSink) write() {
	s.mu.Lock()
	done := s.done
	s.done = nil
	s.mu.Unlock()
	for _, d := range done {
		d()
	}
}

// TestRefreshesWaitForTheClient checks that the initial pushes of a
// subscribe larger than the queue never make the connection a slow
// consumer: at most RefreshWindow are handed to the transport at a time,
// the rest follow as the client reads, every subscription gets exactly
// one, and change pushes are still bounded by QueueSize meanwhile.
func TestRefreshesWaitForTheClient(t *testing.T) {
	const n, window, queue = 1000, 8, 4
	e := newEnv(t, hub.Config{QueueSize: queue, RefreshWindow: window})
	s := newHeldSink()
	c := e.connectHeld(t, s)
	ctx := context.Background()
	for i := range n {
		sc := script(i)
		e.be.SetBalance(sc.Hash, int64(i), 0)
		if err := c.Watch(ctx, sc, fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
		c.Refresh(sc.Hash, fmt.Sprint(i))
	}
	// A client that does not read holds exactly the window.
	s.waitHeld(t, window)
	select {
	case reason := <-s.closed:
		t.Fatalf("closed while holding only initial pushes: %s", reason)
	case <-time.After(100 * time.Millisecond):
	}
	if got := s.held(); got != window {
		t.Fatalf("%d pushes handed to a client that read none, want the window %d", got, window)
	}

	// Reading lets the rest through (the builders run in parallel, so the
	// order within a window is free).
	for s.held() < n {
		before := s.held()
		s.write()
		s.waitHeld(t, min(before+window, n))
	}
	s.write()
	seen := map[string]bool{}
	s.mu.Lock()
	for _, p := range s.pushes {
		var i int
		if _, err := fmt.Sscan(p.tag, &i); err != nil || p.kind != hub.KindBalance || p.sh != script(i).Hash || seen[p.tag] {
			s.mu.Unlock()
			t.Fatalf("push %+v: not the one initial push of a subscription", p)
		}
		seen[p.tag] = true
	}
	s.mu.Unlock()
	if len(seen) != n {
		t.Fatalf("%d subscriptions got their initial push, want %d", len(seen), n)
	}
	if st := e.hub.Stats(); st.Overflows != 0 {
		t.Fatalf("overflows = %d", st.Overflows)
	}

	// Change pushes keep the bounded queue, refreshes waiting or not.
	for i := range n {
		c.Refresh(script(i).Hash, fmt.Sprint(i))
	}
	s.waitHeld(t, n+window)
	for h := range int64(queue + 1) {
		e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: coin, Tip: walletgate.Tip{Height: 200 + h}})
	}
	select {
	case reason := <-s.closed:
		if reason != fmt.Sprintf("send queue full: %d pushes not yet written (slow consumer)", queue) {
			t.Fatalf("close reason %q", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a client that reads no block push was not closed")
	}
}

// TestRefreshOfDroppedSubscription checks that a refresh whose
// subscription is gone before its turn frees its slot: the ones behind it
// still come.
func TestRefreshOfDroppedSubscription(t *testing.T) {
	const window = 2
	e := newEnv(t, hub.Config{RefreshWindow: window})
	s := newHeldSink()
	c := e.connectHeld(t, s)
	ctx := context.Background()
	for i := range 6 {
		if err := c.Watch(ctx, script(i), "t", nil); err != nil {
			t.Fatal(err)
		}
		c.Refresh(script(i).Hash, "t")
	}
	s.waitHeld(t, window)
	// Drop the waiting ones but the last, then read.
	for i := window; i < 5; i++ {
		if err := c.Unwatch(ctx, script(i).Hash, "t"); err != nil {
			t.Fatal(err)
		}
	}
	s.write()
	s.waitHeld(t, window+1)
	s.mu.Lock()
	last := s.pushes[window]
	s.mu.Unlock()
	if last.sh != script(5).Hash {
		t.Fatalf("after the dropped ones came %+v, want subscription 5", last)
	}
	s.write()
	time.Sleep(100 * time.Millisecond) // room for a wrong extra push
	if got := s.held(); got != window+1 {
		t.Fatalf("%d pushes, want %d", got, window+1)
	}
}
