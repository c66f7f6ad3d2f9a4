package index

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/rpc"
)

func testClient(t testing.TB, node *regtest.Node) *rpc.Client {
	t.Helper()
	c, err := rpc.New(rpc.Config{URL: node.RPCURL(), MaxConcurrent: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// changes records what an index reports through OnChange.
type changes struct {
	mu  sync.Mutex
	all []Change
}

func (c *changes) add(ch Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, ch)
}

// take returns and clears the recorded changes.
func (c *changes) take() []Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.all
	c.all = nil
	return out
}

func openTest(t testing.TB, node *regtest.Node, path string, opts Options) *Index {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "index.db")
	}
	opts.Path = path
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	x, err := Open(testClient(t, node), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func mustSync(t testing.TB, x *Index) {
	t.Helper()
	if err := x.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// compareWithElectrumtest checks every script the chain and mempool hold
// against electrumtest's independent in-memory index of the same node:
// balance, history (order, heights, mempool fees), unspent and status.
// It returns how many scripts it compared.
func compareWithElectrumtest(t *testing.T, x *Index, node *regtest.Node) int {
	t.Helper()
	ref, err := electrumtest.NewIndexer(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	snap := ref.Snapshot()
	tip, err := x.Tip()
	if err != nil || tip.Height != snap.Height() {
		t.Fatalf("index tip %d (%v); reference tip %d", tip.Height, err, snap.Height())
	}
	if hdr, _ := snap.HeaderHex(snap.Height()); hdr != tip.Header {
		t.Fatalf("tip header %s; reference %s", tip.Header, hdr)
	}
	scripts := map[SH]bool{}
	for h := int64(1); h <= snap.Height(); h++ {
		b, _ := snap.Block(h)
		for _, tx := range b.Txs {
			for _, o := range tx.TxOut {
				if !unspendable(o.PkScript) {
					scripts[HashScript(o.PkScript)] = true
				}
			}
		}
	}
	for _, tx := range snap.MempoolTxs() {
		for _, o := range tx.TxOut {
			scripts[HashScript(o.PkScript)] = true
		}
	}
	for sh := range scripts {
		esh := string(sh.ScriptHash())
		bal, err := x.Balance(sh)
		if err != nil {
			t.Fatal(err)
		}
		c, u := snap.Balance(esh)
		if bal != (walletgate.Balance{Confirmed: c, Unconfirmed: u}) {
			t.Errorf("%s balance %+v; reference %d/%d", esh, bal, c, u)
		}
		hist, err := x.History(sh)
		if err != nil {
			t.Fatal(err)
		}
		var want []walletgate.HistoryEntry
		for _, it := range snap.History(esh) {
			want = append(want, walletgate.HistoryEntry{TxHash: it.TxHash, Height: it.Height, Fee: it.Fee})
		}
		if !reflect.DeepEqual(hist, want) {
			t.Errorf("%s history\n got %+v\nwant %+v", esh, hist, want)
		}
		utxos, err := x.Unspent(sh)
		if err != nil {
			t.Fatal(err)
		}
		var wantU []walletgate.UTXO
		for _, it := range snap.Unspent(esh) {
			wantU = append(wantU, walletgate.UTXO{TxHash: it.TxHash, TxPos: it.TxPos, Height: it.Height, Value: it.Value})
		}
		if !reflect.DeepEqual(utxos, wantU) {
			t.Errorf("%s unspent\n got %+v\nwant %+v", esh, utxos, wantU)
		}
		st, err := x.Status(sh)
		if err != nil || st != snap.Status(esh) {
			t.Errorf("%s status %q (%v); reference %q", esh, st, err, snap.Status(esh))
		}
	}
	return len(scripts)
}
