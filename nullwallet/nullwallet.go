// Package nullwallet is the null deposit backend (cryptoassets spec §6): a
// walletgate.WalletBackend with no node behind it, for tests and for
// configurations that only need the bookkeeping.
//
// Unlike the original's "foobar<random>", addresses are deterministic and
// valid for the configured coin and network, so everything downstream that
// decodes them (address checks, scripthash lookups) works: the n-th
// address made for a label pays to HASH160(label, n) as P2WPKH, or P2PKH
// on coins without segwit. There are no notifications, no transactions and
// no confirmations to track; the balance is a fixed setting.
package nullwallet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/txscript/v2"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
)

// DefaultBalance is the original's fixed backend balance, 999999 coins.
const DefaultBalance int64 = 999_999 * 100_000_000

// Config are the settings of a Wallet.
type Config struct {
	// Coin and Network select the address format ("btc", "regtest"; see
	// chain.Lookup). Required.
	Coin, Network string
	// Balance is what Balance reports, in satoshis, whatever minConf.
	// Default DefaultBalance; set NoBalance for a wallet reporting 0.
	Balance int64
	// NoBalance makes Balance report 0 (a zero Balance means the default).
	NoBalance bool
	// AddressType is chain.P2WPKH or chain.P2PKH. Default P2WPKH where
	// the coin has segwit, else P2PKH.
	AddressType chain.AddressType
	// FakeSends makes Send answer with a made-up txid and no fee instead
	// of ENotImplemented (spec §6's test mode), so that a configuration
	// without a node can run the whole send flow. Nothing is paid.
	FakeSends bool
}

// Wallet is the null backend. It is safe for concurrent use.
type Wallet struct {
	params    *chain.Params
	balance   int64
	typ       chain.AddressType
	fakeSends bool

	mu    sync.Mutex
	count map[string]uint64 // addresses made so far, per label
}

var (
	_ walletgate.WalletBackend = (*Wallet)(nil)
	_ walletgate.Sender        = (*Wallet)(nil)
)

// New checks cfg and builds a Wallet.
func New(cfg Config) (*Wallet, error) {
	p, err := chain.Lookup(cfg.Coin, cfg.Network)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "nullwallet: coin %q network %q", cfg.Coin, cfg.Network)
	}
	w := &Wallet{params: p, balance: cfg.Balance, typ: cfg.AddressType, fakeSends: cfg.FakeSends, count: make(map[string]uint64)}
	switch {
	case cfg.NoBalance:
		w.balance = 0
	case cfg.Balance == 0:
		w.balance = DefaultBalance
	case cfg.Balance < 0:
		return nil, walletgate.Errorf(walletgate.EInvalid, "nullwallet: balance %d is negative", cfg.Balance)
	}
	switch cfg.AddressType {
	case 0:
		w.typ = chain.P2PKH
		if p.SegWit {
			w.typ = chain.P2WPKH
		}
	case chain.P2PKH:
	case chain.P2WPKH:
		if !p.SegWit {
			return nil, walletgate.Errorf(walletgate.EInvalid, "nullwallet: %s has no segwit, so no %s addresses", p.Name, cfg.AddressType)
		}
	default:
		return nil, walletgate.Errorf(walletgate.EInvalid, "nullwallet: address type %s: want P2WPKH or P2PKH", cfg.AddressType)
	}
	return w, nil
}

// AddressFor is the address CreateAddress returns for the n-th (from 0)
// call with label: HASH160 of the 8-byte big-endian n and the label, as
// the configured type.
func (w *Wallet) AddressFor(label string, n uint64) (string, error) {
	seed := binary.BigEndian.AppendUint64(nil, n)
	hash := address.Hash160(append(seed, label...))
	b := txscript.NewScriptBuilder()
	if w.typ == chain.P2WPKH {
		b.AddOp(txscript.OP_0).AddData(hash)
	} else {
		b.AddOp(txscript.OP_DUP).AddOp(txscript.OP_HASH160).AddData(hash).AddOp(txscript.OP_EQUALVERIFY).AddOp(txscript.OP_CHECKSIG)
	}
	script, err := b.Script()
	if err != nil {
		return "", fmt.Errorf("nullwallet: script for label %q: %w", label, err)
	}
	addr, err := w.params.Encode(script)
	if err != nil {
		return "", fmt.Errorf("nullwallet: address for label %q: %w", label, err)
	}
	return addr, nil
}

// CreateAddress returns the next deterministic address for label.
func (w *Wallet) CreateAddress(ctx context.Context, label string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	w.mu.Lock()
	n := w.count[label]
	w.count[label] = n + 1
	w.mu.Unlock()
	return w.AddressFor(label, n)
}

// Transaction is always ENotFound: the null backend has no transactions.
func (w *Wallet) Transaction(ctx context.Context, txid string) (walletgate.WalletTx, error) {
	return walletgate.WalletTx{}, walletgate.Errorf(walletgate.ENotFound, "nullwallet: no transaction %.80q (the null backend has none)", txid)
}

// ReceivedPage is one empty last page, whatever the cursor.
func (w *Wallet) ReceivedPage(ctx context.Context, cursor string) ([]walletgate.WalletTx, string, error) {
	return nil, "", nil
}

// Balance is the configured fixed balance.
func (w *Wallet) Balance(ctx context.Context, minConf int) (int64, error) {
	if minConf < 0 {
		return 0, walletgate.Errorf(walletgate.EInvalid, "nullwallet: minimum confirmations %d is negative", minConf)
	}
	return w.balance, nil
}

// TracksConfirmations is false: there is nothing to poll.
func (w *Wallet) TracksConfirmations() bool { return false }

// Send is ENotImplemented (the null backend holds no coins), unless
// Config.FakeSends is set: then the txid is SHA-256 of the label and the
// recipients in address order, so the same request gets the same txid,
// and the fee is 0.
func (w *Wallet) Send(ctx context.Context, recipients map[string]int64, label string) (string, int64, error) {
	if !w.fakeSends {
		return "", 0, walletgate.Errorf(walletgate.ENotImplemented, "nullwallet: the null backend cannot send (set fake sends for test mode)")
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	if len(recipients) == 0 {
		return "", 0, walletgate.Errorf(walletgate.EInvalid, "nullwallet: send with no recipients")
	}
	addrs := make([]string, 0, len(recipients))
	for a, v := range recipients {
		if v <= 0 {
			return "", 0, walletgate.Errorf(walletgate.EInvalid, "nullwallet: send of %d sat to %.80s: amount must be positive", v, a)
		}
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", label)
	for _, a := range addrs {
		fmt.Fprintf(h, "%s %d\n", a, recipients[a])
	}
	return hex.EncodeToString(h.Sum(nil)), 0, nil
}
