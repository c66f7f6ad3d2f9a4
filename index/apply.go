package index

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"
)

// bucket ids inside an undo log, indexes into allBuckets.
func bucketID(name []byte) byte {
	for i, b := range allBuckets {
		if string(b) == string(name) {
			return byte(i)
		}
	}
	panic("index: unknown bucket " + string(name)) // a programming error, never input-driven
}

// writer applies a block's writes and, when undo is on, logs each key's
// previous value so that the block can be taken back exactly. The log is
// generic (bucket, key, old value or absent) instead of per-feature undo
// records, so a new bucket can never be forgotten by rollback.
type writer struct {
	tx   *bolt.Tx
	undo []byte // nil when not recording
	rec  bool
}

func (w *writer) record(bucket []byte, key []byte) {
	if !w.rec {
		return
	}
	old := w.tx.Bucket(bucket).Get(key)
	w.undo = append(w.undo, bucketID(bucket))
	w.undo = binary.AppendUvarint(w.undo, uint64(len(key)))
	w.undo = append(w.undo, key...)
	if old == nil {
		w.undo = append(w.undo, 0)
		return
	}
	w.undo = append(w.undo, 1)
	w.undo = binary.AppendUvarint(w.undo, uint64(len(old)))
	w.undo = append(w.undo, old...)
}

func (w *writer) put(bucket, key, val []byte) error {
	w.record(bucket, key)
	if err := w.tx.Bucket(bucket).Put(key, val); err != nil {
		return fmt.Errorf("index: put %s: %w", bucket, err)
	}
	return nil
}

func (w *writer) del(bucket, key []byte) error {
	w.record(bucket, key)
	if err := w.tx.Bucket(bucket).Delete(key); err != nil {
		return fmt.Errorf("index: delete %s: %w", bucket, err)
	}
	return nil
}

func (w *writer) addBalance(sh SH, delta int64) error {
	b := w.tx.Bucket(bBal)
	var cur int64
	if v := b.Get(sh[:]); len(v) == 8 {
		cur = int64(binary.BigEndian.Uint64(v))
	}
	if cur+delta == 0 {
		return w.del(bBal, append([]byte(nil), sh[:]...))
	}
	return w.put(bBal, append([]byte(nil), sh[:]...), i64(cur+delta))
}

// applyBlock indexes blk at height h on top of the stored tip and moves
// the tip marker. When undo is true the block's undo log is stored, and
// the log of the block undoDepth below is dropped. touched, when not nil,
// collects the scripts the block changed.
func applyBlock(tx *bolt.Tx, h int64, blk *wire.MsgBlock, undo bool, undoDepth int64, touched map[SH]struct{}) error {
	w := &writer{tx: tx, rec: undo}
	hk := heightKey(h)
	var hdr [80]byte
	hb := hdr[:0:80]
	buf := &sliceWriter{b: hb}
	if err := blk.Header.Serialize(buf); err != nil {
		return fmt.Errorf("index: serialize header %d: %w", h, err)
	}
	if err := w.put(bHdr, hk, buf.b); err != nil {
		return err
	}
	txids := make([]byte, 0, 32*len(blk.Transactions))
	for pos, mtx := range blk.Transactions {
		txid := mtx.TxHash()
		txids = append(txids, txid[:]...)
		if h == 0 {
			continue // genesis outputs are unspendable; ElectrumX skips them
		}
		if err := applyTx(w, h, pos, txid, mtx, touched); err != nil {
			return fmt.Errorf("index: block %d tx %d (%s): %w", h, pos, txid, err)
		}
	}
	if err := w.put(bBlkTx, heightKey(h), txids); err != nil {
		return err
	}
	if err := w.put(bMeta, keyTip, tipRecord{height: h, hash: blk.BlockHash()}.encode()); err != nil {
		return err
	}
	ub := tx.Bucket(bUndo)
	if undo {
		if err := ub.Put(heightKey(h), w.undo); err != nil {
			return fmt.Errorf("index: store undo of block %d: %w", h, err)
		}
	}
	if h-undoDepth >= 0 {
		if err := ub.Delete(heightKey(h - undoDepth)); err != nil {
			return fmt.Errorf("index: prune undo of block %d: %w", h-undoDepth, err)
		}
	}
	return nil
}

