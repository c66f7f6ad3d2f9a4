package wallet

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/walletgate/walletgate"
)

// Script is a decoded output script: its scriptPubKey as lowercase hex
// (History matches outputs on it; Unspent reports it) and its Electrum
// script hash (every backend call is keyed by it).
type Script struct {
	Hex  string
	Hash walletgate.ScriptHash
}

// NewScript builds a Script from raw scriptPubKey bytes.
func NewScript(spk []byte) Script {
	return Script{Hex: hex.EncodeToString(spk), Hash: ScriptHashOf(spk)}
}

// ScriptHashOf returns the Electrum script hash of a scriptPubKey:
// SHA-256, byte-reversed, lowercase hex.
func ScriptHashOf(spk []byte) walletgate.ScriptHash {
	sum := sha256.Sum256(spk)
	for i, j := 0, len(sum)-1; i < j; i, j = i+1, j-1 {
		sum[i], sum[j] = sum[j], sum[i]
	}
	return walletgate.ScriptHash(hex.EncodeToString(sum[:]))
}
