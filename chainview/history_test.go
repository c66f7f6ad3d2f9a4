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

var (
	mine  = Script{Hex: "0014" + strings.Repeat("11", 20), Hash: "5h"}
	other = "0014" + strings.Repeat("22", 20)
	opret = "6a0401020304"
)

func itemString(it HistoryItem) string {
	p := func(v *int64) string {
		if v == nil {
			return "nil"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("%s h=%d %s amount=%s in=%d out=%d ts=%s", it.TxID, it.Height, it.Direction, p(it.Amount), it.MineIn, it.MineOut, p(it.Timestamp))
}

func TestHistoryDirections(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	txs := []chainviewtest.VerboseTx{
		// Coinbase to us: "in".
		{Txid: "f1", Coinbase: true, Outs: []chainviewtest.Out{{Value: "50.0", Script: mine.Hex, Address: "A"}}, Blockhash: "b1", Blocktime: 1000, Confs: 5},
		// Someone else's coin.
		{Txid: "x0", Coinbase: true, Outs: []chainviewtest.Out{{Value: "2.0", Script: other, Address: "B"}}, Blockhash: "b1", Blocktime: 1000, Confs: 5},
		// Paid to us from outside, with change back: "in".
		{Txid: "in1", Ins: []chainviewtest.In{{Txid: "x0"}}, Outs: []chainviewtest.Out{{Value: "1.0", Script: mine.Hex, Address: "A"}, {Value: "0.99", Script: other, Address: "B"}}, Blockhash: "b2", Blocktime: 2000, Confs: 4},
		// We pay out with change: "out", amount includes the fee.
		{Txid: "out1", Ins: []chainviewtest.In{{Txid: "f1"}}, Outs: []chainviewtest.Out{{Value: "10.0", Script: other, Address: "B"}, {Value: "39.9999", Script: mine.Hex, Address: "A"}}, Blockhash: "b3", Blocktime: 3000, Confs: 3},
		// To ourselves plus OP_RETURN (no address, so not external): "self".
		{Txid: "self1", Ins: []chainviewtest.In{{Txid: "in1", Vout: 0}}, Outs: []chainviewtest.Out{{Value: "0.9999", Script: mine.Hex, Address: "A"}, {Value: "0.0", Script: opret, Type: "nulldata"}}, Blockhash: "b4", Blocktime: 4000, Confs: 2},
		// Listed but touches neither side as far as the txs show: "unknown" with 0.
		{Txid: "odd1", Ins: []chainviewtest.In{{Txid: "x0"}}, Outs: []chainviewtest.Out{{Value: "1.0", Script: other, Address: "B"}}, Blockhash: "b4", Blocktime: 4000, Confs: 2},
		// Mempool spend of our change, all of it to ourselves and more: "self".
		{Txid: "mp1", Ins: []chainviewtest.In{{Txid: "out1", Vout: 1}}, Outs: []chainviewtest.Out{{Value: "39.9998", Script: mine.Hex, Address: "A"}}},
	}
	for _, tx := range txs {
		fb.AddTx(tx.Txid, tx.JSON(), "")
	}
	fb.SetHistory(mine.Hash, []walletgate.HistoryEntry{
		{TxHash: "f1", Height: 1},
		{TxHash: "in1", Height: 2},
		{TxHash: "out1", Height: 3},
		{TxHash: "self1", Height: 4},
		{TxHash: "odd1", Height: 4},
		{TxHash: "zz", Height: -2},   // dropped
		{TxHash: "gone", Height: 4},  // the backend cannot find it
		{TxHash: "self1", Height: 0}, // just mined, still listed in the mempool part
		{TxHash: "mp1", Height: -1},
	})
	got, err := s.History(ctx, mine, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mp1 h=0 self amount=3999980000 in=3999990000 out=3999980000 ts=nil",
		"gone h=4 unknown amount=nil in=0 out=0 ts=nil",
		"odd1 h=4 unknown amount=0 in=0 out=0 ts=4000",
		"self1 h=4 self amount=99990000 in=100000000 out=99990000 ts=4000",
		"out1 h=3 out amount=1000010000 in=5000000000 out=3999990000 ts=3000",
		"in1 h=2 in amount=100000000 in=0 out=100000000 ts=2000",
		"f1 h=1 in amount=5000000000 in=0 out=5000000000 ts=1000",
	}
	if len(got) != len(want) {
		var lines []string
		for _, it := range got {
			lines = append(lines, itemString(it))
		}
		t.Fatalf("got %d items:\n%s\nwant %d", len(got), strings.Join(lines, "\n"), len(want))
	}
	for i := range want {
		if s := itemString(got[i]); s != want[i] {
			t.Errorf("item %d:\n got %s\nwant %s", i, s, want[i])
		}
	}
	if n := fb.Calls(chainviewtest.MTransaction); n != 2 {
		t.Fatalf("transaction round trips = %d, want 2", n)
	}

	// Limit 2 takes the two newest.
	got, _ = s.History(ctx, mine, 2)
	if len(got) != 2 || got[0].TxID != "mp1" || got[1].TxID != "gone" {
		t.Fatalf("limit 2 gave %v", got)
	}
}

func TestHistoryLimitClamp(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	var hist []walletgate.HistoryEntry
	for i := range 60 {
		hist = append(hist, walletgate.HistoryEntry{TxHash: fmt.Sprintf("t%02d", i), Height: int64(i + 1)})
	}
	fb.SetHistory(mine.Hash, hist)
	tests := []struct{ limit, want int }{{0, 1}, {-3, 1}, {1, 1}, {10, 10}, {50, 50}, {51, 50}, {1 << 30, 50}}
	for _, tt := range tests {
		got, err := s.History(ctx, mine, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("limit %d gave %d items, want %d", tt.limit, len(got), tt.want)
		}
		if got[0].TxID != "t59" {
			t.Errorf("limit %d: first item %s, want the newest t59", tt.limit, got[0].TxID)
		}
	}
}

// TestHistoryRoundTrips: 50 listed transactions with 100 distinct previous
// transactions cost one history call and two transaction batches; a repeat
// within the TTL costs nothing, as confirmed transactions are cached.
func TestHistoryRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, fb, clk := newTestService(t, Config{HistoryTTL: 2 * time.Second})
	var hist []walletgate.HistoryEntry
	for i := range 50 {
		id := fmt.Sprintf("m%02d", i)
		p1, p2 := fmt.Sprintf("p%02da", i), fmt.Sprintf("p%02db", i)
		for _, p := range []string{p1, p2} {
			fb.AddTx(p, chainviewtest.VerboseTx{Txid: p, Coinbase: true, Outs: []chainviewtest.Out{{Value: "1.0", Script: mine.Hex, Address: "A"}}, Blockhash: "b", Blocktime: 1}.JSON(), "")
		}
		fb.AddTx(id, chainviewtest.VerboseTx{Txid: id, Ins: []chainviewtest.In{{Txid: p1}, {Txid: p2}}, Outs: []chainviewtest.Out{{Value: "0.5", Script: other, Address: "B"}}, Blockhash: "b", Blocktime: 2}.JSON(), "")
		hist = append(hist, walletgate.HistoryEntry{TxHash: id, Height: 2})
	}
	fb.SetHistory(mine.Hash, hist)
	got, err := s.History(ctx, mine, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 || got[0].Direction != DirOut || *got[0].Amount != 200_000_000 {
		t.Fatalf("got %d items, first %s", len(got), itemString(got[0]))
	}
	if h, tx := fb.Calls(chainviewtest.MHistory), fb.Calls(chainviewtest.MTransaction); h != 1 || tx != 2 {
		t.Fatalf("round trips: %d history + %d transaction batches, want 1 + 2", h, tx)
	}
	if n := fb.TxItems(); n != 150 {
		t.Fatalf("transactions fetched = %d, want 150", n)
	}
	s.History(ctx, mine, 50)
	if n := fb.RoundTrips(); n != 3 {
		t.Fatalf("a repeat within the TTL made %d more round trips, want 0", n-3)
	}
	// Unwatched histories expire after HistoryTTL; the txs stay cached.
	clk.advance(2 * time.Second)
	s.History(ctx, mine, 50)
	if h, tx := fb.Calls(chainviewtest.MHistory), fb.Calls(chainviewtest.MTransaction); h != 2 || tx != 2 {
		t.Fatalf("after the TTL: %d history + %d tx calls, want 2 + 2", h, tx)
	}
}

func TestHistoryWatchedInvalidation(t *testing.T) {
	ctx := context.Background()
	s, fb, clk := newTestService(t, Config{})
	if err := s.Watch(ctx, mine.Hash); err != nil {
		t.Fatal(err)
	}
	tx := chainviewtest.VerboseTx{Txid: "r1", Coinbase: true, Outs: []chainviewtest.Out{{Value: "1.0", Script: mine.Hex, Address: "A"}}, Blockhash: "b", Blocktime: 77, Confs: 1}
	fb.AddTx("r1", tx.JSON(), "")
	fb.SetHistory(mine.Hash, []walletgate.HistoryEntry{{TxHash: "r1", Height: 9}})
	s.History(ctx, mine, 10)
	clk.advance(time.Hour)
	s.History(ctx, mine, 10)
	if n := fb.Calls(chainviewtest.MHistory); n != 1 {
		t.Fatalf("watched history fetched %d times without an event, want 1", n)
	}

	// Reorg: r1 goes back to the mempool. The event drops the history and
	// the mempool listing evicts the cached confirmed copy.
	tx.Blockhash = ""
	fb.AddTx("r1", tx.JSON(), "")
	fb.SetHistory(mine.Hash, []walletgate.HistoryEntry{{TxHash: "r1", Height: 0}})
	s.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, ScriptHash: mine.Hash})
	got, err := s.History(ctx, mine, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n := fb.Calls(chainviewtest.MHistory); n != 2 {
		t.Fatalf("history calls after event = %d, want 2", n)
	}
	if got[0].Height != 0 || got[0].Timestamp != nil {
		t.Fatalf("after the reorg: %s, want height 0 and no timestamp", itemString(got[0]))
	}
}

func TestHistoryBatchFailure(t *testing.T) {
	ctx := context.Background()
	s, fb, _ := newTestService(t, Config{})
	fb.SetHistory(mine.Hash, []walletgate.HistoryEntry{{TxHash: "q1", Height: 1}})
	fb.Fail(chainviewtest.MTransaction, walletgate.Errorf(walletgate.EUnavailable, "Server closed the connection"))
	_, err := s.History(ctx, mine, 10)
	if walletgate.ErrorCode(err) != walletgate.EUnavailable {
		t.Fatalf("History with the batch failing: %v, want %s", err, walletgate.EUnavailable)
	}
	fb.Fail(chainviewtest.MTransaction, nil)
	fb.Fail(chainviewtest.MHistory, &walletgate.RPCError{Code: 10001, Message: "history too large"})
	s.Close()
	s2 := New(fb, Config{})
	defer s2.Close()
	_, err = s2.History(ctx, mine, 10)
	if !strings.Contains(err.Error(), "history too large") {
		t.Fatalf("History error = %v, want the backend's message", err)
	}
}
