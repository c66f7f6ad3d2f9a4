package nodebackend

import (
	"errors"
	"fmt"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
)

// Error codes and texts ElectrumX uses when it passes on a node's answer.
// The node backend reports node errors in the same shape, so a wallet that
// shows them (the Bitweb front-end prints `ElectrumX error: {...}`) sees the
// same text whichever backend walletgate runs on.
const (
	codeBadRequest  = 1
	codeDaemonError = 2
	// msgNoSuchTx is Bitcoin Core's wording for an unknown transaction, as
	// ElectrumX over a Core-derived node (Bitweb) shows it; btcd words it
	// differently ("No information available about transaction ...").
	msgNoSuchTx = "No such mempool or blockchain transaction. Use gettransaction for wallet transactions."
)

// daemonError wraps a node RPC error the way ElectrumX does for
// blockchain.transaction.get: code 2, `daemon error: DaemonError({...})`
// with the node's error as a Python dict repr. Transport errors pass through.
func daemonError(err error) error {
	var re *walletgate.RPCError
	if !errors.As(err, &re) {
		return err
	}
	msg := re.Message
	if re.Code == -5 {
		msg = msgNoSuchTx
	}
	return &walletgate.RPCError{
		Code:    codeDaemonError,
		Message: fmt.Sprintf("daemon error: DaemonError({'code': %d, 'message': %s})", re.Code, chain.PyRepr(msg)),
	}
}

// broadcastError wraps a node's refusal of a transaction the way ElectrumX
// does for blockchain.transaction.broadcast: code 1 with the reason and the
// raw hex. Transport errors pass through.
func broadcastError(err error, rawHex string) error {
	var re *walletgate.RPCError
	if !errors.As(err, &re) {
		return err
	}
	return &walletgate.RPCError{
		Code:    codeBadRequest,
		Message: fmt.Sprintf("the transaction was rejected by network rules.\n\n%s\n[%s]", re.Message, rawHex),
	}
}
