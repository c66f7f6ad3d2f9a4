package deposits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
)

// Coin is one coin a Tracker follows: the wallet its deposits are read
// from and its own confirmation rules (the config's
// coins.<name>.credit_confirmations and max_confirmation_count). Zero
// fields take the defaults named on each.
type Coin struct {
	// Wallet is the coin's wallet backend (required).
	Wallet walletgate.WalletBackend
	// CreditAt is the confirmation count at which a deposit is credited
	// (default 3; a model constant in cryptoassets).
	CreditAt int64
	// MaxConfirmations stops tracking a transaction, deposit or broadcast
	// (default 15, cryptoassets' max_confirmation_count). It must be at
	// least CreditAt.
	MaxConfirmations int64
}

func (c Coin) withDefaults(name string) (Coin, error) {
	if c.Wallet == nil {
		return c, walletgate.Errorf(walletgate.EInvalid, "deposits: coin %s has no backend", name)
	}
	if c.CreditAt <= 0 {
		c.CreditAt = 3
	}
	if c.MaxConfirmations <= 0 {
		c.MaxConfirmations = 15
	}
	if c.MaxConfirmations < c.CreditAt {
		return c, walletgate.Errorf(walletgate.EInvalid, "deposits: coin %s: max confirmations %d is below the credit threshold %d", name, c.MaxConfirmations, c.CreditAt)
	}
	return c, nil
}

// Options tunes a Tracker, for all its coins. Zero fields take the
// defaults named on each.
type Options struct {
	// PollInterval is the confirmation poll period (default 60s).
	PollInterval time.Duration
	// FetchTimeout bounds each backend call (default 30s).
	FetchTimeout time.Duration
	// MaxScanPages bounds the startup receive scan, so a backend that
	// never ends its history cannot loop forever (default 100000).
	MaxScanPages int
	// OnEvents is called after each commit that queued events, e.g. to
	// wake the outbox workers. It must not block.
	OnEvents func(coin string, events []walletgate.TxUpdate)
	// Logger receives per-transaction poll and scan failures (default:
	// discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Broadcasts receives the polled confirmations of the service's own
	// sends (broadcast network transactions). Default: the DepositStore
	// itself when it also implements walletgate.BroadcastStore (both
	// bundled stores do); when neither, broadcasts are not polled.
	Broadcasts walletgate.BroadcastStore
}

func (o Options) withDefaults() Options {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Minute
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 30 * time.Second
	}
	if o.MaxScanPages <= 0 {
		o.MaxScanPages = 100000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Tracker is the deposit tracker for a set of coins, each credited and
// tracked by its own Coin rules. One Tracker serves every coin of a
// process. It implements walletgate.TxNotifier, so every walletnotify
// intake can feed it.
type Tracker struct {
	store walletgate.DepositStore
	coins map[string]Coin
	o     Options

	mu         sync.Mutex
	lastNotify map[string]time.Time
}

var _ walletgate.TxNotifier = (*Tracker)(nil)

// New returns a tracker applying the wallets of coins (by name) to store.
func New(store walletgate.DepositStore, coins map[string]Coin, o Options) (*Tracker, error) {
	o = o.withDefaults()
	if len(coins) == 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "deposits: no coins configured")
	}
	if o.Broadcasts == nil {
		if bs, ok := store.(walletgate.BroadcastStore); ok {
			o.Broadcasts = bs
		}
	}
	cs := make(map[string]Coin, len(coins))
	for name, c := range coins {
		c, err := c.withDefaults(name)
		if err != nil {
			return nil, err
		}
		cs[name] = c
	}
	return &Tracker{store: store, coins: cs, o: o, lastNotify: make(map[string]time.Time)}, nil
}

// Coins lists the tracked coins in order.
func (t *Tracker) Coins() []string {
	return slices.Sorted(maps.Keys(t.coins))
}

// LastWalletNotify is when coin last had a walletnotify (zero if never),
// for status pages.
func (t *Tracker) LastWalletNotify(coin string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastNotify[coin]
}

