package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/walletgate/walletgate"
)

// view runs fn on a consistent read of the store and the current mempool
// snapshot. Mempool entries the store has meanwhile confirmed are skipped
// by the callers (see confirmed), so a block committed between the two
// reads never counts a transaction twice.
func (x *Index) view(fn func(tx *bolt.Tx, m *mempool) error) error {
	m := x.mem.Load()
	return x.db.View(func(tx *bolt.Tx) error { return fn(tx, m) })
}

func confirmed(tx *bolt.Tx, id chainhash.Hash) bool {
	return tx.Bucket(bTxPos).Get(id[:]) != nil
}

// Balance returns sh's confirmed balance and its mempool delta.
func (x *Index) Balance(sh SH) (walletgate.Balance, error) {
	var b walletgate.Balance
	err := x.view(func(tx *bolt.Tx, m *mempool) error {
		if v := tx.Bucket(bBal).Get(sh[:]); len(v) == 8 {
			b.Confirmed = int64(binary.BigEndian.Uint64(v))
		}
		for _, e := range m.bySH[sh] {
			if !confirmed(tx, e.txid) {
				b.Unconfirmed += e.deltas[sh]
			}
		}
		return nil
	})
	return b, err
}

// History returns every transaction touching sh in Electrum order:
// confirmed by (height, position), then mempool by (height 0 before -1,
// txid).
func (x *Index) History(sh SH) ([]walletgate.HistoryEntry, error) {
	var out []walletgate.HistoryEntry
	err := x.view(func(tx *bolt.Tx, m *mempool) error {
		c := tx.Bucket(bHist).Cursor()
		for k, v := c.Seek(sh[:]); k != nil && bytes.HasPrefix(k, sh[:]); k, v = c.Next() {
			if len(k) != 40 || len(v) != 32 {
				return fmt.Errorf("index: corrupt history row for %s", sh.ScriptHash())
			}
			var id chainhash.Hash
			copy(id[:], v)
			out = append(out, walletgate.HistoryEntry{TxHash: id.String(), Height: int64(binary.BigEndian.Uint32(k[32:]))})
		}
		out = append(out, mempoolHistory(tx, m, sh)...)
		return nil
	})
	return out, err
}

func mempoolHistory(tx *bolt.Tx, m *mempool, sh SH) []walletgate.HistoryEntry {
	var out []walletgate.HistoryEntry
	for _, e := range m.bySH[sh] {
		if !confirmed(tx, e.txid) {
			out = append(out, walletgate.HistoryEntry{TxHash: e.txid.String(), Height: e.height, Fee: e.fee})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Height != out[j].Height {
			return out[i].Height > out[j].Height // 0 before -1
		}
		return out[i].TxHash < out[j].TxHash
	})
	return out
}

// Mempool returns only the mempool part of sh's history.
func (x *Index) Mempool(sh SH) ([]walletgate.HistoryEntry, error) {
	var out []walletgate.HistoryEntry
	err := x.view(func(tx *bolt.Tx, m *mempool) error {
		out = mempoolHistory(tx, m, sh)
		return nil
	})
	return out, err
}

// Unspent returns sh's unspent outputs: confirmed in chain order, then
// mempool outputs at height 0 by (txid, vout). Outputs a mempool
// transaction spends are left out.
func (x *Index) Unspent(sh SH) ([]walletgate.UTXO, error) {
	var out []walletgate.UTXO
	err := x.view(func(tx *bolt.Tx, m *mempool) error {
		c := tx.Bucket(bUtxo).Cursor()
		for k, v := c.Seek(sh[:]); k != nil && bytes.HasPrefix(k, sh[:]); k, v = c.Next() {
			if len(k) != 44 || len(v) != 40 {
				return fmt.Errorf("index: corrupt unspent row for %s", sh.ScriptHash())
			}
			var op wire.OutPoint
			copy(op.Hash[:], v[8:])
			op.Index = binary.BigEndian.Uint32(k[40:])
			if spender, ok := m.spends[op]; ok && !confirmed(tx, spender) {
				continue
			}
			out = append(out, walletgate.UTXO{TxHash: op.Hash.String(), TxPos: op.Index,
				Height: int64(binary.BigEndian.Uint32(k[32:])), Value: int64(binary.BigEndian.Uint64(v))})
		}
		var mem []walletgate.UTXO
		for _, e := range m.bySH[sh] {
			if confirmed(tx, e.txid) {
				continue
			}
			for vout := range e.tx.TxOut {
				op := wire.OutPoint{Hash: e.txid, Index: uint32(vout)}
				mo, ok := m.outs[op]
				if !ok || mo.sh != sh {
					continue
				}
				if _, spent := m.spends[op]; spent {
					continue
				}
				mem = append(mem, walletgate.UTXO{TxHash: e.txid.String(), TxPos: uint32(vout), Value: mo.value})
			}
		}
		sort.Slice(mem, func(i, j int) bool {
			if mem[i].TxHash != mem[j].TxHash {
				return mem[i].TxHash < mem[j].TxHash
			}
			return mem[i].TxPos < mem[j].TxPos
		})
		out = append(out, mem...)
		return nil
	})
	return out, err
}

