package electrumtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
)

// NodeRPC is a node's JSON-RPC endpoint; internal/regtest's Node has this
// method. Errors the node reports must be (or wrap) *walletgate.RPCError.
type NodeRPC interface {
	Call(ctx context.Context, method string, params ...any) (json.RawMessage, error)
}

// Indexer is a ChainState read from a real node (btcd regtest): blocks via
// getblockhash/getblock (verbosity 0, parsed with wire), the mempool via
// getrawmempool/getrawtransaction. Verbose transactions are the node's own
// getrawtransaction output; broadcasts go to sendrawtransaction. It changes
// only in Sync (called by tests after mining or sending, or by Run).
type Indexer struct {
	rpc NodeRPC

	syncMu  sync.Mutex // one Sync at a time
	mu      sync.Mutex
	blocks  []Block
	hashes  []chainhash.Hash
	mempool map[chainhash.Hash]*wire.MsgTx
	idx     *Index
	changed chan struct{}
}

// NewIndexer indexes the node's chain and mempool once and returns.
func NewIndexer(ctx context.Context, rpc NodeRPC) (*Indexer, error) {
	x := &Indexer{rpc: rpc, mempool: make(map[chainhash.Hash]*wire.MsgTx), changed: make(chan struct{}), idx: NewIndex(nil, nil)}
	if err := x.Sync(ctx); err != nil {
		return nil, err
	}
	return x, nil
}

// Run calls Sync every interval until ctx ends.
func (x *Indexer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = x.Sync(ctx)
		}
	}
}

func (x *Indexer) call(ctx context.Context, out any, method string, params ...any) error {
	raw, err := x.rpc.Call(ctx, method, params...)
	if err != nil {
		return fmt.Errorf("electrumtest: node %s: %w", method, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("electrumtest: node %s: decode %s: %w", method, raw, err)
	}
	return nil
}

func (x *Indexer) fetchBlock(ctx context.Context, hash string) (Block, error) {
	var hexBlock string
	if err := x.call(ctx, &hexBlock, "getblock", hash, 0); err != nil {
		return Block{}, err
	}
	raw, err := hex.DecodeString(hexBlock)
	if err != nil {
		return Block{}, fmt.Errorf("electrumtest: block %s: %w", hash, err)
	}
	var mb wire.MsgBlock
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		return Block{}, fmt.Errorf("electrumtest: parse block %s: %w", hash, err)
	}
	return Block{Header: mb.Header, Txs: mb.Transactions}, nil
}

func (x *Indexer) fetchTx(ctx context.Context, txid string) (*wire.MsgTx, error) {
	var hexTx string
	if err := x.call(ctx, &hexTx, "getrawtransaction", txid, 0); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(hexTx)
	if err != nil {
		return nil, fmt.Errorf("electrumtest: tx %s: %w", txid, err)
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("electrumtest: parse tx %s: %w", txid, err)
	}
	return &tx, nil
}

// Sync reads new blocks (undoing reorganised ones) and the mempool, and
// publishes a new snapshot when anything changed. Like ElectrumX, it keeps
// a mempool only if the node's tip did not move while it was read: a block
// mined in between would otherwise leave its transactions in neither the
// indexed chain nor the mempool, a snapshot in which a payment vanishes.
func (x *Indexer) Sync(ctx context.Context) error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	for {
		moved, err := x.syncOnce(ctx)
		if err != nil || !moved {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("electrumtest: sync: %w", err)
		}
	}
}

