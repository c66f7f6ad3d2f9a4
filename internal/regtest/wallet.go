package regtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/btcsuite/btcd/wire/v2"
)

// wallet tracks the mining key's coins: coinbase outputs found by scanning
// blocks, and change from the harness's own payments. Its mutex is held for
// a whole Pay (select, build, broadcast), so concurrent calls never pick
// the same coin.
type wallet struct {
	mu       sync.Mutex
	coinbase map[int64]Outpoint // by block height; TxID "" when the block pays someone else
	change   []Outpoint         // oldest first
	used     map[string]bool    // outpoints spent by the harness (or found gone)
}

func newWallet() *wallet {
	return &wallet{coinbase: make(map[int64]Outpoint), used: make(map[string]bool)}
}

func (n *Node) currentWallet() *wallet {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.wallet
}

// Fund pays amount satoshis to script from the mining key's coins and
// broadcasts it (unconfirmed; call Generate to confirm). It returns the
// funded output.
func (n *Node) Fund(ctx context.Context, script []byte, amount int64) (Outpoint, error) {
	sent, err := n.Pay(ctx, Output{Script: script, Value: amount})
	if err != nil {
		return Outpoint{}, err
	}
	return sent.Outputs[0], nil
}

// Pay sends the outputs, in order, from the mining key's coins at
// Options.FeeRate; change back to the mining key comes last. It uses mature
// coinbase outputs first, then earlier change (confirmed or not).
func (n *Node) Pay(ctx context.Context, outputs ...Output) (*Sent, error) {
	var want int64
	for i, o := range outputs {
		if o.Value == Rest {
			return nil, fmt.Errorf("regtest: pay: output %d: Rest is for Spend; Pay needs exact values", i)
		}
		want += max(o.Value, 0)
	}
	w := n.currentWallet()
	w.mu.Lock()
	defer w.mu.Unlock()
	tip, err := n.Height(ctx)
	if err != nil {
		return nil, err
	}
	var (
		inputs []Input
		sum    int64
		tx     *wire.MsgTx
		fee    int64
		tried  = make(map[string]bool)
	)
	for {
		op, ok, err := n.nextCoin(ctx, w, tried, tip)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("regtest: pay %d sat: %w: the mining key's spendable coins hold %d sat at height %d (coinbases mature after %d blocks; Generate more)",
				want, errInsufficient, sum, tip, params().CoinbaseMaturity)
		}
		inputs = append(inputs, Input{Outpoint: op, Key: n.mining})
		sum += op.Value
		if sum < want {
			continue
		}
		tx, fee, err = buildTx(plan{inputs: inputs, outputs: outputs, change: n.mining.script, feeRate: n.opts.FeeRate, dust: n.opts.DustLimit})
		if errors.Is(err, errInsufficient) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("regtest: pay %d sat: %w", want, err)
		}
		break
	}
	sent, err := n.broadcast(ctx, tx, fee)
	if err != nil {
		return nil, err
	}
	for _, in := range inputs {
		w.used[in.Outpoint.String()] = true
	}
	if last := sent.Outputs[len(sent.Outputs)-1]; len(sent.Outputs) > len(outputs) && bytes.Equal(last.Script, n.mining.script) {
		w.change = append(w.change, last)
	}
	return sent, nil
}

// Spend builds a transaction from inputs the test's keys own to outputs,
// signs it, checks every input with the script engine and broadcasts it.
// feeRate is in sat/vB (<= 0: Options.FeeRate). Unless one output's value
// is Rest, the remainder goes back to the first input's key as a last
// output (or to the fee, when below the dust limit).
func (n *Node) Spend(ctx context.Context, inputs []Input, outputs []Output, feeRate int64) (*Sent, error) {
	if len(inputs) == 0 {
		return nil, errors.New("regtest: spend: no inputs")
	}
	if feeRate <= 0 {
		feeRate = n.opts.FeeRate
	}
	ins := make([]Input, len(inputs))
	for i, in := range inputs {
		if in.Key == nil {
			return nil, fmt.Errorf("regtest: spend: input %d (%s): no key", i, in.Outpoint)
		}
		if in.Value == 0 || len(in.Script) == 0 {
			op, err := n.lookupOutput(ctx, in.TxID, in.Vout)
			if err != nil {
				return nil, fmt.Errorf("regtest: spend: input %d: %w", i, err)
			}
			in.Outpoint = op
		}
		ins[i] = in
	}
	tx, fee, err := buildTx(plan{inputs: ins, outputs: outputs, change: ins[0].Key.script, feeRate: feeRate, dust: n.opts.DustLimit})
	if err != nil {
		return nil, fmt.Errorf("regtest: spend: %w", err)
	}
	return n.broadcast(ctx, tx, fee)
}

func (n *Node) broadcast(ctx context.Context, tx *wire.MsgTx, fee int64) (*Sent, error) {
	sent := sentOf(tx, fee)
	txid, err := n.SendRaw(ctx, sent.Raw)
	if err != nil {
		return nil, fmt.Errorf("regtest: broadcast %s: %w", sent.TxID, err)
	}
	if txid != sent.TxID {
		return nil, fmt.Errorf("regtest: broadcast %s: node reports txid %s", sent.TxID, txid)
	}
	return sent, nil
}