// Status is the Electrum status of sh (§7.4): hex SHA-256 of
// "txid:height:" over its history, "" when it has none.
func (x *Index) Status(sh SH) (string, error) {
	h, err := x.History(sh)
	if err != nil {
		return "", err
	}
	return StatusOf(h), nil
}

// StatusOf computes an Electrum status from a history in Electrum order.
func StatusOf(h []walletgate.HistoryEntry) string {
	if len(h) == 0 {
		return ""
	}
	d := sha256.New()
	var b []byte
	for _, e := range h {
		b = append(b[:0], e.TxHash...)
		b = append(b, ':')
		b = strconv.AppendInt(b, e.Height, 10)
		b = append(b, ':')
		d.Write(b)
	}
	return hex.EncodeToString(d.Sum(nil))
}

// TxPosition returns where a confirmed transaction is; ok is false for
// unknown and mempool transactions.
func (x *Index) TxPosition(txid chainhash.Hash) (height int64, pos int, ok bool, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bTxPos).Get(txid[:])
		if len(v) != 8 {
			return nil
		}
		height, pos, ok = int64(binary.BigEndian.Uint32(v)), int(binary.BigEndian.Uint32(v[4:])), true
		return nil
	})
	return height, pos, ok, err
}

// Spend is the input that spends an output.
type Spend struct {
	TxID   chainhash.Hash
	Vin    uint32
	Height int64 // 0 for a mempool spender
}

// SpentBy returns the transaction spending op, confirmed or in the
// mempool; ok is false while op is unspent (or unknown).
func (x *Index) SpentBy(op wire.OutPoint) (s Spend, ok bool, err error) {
	err = x.view(func(tx *bolt.Tx, m *mempool) error {
		if v := tx.Bucket(bSpent).Get(outpointKey(op)); len(v) == 40 {
			copy(s.TxID[:], v)
			s.Vin = binary.BigEndian.Uint32(v[32:])
			s.Height = int64(binary.BigEndian.Uint32(v[36:]))
			ok = true
			return nil
		}
		if id, in := m.spends[op]; in {
			for vin, ti := range m.txs[id].tx.TxIn {
				if ti.PreviousOutPoint == op {
					s, ok = Spend{TxID: id, Vin: uint32(vin)}, true
				}
			}
		}
		return nil
	})
	return s, ok, err
}

// Merkle returns the branch proving txid in its block, deepest pairing
// first, as blockchain.transaction.get_merkle reports it.
func (x *Index) Merkle(txid chainhash.Hash) (height int64, pos int, branch []string, err error) {
	var ids []chainhash.Hash
	err = x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bTxPos).Get(txid[:])
		if len(v) != 8 {
			return walletgate.Errorf(walletgate.ENotFound, "transaction %s is not in the indexed chain", txid)
		}
		height, pos = int64(binary.BigEndian.Uint32(v)), int(binary.BigEndian.Uint32(v[4:]))
		all := tx.Bucket(bBlkTx).Get(heightKey(height))
		if len(all)%32 != 0 || pos >= len(all)/32 {
			return fmt.Errorf("index: corrupt tx list of block %d", height)
		}
		ids = make([]chainhash.Hash, len(all)/32)
		for i := range ids {
			copy(ids[i][:], all[32*i:])
		}
		return nil
	})
	if err != nil {
		return 0, 0, nil, err
	}
	for i, level := pos, ids; len(level) > 1; i /= 2 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		branch = append(branch, level[i^1].String())
		next := make([]chainhash.Hash, len(level)/2)
		for j := range next {
			var buf [64]byte
			copy(buf[:32], level[2*j][:])
			copy(buf[32:], level[2*j+1][:])
			next[j] = chainhash.DoubleHashH(buf[:])
		}
		level = next
	}
	return height, pos, branch, nil
}

// Header returns the raw header at height; ok is false above the tip or
// below the start height.
func (x *Index) Header(height int64) (hdr []byte, ok bool, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bHdr).Get(heightKey(height)); v != nil {
			hdr, ok = bytes.Clone(v), true
		}
		return nil
	})
	return hdr, ok, err
}

// Tip returns the indexed tip; Height is -1 before the first block.
func (x *Index) Tip() (walletgate.Tip, error) {
	t := walletgate.Tip{Height: -1}
	err := x.db.View(func(tx *bolt.Tx) error {
		rec, ok, err := readTip(tx)
		if err != nil || !ok {
			return err
		}
		t.Height = rec.height
		t.Header = hex.EncodeToString(tx.Bucket(bHdr).Get(heightKey(rec.height)))
		return nil
	})
	return t, err
}
