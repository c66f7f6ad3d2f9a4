package index

import (
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"
)

// memEntry is one mempool transaction with what Electrum queries need.
type memEntry struct {
	txid   chainhash.Hash
	tx     *wire.MsgTx
	height int64        // 0: every input confirmed; -1: spends a mempool output
	fee    int64        // satoshis; 0 when an input is unknown to the index
	deltas map[SH]int64 // net balance change per touched script
}

// memOut is an indexable output of a mempool transaction.
type memOut struct {
	sh    SH
	value int64
}

// mempool is an immutable snapshot of the node's mempool as the index
// sees it. The sync loop builds a new one after every change and swaps it
// in whole, so readers never lock.
type mempool struct {
	txs    map[chainhash.Hash]*memEntry
	bySH   map[SH][]*memEntry
	spends map[wire.OutPoint]chainhash.Hash // outpoint -> mempool spender
	outs   map[wire.OutPoint]memOut
}

func emptyMempool() *mempool {
	return &mempool{
		txs:    map[chainhash.Hash]*memEntry{},
		bySH:   map[SH][]*memEntry{},
		spends: map[wire.OutPoint]chainhash.Hash{},
		outs:   map[wire.OutPoint]memOut{},
	}
}

// buildMempool derives a snapshot from raw transactions against the
// confirmed store. Transactions the store already has confirmed are left
// out (the node's mempool and its chain are read at different moments).
func buildMempool(tx *bolt.Tx, raw map[chainhash.Hash]*wire.MsgTx) *mempool {
	m := emptyMempool()
	txp := tx.Bucket(bTxPos)
	outB := tx.Bucket(bOut)
	for id, mtx := range raw {
		if txp.Get(id[:]) != nil {
			continue
		}
		m.txs[id] = &memEntry{txid: id, tx: mtx, deltas: map[SH]int64{}}
		for vout, o := range mtx.TxOut {
			if !unspendable(o.PkScript) {
				m.outs[wire.OutPoint{Hash: id, Index: uint32(vout)}] = memOut{sh: HashScript(o.PkScript), value: o.Value}
			}
		}
	}
	for id, e := range m.txs {
		var in, out int64
		known := true
		for _, ti := range e.tx.TxIn {
			op := ti.PreviousOutPoint
			m.spends[op] = id
			if parent, ok := m.txs[op.Hash]; ok {
				e.height = -1
				if int(op.Index) >= len(parent.tx.TxOut) {
					known = false
					continue
				}
				in += parent.tx.TxOut[op.Index].Value
				if mo, ok := m.outs[op]; ok {
					e.deltas[mo.sh] -= mo.value
				}
				continue
			}
			if v := outB.Get(outpointKey(op)); v != nil {
				if o, err := decodeOut(v); err == nil {
					in += o.value
					e.deltas[o.sh] -= o.value
					continue
				}
			}
			known = false
		}
		for vout, o := range e.tx.TxOut {
			out += o.Value
			if mo, ok := m.outs[wire.OutPoint{Hash: id, Index: uint32(vout)}]; ok {
				e.deltas[mo.sh] += mo.value
			}
		}
		if known {
			e.fee = in - out
		}
		for sh := range e.deltas {
			m.bySH[sh] = append(m.bySH[sh], e)
		}
	}
	return m
}

// changedScripts lists the scripts whose mempool part differs between two
// snapshots: a transaction came or went, or its height moved (-1 to 0
// when a parent confirms).
func changedScripts(old, cur *mempool, into map[SH]struct{}) {
	for id, e := range cur.txs {
		if o, ok := old.txs[id]; !ok || o.height != e.height || o.fee != e.fee {
			for sh := range e.deltas {
				into[sh] = struct{}{}
			}
		}
	}
	for id, o := range old.txs {
		if _, ok := cur.txs[id]; !ok {
			for sh := range o.deltas {
				into[sh] = struct{}{}
			}
		}
	}
}