func applyTx(w *writer, h int64, pos int, txid chainhash.Hash, mtx *wire.MsgTx, touched map[SH]struct{}) error {
	var mine []SH // scripts this tx touches, usually one or two
	touch := func(sh SH) {
		for _, s := range mine {
			if s == sh {
				return
			}
		}
		mine = append(mine, sh)
	}
	if pos > 0 {
		for vin, in := range mtx.TxIn {
			opk := outpointKey(in.PreviousOutPoint)
			sv := make([]byte, 0, 40)
			sv = append(sv, txid[:]...)
			sv = u32(u32(sv, uint32(vin)), uint32(h))
			if err := w.put(bSpent, opk, sv); err != nil {
				return err
			}
			raw := w.tx.Bucket(bOut).Get(opk)
			if raw == nil {
				continue // not indexed: below the start height, or genesis
			}
			o, err := decodeOut(raw)
			if err != nil {
				return err
			}
			if err := w.del(bOut, opk); err != nil {
				return err
			}
			if err := w.del(bUtxo, utxoKey(o.sh, o.height, o.pos, in.PreviousOutPoint.Index)); err != nil {
				return err
			}
			if err := w.addBalance(o.sh, -o.value); err != nil {
				return err
			}
			touch(o.sh)
		}
	}
	for vout, out := range mtx.TxOut {
		if unspendable(out.PkScript) {
			continue
		}
		sh := HashScript(out.PkScript)
		o := outVal{sh: sh, height: h, pos: pos, value: out.Value}
		if err := w.put(bOut, outpointKey(wire.OutPoint{Hash: txid, Index: uint32(vout)}), o.encode()); err != nil {
			return err
		}
		uv := binary.BigEndian.AppendUint64(make([]byte, 0, 40), uint64(out.Value))
		uv = append(uv, txid[:]...)
		if err := w.put(bUtxo, utxoKey(sh, h, pos, uint32(vout)), uv); err != nil {
			return err
		}
		if err := w.addBalance(sh, out.Value); err != nil {
			return err
		}
		touch(sh)
	}
	tp := u32(u32(make([]byte, 0, 8), uint32(h)), uint32(pos))
	if err := w.put(bTxPos, append([]byte(nil), txid[:]...), tp); err != nil {
		return err
	}
	for _, sh := range mine {
		if err := w.put(bHist, histKey(sh, h, pos), append([]byte(nil), txid[:]...)); err != nil {
			return err
		}
		if touched != nil {
			touched[sh] = struct{}{}
		}
	}
	return nil
}

// undoBlock takes back the tip block h using its undo log, restoring
// every key it wrote in reverse order (which also restores the tip marker
// to h-1). touched collects the scripts whose rows changed.
func undoBlock(tx *bolt.Tx, h int64, touched map[SH]struct{}) error {
	ub := tx.Bucket(bUndo)
	log := ub.Get(heightKey(h))
	if log == nil {
		return fmt.Errorf("index: undo block %d: %w", h, errNoUndo)
	}
	log = bytes.Clone(log) // the writes below may move the page it lives on
	type entry struct {
		bucket   []byte
		key, old []byte
		had      bool
	}
	var entries []entry
	for p := 0; p < len(log); {
		e, n, err := readUndoEntry(log[p:])
		if err != nil {
			return fmt.Errorf("index: undo log of block %d at byte %d: %w", h, p, err)
		}
		entries = append(entries, entry{bucket: allBuckets[e.bucket], key: e.key, old: e.old, had: e.had})
		p += n
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		b := tx.Bucket(e.bucket)
		if touched != nil && (string(e.bucket) == string(bHist) || string(e.bucket) == string(bBal)) && len(e.key) >= 32 {
			var sh SH
			copy(sh[:], e.key)
			touched[sh] = struct{}{}
		}
		var err error
		if e.had {
			err = b.Put(append([]byte(nil), e.key...), append([]byte(nil), e.old...))
		} else {
			err = b.Delete(e.key)
		}
		if err != nil {
			return fmt.Errorf("index: undo block %d in %s: %w", h, e.bucket, err)
		}
	}
	if err := ub.Delete(heightKey(h)); err != nil {
		return fmt.Errorf("index: drop undo of block %d: %w", h, err)
	}
	return nil
}

type undoEntry struct {
	bucket   byte
	key, old []byte
	had      bool
}

// readUndoEntry decodes one entry and returns its length. It checks every
// bound: a corrupt log must give an error, never a panic.
func readUndoEntry(b []byte) (undoEntry, int, error) {
	var e undoEntry
	if len(b) < 1 || int(b[0]) >= len(allBuckets) {
		return e, 0, fmt.Errorf("bad bucket id")
	}
	e.bucket = b[0]
	p := 1
	kl, n := binary.Uvarint(b[p:])
	if n <= 0 || kl > uint64(len(b)-p-n) {
		return e, 0, fmt.Errorf("bad key length")
	}
	p += n
	e.key = b[p : p+int(kl)]
	p += int(kl)
	if p >= len(b) {
		return e, 0, fmt.Errorf("truncated entry")
	}
	e.had = b[p] == 1
	p++
	if e.had {
		vl, n := binary.Uvarint(b[p:])
		if n <= 0 || vl > uint64(len(b)-p-n) {
			return e, 0, fmt.Errorf("bad value length")
		}
		p += n
		e.old = b[p : p+int(vl)]
		p += int(vl)
	}
	return e, p, nil
}

// sliceWriter is an io.Writer appending to a slice (headers serialize
// into 80 bytes without a bytes.Buffer allocation).
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}
