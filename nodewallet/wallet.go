package nodewallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/rpc"
)

// Kind is the wallet software behind the RPC endpoint.
type Kind string

// Wallet kinds. KindAuto asks the node once (see Wallet.Kind).
const (
	KindAuto      Kind = ""
	KindCore      Kind = "core"      // Bitcoin Core and its forks
	KindBtcwallet Kind = "btcwallet" // btcsuite's btcwallet on top of btcd
)

// Node error codes the backend interprets (Bitcoin Core's rpc/protocol.h,
// which btcwallet follows).
const (
	codeTypeError       = -3  // RPC_TYPE_ERROR
	codeInvalidAddrKey  = -5  // RPC_INVALID_ADDRESS_OR_KEY: unknown txid
	codeInvalidParam    = -8  // RPC_INVALID_PARAMETER
	codeInvalidLabel    = -11 // RPC_WALLET_INVALID_LABEL_NAME
	codeWalletNotFound  = -18 // RPC_WALLET_NOT_FOUND
	codeDeserialization = -22 // RPC_DESERIALIZATION_ERROR
	codeInWarmup        = -28 // RPC_IN_WARMUP
)

// Config are the settings of a Wallet. Zero values take the defaults noted
// on each field.
type Config struct {
	// URL is the wallet's RPC endpoint, http://user:pass@host:port/.
	URL string
	// CookieFile is Core's .cookie, used when the URL has no credentials.
	CookieFile string
	// CAFile is a PEM bundle to trust for an https URL.
	CAFile string
	// Timeout bounds each RPC call. Default 15 s (the original's).
	Timeout time.Duration
	// WalletName selects one wallet of a multi-wallet Core node: calls go
	// to /wallet/<name>. Empty uses the URL as given.
	WalletName string
	// Kind is the wallet software; KindAuto (the default) detects it with
	// one "version" call (btcwallet answers, Core has no such method).
	Kind Kind
	// Account is the btcwallet account new addresses go to: btcwallet has
	// no labels, only accounts that must exist, and its first one is
	// "default" (getnewaddress "" fails). Default "default". Core ignores
	// it and labels each address with CreateAddress's label.
	Account string
	// AddressType is getnewaddress's type argument ("legacy", "bech32",
	// "p2sh-segwit", ...). Empty leaves the node's default: bech32 on
	// modern Core, P2PKH on btcwallet.
	AddressType string
	// PageSize is how many transactions one ReceivedPage asks
	// listtransactions for. Default 100 (the original's).
	PageSize int
	// MaxPageSize caps PageSize, so a misconfiguration cannot ask a node
	// for its whole history at once. Default 1000.
	MaxPageSize int
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Account == "" {
		c.Account = "default"
	}
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = 1000
	}
	if c.PageSize <= 0 {
		c.PageSize = 100
	}
}

func (c *Config) validate() error {
	switch c.Kind {
	case KindAuto, KindCore, KindBtcwallet:
	default:
		return walletgate.Errorf(walletgate.EInvalid, "nodewallet: kind %q: want %q, %q or empty for auto", c.Kind, KindCore, KindBtcwallet)
	}
	if c.PageSize > c.MaxPageSize {
		return walletgate.Errorf(walletgate.EInvalid, "nodewallet: page size %d exceeds the maximum %d (Config.MaxPageSize)", c.PageSize, c.MaxPageSize)
	}
	return nil
}

// Wallet is a walletgate.WalletBackend over a bitcoind-style wallet RPC:
// Bitcoin Core (modern, label-based) or btcwallet. It is safe for
// concurrent use.
type Wallet struct {
	cfg Config
	rpc *rpc.Client

	mu   sync.Mutex
	kind Kind // detected or configured; KindAuto until known
}

var _ walletgate.WalletBackend = (*Wallet)(nil)

// New checks cfg and builds a Wallet; it does not contact the node.
func New(cfg Config) (*Wallet, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	endpoint := cfg.URL
	if cfg.WalletName != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return nil, walletgate.WrapError(walletgate.EInvalid, err, "nodewallet: node url does not parse")
		}
		// Core URL-decodes the name, which may itself hold "/".
		u.Path = "/wallet/" + cfg.WalletName
		u.RawPath = "/wallet/" + url.PathEscape(cfg.WalletName)
		endpoint = u.String()
	}
	c, err := rpc.New(rpc.Config{URL: endpoint, CookieFile: cfg.CookieFile, CAFile: cfg.CAFile, Timeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("nodewallet: %w", err)
	}
	return &Wallet{cfg: cfg, rpc: c, kind: cfg.Kind}, nil
}

// Close drops idle connections.
func (w *Wallet) Close() { w.rpc.Close() }

