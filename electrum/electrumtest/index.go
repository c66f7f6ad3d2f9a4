package electrumtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Block is one block of the chain a server serves: its header and its
// transactions in block order.
type Block struct {
	Header wire.BlockHeader
	Txs    []*wire.MsgTx
}

// HistoryItem is one transaction touching a script, as get_history and
// get_mempool report it. Fee is set for mempool items only.
type HistoryItem struct {
	TxHash string
	Height int64
	Fee    int64
}

// UnspentItem is one output as listunspent reports it.
type UnspentItem struct {
	TxHash string
	TxPos  uint32
	Height int64
	Value  int64
}

type txLoc struct {
	tx     *wire.MsgTx
	height int64 // 0 for mempool
	pos    int
}

type scriptState struct {
	confirmed   []HistoryItem
	mempool     []HistoryItem
	unspent     []UnspentItem
	balConf     int64
	balUnconf   int64
	status      string
	historyTxns map[string]bool
}

// Index is an immutable snapshot of a chain and its mempool, indexed by
// script hash the way ElectrumX indexes it (§7.3 and §7.4 of the Bitweb
// spec). Servers read it without locks; a new snapshot replaces it whole.
type Index struct {
	blocks  []Block
	headers []string // raw header hex by height
	txs     map[string]txLoc
	scripts map[string]*scriptState
}

type outInfo struct {
	sh     string
	value  int64
	height int64 // 0 for mempool outputs
	chain  int   // ordering key: position of the creating tx in chain order
	txid   string
	vout   uint32
}

// ScriptHashOf returns the Electrum script hash of a scriptPubKey: its
// SHA-256, byte-reversed, as lowercase hex.
func ScriptHashOf(pkScript []byte) string {
	h := sha256.Sum256(pkScript)
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return hex.EncodeToString(h[:])
}