// coin returns the rules and wallet of coin, or ENotFound.
func (t *Tracker) coin(coin string) (Coin, error) {
	c, ok := t.coins[coin]
	if !ok {
		return Coin{}, walletgate.Errorf(walletgate.ENotFound, "coin %q is not configured (known: %v)", coin, t.Coins())
	}
	return c, nil
}

// checkTxID accepts 64 hex digits, the txid form of every supported coin.
func checkTxID(txid string) error {
	if !walletgate.ValidTxID(txid) {
		return walletgate.Errorf(walletgate.EInvalid, "txid %q is not 64 hex digits", txid)
	}
	return nil
}

// WalletNotify re-fetches txid from coin's wallet and applies it; it
// returns after the commit, so an intake may acknowledge on nil.
func (t *Tracker) WalletNotify(ctx context.Context, coin, txid string) error {
	c, err := t.coin(coin)
	if err != nil {
		return err
	}
	if err := checkTxID(txid); err != nil {
		return err
	}
	t.mu.Lock()
	t.lastNotify[coin] = t.o.Now()
	t.mu.Unlock()
	return t.update(ctx, coin, c, txid)
}

// update fetches txid from c's wallet and applies it as a deposit, by c's
// rules.
func (t *Tracker) update(ctx context.Context, coin string, c Coin, txid string) error {
	// The store orders views by when the wallet was asked, so a slow fetch
	// cannot overwrite a newer one applied meanwhile (by another intake or
	// another instance) and re-send events for counts already passed.
	asked := t.o.Now()
	fctx, cancel := context.WithTimeout(ctx, t.o.FetchTimeout)
	tx, err := c.Wallet.Transaction(fctx, txid)
	cancel()
	if err != nil {
		return fmt.Errorf("deposits: fetch %s tx %s: %w", coin, txid, err)
	}
	if tx.TxID != txid {
		return walletgate.Errorf(walletgate.EBackend, "deposits: %s wallet answered tx %q for %s", coin, tx.TxID, txid)
	}
	events, err := t.store.ApplyTx(ctx, coin, tx, c.CreditAt, c.MaxConfirmations, asked)
	if err != nil {
		return fmt.Errorf("deposits: apply %s tx %s: %w", coin, tx.TxID, err)
	}
	if len(events) > 0 && t.o.OnEvents != nil {
		t.o.OnEvents(coin, events)
	}
	return nil
}

// BlockNotify polls coin's open transactions: a block is when their
// confirmations change.
func (t *Tracker) BlockNotify(ctx context.Context, coin, blockHash string) error {
	return t.Poll(ctx, coin)
}

// updateBroadcast fetches the transaction of one of our own broadcasts
// (gettransaction answers for sends too) and applies its confirmations,
// queueing one txupdate per send of the broadcast.
func (t *Tracker) updateBroadcast(ctx context.Context, coin string, c Coin, txid string) error {
	asked := t.o.Now() // see update
	fctx, cancel := context.WithTimeout(ctx, t.o.FetchTimeout)
	tx, err := c.Wallet.Transaction(fctx, txid)
	cancel()
	if err != nil {
		return fmt.Errorf("deposits: fetch %s broadcast tx %s: %w", coin, txid, err)
	}
	if tx.TxID != txid {
		return walletgate.Errorf(walletgate.EBackend, "deposits: %s wallet answered tx %q for %s", coin, tx.TxID, txid)
	}
	events, err := t.o.Broadcasts.ApplyBroadcastTx(ctx, coin, tx, c.MaxConfirmations, asked)
	if err != nil {
		return fmt.Errorf("deposits: apply %s broadcast tx %s: %w", coin, txid, err)
	}
	if len(events) > 0 && t.o.OnEvents != nil {
		t.o.OnEvents(coin, events)
	}
	return nil
}