// syncOnce is one Sync attempt; moved reports that the tip changed while
// the mempool was read, so nothing was published and Sync reads again.
func (x *Indexer) syncOnce(ctx context.Context) (moved bool, err error) {
	x.mu.Lock()
	blocks := append([]Block(nil), x.blocks...)
	hashes := append([]chainhash.Hash(nil), x.hashes...)
	oldMem := x.mempool
	x.mu.Unlock()

	var count int64
	if err := x.call(ctx, &count, "getblockcount"); err != nil {
		return false, err
	}
	// Walk back to the last block we share with the node.
	h := min(int64(len(hashes))-1, count)
	for ; h >= 0; h-- {
		var hs string
		if err := x.call(ctx, &hs, "getblockhash", h); err != nil {
			return false, err
		}
		if hs == hashes[h].String() {
			break
		}
	}
	changed := int64(len(hashes))-1 != h || h != count
	blocks, hashes = blocks[:h+1], hashes[:h+1]
	for n := h + 1; n <= count; n++ {
		var hs string
		if err := x.call(ctx, &hs, "getblockhash", n); err != nil {
			return false, err
		}
		b, err := x.fetchBlock(ctx, hs)
		if err != nil {
			return false, err
		}
		blocks = append(blocks, b)
		hashes = append(hashes, b.Header.BlockHash())
	}
	var ids []string
	if err := x.call(ctx, &ids, "getrawmempool"); err != nil {
		return false, err
	}
	mem := make(map[chainhash.Hash]*wire.MsgTx, len(ids))
	for _, id := range ids {
		var hh chainhash.Hash
		if err := chainhash.Decode(&hh, id); err != nil {
			return false, fmt.Errorf("electrumtest: mempool txid %q: %w", id, err)
		}
		if tx, ok := oldMem[hh]; ok {
			mem[hh] = tx
			continue
		}
		tx, err := x.fetchTx(ctx, id)
		if err != nil {
			var re *walletgate.RPCError
			if errors.As(err, &re) {
				continue // left the mempool meanwhile
			}
			return false, err
		}
		mem[hh] = tx
		changed = true
	}
	if len(mem) != len(oldMem) {
		changed = true
	}
	var best string
	if err := x.call(ctx, &best, "getbestblockhash"); err != nil {
		return false, err
	}
	if len(hashes) > 0 && best != hashes[len(hashes)-1].String() {
		return true, nil
	}
	if !changed {
		return false, nil
	}
	list := make([]*wire.MsgTx, 0, len(mem))
	for _, id := range ids {
		var hh chainhash.Hash
		_ = chainhash.Decode(&hh, id)
		if tx, ok := mem[hh]; ok {
			list = append(list, tx)
		}
	}
	idx := NewIndex(blocks, list)
	x.mu.Lock()
	x.blocks, x.hashes, x.mempool, x.idx = blocks, hashes, mem, idx
	close(x.changed)
	x.changed = make(chan struct{})
	x.mu.Unlock()
	return false, nil
}

// Snapshot implements ChainState.
func (x *Indexer) Snapshot() *Index {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.idx
}

// Changed implements ChainState.
func (x *Indexer) Changed() <-chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.changed
}

// daemonError turns a node error into ElectrumX's code-2 wrapping. Unknown
// transactions get Bitcoin Core's wording, which is what ElectrumX over a
// Core-derived node (Bitweb) shows; btcd words it differently.
func daemonError(err error) error {
	var re *walletgate.RPCError
	if !errors.As(err, &re) {
		return err
	}
	if re.Code == -5 {
		return &RPCError{Code: CodeDaemonError, Message: MsgNoSuchTx}
	}
	return &RPCError{Code: CodeDaemonError, Message: fmt.Sprintf("daemon error: DaemonError({'code': %d, 'message': '%s'})", re.Code, re.Message)}
}

// RawTx implements ChainState by asking the node.
func (x *Indexer) RawTx(ctx context.Context, txid string) (string, error) {
	var out string
	if err := x.call(ctx, &out, "getrawtransaction", txid, 0); err != nil {
		return "", daemonError(err)
	}
	return out, nil
}

// VerboseTx implements ChainState with the node's getrawtransaction txid 1.
func (x *Indexer) VerboseTx(ctx context.Context, txid string) (json.RawMessage, error) {
	raw, err := x.rpc.Call(ctx, "getrawtransaction", txid, 1)
	if err != nil {
		return nil, daemonError(err)
	}
	return raw, nil
}

// Broadcast implements ChainState with sendrawtransaction; every node
// rejection (-26 policy or already in mempool, -27 already in chain, -22
// bad encoding) becomes ElectrumX's code-1 message. It syncs afterwards so
// subscribers hear about the transaction.
func (x *Indexer) Broadcast(ctx context.Context, rawHex string) (string, error) {
	var txid string
	raw, err := x.rpc.Call(ctx, "sendrawtransaction", rawHex)
	if err != nil {
		var re *walletgate.RPCError
		if errors.As(err, &re) {
			return "", rejected(re.Message, rawHex)
		}
		return "", err
	}
	if err := json.Unmarshal(raw, &txid); err != nil {
		return "", fmt.Errorf("electrumtest: sendrawtransaction result %s: %w", raw, err)
	}
	if err := x.Sync(ctx); err != nil {
		return "", err
	}
	return txid, nil
}

// EstimateFee implements ChainState with btcd's estimatefee (btcd has no
// estimatesmartfee); failures mean "no estimate" (-1), as in ElectrumX.
func (x *Indexer) EstimateFee(ctx context.Context, blocks int) (float64, error) {
	var rate float64
	if err := x.call(ctx, &rate, "estimatefee", max(blocks, 1)); err != nil || rate <= 0 {
		return -1, nil
	}
	return rate, nil
}

// RelayFee implements ChainState with getinfo's relayfee (btcd has no
// getnetworkinfo).
func (x *Indexer) RelayFee(ctx context.Context) (float64, error) {
	var info struct {
		RelayFee float64 `json:"relayfee"`
	}
	if err := x.call(ctx, &info, "getinfo"); err != nil {
		return 0, daemonError(err)
	}
	return info.RelayFee, nil
}
