package electrumtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// MemChain is a scripted in-memory chain: tests pay scripts, mine blocks
// and reorganise without a node. Transactions it makes spend invented
// outpoints, so their fees are unknown (0) unless they spend MemChain
// outputs.
type MemChain struct {
	mu       sync.Mutex
	blocks   []Block
	mempool  []*wire.MsgTx
	idx      *Index
	changed  chan struct{}
	seq      uint32
	feeRate  float64
	relayFee float64
	// Reject, when set, makes Broadcast fail with this reason.
	reject string
}

// minerScript is the coinbase output script of MemChain blocks (OP_TRUE).
var minerScript = []byte{0x51}

// NewMemChain returns a chain holding only a genesis block.
func NewMemChain() *MemChain {
	m := &MemChain{changed: make(chan struct{}), feeRate: 0.0002, relayFee: 0.00001}
	m.blocks = []Block{m.makeBlock(chainhash.Hash{}, 0, nil)}
	m.idx = NewIndex(m.blocks, nil)
	return m
}

func (m *MemChain) coinbase(height int) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	var script [8]byte
	binary.LittleEndian.PutUint32(script[:4], uint32(height))
	binary.LittleEndian.PutUint32(script[4:], m.seq)
	m.seq++
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, 0xffffffff), script[:], nil))
	tx.AddTxOut(wire.NewTxOut(50_0000_0000, minerScript))
	return tx
}

func (m *MemChain) makeBlock(prev chainhash.Hash, height int, txs []*wire.MsgTx) Block {
	all := append([]*wire.MsgTx{m.coinbase(height)}, txs...)
	ids := make([]chainhash.Hash, len(all))
	for i, tx := range all {
		ids[i] = tx.TxHash()
	}
	root, _ := merkleBranch(ids, 0)
	hdr := wire.BlockHeader{
		Version: 0x20000000, PrevBlock: prev, MerkleRoot: root,
		Timestamp: time.Unix(1_700_000_000+int64(height)*600, 0), Bits: 0x207fffff, Nonce: uint32(height),
	}
	return Block{Header: hdr, Txs: all}
}

// publish rebuilds the index and wakes watchers; m.mu is held.
func (m *MemChain) publish() {
	m.idx = NewIndex(append([]Block(nil), m.blocks...), append([]*wire.MsgTx(nil), m.mempool...))
	close(m.changed)
	m.changed = make(chan struct{})
}

// Pay adds a mempool transaction paying value to pkScript and returns it.
func (m *MemChain) Pay(pkScript []byte, value int64) *wire.MsgTx {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := wire.NewMsgTx(2)
	var h chainhash.Hash
	binary.LittleEndian.PutUint32(h[:], 0xfeed0000+m.seq)
	m.seq++
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&h, 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(value, pkScript))
	m.mempool = append(m.mempool, tx)
	m.publish()
	return tx
}

// Spend adds a mempool transaction spending prev (outputs of MemChain
// transactions) to one output of value to pkScript.
func (m *MemChain) Spend(prev []wire.OutPoint, pkScript []byte, value int64) *wire.MsgTx {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := wire.NewMsgTx(2)
	for i := range prev {
		tx.AddTxIn(wire.NewTxIn(&prev[i], nil, nil))
	}
	tx.AddTxOut(wire.NewTxOut(value, pkScript))
	m.mempool = append(m.mempool, tx)
	m.publish()
	return tx
}

// Mine moves the whole mempool into n new blocks (the first gets it all).
func (m *MemChain) Mine(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		tip := m.blocks[len(m.blocks)-1]
		m.blocks = append(m.blocks, m.makeBlock(tip.Header.BlockHash(), len(m.blocks), m.mempool))
		m.mempool = nil
	}
	m.publish()
}

// SetReject makes Broadcast refuse every transaction with reason ("" to
// accept again).
func (m *MemChain) SetReject(reason string) {
	m.mu.Lock()
	m.reject = reason
	m.mu.Unlock()
}

// Snapshot implements ChainState.
func (m *MemChain) Snapshot() *Index {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idx
}

// Changed implements ChainState.
func (m *MemChain) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

func txHex(tx *wire.MsgTx) string {
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	return hex.EncodeToString(b.Bytes())
}

