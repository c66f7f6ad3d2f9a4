package chainview

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
)

// fakeClock is a settable clock for TTL tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestService(t *testing.T, cfg Config) (*Service, *chainviewtest.Backend, *fakeClock) {
	t.Helper()
	fb := chainviewtest.New()
	s := New(fb, cfg)
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s.now = clk.now
	t.Cleanup(func() { s.Close() })
	return s, fb, clk
}

func TestTipCacheAndBlockEvent(t *testing.T) {
	ctx := context.Background()
	s, fb, clk := newTestService(t, Config{TipTTL: 5 * time.Second})
	fb.SetTip(100)
	for range 3 {
		tip, err := s.Tip(ctx)
		if err != nil || tip.Height != 100 {
			t.Fatalf("Tip = %v, %v; want 100", tip, err)
		}
	}
	if n := fb.Calls(chainviewtest.MTip); n != 1 {
		t.Fatalf("backend tip calls = %d within the TTL, want 1", n)
	}
	fb.SetTip(101)
	clk.advance(5 * time.Second)
	if tip, _ := s.Tip(ctx); tip.Height != 101 {
		t.Fatalf("after TTL Tip = %d, want 101", tip.Height)
	}
	if n := fb.Calls(chainviewtest.MTip); n != 2 {
		t.Fatalf("backend tip calls = %d after TTL, want 2", n)
	}

	var got []int64
	s.OnBlock(func(tip walletgate.Tip) {
		// The cache is updated before listeners run.
		now, _ := s.Tip(ctx)
		got = append(got, tip.Height, now.Height)
	})
	s.Publish(walletgate.Event{Kind: walletgate.EventBlock, Tip: walletgate.Tip{Height: 102}})
	if len(got) != 2 || got[0] != 102 || got[1] != 102 {
		t.Fatalf("OnBlock saw %v, want [102 102]", got)
	}
	if n := fb.Calls(chainviewtest.MTip); n != 2 {
		t.Fatalf("a block event should refresh the tip without a backend call; calls = %d", n)
	}
	// LastTip ignores the TTL.
	clk.advance(time.Hour)
	if tip, ok := s.LastTip(); !ok || tip.Height != 102 {
		t.Fatalf("LastTip = %v, %v; want 102", tip, ok)
	}
}

func TestTipCoalesced(t *testing.T) {
	s, fb, _ := newTestService(t, Config{})
	fb.SetTip(7)
	release := fb.Hold()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			tip, err := s.Tip(context.Background())
			if err == nil && tip.Height != 7 {
				err = errors.New("wrong height")
			}
			errs <- err
		})
	}
	// Wait until the leader's request reached the backend.
	for fb.Calls(chainviewtest.MTip) == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the other callers join
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fb.Calls(chainviewtest.MTip); n != 1 {
		t.Fatalf("10 concurrent Tip calls made %d backend calls, want 1", n)
	}
}

func TestCallerTimeoutIsUnavailableNotHang(t *testing.T) {
	s, fb, _ := newTestService(t, Config{})
	release := fb.Hold()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.Balance(ctx, "ab")
	if code := walletgate.ErrorCode(err); code != walletgate.ETimeout {
		t.Fatalf("Balance on a stalled backend: code %q (%v), want %q", code, err, walletgate.ETimeout)
	}
}

func TestBalanceCachedOnlyWhileWatched(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	sh := walletgate.ScriptHash("aa")
	fb.SetBalance(sh, 100, 5)

	// Not watched: every call asks the backend.
	for range 2 {
		if b, err := s.Balance(ctx, sh); err != nil || b.Confirmed != 100 {
			t.Fatalf("Balance = %v, %v", b, err)
		}
	}
	if n := fb.Calls(chainviewtest.MBalance); n != 2 {
		t.Fatalf("unwatched balance calls = %d, want 2", n)
	}

	if err := s.Watch(ctx, sh); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.Balance(ctx, sh)
	}
	if n := fb.Calls(chainviewtest.MBalance); n != 3 {
		t.Fatalf("watched balance calls = %d, want 3 (one fetch, then cache)", n)
	}

	// A change event drops the cache, before the listener runs.
	fb.SetBalance(sh, 100, -40)
	var seen walletgate.Balance
	s.OnChange(func(got walletgate.ScriptHash) {
		if got == sh {
			seen, _ = s.Balance(ctx, sh)
		}
	})
	s.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, ScriptHash: sh})
	if seen.Unconfirmed != -40 {
		t.Fatalf("listener saw %v after the change event, want unconfirmed -40", seen)
	}
	if b, _ := s.Balance(ctx, sh); b.Unconfirmed != -40 {
		t.Fatalf("Balance after event = %v", b)
	}
	if n := fb.Calls(chainviewtest.MBalance); n != 4 {
		t.Fatalf("balance calls = %d after one event, want 4", n)
	}

	// A block drops it too.
	fb.SetBalance(sh, 60, 0)
	s.Publish(walletgate.Event{Kind: walletgate.EventBlock, Tip: walletgate.Tip{Height: 5}})
	if b, _ := s.Balance(ctx, sh); b.Confirmed != 60 {
		t.Fatalf("Balance after block = %v, want confirmed 60", b)
	}

	// Unwatched again: no more caching.
	if err := s.Unwatch(ctx, sh); err != nil {
		t.Fatal(err)
	}
	before := fb.Calls(chainviewtest.MBalance)
	s.Balance(ctx, sh)
	s.Balance(ctx, sh)
	if n := fb.Calls(chainviewtest.MBalance) - before; n != 2 {
		t.Fatalf("after Unwatch, 2 balances made %d calls, want 2", n)
	}
}