// Poll re-fetches every open transaction of coin below its
// MaxConfirmations: deposits, and the service's own broadcasts when
// Options.Broadcasts is set. Each txid is handled on its own: a failure is logged and joined
// into the result, but the rest of the cycle still runs (the original
// aborted).
func (t *Tracker) Poll(ctx context.Context, coin string) error {
	c, err := t.coin(coin)
	if err != nil {
		return err
	}
	open, err := t.store.OpenNetworkTxs(ctx, coin, c.MaxConfirmations)
	if err != nil {
		return fmt.Errorf("deposits: poll %s: %w", coin, err)
	}
	var errs []error
	for _, n := range open {
		var err error
		switch {
		case n.Type == walletgate.TxTypeDeposit:
			err = t.update(ctx, coin, c, n.TxID)
		case n.Type == walletgate.TxTypeBroadcast && t.o.Broadcasts != nil:
			err = t.updateBroadcast(ctx, coin, c, n.TxID)
		default:
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			t.o.Logger.Warn("deposits: poll failed", "coin", coin, "txid", n.TxID, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Scan pages through coin's whole receive history on raw pages (a page
// without receives does not end it, unlike the original) and applies every
// transaction with a receive that is not yet final, re-fetched on its own.
func (t *Tracker) Scan(ctx context.Context, coin string) error {
	c, err := t.coin(coin)
	if err != nil {
		return err
	}
	var errs []error
	cursor := ""
	for page := 0; ; page++ {
		if page >= t.o.MaxScanPages {
			return errors.Join(append(errs, walletgate.Errorf(walletgate.ETooLarge, "deposits: %s receive scan stopped after %d pages", coin, page))...)
		}
		fctx, cancel := context.WithTimeout(ctx, t.o.FetchTimeout)
		txs, next, err := c.Wallet.ReceivedPage(fctx, cursor)
		cancel()
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("deposits: %s receive scan page %q: %w", coin, cursor, err))...)
		}
		for _, tx := range txs {
			if len(walletgate.ReceivedByAddress(tx)) == 0 {
				continue
			}
			n, err := t.store.NetworkTx(ctx, coin, walletgate.TxTypeDeposit, tx.TxID)
			if err == nil && n.Confirmations >= c.MaxConfirmations {
				continue // final: never polled again
			}
			if err != nil && walletgate.ErrorCode(err) != walletgate.ENotFound {
				errs = append(errs, err)
				continue
			}
			if err := t.update(ctx, coin, c, tx.TxID); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				t.o.Logger.Warn("deposits: scan update failed", "coin", coin, "txid", tx.TxID, "err", err)
				errs = append(errs, err)
			}
		}
		if next == "" {
			return errors.Join(errs...)
		}
		cursor = next
	}
}

// CreateAddress makes a fresh address in coin's wallet and watches it for
// account.
func (t *Tracker) CreateAddress(ctx context.Context, coin, account, externalID string) (walletgate.Watch, error) {
	c, err := t.coin(coin)
	if err != nil {
		return walletgate.Watch{}, err
	}
	if account == "" {
		return walletgate.Watch{}, walletgate.Errorf(walletgate.EInvalid, "account is empty")
	}
	fctx, cancel := context.WithTimeout(ctx, t.o.FetchTimeout)
	addr, err := c.Wallet.CreateAddress(fctx, account)
	cancel()
	if err != nil {
		return walletgate.Watch{}, fmt.Errorf("deposits: create %s address for %q: %w", coin, account, err)
	}
	return t.store.AddWatch(ctx, walletgate.Watch{Coin: coin, Address: addr, Account: account, ExternalID: externalID})
}

// Run scans every coin's receive history once, then polls every coin whose
// wallet needs it (TracksConfirmations) every PollInterval, each by its own
// rules, until ctx ends. Failures are logged,
// never fatal: the next cycle retries.
func (t *Tracker) Run(ctx context.Context) error {
	for _, coin := range t.Coins() {
		if err := t.Scan(ctx, coin); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			t.o.Logger.Warn("deposits: startup receive scan incomplete", "coin", coin, "err", err)
		}
	}
	tick := time.NewTicker(t.o.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for _, coin := range t.Coins() {
			if !t.coins[coin].Wallet.TracksConfirmations() {
				continue
			}
			if err := t.Poll(ctx, coin); err != nil && ctx.Err() == nil {
				t.o.Logger.Warn("deposits: poll cycle had failures", "coin", coin, "err", err)
			}
		}
	}
}