// Kind returns the wallet software, asking the node once when the config
// left it to detection. btcwallet answers "version" with its API versions;
// Core has no such method (-32601). A transport failure is returned and
// the next call asks again.
func (w *Wallet) Kind(ctx context.Context) (Kind, error) {
	w.mu.Lock()
	k := w.kind
	w.mu.Unlock()
	if k != KindAuto {
		return k, nil
	}
	raw, err := w.rpc.Call(ctx, "version")
	switch {
	case rpc.IsRPCError(err, rpc.CodeMethodNotFound):
		k = KindCore
	case err != nil:
		return KindAuto, fmt.Errorf("nodewallet: detect wallet kind at %s: %w", w.rpc.Endpoint(), err)
	default:
		var v map[string]json.RawMessage
		if decode(raw, &v) != nil {
			return KindAuto, walletgate.Errorf(walletgate.EBackend, "nodewallet: detect wallet kind at %s: version reply %s is not an object", w.rpc.Endpoint(), clip(string(raw)))
		}
		k = KindCore
		if _, ok := v["btcwalletjsonrpcapi"]; ok {
			k = KindBtcwallet
		} else if _, ok := v["btcdjsonrpcapi"]; ok {
			// btcwallet proxies "version" to btcd; a wallet endpoint
			// answering like btcd can only be btcwallet.
			k = KindBtcwallet
		}
	}
	w.mu.Lock()
	w.kind = k
	w.mu.Unlock()
	return k, nil
}

// TracksConfirmations is true: a node wallet notifies a transaction only
// on first sight and in its first block, so confirmations must be polled.
func (w *Wallet) TracksConfirmations() bool { return true }

// CreateAddress makes a fresh receiving address. Core labels it label;
// btcwallet, which has accounts instead of labels, puts it in
// Config.Account.
func (w *Wallet) CreateAddress(ctx context.Context, label string) (string, error) {
	k, err := w.Kind(ctx)
	if err != nil {
		return "", err
	}
	account := label
	if k == KindBtcwallet {
		account = w.cfg.Account
	}
	params := []any{account}
	if w.cfg.AddressType != "" {
		params = append(params, w.cfg.AddressType)
	}
	raw, err := w.rpc.Call(ctx, "getnewaddress", params...)
	if err != nil {
		return "", mapErr(err, "getnewaddress %q", account)
	}
	addr, err := parseAddress(raw)
	if err != nil {
		return "", walletgate.WrapError(walletgate.EBackend, err, "nodewallet: getnewaddress %q", account)
	}
	return addr, nil
}

// Transaction returns the wallet's view of txid. An unknown txid is
// ENotFound wrapping the node's own error (-5) verbatim.
func (w *Wallet) Transaction(ctx context.Context, txid string) (walletgate.WalletTx, error) {
	if walletgate.CheckHash(txid) != nil {
		return walletgate.WalletTx{}, walletgate.Errorf(walletgate.EInvalid, "nodewallet: txid %q is not 64 hex digits", clip(txid))
	}
	raw, err := w.rpc.Call(ctx, "gettransaction", txid)
	if err != nil {
		return walletgate.WalletTx{}, mapErr(err, "gettransaction %s", txid)
	}
	return w.txFromReply(raw, txid)
}

func (w *Wallet) txFromReply(raw json.RawMessage, txid string) (walletgate.WalletTx, error) {
	tx, err := parseTransaction(raw)
	if err != nil {
		return walletgate.WalletTx{}, walletgate.WrapError(walletgate.EBackend, err, "nodewallet: gettransaction %s", txid)
	}
	if !equalFoldASCII(tx.TxID, txid) {
		return walletgate.WalletTx{}, walletgate.Errorf(walletgate.EBackend, "nodewallet: gettransaction %s answered for %s", txid, tx.TxID)
	}
	return tx, nil
}

// Balance is getbalance "*" minConf in satoshis: every coin of the wallet
// (the "*" form works on modern Core and on btcwallet; getbalances does
// not exist on btcwallet).
func (w *Wallet) Balance(ctx context.Context, minConf int) (int64, error) {
	if minConf < 0 {
		return 0, walletgate.Errorf(walletgate.EInvalid, "nodewallet: minimum confirmations %d is negative", minConf)
	}
	raw, err := w.rpc.Call(ctx, "getbalance", "*", minConf)
	if err != nil {
		return 0, mapErr(err, "getbalance * %d", minConf)
	}
	v, err := parseBalance(raw)
	if err != nil {
		return 0, walletgate.WrapError(walletgate.EBackend, err, "nodewallet: getbalance * %d", minConf)
	}
	return v, nil
}

// parseCursor reads a ReceivedPage cursor: a decimal skip offset.
func parseCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 0 || strconv.Itoa(n) != cursor {
		return 0, walletgate.Errorf(walletgate.EInvalid, "nodewallet: cursor %q is not a non-negative offset", clip(cursor))
	}
	return n, nil
}

// mapErr gives a node error an application code while keeping the node's
// *walletgate.RPCError (code and message verbatim) in the chain.
// Transport errors already carry one and are only annotated.
func mapErr(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var re *walletgate.RPCError
	if !errors.As(err, &re) {
		return fmt.Errorf("nodewallet: %s: %w", what, err)
	}
	code := walletgate.EBackend
	switch re.Code {
	case codeInvalidAddrKey:
		code = walletgate.ENotFound
	case codeTypeError, codeInvalidParam, codeInvalidLabel, codeDeserialization:
		code = walletgate.EInvalid
	case codeInWarmup, codeWalletNotFound:
		code = walletgate.EUnavailable
	}
	return walletgate.WrapError(code, re, "nodewallet: %s: node error %d: %s", what, re.Code, re.Message)
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
