package electrumtest

import (
	"context"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
)

func TestIndexerFollowsBtcdIncludingReorgs(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := NewIndexer(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	changed := x.Changed()
	key := regtest.NewKey(t, regtest.P2TR)
	sh := ScriptHashOf(key.Script())
	op, err := node.Fund(ctx, key.Script(), 70_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Sync found a new mempool tx but did not signal a change")
	}
	if h := x.Snapshot().History(sh); len(h) != 1 || h[0].TxHash != op.TxID || h[0].Height != 0 {
		t.Fatalf("mempool history %+v", h)
	}
	if _, err := node.Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tip, _ := node.Height(ctx)
	checkTip := func() {
		t.Helper()
		idx := x.Snapshot()
		best, _ := node.BlockHash(ctx, tip)
		b, ok := idx.Block(tip)
		if idx.Height() != tip || !ok || b.Header.BlockHash().String() != best {
			t.Fatalf("index tip %d, node tip %d %s", idx.Height(), tip, best)
		}
	}
	checkTip()
	conf := x.Snapshot().History(sh)
	if len(conf) != 1 || conf[0].Height != tip-1 {
		t.Fatalf("confirmed history %+v, want height %d", conf, tip-1)
	}
	// Replace the two top blocks by three others: the funding tx is mined
	// again in the first new block.
	if _, _, err := node.Reorg(ctx, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tip, _ = node.Height(ctx)
	checkTip()
	var nodeConf struct {
		BlockHash string `json:"blockhash"`
	}
	if err := node.CallInto(ctx, &nodeConf, "getrawtransaction", op.TxID, 1); err != nil {
		t.Fatal(err)
	}
	h := x.Snapshot().History(sh)
	if len(h) != 1 || h[0].TxHash != op.TxID {
		t.Fatalf("history after reorg %+v", h)
	}
	at, _ := x.Snapshot().Block(h[0].Height)
	if nodeConf.BlockHash == "" && h[0].Height != 0 || nodeConf.BlockHash != "" && (h[0].Height <= 0 || at.Header.BlockHash().String() != nodeConf.BlockHash) {
		t.Fatalf("indexed in block %s at %d, node says %s", at.Header.BlockHash(), h[0].Height, nodeConf.BlockHash)
	}
	if c, u := x.Snapshot().Balance(sh); c+u != 70_000 {
		t.Fatalf("balance %d+%d after reorg", c, u)
	}
}
