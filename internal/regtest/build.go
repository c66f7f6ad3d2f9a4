package regtest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Outpoint is a transaction output: where it is, what it is worth in
// satoshis, and the script it pays.
type Outpoint struct {
	TxID   string
	Vout   uint32
	Value  int64
	Script []byte
}

// String formats the outpoint as txid:vout.
func (o Outpoint) String() string { return fmt.Sprintf("%s:%d", o.TxID, o.Vout) }

// Output is a payment: a scriptPubKey and a value in satoshis. In Spend,
// one output may have the value Rest.
type Output struct {
	Script []byte
	Value  int64
}

// Rest as an Output's value means "everything the inputs hold beyond the
// other outputs and the fee" (a sweep; no change output is made).
const Rest int64 = -1

// maxMoney is the largest valid amount (21 million BTC in satoshis).
const maxMoney = 21_000_000 * 100_000_000

// Input is an output to spend and the key that owns it. Value and Script
// may be left empty; Spend then looks them up on the node.
type Input struct {
	Outpoint
	Key *Key
}

// Sent is a transaction the harness built and the node accepted.
type Sent struct {
	TxID    string
	Raw     []byte     // serialized with witness data
	Fee     int64      // satoshis: inputs minus outputs
	VSize   int64      // virtual size in vbytes
	Outputs []Outpoint // every output of the transaction, in order
}

// errInsufficient marks a build that failed only because the inputs hold
// too little; coin selection reacts by adding an input.
var errInsufficient = errors.New("insufficient funds")

// plan is what buildTx needs: known inputs (Value and Script set), the
// payments, where the remainder goes, and the fee policy.
type plan struct {
	inputs  []Input
	outputs []Output
	change  []byte // remainder goes here unless an output is Rest; nil: to the fee
	feeRate int64  // sat/vB
	dust    int64
}

// buildTx makes, signs and verifies a transaction for p. It signs twice:
// once to learn the real size, then with the final values.
func buildTx(p plan) (*wire.MsgTx, int64, error) {
	if len(p.inputs) == 0 {
		return nil, 0, errors.New("no inputs")
	}
	if len(p.outputs) == 0 {
		return nil, 0, errors.New("no outputs")
	}
	if p.feeRate <= 0 {
		return nil, 0, fmt.Errorf("fee rate %d sat/vB: must be positive", p.feeRate)
	}
	tx := wire.NewMsgTx(2)
	seen := make(map[wire.OutPoint]int, len(p.inputs))
	var sumIn int64
	for i, in := range p.inputs {
		if in.Key == nil {
			return nil, 0, fmt.Errorf("input %d (%s): no key", i, in.Outpoint)
		}
		if in.Value <= 0 || in.Value > maxMoney {
			return nil, 0, fmt.Errorf("input %d (%s): value %d out of range", i, in.Outpoint, in.Value)
		}
		if !bytes.Equal(in.Script, in.Key.script) {
			return nil, 0, fmt.Errorf("input %d (%s): pays script %x, which the %s key %s does not own", i, in.Outpoint, in.Script, in.Key.kind, in.Key.addr)
		}
		h, err := chainhash.NewHashFromStr(in.TxID)
		if err != nil {
			return nil, 0, fmt.Errorf("input %d: txid %q: %w", i, in.TxID, err)
		}
		op := wire.OutPoint{Hash: *h, Index: in.Vout}
		if j, dup := seen[op]; dup {
			return nil, 0, fmt.Errorf("inputs %d and %d both spend %s", j, i, in.Outpoint)
		}
		seen[op] = i
		tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
		sumIn += in.Value
	}
	rest := -1
	var fixed int64
	for i, out := range p.outputs {
		switch {
		case len(out.Script) == 0:
			return nil, 0, fmt.Errorf("output %d: empty script", i)
		case out.Value == Rest:
			if rest >= 0 {
				return nil, 0, fmt.Errorf("outputs %d and %d are both Rest; at most one may be", rest, i)
			}
			rest = i
		case out.Value == 0 && out.Script[0] == txscript.OP_RETURN:
			// A zero-value data carrier is standard.
		case out.Value < p.dust || out.Value > maxMoney:
			return nil, 0, fmt.Errorf("output %d: value %d sat outside [%d (dust limit), %d]", i, out.Value, p.dust, int64(maxMoney))
		default:
			fixed += out.Value
		}
		tx.AddTxOut(wire.NewTxOut(max(out.Value, 0), bytes.Clone(out.Script)))
	}
	changeIdx := -1
	if rest < 0 && p.change != nil {
		changeIdx = len(tx.TxOut)
		tx.AddTxOut(wire.NewTxOut(0, bytes.Clone(p.change)))
	}

	// Pass 1: sign with placeholder values to measure the size. Signature
	// lengths vary by a byte or two between signings, hence the margin.
	if err := signAll(tx, p.inputs); err != nil {
		return nil, 0, err
	}
	fee := p.feeRate * (vsize(tx) + 2*int64(len(p.inputs)))
	remainder := sumIn - fixed - fee
	switch {
	case rest >= 0:
		if remainder < p.dust {
			return nil, 0, fmt.Errorf("%w: inputs hold %d sat, outputs %d, fee %d: the Rest output would get %d (dust limit %d)", errInsufficient, sumIn, fixed, fee, remainder, p.dust)
		}
		tx.TxOut[rest].Value = remainder
	case remainder < 0:
		return nil, 0, fmt.Errorf("%w: inputs hold %d sat, outputs need %d plus a fee of %d", errInsufficient, sumIn, fixed, fee)
	case changeIdx >= 0 && remainder >= p.dust:
		tx.TxOut[changeIdx].Value = remainder
	case changeIdx >= 0:
		// Change below the dust limit is not worth an output.
		tx.TxOut = tx.TxOut[:changeIdx]
	}

	// Pass 2: final values, final signatures, then the script engine.
	if err := signAll(tx, p.inputs); err != nil {
		return nil, 0, err
	}
	if err := verifyAll(tx, p.inputs); err != nil {
		return nil, 0, err
	}
	var sumOut int64
	for _, o := range tx.TxOut {
		sumOut += o.Value
	}
	return tx, sumIn - sumOut, nil
}

