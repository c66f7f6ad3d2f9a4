package chainview

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
)

// guardedRead is one cached read of a watched script hash, as the surfaces
// make it: it returns the confirmed amount it saw.
type guardedRead struct {
	name   string
	method string // the backend round trip behind it
	set    func(fb *chainviewtest.Backend, sh walletgate.ScriptHash, sats int64)
	read   func(ctx context.Context, s *Service, sc Script) (int64, error)
}

func guardedReads() []guardedRead {
	return []guardedRead{
		{"balance", chainviewtest.MBalance,
			func(fb *chainviewtest.Backend, sh walletgate.ScriptHash, sats int64) { fb.SetBalance(sh, sats, 0) },
			func(ctx context.Context, s *Service, sc Script) (int64, error) {
				b, err := s.Balance(ctx, sc.Hash)
				return b.Confirmed, err
			}},
		{"unspent", chainviewtest.MUnspent,
			func(fb *chainviewtest.Backend, sh walletgate.ScriptHash, sats int64) {
				fb.SetUnspent(sh, []walletgate.UTXO{{TxHash: fmt.Sprintf("%064x", sats), Height: 1, Value: sats}})
			},
			func(ctx context.Context, s *Service, sc Script) (int64, error) {
				u, err := s.Unspent(ctx, sc, UnspentFilter{})
				var sum int64
				for _, o := range u {
					sum += o.Value
				}
				return sum, err
			}},
		{"history", chainviewtest.MHistory,
			func(fb *chainviewtest.Backend, sh walletgate.ScriptHash, sats int64) {
				// The history's length stands for the amount.
				h := make([]walletgate.HistoryEntry, sats)
				for i := range h {
					h[i] = walletgate.HistoryEntry{TxHash: fmt.Sprintf("%064x", i+1), Height: int64(i + 1)}
				}
				fb.SetHistory(sh, h)
			},
			func(ctx context.Context, s *Service, sc Script) (int64, error) {
				raw, err := s.rawHistory(ctx, sc.Hash)
				return int64(len(raw)), err
			}},
	}
}

// TestWatchedCacheNotTrustedWhileSubscriptionsLapse is the user's scenario
// at the service: an address is watched and its values cached, the
// backend's subscription connection drops, the address is paid (no event
// can say so), and every read must go to the backend — failing while the
// backend is down, never answering the cached old value — until the
// subscription is back; then the cache works again.
func TestWatchedCacheNotTrustedWhileSubscriptionsLapse(t *testing.T) {
	for _, rd := range guardedReads() {
		t.Run(rd.name, func(t *testing.T) {
			ctx := context.Background()
			s, fb, _ := newTestService(t, Config{})
			sc := Script{Hex: "0014" + strings.Repeat("33", 20), Hash: "ee"}
			rd.set(fb, sc.Hash, 1)
			if err := s.Watch(ctx, sc.Hash); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if got, err := rd.read(ctx, s, sc); err != nil || got != 1 {
					t.Fatalf("read while live = %d, %v; want 1", got, err)
				}
			}
			if n := fb.Calls(rd.method); n != 1 {
				t.Fatalf("%d backend calls for two reads while live, want 1 (then cache)", n)
			}

			fb.DropSubscriptions()
			rd.set(fb, sc.Hash, 2) // paid while no event can tell
			for range 2 {
				if got, err := rd.read(ctx, s, sc); err != nil || got != 2 {
					t.Fatalf("read after the drop = %d, %v; want 2 from the backend", got, err)
				}
			}
			if n := fb.Calls(rd.method); n != 3 {
				t.Fatalf("%d backend calls, want 3: reads while events do not flow are neither served from nor stored in the cache", n)
			}

			// The backend is down as well: the read fails, it does not fall
			// back to anything cached.
			fb.Fail(rd.method, walletgate.Errorf(walletgate.EUnavailable, "no connection to ElectrumX 127.0.0.1:1"))
			if got, err := rd.read(ctx, s, sc); walletgate.ErrorCode(err) != walletgate.EUnavailable {
				t.Fatalf("read with the backend down = %d, %v; want EUnavailable", got, err)
			}
			fb.Fail(rd.method, nil)

			// Back and resynced: cached again, with the new value.
			rd.set(fb, sc.Hash, 3)
			fb.RestoreSubscriptions()
			before := fb.Calls(rd.method)
			for range 2 {
				if got, err := rd.read(ctx, s, sc); err != nil || got != 3 {
					t.Fatalf("read after the resync = %d, %v; want 3", got, err)
				}
			}
			if n := fb.Calls(rd.method) - before; n != 1 {
				t.Fatalf("%d backend calls for two reads after the resync, want 1 (then cache)", n)
			}
		})
	}
}

// TestCacheOfEarlierEpochDropped: a value cached before a drop is not
// served after the reconnect, even if no read happened in between and no
// change event came (a resync that found the status unchanged publishes
// nothing, but the value may predate a change the resync did report for
// another hash, or be from a fetch the drop overlapped).
func TestCacheOfEarlierEpochDropped(t *testing.T) {
	for _, rd := range guardedReads() {
		t.Run(rd.name, func(t *testing.T) {
			ctx := context.Background()
			s, fb, _ := newTestService(t, Config{})
			sc := Script{Hex: "0014" + strings.Repeat("44", 20), Hash: "ff"}
			rd.set(fb, sc.Hash, 1)
			if err := s.Watch(ctx, sc.Hash); err != nil {
				t.Fatal(err)
			}
			if got, err := rd.read(ctx, s, sc); err != nil || got != 1 {
				t.Fatalf("first read = %d, %v", got, err)
			}
			fb.DropSubscriptions()
			rd.set(fb, sc.Hash, 2)
			fb.RestoreSubscriptions()
			if got, err := rd.read(ctx, s, sc); err != nil || got != 2 {
				t.Fatalf("read after drop and resync = %d, %v; want 2 (the cached 1 belongs to the old epoch)", got, err)
			}
		})
	}
}

// TestFetchOverlappingDropNotCached: a fetch that started while events
// flowed and returned after the subscription dropped must not be cached,
// since a change may have come between the backend's answer and the
// drop's notice.
func TestFetchOverlappingDropNotCached(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	sh := walletgate.ScriptHash("ab")
	fb.SetBalance(sh, 1, 0)
	if err := s.Watch(ctx, sh); err != nil {
		t.Fatal(err)
	}
	release := fb.Hold()
	done := make(chan walletgate.Balance)
	go func() {
		b, _ := s.Balance(ctx, sh)
		done <- b
	}()
	for fb.Calls(chainviewtest.MBalance) == 0 {
		time.Sleep(time.Millisecond)
	}
	fb.DropSubscriptions()
	fb.RestoreSubscriptions()
	release()
	if b := <-done; b.Confirmed != 1 {
		t.Fatalf("overlapping fetch = %v", b)
	}
	fb.SetBalance(sh, 2, 0)
	if b, _ := s.Balance(ctx, sh); b.Confirmed != 2 {
		t.Fatalf("a fetch that overlapped a subscription drop was cached: got %v, want confirmed 2", b)
	}
}
