package electrumtest

import (
	"context"
	"encoding/json"
	"sync/atomic"
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

// mineDuringMempool is a node whose first getrawmempool, once armed, is
// preceded by a block that mines the mempool: the block lands after the
// indexer read the chain and before it reads the mempool.
type mineDuringMempool struct {
	*regtest.Node
	armed atomic.Bool
}

func (m *mineDuringMempool) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if method == "getrawmempool" && m.armed.CompareAndSwap(true, false) {
		if _, err := m.Generate(ctx, 1); err != nil {
			return nil, err
		}
	}
	return m.Node.Call(ctx, method, params...)
}

// A payment mined between the indexer's chain read and its mempool read
// must not vanish from a snapshot (ElectrumX reads the mempool only at a
// steady tip): the client would be told its balance went back to zero.
func TestIndexerSnapshotKeepsTxMinedDuringSync(t *testing.T) {
	node := &mineDuringMempool{Node: regtest.Start(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := NewIndexer(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	key := regtest.NewKey(t, regtest.P2WPKH)
	sh := ScriptHashOf(key.Script())
	op, err := node.Fund(ctx, key.Script(), 40_000)
	if err != nil {
		t.Fatal(err)
	}
	node.armed.Store(true)
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if node.armed.Load() {
		t.Fatal("the block was not mined during the sync")
	}
	tip, _ := node.Height(ctx)
	h := x.Snapshot().History(sh)
	if len(h) != 1 || h[0].TxHash != op.TxID || h[0].Height != tip {
		t.Fatalf("history %+v after a sync that saw the block mined, want %s at %d", h, op.TxID, tip)
	}
	if c, u := x.Snapshot().Balance(sh); c != 40_000 || u != 0 {
		t.Fatalf("balance %d+%d, want 40000 confirmed", c, u)
	}
}