// RawTx implements ChainState.
func (m *MemChain) RawTx(_ context.Context, txid string) (string, error) {
	tx, _, ok := m.Snapshot().Tx(txid)
	if !ok {
		return "", &RPCError{Code: CodeDaemonError, Message: MsgNoSuchTx}
	}
	return txHex(tx), nil
}

// VerboseTx implements ChainState with a getrawtransaction-shaped object.
func (m *MemChain) VerboseTx(_ context.Context, txid string) (json.RawMessage, error) {
	idx := m.Snapshot()
	tx, height, ok := idx.Tx(txid)
	if !ok {
		return nil, &RPCError{Code: CodeDaemonError, Message: MsgNoSuchTx}
	}
	type vout struct {
		Value        float64        `json:"value"`
		N            int            `json:"n"`
		ScriptPubKey map[string]any `json:"scriptPubKey"`
	}
	obj := map[string]any{
		"txid": txid, "hash": tx.WitnessHash().String(), "hex": txHex(tx),
		"version": tx.Version, "size": tx.SerializeSize(), "locktime": tx.LockTime,
	}
	var vins []map[string]any
	for _, in := range tx.TxIn {
		vins = append(vins, map[string]any{"txid": in.PreviousOutPoint.Hash.String(), "vout": in.PreviousOutPoint.Index, "sequence": in.Sequence})
	}
	obj["vin"] = vins
	var vouts []vout
	for i, o := range tx.TxOut {
		vouts = append(vouts, vout{Value: float64(o.Value) / 1e8, N: i, ScriptPubKey: map[string]any{"hex": hex.EncodeToString(o.PkScript)}})
	}
	obj["vout"] = vouts
	if height > 0 {
		b, _ := idx.Block(height)
		obj["blockhash"] = b.Header.BlockHash().String()
		obj["confirmations"] = idx.Height() - height + 1
		obj["time"] = b.Header.Timestamp.Unix()
		obj["blocktime"] = b.Header.Timestamp.Unix()
	}
	return json.Marshal(obj)
}

// Broadcast implements ChainState: the transaction enters the mempool.
func (m *MemChain) Broadcast(_ context.Context, rawHex string) (string, error) {
	raw, err := hex.DecodeString(rawHex)
	var tx wire.MsgTx
	if err == nil {
		err = tx.Deserialize(bytes.NewReader(raw))
	}
	if err != nil {
		return "", rejected("TX decode failed", rawHex)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reject != "" {
		return "", rejected(m.reject, rawHex)
	}
	txid := tx.TxHash().String()
	if _, _, ok := m.idx.Tx(txid); ok {
		return "", rejected("txn-already-known", rawHex)
	}
	m.mempool = append(m.mempool, &tx)
	m.publish()
	return txid, nil
}

// rejected builds ElectrumX's broadcast rejection error.
func rejected(reason, rawHex string) error {
	return &RPCError{Code: CodeBadRequest, Message: fmt.Sprintf("the transaction was rejected by network rules.\n\n%s\n[%s]", reason, rawHex)}
}

// EstimateFee implements ChainState.
func (m *MemChain) EstimateFee(context.Context, int) (float64, error) { return m.feeRate, nil }

// RelayFee implements ChainState.
func (m *MemChain) RelayFee(context.Context) (float64, error) { return m.relayFee, nil }

// merkleBranch returns the merkle root of hashes and the branch proving
// the hash at pos, deepest pairing first (Bitcoin's rule: an odd level
// duplicates its last hash).
func merkleBranch(hashes []chainhash.Hash, pos int) (chainhash.Hash, []chainhash.Hash) {
	if len(hashes) == 0 {
		return chainhash.Hash{}, nil
	}
	level := append([]chainhash.Hash(nil), hashes...)
	var branch []chainhash.Hash
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		branch = append(branch, level[pos^1])
		next := make([]chainhash.Hash, len(level)/2)
		for i := range next {
			var buf [64]byte
			copy(buf[:32], level[2*i][:])
			copy(buf[32:], level[2*i+1][:])
			next[i] = chainhash.DoubleHashH(buf[:])
		}
		level = next
		pos /= 2
	}
	return level[0], branch
}