// nextCoin returns an unspent coin of the mining key not yet in tried:
// mature coinbases by height, then change, oldest first. ok is false when
// there is none.
func (n *Node) nextCoin(ctx context.Context, w *wallet, tried map[string]bool, tip int64) (Outpoint, bool, error) {
	lastMature := tip - int64(params().CoinbaseMaturity) + 1 // spendable in the next block
	for h := int64(1); h <= lastMature; h++ {
		op, cached := w.coinbase[h]
		if !cached {
			var err error
			if op, err = n.coinbaseAt(ctx, h); err != nil {
				return Outpoint{}, false, err
			}
			w.coinbase[h] = op
		}
		if op.TxID == "" || w.used[op.String()] || tried[op.String()] {
			continue
		}
		tried[op.String()] = true
		live, err := n.unspent(ctx, op)
		if err != nil {
			return Outpoint{}, false, err
		}
		if live {
			return op, true, nil
		}
		// Gone: a reorg replaced the block at h, or the coin was
		// spent. Rescan the height once; the loop tries it again.
		w.used[op.String()] = true
		if op, err = n.coinbaseAt(ctx, h); err != nil {
			return Outpoint{}, false, err
		}
		w.coinbase[h] = op
		h--
	}
	for _, op := range w.change {
		if w.used[op.String()] || tried[op.String()] {
			continue
		}
		tried[op.String()] = true
		live, err := n.unspent(ctx, op)
		if err != nil {
			return Outpoint{}, false, err
		}
		if live {
			return op, true, nil
		}
		w.used[op.String()] = true
	}
	return Outpoint{}, false, nil
}

// coinbaseAt finds the output paying the mining key in the coinbase of the
// best chain's block at height h; TxID is "" when there is none.
func (n *Node) coinbaseAt(ctx context.Context, h int64) (Outpoint, error) {
	hash, err := n.BlockHash(ctx, h)
	if err != nil {
		return Outpoint{}, err
	}
	var blockHex string
	if err := n.CallInto(ctx, &blockHex, "getblock", hash, 0); err != nil {
		return Outpoint{}, err
	}
	raw, err := hex.DecodeString(blockHex)
	if err != nil {
		return Outpoint{}, fmt.Errorf("regtest: block %s: bad hex: %w", hash, err)
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		return Outpoint{}, fmt.Errorf("regtest: block %s: %w", hash, err)
	}
	if len(blk.Transactions) == 0 {
		return Outpoint{}, fmt.Errorf("regtest: block %s has no transactions", hash)
	}
	cb := blk.Transactions[0]
	for i, out := range cb.TxOut {
		if bytes.Equal(out.PkScript, n.mining.script) {
			return Outpoint{TxID: cb.TxHash().String(), Vout: uint32(i), Value: out.Value, Script: bytes.Clone(out.PkScript)}, nil
		}
	}
	return Outpoint{}, nil
}

// txOut is the part of btcd's gettxout reply the harness reads.
type txOut struct {
	Value        float64 `json:"value"`
	ScriptPubKey struct {
		Hex string `json:"hex"`
	} `json:"scriptPubKey"`
}

// getTxOut asks the node about an output, counting mempool transactions.
// It returns nil when the output is spent in a block or unknown. btcd does
// not report outputs spent only by mempool transactions as spent.
func (n *Node) getTxOut(ctx context.Context, txid string, vout uint32) (*txOut, error) {
	res, err := n.Call(ctx, "gettxout", txid, vout, true)
	if IsRPCError(err, CodeNoTxInfo) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if string(res) == "null" {
		return nil, nil
	}
	var out txOut
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, fmt.Errorf("regtest: gettxout %s:%d: %w", txid, vout, err)
	}
	return &out, nil
}

func (n *Node) unspent(ctx context.Context, op Outpoint) (bool, error) {
	out, err := n.getTxOut(ctx, op.TxID, op.Vout)
	return out != nil, err
}

// lookupOutput fills in an output's value and script from the node.
func (n *Node) lookupOutput(ctx context.Context, txid string, vout uint32) (Outpoint, error) {
	out, err := n.getTxOut(ctx, txid, vout)
	if err != nil {
		return Outpoint{}, err
	}
	if out == nil {
		return Outpoint{}, fmt.Errorf("output %s:%d is spent or unknown", txid, vout)
	}
	script, err := hex.DecodeString(out.ScriptPubKey.Hex)
	if err != nil {
		return Outpoint{}, fmt.Errorf("output %s:%d: script hex: %w", txid, vout, err)
	}
	// btcd prints amounts as BTC with at most 8 decimals; rounding
	// recovers the exact satoshi count.
	return Outpoint{TxID: txid, Vout: vout, Value: int64(math.Round(out.Value * 1e8)), Script: script}, nil
}
