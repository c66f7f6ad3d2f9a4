// Package wallettest provides an in-memory walletgate.Backend that models
// an ElectrumX server's answers and faults closely enough for unit tests of
// the wallet service and the surfaces above it: unknown transactions fail
// with ElectrumX's daemon error, broadcasts are rejected with its network
// rules text, every call can be made to fail or stall, every round trip
// is counted (a batch counts once), and its subscription connection can be
// dropped and restored (chainview.SubscriptionGuard). End-to-end tests use the real electrum
// client over a regtest node instead.
package chainviewtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/walletgate/walletgate"
)

// Method names counted by Calls: the Electrum methods each Backend call
// stands for.
const (
	MTip         = "blockchain.headers.subscribe"
	MBalance     = "blockchain.scripthash.get_balance"
	MHistory     = "blockchain.scripthash.get_history"
	MUnspent     = "blockchain.scripthash.listunspent"
	MTransaction = "blockchain.transaction.get"
	MRaw         = "blockchain.transaction.get(raw)"
	MBroadcast   = "blockchain.transaction.broadcast"
	MSubscribe   = "blockchain.scripthash.subscribe"
	MUnsubscribe = "blockchain.scripthash.unsubscribe"
)

// UnknownTxMessage is ElectrumX's message (code 2) for a txid the daemon
// does not know.
const UnknownTxMessage = "daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})"

// Backend is the fake. The zero value is not usable; call New.
type Backend struct {
	mu        sync.Mutex
	tip       walletgate.Tip
	balances  map[walletgate.ScriptHash]walletgate.Balance
	histories map[walletgate.ScriptHash][]walletgate.HistoryEntry
	utxos     map[walletgate.ScriptHash][]walletgate.UTXO
	verbose   map[string]string
	raw       map[string]string
	subs      map[walletgate.ScriptHash]int
	calls     map[string]int
	txItems   int
	fail      map[string]error
	gate      chan struct{}
	broadcast func(raw string) (string, error)
	epoch     uint64
	subsDown  bool
}

// New returns an empty fake at height 0.
func New() *Backend {
	return &Backend{
		balances:  make(map[walletgate.ScriptHash]walletgate.Balance),
		histories: make(map[walletgate.ScriptHash][]walletgate.HistoryEntry),
		utxos:     make(map[walletgate.ScriptHash][]walletgate.UTXO),
		verbose:   make(map[string]string),
		raw:       make(map[string]string),
		subs:      make(map[walletgate.ScriptHash]int),
		calls:     make(map[string]int),
		fail:      make(map[string]error),
	}
}

// SetTip sets the best block height.
func (b *Backend) SetTip(h int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tip = walletgate.Tip{Height: h, Header: fmt.Sprintf("%0160x", h)}
}

// SetBalance sets the balance of sh.
func (b *Backend) SetBalance(sh walletgate.ScriptHash, confirmed, unconfirmed int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.balances[sh] = walletgate.Balance{Confirmed: confirmed, Unconfirmed: unconfirmed}
}

// SetHistory sets the history of sh, in Electrum order.
func (b *Backend) SetHistory(sh walletgate.ScriptHash, h []walletgate.HistoryEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.histories[sh] = h
}

// SetUnspent sets the unspent outputs of sh.
func (b *Backend) SetUnspent(sh walletgate.ScriptHash, u []walletgate.UTXO) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.utxos[sh] = u
}

// AddTx stores a transaction's verbose JSON (as the daemon wrote it) and
// its raw hex.
func (b *Backend) AddTx(txid, verboseJSON, rawHex string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.verbose[txid] = verboseJSON
	b.raw[txid] = rawHex
}

// Fail makes every later call of method fail with err (nil clears it).
// Use a *walletgate.Error with EUnavailable to model a transport failure,
// a *walletgate.RPCError for a server-side error.
func (b *Backend) Fail(method string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.fail, method)
		return
	}
	b.fail[method] = err
}

// Hold makes every later call wait until the returned release function is
// called (or the call's context ends, which fails it like a timed-out
// socket read).
func (b *Backend) Hold() (release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := make(chan struct{})
	b.gate = g
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.gate == g {
				b.gate = nil
			}
			b.mu.Unlock()
			close(g)
		})
	}
}