// StatusOf computes an Electrum status from a history in Electrum order
// (§7.4): the hex SHA-256 of "txid:height:" concatenated, "" when empty.
func StatusOf(items []HistoryItem) string {
	if len(items) == 0 {
		return ""
	}
	var b bytes.Buffer
	for _, it := range items {
		b.WriteString(it.TxHash)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(it.Height, 10))
		b.WriteByte(':')
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

// unspendable reports outputs ElectrumX never indexes (OP_RETURN data).
func unspendable(pkScript []byte) bool {
	return len(pkScript) > 0 && pkScript[0] == 0x6a
}

// NewIndex indexes blocks (from height 0; the genesis block's outputs are
// not indexed, as in ElectrumX) and a mempool.
func NewIndex(blocks []Block, mempool []*wire.MsgTx) *Index {
	idx := &Index{
		blocks:  blocks,
		headers: make([]string, len(blocks)),
		txs:     make(map[string]txLoc),
		scripts: make(map[string]*scriptState),
	}
	outs := make(map[wire.OutPoint]outInfo)
	touch := func(sh string) *scriptState {
		st := idx.scripts[sh]
		if st == nil {
			st = &scriptState{historyTxns: make(map[string]bool)}
			idx.scripts[sh] = st
		}
		return st
	}
	order := 0
	for h, b := range blocks {
		var hb bytes.Buffer
		_ = b.Header.Serialize(&hb)
		idx.headers[h] = hex.EncodeToString(hb.Bytes())
		if h == 0 {
			continue
		}
		for pos, tx := range b.Txs {
			txid := tx.TxHash().String()
			idx.txs[txid] = txLoc{tx: tx, height: int64(h), pos: pos}
			add := func(sh string) {
				st := touch(sh)
				if !st.historyTxns[txid] {
					st.historyTxns[txid] = true
					st.confirmed = append(st.confirmed, HistoryItem{TxHash: txid, Height: int64(h)})
				}
			}
			if pos > 0 {
				for _, in := range tx.TxIn {
					o, ok := outs[in.PreviousOutPoint]
					if !ok {
						continue
					}
					delete(outs, in.PreviousOutPoint)
					st := touch(o.sh)
					st.balConf -= o.value
					add(o.sh)
				}
			}
			for i, out := range tx.TxOut {
				if unspendable(out.PkScript) {
					continue
				}
				sh := ScriptHashOf(out.PkScript)
				outs[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = outInfo{
					sh: sh, value: out.Value, height: int64(h), chain: order, txid: txid, vout: uint32(i)}
				order++
				touch(sh).balConf += out.Value
				add(sh)
			}
		}
	}
	memUnspent := idx.indexMempool(mempool, outs, touch)
	for _, st := range idx.scripts {
		sort.SliceStable(st.mempool, func(i, j int) bool {
			a, b := st.mempool[i], st.mempool[j]
			if a.Height != b.Height {
				return a.Height > b.Height // 0 before -1
			}
			return a.TxHash < b.TxHash
		})
		st.status = StatusOf(append(append([]HistoryItem(nil), st.confirmed...), st.mempool...))
	}
	// Confirmed unspent outputs, in chain order.
	var remaining []outInfo
	for _, o := range outs {
		remaining = append(remaining, o)
	}
	sort.Slice(remaining, func(i, j int) bool { return remaining[i].chain < remaining[j].chain })
	for _, o := range remaining {
		st := touch(o.sh)
		st.unspent = append(st.unspent, UnspentItem{TxHash: o.txid, TxPos: o.vout, Height: o.height, Value: o.value})
	}
	for _, o := range memUnspent {
		st := touch(o.sh)
		st.unspent = append(st.unspent, UnspentItem{TxHash: o.txid, TxPos: o.vout, Value: o.value})
	}
	return idx
}

// indexMempool adds the mempool part and returns the mempool outputs that
// are still unspent, in a stable order.
func (idx *Index) indexMempool(mempool []*wire.MsgTx, outs map[wire.OutPoint]outInfo, touch func(string) *scriptState) []outInfo {
	memTx := make(map[chainhash.Hash]*wire.MsgTx, len(mempool))
	for _, tx := range mempool {
		memTx[tx.TxHash()] = tx
	}
	memOuts := make(map[wire.OutPoint]outInfo)
	for _, tx := range mempool {
		txid := tx.TxHash().String()
		if _, dup := idx.txs[txid]; dup {
			continue
		}
		idx.txs[txid] = txLoc{tx: tx}
		for i, out := range tx.TxOut {
			if unspendable(out.PkScript) {
				continue
			}
			memOuts[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = outInfo{
				sh: ScriptHashOf(out.PkScript), value: out.Value, txid: txid, vout: uint32(i)}
		}
	}
	spentInMempool := make(map[wire.OutPoint]bool)
	for _, tx := range mempool {
		txid := tx.TxHash().String()
		if loc := idx.txs[txid]; loc.height != 0 {
			continue
		}
		height := int64(0)
		var in, out int64
		known := true
		touched := make(map[string]bool)
		for _, ti := range tx.TxIn {
			op := ti.PreviousOutPoint
			if _, parent := memTx[op.Hash]; parent {
				height = -1
			}
			spentInMempool[op] = true
			if o, ok := outs[op]; ok {
				in += o.value
				touch(o.sh).balUnconf -= o.value
				touched[o.sh] = true
			} else if o, ok := memOuts[op]; ok {
				in += o.value
				touch(o.sh).balUnconf -= o.value
				touched[o.sh] = true
			} else {
				known = false
			}
		}
		for _, o := range tx.TxOut {
			out += o.Value
			if unspendable(o.PkScript) {
				continue
			}
			sh := ScriptHashOf(o.PkScript)
			touch(sh).balUnconf += o.Value
			touched[sh] = true
		}
		fee := int64(0)
		if known {
			fee = in - out
		}
		for sh := range touched {
			st := touch(sh)
			st.mempool = append(st.mempool, HistoryItem{TxHash: txid, Height: height, Fee: fee})
		}
	}
	for op := range spentInMempool {
		delete(outs, op)
	}
	// Mempool outputs not spent by another mempool tx are unspent at height 0.
	var mem []outInfo
	for op, o := range memOuts {
		if !spentInMempool[op] {
			mem = append(mem, o)
		}
	}
	sort.Slice(mem, func(i, j int) bool {
		if mem[i].txid != mem[j].txid {
			return mem[i].txid < mem[j].txid
		}
		return mem[i].vout < mem[j].vout
	})
	return mem
}

// Height returns the tip height (-1 for an empty chain).
func (idx *Index) Height() int64 { return int64(len(idx.blocks)) - 1 }

// HeaderHex returns the raw header at height as hex.
func (idx *Index) HeaderHex(height int64) (string, bool) {
	if height < 0 || height >= int64(len(idx.headers)) {
		return "", false
	}
	return idx.headers[height], true
}

// Block returns the block at height.
func (idx *Index) Block(height int64) (Block, bool) {
	if height < 0 || height >= int64(len(idx.blocks)) {
		return Block{}, false
	}
	return idx.blocks[height], true
}

// Tx returns a known transaction and its height (0 for mempool, and false
// when unknown).
func (idx *Index) Tx(txid string) (*wire.MsgTx, int64, bool) {
	loc, ok := idx.txs[txid]
	if !ok {
		return nil, 0, false
	}
	return loc.tx, loc.height, true
}

// History returns the confirmed history then the mempool part of sh.
func (idx *Index) History(sh string) []HistoryItem {
	st := idx.scripts[sh]
	if st == nil {
		return nil
	}
	return append(append([]HistoryItem(nil), st.confirmed...), st.mempool...)
}

// Mempool returns the mempool part of sh's history.
func (idx *Index) Mempool(sh string) []HistoryItem {
	st := idx.scripts[sh]
	if st == nil {
		return nil
	}
	return append([]HistoryItem(nil), st.mempool...)
}

// Unspent returns sh's unspent outputs: confirmed in chain order, then
// mempool outputs at height 0; outputs spent in the mempool are left out.
func (idx *Index) Unspent(sh string) []UnspentItem {
	st := idx.scripts[sh]
	if st == nil {
		return nil
	}
	return append([]UnspentItem(nil), st.unspent...)
}

// Balance returns sh's confirmed balance and mempool delta.
func (idx *Index) Balance(sh string) (confirmed, unconfirmed int64) {
	st := idx.scripts[sh]
	if st == nil {
		return 0, 0
	}
	return st.balConf, st.balUnconf
}

// Status returns sh's status, "" when it has no history.
func (idx *Index) Status(sh string) string {
	st := idx.scripts[sh]
	if st == nil {
		return ""
	}
	return st.status
}

// MempoolTxs returns every mempool transaction (height 0 in Tx).
func (idx *Index) MempoolTxs() []*wire.MsgTx {
	var out []*wire.MsgTx
	for _, loc := range idx.txs {
		if loc.height == 0 {
			out = append(out, loc.tx)
		}
	}
	return out
}

// txScriptHashes returns the script hashes of tx's indexed outputs.
func txScriptHashes(tx *wire.MsgTx) []string {
	var out []string
	for _, o := range tx.TxOut {
		if !unspendable(o.PkScript) {
			out = append(out, ScriptHashOf(o.PkScript))
		}
	}
	return out
}
