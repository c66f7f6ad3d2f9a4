package walletgate

import (
	"context"
	"encoding/json"
	"sync/atomic"
)

// ScriptHash is an Electrum script hash: the SHA-256 of a scriptPubKey,
// byte-reversed, as 64 lowercase hex characters. Every backend indexes and
// subscribes by it, so addresses of any coin reduce to one key type.
type ScriptHash string

// Tip is the best block a backend knows.
type Tip struct {
	Height int64
	Header string // 80-byte raw header, hex
}

// Balance of one script, in satoshis. Unconfirmed is the mempool delta and
// may be negative (our confirmed coins spent by mempool transactions).
type Balance struct {
	Confirmed   int64
	Unconfirmed int64
}

// HistoryEntry is one transaction touching a script, in Electrum order:
// confirmed by (height, position), then mempool (height 0 when all inputs
// are confirmed, -1 otherwise) by txid.
type HistoryEntry struct {
	TxHash string
	Height int64
	Fee    int64 // mempool entries only, satoshis; 0 when unknown
}

// UTXO is an unspent output of a script. Height 0 means mempool. Outputs
// spent by a mempool transaction are not listed.
type UTXO struct {
	TxHash string
	TxPos  uint32
	Height int64
	Value  int64
}

// TxResult is one answer of a batched verbose-transaction fetch. Exactly one
// of Verbose and Err is set; Err is a *RPCError when the backend said no
// (unknown transaction) and another error when the transport failed.
type TxResult struct {
	Verbose json.RawMessage // the daemon's getrawtransaction verbose object
	Err     error
}

// Backend is one coin's source of chain data: ElectrumX, a node with
// walletgate's own index, a hosted API, or nothing. Errors the backend
// server reports are *RPCError (code and message kept verbatim); transport
// failures are walletgate.Error with EUnavailable or ETimeout.
type Backend interface {
	// Tip returns the best block.
	Tip(ctx context.Context) (Tip, error)
	// Balance returns the confirmed and mempool balance of sh.
	Balance(ctx context.Context, sh ScriptHash) (Balance, error)
	// History returns every transaction touching sh, in Electrum order.
	History(ctx context.Context, sh ScriptHash) ([]HistoryEntry, error)
	// Unspent returns sh's unspent outputs, confirmed in chain order first.
	Unspent(ctx context.Context, sh ScriptHash) ([]UTXO, error)
	// Transactions fetches verbose transactions in one round trip; the
	// result has one entry per txid, in order. A non-nil error means the
	// whole batch failed.
	Transactions(ctx context.Context, txids []string) ([]TxResult, error)
	// RawTransaction returns a transaction's serialization as hex.
	RawTransaction(ctx context.Context, txid string) (string, error)
	// Broadcast submits a raw transaction and returns its txid.
	Broadcast(ctx context.Context, rawHex string) (string, error)
	// Subscribe asks for change events of sh and returns its current
	// status (§7.4 of the Bitweb spec; "" when it has no history). A backend
	// keeps one subscription per distinct sh however often it is called.
	Subscribe(ctx context.Context, sh ScriptHash) (string, error)
	// Unsubscribe drops the subscription of sh.
	Unsubscribe(ctx context.Context, sh ScriptHash) error
	// Close releases connections and stops background work.
	Close() error
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds published by backends.
const (
	// EventBlock: the tip moved (a new block, or a reorg).
	EventBlock EventKind = iota + 1
	// EventScriptHash: the status of a subscribed script changed.
	EventScriptHash
)

// Event is a change a backend observed. Backends publish them to an
// EventSink; the hub turns them into client pushes.
type Event struct {
	Kind       EventKind
	Coin       string
	Tip        Tip        // EventBlock
	ScriptHash ScriptHash // EventScriptHash
	Status     string     // EventScriptHash: the new status, "" when none
}

// EventSink receives backend events. Publish must not block for long: a
// backend's reader goroutine calls it.
type EventSink interface {
	Publish(ev Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(Event)

// Publish calls f(ev).
func (f EventSinkFunc) Publish(ev Event) { f(ev) }

// EventRelay is an EventSink whose target is set after it is handed out.
// A backend needs its sink when it is built, and the service that consumes
// its events needs the backend first; the relay breaks that cycle. Events
// published before SetTarget are dropped: nothing has subscribed yet, so
// nothing can have missed them.
type EventRelay struct {
	to atomic.Pointer[EventSink]
}

// Publish forwards ev to the target, if one is set.
func (r *EventRelay) Publish(ev Event) {
	if p := r.to.Load(); p != nil {
		(*p).Publish(ev)
	}
}

// SetTarget makes every later Publish go to sink.
func (r *EventRelay) SetTarget(sink EventSink) { r.to.Store(&sink) }