// prevOuts returns a fetcher over the outputs the inputs spend; taproot
// and segwit sighashes need every input's amount and script.
func prevOuts(tx *wire.MsgTx, ins []Input) *txscript.MultiPrevOutFetcher {
	f := txscript.NewMultiPrevOutFetcher(nil)
	for i, in := range ins {
		f.AddPrevOut(tx.TxIn[i].PreviousOutPoint, &wire.TxOut{Value: in.Value, PkScript: in.Script})
	}
	return f
}

func signAll(tx *wire.MsgTx, ins []Input) error {
	f := prevOuts(tx, ins)
	hashes := txscript.NewTxSigHashes(tx, f)
	for i, in := range ins {
		if err := in.Key.sign(tx, i, f.FetchPrevOutput(tx.TxIn[i].PreviousOutPoint), hashes); err != nil {
			return err
		}
	}
	return nil
}

// verifyAll runs every input through btcd's script engine with the
// standard policy flags, as the node will.
func verifyAll(tx *wire.MsgTx, ins []Input) error {
	f := prevOuts(tx, ins)
	hashes := txscript.NewTxSigHashes(tx, f)
	for i, in := range ins {
		vm, err := txscript.NewEngine(in.Script, tx, i, txscript.StandardVerifyFlags, nil, hashes, in.Value, f)
		if err != nil {
			return fmt.Errorf("verify input %d (%s): %w", i, in.Outpoint, err)
		}
		if err := vm.Execute(); err != nil {
			return fmt.Errorf("verify input %d (%s, %s key): %w", i, in.Outpoint, in.Key.kind, err)
		}
	}
	return nil
}

// vsize is the virtual size: weight (stripped*3 + full) / 4, rounded up.
func vsize(tx *wire.MsgTx) int64 {
	weight := int64(tx.SerializeSizeStripped())*3 + int64(tx.SerializeSize())
	return (weight + 3) / 4
}

// serialize returns the wire bytes of tx, with witness data.
func serialize(tx *wire.MsgTx) []byte {
	var b bytes.Buffer
	b.Grow(tx.SerializeSize())
	_ = tx.Serialize(&b) // writing to a bytes.Buffer cannot fail
	return b.Bytes()
}

// sentOf describes a built transaction.
func sentOf(tx *wire.MsgTx, fee int64) *Sent {
	txid := tx.TxHash().String()
	s := &Sent{TxID: txid, Raw: serialize(tx), Fee: fee, VSize: vsize(tx)}
	for i, o := range tx.TxOut {
		s.Outputs = append(s.Outputs, Outpoint{TxID: txid, Vout: uint32(i), Value: o.Value, Script: bytes.Clone(o.PkScript)})
	}
	return s
}
