package chainview

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
)

func TestLRUBound(t *testing.T) {
	c := newLRU[string, int](2)
	c.add("a", 1)
	c.add("b", 2)
	c.get("a") // a is now the most recently used
	c.add("c", 3)
	if _, ok := c.get("b"); ok {
		t.Fatal("b should have been evicted as least recently used")
	}
	for k, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.get(k); !ok || v != want {
			t.Fatalf("get(%s) = %d, %v; want %d", k, v, ok, want)
		}
	}
	c.add("a", 10)
	if v, _ := c.get("a"); v != 10 || c.len() != 2 {
		t.Fatalf("update: a = %d, len %d", v, c.len())
	}
	c.remove("a")
	if _, ok := c.get("a"); ok || c.len() != 1 {
		t.Fatal("remove did not drop a")
	}
	if newLRU[int, int](0).max != 1 {
		t.Fatal("a zero bound must not make the cache unbounded")
	}
}

func TestBalanceCoalesced(t *testing.T) {
	s, fb, _ := newTestService(t, Config{})
	fb.SetBalance("ee", 42, 0)
	release := fb.Hold()
	var wg sync.WaitGroup
	results := make(chan int64, 8)
	for range 8 {
		wg.Go(func() {
			b, err := s.Balance(context.Background(), "ee")
			if err != nil {
				t.Error(err)
			}
			results <- b.Confirmed
		})
	}
	for fb.Calls(chainviewtest.MBalance) == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	release()
	wg.Wait()
	close(results)
	for v := range results {
		if v != 42 {
			t.Fatalf("coalesced caller got %d, want 42", v)
		}
	}
	// Callers that arrived after the fetch finished make their own call
	// (the hash is not watched, so nothing is cached); all the others shared one.
	if n := fb.Calls(chainviewtest.MBalance); n > 2 {
		t.Fatalf("8 concurrent balances of one script hash made %d backend calls", n)
	}
}

// TestCloseStopsFetches: Close cancels backend work the service started,
// so no detached fetch outlives it.
func TestCloseStopsFetches(t *testing.T) {
	s, fb, _ := newTestService(t, Config{FetchTimeout: time.Hour})
	release := fb.Hold()
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := s.Balance(context.Background(), "ff")
		done <- err
	}()
	for fb.Calls(chainviewtest.MBalance) == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	select {
	case err := <-done:
		if walletgate.ErrorCode(err) != walletgate.ETimeout {
			t.Fatalf("Balance after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a held fetch survived Close")
	}
}