// OnBroadcast replaces the broadcast behaviour (default: reject every
// transaction as ElectrumX does for undecodable hex).
func (b *Backend) OnBroadcast(fn func(raw string) (string, error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.broadcast = fn
}

// DropSubscriptions models the loss of ElectrumX's subscription connection:
// from now on changes may happen without events, until
// RestoreSubscriptions. Changes made meanwhile are the test's to publish,
// as a real backend's resync would.
func (b *Backend) DropSubscriptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.subsDown {
		b.subsDown = true
		b.epoch++
	}
}

// RestoreSubscriptions models the subscription connection back up and
// resynced.
func (b *Backend) RestoreSubscriptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subsDown = false
}

// SubscriptionEpoch implements chainview.SubscriptionGuard.
func (b *Backend) SubscriptionEpoch() (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch, !b.subsDown
}

// Calls returns how many round trips of method were made.
func (b *Backend) Calls(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[method]
}

// RoundTrips returns the total number of round trips made.
func (b *Backend) RoundTrips() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.calls {
		n += c
	}
	return n
}

// TxItems returns how many transactions were requested over all batches.
func (b *Backend) TxItems() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.txItems
}

// Subscribed returns how many times sh is currently subscribed (Subscribe
// minus Unsubscribe calls, as the backend counts them).
func (b *Backend) Subscribed(sh walletgate.ScriptHash) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subs[sh]
}

// enter counts a round trip of method and applies the faults.
func (b *Backend) enter(ctx context.Context, method string) error {
	b.mu.Lock()
	b.calls[method]++
	gate, err := b.gate, b.fail[method]
	b.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return walletgate.WrapError(walletgate.ETimeout, ctx.Err(), "timed out")
		}
	}
	return err
}

// Tip implements walletgate.Backend.
func (b *Backend) Tip(ctx context.Context) (walletgate.Tip, error) {
	if err := b.enter(ctx, MTip); err != nil {
		return walletgate.Tip{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tip, nil
}

// Balance implements walletgate.Backend.
func (b *Backend) Balance(ctx context.Context, sh walletgate.ScriptHash) (walletgate.Balance, error) {
	if err := b.enter(ctx, MBalance); err != nil {
		return walletgate.Balance{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.balances[sh], nil
}

// History implements walletgate.Backend.
func (b *Backend) History(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.HistoryEntry, error) {
	if err := b.enter(ctx, MHistory); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]walletgate.HistoryEntry{}, b.histories[sh]...), nil
}

// Unspent implements walletgate.Backend.
func (b *Backend) Unspent(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.UTXO, error) {
	if err := b.enter(ctx, MUnspent); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]walletgate.UTXO{}, b.utxos[sh]...), nil
}

// Transactions implements walletgate.Backend: one round trip per batch.
func (b *Backend) Transactions(ctx context.Context, txids []string) ([]walletgate.TxResult, error) {
	if err := b.enter(ctx, MTransaction); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txItems += len(txids)
	out := make([]walletgate.TxResult, len(txids))
	for i, id := range txids {
		if v, ok := b.verbose[id]; ok {
			out[i].Verbose = json.RawMessage(v)
		} else {
			out[i].Err = &walletgate.RPCError{Code: 2, Message: UnknownTxMessage}
		}
	}
	return out, nil
}

// RawTransaction implements walletgate.Backend.
func (b *Backend) RawTransaction(ctx context.Context, txid string) (string, error) {
	if err := b.enter(ctx, MRaw); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.raw[txid]; ok {
		return r, nil
	}
	return "", &walletgate.RPCError{Code: 2, Message: UnknownTxMessage}
}

// Broadcast implements walletgate.Backend.
func (b *Backend) Broadcast(ctx context.Context, rawHex string) (string, error) {
	if err := b.enter(ctx, MBroadcast); err != nil {
		return "", err
	}
	b.mu.Lock()
	fn := b.broadcast
	b.mu.Unlock()
	if fn != nil {
		return fn(rawHex)
	}
	return "", &walletgate.RPCError{Code: 1, Message: "the transaction was rejected by network rules.\n\nTX decode failed\n[" + rawHex + "]"}
}

// Subscribe implements walletgate.Backend.
func (b *Backend) Subscribe(ctx context.Context, sh walletgate.ScriptHash) (string, error) {
	if err := b.enter(ctx, MSubscribe); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[sh]++
	return "", nil
}

// Unsubscribe implements walletgate.Backend.
func (b *Backend) Unsubscribe(ctx context.Context, sh walletgate.ScriptHash) error {
	if err := b.enter(ctx, MUnsubscribe); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[sh]--
	return nil
}

// Close implements walletgate.Backend.
func (b *Backend) Close() error { return nil }

var _ walletgate.Backend = (*Backend)(nil)
