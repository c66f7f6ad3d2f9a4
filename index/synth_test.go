package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/walletgate/walletgate"
)

// synthChain makes structurally valid blocks without a node: each block
// has a coinbase and txs spending earlier outputs (from earlier blocks and
// from the same block) to a fixed set of scripts, some OP_RETURN outputs
// among them. Signatures are absent; the index never checks them.
type synthChain struct {
	rng     *rand.Rand
	scripts [][]byte
	spend   []wire.OutPoint // spendable outputs
	values  map[wire.OutPoint]int64
	prev    chainhash.Hash
	hot     []byte // when set, every transaction's first output pays it
}

func newSynth(seed uint64, nScripts int) *synthChain {
	s := &synthChain{rng: rand.New(rand.NewPCG(seed, 1)), values: map[wire.OutPoint]int64{}}
	for i := range nScripts {
		sc := append([]byte{0x00, 0x14}, bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 10)...)
		s.scripts = append(s.scripts, sc)
	}
	return s
}

func (s *synthChain) script() []byte { return s.scripts[s.rng.IntN(len(s.scripts))] }

// block makes the next block with ntx non-coinbase transactions.
func (s *synthChain) block(height int64, ntx int) *wire.MsgBlock {
	b := &wire.MsgBlock{Header: wire.BlockHeader{Version: 4, PrevBlock: s.prev, Nonce: uint32(height)}}
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: 0xffffffff}, SignatureScript: binary.LittleEndian.AppendUint64(nil, uint64(height))})
	cb.AddTxOut(wire.NewTxOut(50_0000_0000, s.script()))
	b.AddTransaction(cb)
	s.add(cb)
	for range ntx {
		if len(s.spend) == 0 {
			break
		}
		tx := wire.NewMsgTx(2)
		var in int64
		for j := 0; j < 1+s.rng.IntN(2) && len(s.spend) > 0; j++ {
			k := s.rng.IntN(len(s.spend))
			op := s.spend[k]
			s.spend[k] = s.spend[len(s.spend)-1]
			s.spend = s.spend[:len(s.spend)-1]
			in += s.values[op]
			delete(s.values, op)
			tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
		}
		half := in / 2
		first := s.script()
		if s.hot != nil {
			first = s.hot
		}
		tx.AddTxOut(wire.NewTxOut(half, first))
		tx.AddTxOut(wire.NewTxOut(in-half-500, s.script()))
		if s.rng.IntN(10) == 0 {
			tx.AddTxOut(wire.NewTxOut(0, []byte{0x6a, 0x04, 1, 2, 3, 4}))
		}
		b.AddTransaction(tx)
		s.add(tx)
	}
	s.prev = b.BlockHash()
	return b
}

func (s *synthChain) add(tx *wire.MsgTx) {
	id := tx.TxHash()
	for i, o := range tx.TxOut {
		if !unspendable(o.PkScript) && o.Value > 1000 {
			op := wire.OutPoint{Hash: id, Index: uint32(i)}
			s.spend = append(s.spend, op)
			s.values[op] = o.Value
		}
	}
}

func openStore(tb testing.TB) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "s.db"), 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Update(initBuckets); err != nil {
		tb.Fatal(err)
	}
	return db
}

// dump renders every bucket's rows, for exact comparisons.
func dump(t *testing.T, db *bolt.DB) string {
	t.Helper()
	var b bytes.Buffer
	_ = db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %x %x\n", name, k, v)
				return nil
			})
		}
		return nil
	})
	return b.String()
}

