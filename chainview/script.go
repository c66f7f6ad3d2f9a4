package chainview

import (
	"encoding/hex"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
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
	return Script{Hex: hex.EncodeToString(spk), Hash: walletgate.ScriptHash(chain.ScriptHash(spk))}
}