func TestStaleFetchNotCachedAcrossEvent(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	sh := walletgate.ScriptHash("bb")
	if err := s.Watch(ctx, sh); err != nil {
		t.Fatal(err)
	}
	fb.SetBalance(sh, 1, 0)
	release := fb.Hold()
	done := make(chan walletgate.Balance)
	go func() {
		b, _ := s.Balance(ctx, sh)
		done <- b
	}()
	for fb.Calls(chainviewtest.MBalance) == 0 {
		time.Sleep(time.Millisecond)
	}
	// The balance changes while the old answer is on its way.
	s.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, ScriptHash: sh})
	release()
	<-done
	fb.SetBalance(sh, 2, 0)
	if b, _ := s.Balance(ctx, sh); b.Confirmed != 2 {
		t.Fatalf("a fetch that started before the change event was cached: got %v, want confirmed 2", b)
	}
}

func TestWatchRefcount(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{MaxWatched: 2})
	for range 3 {
		if err := s.Watch(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := fb.Calls(chainviewtest.MSubscribe); n != 1 {
		t.Fatalf("3 watchers made %d backend subscriptions, want 1", n)
	}
	if err := s.Watch(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Watch(ctx, "a3"); walletgate.ErrorCode(err) != walletgate.ETooLarge {
		t.Fatalf("third distinct watch over MaxWatched=2: %v, want %s", err, walletgate.ETooLarge)
	}
	for i := range 3 {
		if err := s.Unwatch(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		want := 1
		if i == 2 {
			want = 0
		}
		if got := fb.Subscribed("a1"); got != want {
			t.Fatalf("after %d unwatches backend subscriptions = %d, want %d", i+1, got, want)
		}
	}
	if s.Watching("a1") != 0 {
		t.Fatal("state of a1 kept after its last watcher left")
	}

	// A failed subscription leaves nothing behind.
	fb.Fail(chainviewtest.MSubscribe, walletgate.Errorf(walletgate.EUnavailable, "Server closed the connection"))
	if err := s.Watch(ctx, "a4"); walletgate.ErrorCode(err) != walletgate.EUnavailable {
		t.Fatalf("Watch with backend down: %v", err)
	}
	if s.Watching("a4") != 0 {
		t.Fatal("failed Watch left a watcher")
	}
}

func TestUnspentFilterAndCoinbase(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{EnrichConcurrency: 2})
	script := Script{Hex: "0014" + strings.Repeat("11", 20), Hash: "cc"}
	cb := chainviewtest.VerboseTx{Txid: "c1", Coinbase: true, Outs: []chainviewtest.Out{{Value: "50.0", Script: script.Hex}}, Blockhash: "h", Blocktime: 1, Confs: 101}
	plain := chainviewtest.VerboseTx{Txid: "p1", Ins: []chainviewtest.In{{Txid: "c1"}}, Outs: []chainviewtest.Out{{Value: "1.0", Script: script.Hex}}}
	fb.AddTx("c1", cb.JSON(), "")
	fb.AddTx("p1", plain.JSON(), "")
	fb.SetUnspent(script.Hash, []walletgate.UTXO{
		{TxHash: "c1", TxPos: 0, Height: 1, Value: 5_000_000_000},
		{TxHash: "p1", TxPos: 0, Height: 0, Value: 100_000_000},
		{TxHash: "gone", TxPos: 3, Height: 2, Value: 10},
	})
	tests := []struct {
		name string
		f    UnspentFilter
		want []UTXO
	}{
		{"all", UnspentFilter{}, []UTXO{
			{TxID: "c1", Index: 0, Value: 5_000_000_000, Height: 1, Coinbase: true, Script: script.Hex},
			{TxID: "p1", Index: 0, Value: 100_000_000, Height: 0, Coinbase: false, Script: script.Hex},
			{TxID: "gone", Index: 3, Value: 10, Height: 2, Coinbase: false, Script: script.Hex},
		}},
		{"confirmed", UnspentFilter{ConfirmedOnly: true}, []UTXO{
			{TxID: "c1", Index: 0, Value: 5_000_000_000, Height: 1, Coinbase: true, Script: script.Hex},
			{TxID: "gone", Index: 3, Value: 10, Height: 2, Coinbase: false, Script: script.Hex},
		}},
		{"min value", UnspentFilter{MinValue: 100_000_000}, []UTXO{
			{TxID: "c1", Index: 0, Value: 5_000_000_000, Height: 1, Coinbase: true, Script: script.Hex},
			{TxID: "p1", Index: 0, Value: 100_000_000, Height: 0, Coinbase: false, Script: script.Hex},
		}},
		{"both", UnspentFilter{MinValue: 100_000_000, ConfirmedOnly: true}, []UTXO{
			{TxID: "c1", Index: 0, Value: 5_000_000_000, Height: 1, Coinbase: true, Script: script.Hex},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Unspent(ctx, script, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d items %+v, want %+v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("item %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	// Known flags are cached for good; the unknown txid is asked again
	// every time (failures are not cached).
	before := fb.TxItems()
	s.Unspent(ctx, script, UnspentFilter{})
	if n := fb.TxItems() - before; n != 1 {
		t.Fatalf("second listing fetched %d transactions, want 1 (only the failed one)", n)
	}
}

func TestBalancePayload(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	script := Script{Hex: "0014" + strings.Repeat("22", 20), Hash: "dd"}
	fb.SetTip(300)
	// 30,000 confirmed; a mempool tx spends the 20,000 coin and pays 5,000 back.
	fb.SetBalance(script.Hash, 30_000, -15_000)
	fb.SetUnspent(script.Hash, []walletgate.UTXO{
		{TxHash: "t1", TxPos: 1, Height: 10, Value: 10_000},
		{TxHash: "t2", TxPos: 0, Height: 0, Value: 5_000},
	})
	p, err := s.BalancePayload(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	want := BalancePayload{Balance: 15_000, Confirmed: 30_000, Unconfirmed: -15_000, PendingOut: 20_000, Height: 300}
	if p.Balance != want.Balance || p.Confirmed != want.Confirmed || p.Unconfirmed != want.Unconfirmed ||
		p.PendingOut != want.PendingOut || p.Height != want.Height || len(p.UTXOs) != 2 {
		t.Fatalf("payload = %+v, want %+v with 2 utxos", p, want)
	}
	// A later block event moves the height; the payload uses the last known tip.
	s.Publish(walletgate.Event{Kind: walletgate.EventBlock, Tip: walletgate.Tip{Height: 301}})
	if p, _ := s.BalancePayload(ctx, script); p.Height != 301 {
		t.Fatalf("height = %d, want 301", p.Height)
	}
	// pending_out is never negative.
	fb.SetBalance(script.Hash, 10_000, 5_000)
	if p, _ := s.BalancePayload(ctx, script); p.PendingOut != 0 {
		t.Fatalf("pending_out = %d, want 0", p.PendingOut)
	}
}

func TestTxValueSat(t *testing.T) {
	s, fb, _ := newTestService(t, Config{})
	fb.AddTx("t1", `{"txid":"t1","vout":[{"n":0,"value":0.000000005},{"n":1,"value":1e-05},{"n":2,"value":50.0},{"n":3,"value":0.000000015}]}`, "")
	tree, err := s.Tx(context.Background(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0", "1000", "5000000000", "2"}
	for i, o := range tree["vout"].([]any) {
		got := string(o.(map[string]any)["value_sat"].(json.Number))
		if got != want[i] {
			t.Errorf("vout %d value_sat = %s, want %s", i, got, want[i])
		}
	}
	// The unknown transaction keeps the backend's error.
	_, err = s.Tx(context.Background(), "nope")
	var rpc *walletgate.RPCError
	if !errors.As(err, &rpc) || rpc.Code != 2 || rpc.Message != chainviewtest.UnknownTxMessage {
		t.Fatalf("unknown tx error = %v, want the backend's RPCError", err)
	}
}