// TestUndoRestoresExactly applies blocks, takes the last ones back and
// checks the store is byte-for-byte what it was, for several depths.
func TestUndoRestoresExactly(t *testing.T) {
	for _, depth := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			db := openStore(t)
			s := newSynth(uint64(depth), 40)
			apply := func(h int64) {
				blk := s.block(h, 30)
				if err := db.Update(func(tx *bolt.Tx) error { return applyBlock(tx, h, blk, true, 100, nil) }); err != nil {
					t.Fatal(err)
				}
			}
			const base = 20
			for h := int64(0); h <= base; h++ {
				apply(h)
			}
			before := dump(t, db)
			for i := 1; i <= depth; i++ {
				apply(int64(base + i))
			}
			if dump(t, db) == before {
				t.Fatal("applying blocks changed nothing")
			}
			touched := map[SH]struct{}{}
			if err := db.Update(func(tx *bolt.Tx) error {
				for h := int64(base + depth); h > base; h-- {
					if err := undoBlock(tx, h, touched); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if after := dump(t, db); after != before {
				t.Fatalf("store after undo differs from before the blocks")
			}
			if len(touched) == 0 {
				t.Fatal("undo reported no touched scripts")
			}
		})
	}
}

// TestUndoPrunedBeyondDepth checks undo logs older than the depth are
// dropped and a rollback past them fails with errNoUndo instead of
// corrupting the store.
func TestUndoPrunedBeyondDepth(t *testing.T) {
	db := openStore(t)
	s := newSynth(9, 10)
	for h := int64(0); h < 12; h++ {
		blk := s.block(h, 5)
		if err := db.Update(func(tx *bolt.Tx) error { return applyBlock(tx, h, blk, true, 3, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	_ = db.View(func(tx *bolt.Tx) error { n = tx.Bucket(bUndo).Stats().KeyN; return nil })
	if n != 3 {
		t.Fatalf("%d undo logs kept; want 3", n)
	}
	err := db.Update(func(tx *bolt.Tx) error {
		for h := int64(11); h >= 7; h-- {
			if err := undoBlock(tx, h, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(errNoUndo.Error())) {
		t.Fatalf("undo past the kept depth: %v; want errNoUndo", err)
	}
}

// FuzzUndoEntry: a corrupt undo log gives an error, never a panic or an
// out-of-range slice.
func FuzzUndoEntry(f *testing.F) {
	f.Add([]byte{3, 2, 'a', 'b', 1, 1, 'c'})
	f.Add([]byte{0, 3, 't', 'i', 'p', 0})
	f.Add([]byte{200})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, n, err := readUndoEntry(b)
		if err == nil && (n <= 0 || n > len(b) || len(e.key) > len(b)) {
			t.Fatalf("readUndoEntry(%x) = len %d; beyond the input", b, n)
		}
	})
}

// FuzzParseScriptHash: outside input; only 64 hex digits are accepted and
// they round-trip.
func FuzzParseScriptHash(f *testing.F) {
	f.Add("45dc37f36de6ccbc37a4ab6b9a4e8c2b5a1f9d2fbc5a1b0a8e0f5a6b7c8d9e0f")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseScriptHash(walletgate.ScriptHash(s))
		if err != nil {
			return
		}
		if got := string(sh.ScriptHash()); got != strings.ToLower(s) {
			t.Fatalf("ParseScriptHash(%q) round-trips to %q", s, got)
		}
	})
}

// BenchmarkApplyBlock measures indexing blocks of 1,000 transactions on a
// growing store, with undo logging on (the at-tip path).
func BenchmarkApplyBlock(b *testing.B) {
	db := openStore(b)
	s := newSynth(1, 5000)
	for h := int64(0); h < 20; h++ { // coins to spend
		blk := s.block(h, 0)
		_ = db.Update(func(tx *bolt.Tx) error { return applyBlock(tx, h, blk, false, 100, nil) })
	}
	h := int64(20)
	var txs int
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		blk := s.block(h, 1000)
		b.StartTimer()
		if err := db.Update(func(tx *bolt.Tx) error { return applyBlock(tx, h, blk, true, 100, nil) }); err != nil {
			b.Fatal(err)
		}
		txs += len(blk.Transactions)
		h++
	}
	b.ReportMetric(float64(txs)/b.Elapsed().Seconds(), "txs/s")
}
