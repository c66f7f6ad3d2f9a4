package regtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// KeyKind is the output type a Key receives coins on.
type KeyKind int

// The key kinds the harness can fund and spend.
const (
	P2PKH      KeyKind = iota + 1 // legacy pay-to-pubkey-hash (m/n... address)
	P2SHP2WPKH                    // P2WPKH nested in P2SH (2... address)
	P2WPKH                        // native segwit v0 key hash (bcrt1q..., 20-byte program)
	P2WSH                         // segwit v0 script hash of "<pubkey> OP_CHECKSIG" (bcrt1q..., 32-byte program)
	P2TR                          // taproot, BIP 86 key path only (bcrt1p...)
)

// KeyKinds lists every kind, in the order of the constants.
func KeyKinds() []KeyKind { return []KeyKind{P2PKH, P2SHP2WPKH, P2WPKH, P2WSH, P2TR} }

// String names the kind as test names and errors show it.
func (k KeyKind) String() string {
	switch k {
	case P2PKH:
		return "p2pkh"
	case P2SHP2WPKH:
		return "p2sh-p2wpkh"
	case P2WPKH:
		return "p2wpkh"
	case P2WSH:
		return "p2wsh"
	case P2TR:
		return "p2tr"
	}
	return fmt.Sprintf("KeyKind(%d)", int(k))
}

// params are the network parameters of every key and node here.
func params() *chaincfg.Params { return &chaincfg.RegressionNetParams }

// Key is a private key a test owns, with the regtest address and output
// script of one kind. It is immutable and safe to share.
type Key struct {
	kind    KeyKind
	priv    *btcec.PrivateKey
	addr    string
	script  []byte // scriptPubKey of addr
	redeem  []byte // P2SH-P2WPKH: the redeem script (a P2WPKH program)
	witness []byte // P2WSH: the witness script
}

// GenerateKey makes a fresh random key of the given kind.
func GenerateKey(kind KeyKind) (*Key, error) {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, fmt.Errorf("regtest: new %s key: %w", kind, err)
	}
	return keyFrom(kind, priv)
}

// NewKey is GenerateKey that fails tb on error.
func NewKey(tb testing.TB, kind KeyKind) *Key {
	tb.Helper()
	k, err := GenerateKey(kind)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func keyFrom(kind KeyKind, priv *btcec.PrivateKey) (*Key, error) {
	pub := priv.PubKey().SerializeCompressed()
	k := &Key{kind: kind, priv: priv}
	var addr address.Address
	var err error
	switch kind {
	case P2PKH:
		addr, err = address.NewAddressPubKeyHash(address.Hash160(pub), params())
	case P2WPKH:
		addr, err = address.NewAddressWitnessPubKeyHash(address.Hash160(pub), params())
	case P2SHP2WPKH:
		k.redeem, err = txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(address.Hash160(pub)).Script()
		if err == nil {
			addr, err = address.NewAddressScriptHash(k.redeem, params())
		}
	case P2WSH:
		k.witness, err = txscript.NewScriptBuilder().AddData(pub).AddOp(txscript.OP_CHECKSIG).Script()
		if err == nil {
			h := sha256.Sum256(k.witness)
			addr, err = address.NewAddressWitnessScriptHash(h[:], params())
		}
	case P2TR:
		out := txscript.ComputeTaprootKeyNoScript(priv.PubKey())
		addr, err = address.NewAddressTaproot(schnorr.SerializePubKey(out), params())
	default:
		return nil, fmt.Errorf("regtest: unknown key kind %d", int(kind))
	}
	if err != nil {
		return nil, fmt.Errorf("regtest: %s address: %w", kind, err)
	}
	if k.script, err = txscript.PayToAddrScript(addr); err != nil {
		return nil, fmt.Errorf("regtest: %s script: %w", kind, err)
	}
	k.addr = addr.EncodeAddress()
	return k, nil
}

// Kind is the key's output type.
func (k *Key) Kind() KeyKind { return k.kind }

// Address is the key's regtest address (bcrt1..., m/n..., or 2...).
func (k *Key) Address() string { return k.addr }

// Script is the scriptPubKey that pays the key; a fresh copy each call.
func (k *Key) Script() []byte { return bytes.Clone(k.script) }

// PubKey is the key's compressed public key (for P2TR, the internal key
// before the BIP 86 tweak).
func (k *Key) PubKey() []byte { return k.priv.PubKey().SerializeCompressed() }

// WitnessScript is the P2WSH witness script, nil for other kinds.
func (k *Key) WitnessScript() []byte { return bytes.Clone(k.witness) }

// sign fills input idx of tx, which spends prev, with the key's signature
// data. hashes must be computed over the final tx with all prevouts.
func (k *Key) sign(tx *wire.MsgTx, idx int, prev *wire.TxOut, hashes *txscript.TxSigHashes) error {
	in := tx.TxIn[idx]
	in.SignatureScript, in.Witness = nil, nil
	var err error
	switch k.kind {
	case P2PKH:
		in.SignatureScript, err = txscript.SignatureScript(tx, idx, prev.PkScript, txscript.SigHashAll, k.priv, true)
	case P2WPKH:
		in.Witness, err = txscript.WitnessSignature(tx, hashes, idx, prev.Value, prev.PkScript, txscript.SigHashAll, k.priv, true)
	case P2SHP2WPKH:
		in.Witness, err = txscript.WitnessSignature(tx, hashes, idx, prev.Value, k.redeem, txscript.SigHashAll, k.priv, true)
		if err == nil {
			in.SignatureScript, err = txscript.NewScriptBuilder().AddData(k.redeem).Script()
		}
	case P2WSH:
		var sig []byte
		sig, err = txscript.RawTxInWitnessSignature(tx, hashes, idx, prev.Value, k.witness, txscript.SigHashAll, k.priv)
		in.Witness = wire.TxWitness{sig, bytes.Clone(k.witness)}
	case P2TR:
		in.Witness, err = txscript.TaprootWitnessSignature(tx, hashes, idx, prev.Value, prev.PkScript, txscript.SigHashDefault, k.priv)
	default:
		err = fmt.Errorf("unknown key kind %d", int(k.kind))
	}
	if err != nil {
		return fmt.Errorf("sign input %d (%s): %w", idx, k.kind, err)
	}
	return nil
}
