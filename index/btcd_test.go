package index

import (
	"bytes"
	"context"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate/internal/regtest"
)

// buildActivity funds keys of every kind, spends each, and leaves a
// mempool chain (a confirmed-input tx, a child spending it, a grandchild).
// It returns the keys.
func buildActivity(t *testing.T, node *regtest.Node) []*regtest.Key {
	t.Helper()
	ctx := context.Background()
	var keys []*regtest.Key
	for _, kind := range regtest.KeyKinds() {
		keys = append(keys, regtest.NewKey(t, kind), regtest.NewKey(t, kind))
	}
	var funded []regtest.Outpoint
	for i, k := range keys {
		op, err := node.Fund(ctx, k.Script(), int64(100_000+i*1000))
		if err != nil {
			t.Fatal(err)
		}
		funded = append(funded, op)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Each key pays part to the next key (kinds mixed), change back.
	for i, k := range keys {
		next := keys[(i+1)%len(keys)]
		if _, err := node.Spend(ctx, []regtest.Input{{Outpoint: funded[i], Key: k}},
			[]regtest.Output{{Script: next.Script(), Value: 30_000}}, 0); err != nil {
			t.Fatalf("spend %s: %v", k.Kind(), err)
		}
		if i%3 == 2 {
			if _, err := node.Generate(ctx, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Mempool chain: fund (height 0), child (-1), grandchild (-1).
	op, err := node.Fund(ctx, keys[0].Script(), 80_000)
	if err != nil {
		t.Fatal(err)
	}
	child, err := node.Spend(ctx, []regtest.Input{{Outpoint: op, Key: keys[0]}},
		[]regtest.Output{{Script: keys[5].Script(), Value: 20_000}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Spend(ctx, []regtest.Input{{Outpoint: child.Outputs[0], Key: keys[5]}},
		[]regtest.Output{{Script: keys[9].Script(), Value: regtest.Rest}}, 0); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestIndexMatchesReference(t *testing.T) {
	node := regtest.Start(t)
	ctx := context.Background()
	rec := &changes{}
	path := t.TempDir() + "/index.db"
	x := openTest(t, node, path, Options{OnChange: rec.add, FetchWindow: 7})
	mustSync(t, x)
	if ch := rec.take(); len(ch) != 1 || !ch[0].NewTip || !ch[0].All || ch[0].Tip.Height != 101 {
		t.Fatalf("first sync changes %+v; want one NewTip+All change at 101", ch)
	}
	keys := buildActivity(t, node)
	mustSync(t, x)
	n := compareWithElectrumtest(t, x, node)
	if n < 10 {
		t.Fatalf("compared only %d scripts", n)
	}
	ch := rec.take()
	if len(ch) != 1 || !ch[0].NewTip || ch[0].All || !slices.Contains(ch[0].Scripts, HashScript(keys[9].Script())) {
		t.Fatalf("activity changes %+v; want NewTip listing the grandchild's script", ch)
	}

	// Confirm the mempool chain: -1 heights become confirmed.
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	mustSync(t, x)
	compareWithElectrumtest(t, x, node)
	if mem, _ := x.Mempool(HashScript(keys[5].Script())); len(mem) != 0 {
		t.Fatalf("mempool part after confirmation: %+v", mem)
	}

	// Mempool spend of a confirmed output, then a 2-block reorg that
	// replaces the tip by 3 blocks.
	utxos, err := x.Unspent(HashScript(keys[2].Script()))
	if err != nil || len(utxos) == 0 {
		t.Fatalf("unspent of key 2: %v, %v", utxos, err)
	}
	var h chainhash.Hash
	_ = chainhash.Decode(&h, utxos[0].TxHash)
	if _, err := node.Spend(ctx, []regtest.Input{{Outpoint: regtest.Outpoint{TxID: utxos[0].TxHash, Vout: utxos[0].TxPos}, Key: keys[2]}},
		[]regtest.Output{{Script: keys[3].Script(), Value: regtest.Rest}}, 0); err != nil {
		t.Fatal(err)
	}
	mustSync(t, x)
	compareWithElectrumtest(t, x, node)
	if _, ok, _ := x.SpentBy(wire.OutPoint{Hash: h, Index: utxos[0].TxPos}); !ok {
		t.Fatalf("SpentBy does not see the mempool spend of %s:%d", utxos[0].TxHash, utxos[0].TxPos)
	}
	rec.take()
	if _, _, err := node.Reorg(ctx, 2, 3); err != nil {
		t.Fatal(err)
	}
	mustSync(t, x)
	compareWithElectrumtest(t, x, node)
	ch = rec.take()
	if len(ch) != 1 || !ch[0].Reorg || !ch[0].NewTip {
		t.Fatalf("reorg changes %+v; want one Reorg change", ch)
	}

	// Merkle branches lead to the header's merkle root.
	checkMerkle(t, x, node)

	// Reopen: the store resumes from its tip without a resync.
	x.Close()
	x2 := openTest(t, node, path, Options{OnChange: rec.add})
	tip, _ := x2.Tip()
	if nh, _ := node.Height(ctx); tip.Height != nh {
		t.Fatalf("reopened tip %d; node %d", tip.Height, nh)
	}
	mustSync(t, x2)
	for _, c := range rec.take() {
		if c.NewTip || c.All {
			t.Fatalf("reopen change %+v; want no block changes (no resync)", c)
		}
	}
	compareWithElectrumtest(t, x2, node)
}

func checkMerkle(t *testing.T, x *Index, node *regtest.Node) {
	t.Helper()
	ctx := context.Background()
	height, _ := node.Height(ctx)
	hash, _ := node.BlockHash(ctx, height-1)
	var bh chainhash.Hash
	_ = chainhash.Decode(&bh, hash)
	blk, err := testClient(t, node).Block(ctx, bh)
	if err != nil {
		t.Fatal(err)
	}
	for pos, tx := range blk.Transactions {
		h, p, branch, err := x.Merkle(tx.TxHash())
		if err != nil || h != height-1 || p != pos {
			t.Fatalf("Merkle(%s) = %d, %d, %v; want height %d pos %d", tx.TxHash(), h, p, err, height-1, pos)
		}
		cur := tx.TxHash()
		for i, s := range branch {
			var sib chainhash.Hash
			_ = chainhash.Decode(&sib, s)
			var buf []byte
			if (pos>>i)&1 == 0 {
				buf = append(append(buf, cur[:]...), sib[:]...)
			} else {
				buf = append(append(buf, sib[:]...), cur[:]...)
			}
			cur = chainhash.DoubleHashH(buf)
		}
		if cur != blk.Header.MerkleRoot {
			t.Fatalf("branch of tx %d leads to %s; merkle root %s", pos, cur, blk.Header.MerkleRoot)
		}
	}
	hdr, ok, err := x.Header(height - 1)
	var want bytes.Buffer
	_ = blk.Header.Serialize(&want)
	if err != nil || !ok || !bytes.Equal(hdr, want.Bytes()) {
		t.Fatalf("Header(%d) = %s, %v, %v", height-1, hex.EncodeToString(hdr), ok, err)
	}
}
