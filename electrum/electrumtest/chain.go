package electrumtest

import (
	"context"
	"encoding/json"
	"fmt"
)

// RPCError is an error a server method answers with: an Electrum error
// object with code and message.
type RPCError struct {
	Code    int
	Message string
}

// Error implements error.
func (e *RPCError) Error() string { return fmt.Sprintf("electrum error %d: %s", e.Code, e.Message) }

// Electrum error codes the server uses (§7.5 of the Bitweb spec).
const (
	CodeBadRequest     = 1
	CodeDaemonError    = 2
	CodeHistoryTooBig  = 10001
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	CodeExcessive      = -101
	CodeBusy           = -102
)

// MsgNoSuchTx is the daemon error a Core-based node gives for an unknown
// transaction, as ElectrumX wraps it.
const MsgNoSuchTx = "daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})"

// ChainState is the chain a Server serves. The scripted MemChain and the
// btcd-backed Indexer implement it, so the protocol layer is tested the same
// way over both.
type ChainState interface {
	// Snapshot returns the current indexed chain; it must be cheap.
	Snapshot() *Index
	// Changed returns a channel closed at the next change of Snapshot.
	Changed() <-chan struct{}
	// RawTx returns a transaction's hex; unknown ones give an *RPCError.
	RawTx(ctx context.Context, txid string) (string, error)
	// VerboseTx returns the daemon's verbose transaction object.
	VerboseTx(ctx context.Context, txid string) (json.RawMessage, error)
	// Broadcast submits a transaction; rejections give an *RPCError.
	Broadcast(ctx context.Context, rawHex string) (string, error)
	// EstimateFee returns a fee rate in coin/kB, or -1 with no estimate.
	EstimateFee(ctx context.Context, blocks int) (float64, error)
	// RelayFee returns the minimum relay fee in coin/kB.
	RelayFee(ctx context.Context) (float64, error)
}
