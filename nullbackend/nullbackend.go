// Package nullbackend is the chain backend of a coin that has no chain
// source: type null (tests and dry runs, spec/cryptoassets.md §6) and
// deposit-only coins whose node keeps no chain index. It never talks to
// anything and never publishes events.
package nullbackend

import (
	"context"
	"strings"

	"github.com/walletgate/walletgate"
)

// Backend answers the wallet REST API without a chain.
type Backend struct {
	// refusal, when set, is the reason every call fails with
	// EUnavailable; otherwise the chain is empty.
	refusal string
}

var _ walletgate.Backend = (*Backend)(nil)

// Empty returns a backend for a chain with no blocks and no transactions:
// every address has a zero balance and no history, and a broadcast is
// refused as not implemented. It is what type null serves.
func Empty() *Backend { return &Backend{} }

// Unavailable returns a backend whose every call fails with EUnavailable
// and why (e.g. "coin btc tracks deposits only: backend.index is false"),
// so clients get a 503 naming the setting instead of empty answers that
// look like real ones.
func Unavailable(why string) *Backend {
	if strings.TrimSpace(why) == "" {
		why = "this coin has no chain backend"
	}
	return &Backend{refusal: why}
}

func (b *Backend) refuse() error {
	if b.refusal == "" {
		return nil
	}
	return walletgate.Errorf(walletgate.EUnavailable, "%s", b.refusal)
}

// Tip is height 0 with an all-zero header.
func (b *Backend) Tip(ctx context.Context) (walletgate.Tip, error) {
	if err := b.refuse(); err != nil {
		return walletgate.Tip{}, err
	}
	return walletgate.Tip{Height: 0, Header: strings.Repeat("0", 160)}, nil
}

// Balance is zero.
func (b *Backend) Balance(ctx context.Context, sh walletgate.ScriptHash) (walletgate.Balance, error) {
	return walletgate.Balance{}, b.refuse()
}

// History is empty.
func (b *Backend) History(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.HistoryEntry, error) {
	return nil, b.refuse()
}

// Unspent is empty.
func (b *Backend) Unspent(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.UTXO, error) {
	return nil, b.refuse()
}

// Transactions reports every txid as unknown, in ElectrumX's words.
func (b *Backend) Transactions(ctx context.Context, txids []string) ([]walletgate.TxResult, error) {
	if err := b.refuse(); err != nil {
		return nil, err
	}
	out := make([]walletgate.TxResult, len(txids))
	for i := range txids {
		out[i] = walletgate.TxResult{Err: noSuchTx()}
	}
	return out, nil
}

// RawTransaction reports txid as unknown.
func (b *Backend) RawTransaction(ctx context.Context, txid string) (string, error) {
	if err := b.refuse(); err != nil {
		return "", err
	}
	return "", noSuchTx()
}

// noSuchTx is the refusal ElectrumX passes on for an unknown transaction,
// so clients see the same text as with a real backend.
func noSuchTx() error {
	return &walletgate.RPCError{Code: 2, Message: "daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})"}
}

// Broadcast is refused: there is no network to send to.
func (b *Backend) Broadcast(ctx context.Context, rawHex string) (string, error) {
	if err := b.refuse(); err != nil {
		return "", err
	}
	return "", walletgate.Errorf(walletgate.ENotImplemented, "the null backend cannot broadcast")
}

// Subscribe reports no history; no event will ever follow.
func (b *Backend) Subscribe(ctx context.Context, sh walletgate.ScriptHash) (string, error) {
	return "", b.refuse()
}

// Unsubscribe does nothing.
func (b *Backend) Unsubscribe(ctx context.Context, sh walletgate.ScriptHash) error { return nil }

// Close does nothing.
func (b *Backend) Close() error { return nil }
