package walletgate

import (
	"context"
	"sort"
	"time"
)

// Deposits (cryptoassets spec §7): the addresses watched for an account,
// the on-chain transactions being tracked, the payments they made to
// watched addresses, and the DepositStore that keeps them. The rule that
// turns a wallet's view of a transaction into credits and events is
// PlanDeposit (depositrules.go); the wallets the views come from are in
// walletbackend.go, and the events a change produces in txupdate.go.

// Watch is an address whose incoming payments are credited to an account.
type Watch struct {
	ID      int64
	Coin    string
	Address string
	Account string
	// ExternalID is an optional id chosen by the application, returned
	// with the watch so it can map addresses back to its own records.
	ExternalID string
	CreatedAt  time.Time
}

// Validate checks a watch before a store adds it.
func (w Watch) Validate() error {
	switch {
	case w.Coin == "":
		return Errorf(EInvalid, "watch: coin is empty")
	case w.Address == "":
		return Errorf(EInvalid, "watch: address is empty")
	case w.Account == "":
		return Errorf(EInvalid, "watch: account is empty")
	}
	return nil
}

// Rewatch decides AddWatch for an address that is already watched, as
// existing: watching it again for the same account returns the existing
// watch (its id, external id and creation time); for another account it
// is EConflict, since a payment can be credited to one account only.
func (w Watch) Rewatch(existing Watch) (Watch, error) {
	if existing.Account != w.Account {
		return Watch{}, Errorf(EConflict, "address %s (%s) is already watched for account %q", w.Address, w.Coin, existing.Account)
	}
	return existing, nil
}

// Network transaction types (cryptoassets spec §1): a deposit seen by the
// wallet, or a broadcast the service sent itself.
const (
	TxTypeDeposit   = "deposit"
	TxTypeBroadcast = "broadcast"
)

// NetworkTx is one on-chain transaction being tracked, per (coin, type,
// txid). Confirmations start at -1 (never seen with a count).
type NetworkTx struct {
	ID            int64
	Coin          string
	Type          string // TxTypeDeposit or TxTypeBroadcast
	TxID          string
	Confirmations int64
}

// Deposit is the payment one network transaction made to one watched
// address: the sum of its receive details to that address.
type Deposit struct {
	ID            int64
	NetworkTxID   int64
	Coin          string
	TxID          string
	Address       string
	Account       string
	Amount        int64 // satoshis
	Confirmations int64
	// CreditedAt is set once, when the deposit first reached the credit
	// threshold and its amount was added to the account balance.
	CreditedAt *time.Time
	UpdatedAt  time.Time
}

// DepositFilter narrows ListDeposits; empty fields match everything.
type DepositFilter struct {
	Coin    string
	Account string
	Address string
}

// DepositStore keeps watched addresses, deposits, account balances and the
// txupdate outbox (cryptoassets spec §7–§9). Every method is safe for
// concurrent use, also by several processes sharing one database.
type DepositStore interface {
	// AddWatch starts crediting payments to w.Address (per w.Coin) to
	// w.Account. Watching an address twice is EConflict, unless it is the
	// same account, in which case the existing watch is returned.
	AddWatch(ctx context.Context, w Watch) (Watch, error)
	// ListWatches lists coin's watches (of account when not empty) by id.
	// next is the cursor of the following page, 0 at the end.
	ListWatches(ctx context.Context, coin, account string, p Page) (ws []Watch, next int64, err error)
	// ListDeposits lists deposits matching f by id, paged like ListWatches.
	ListDeposits(ctx context.Context, f DepositFilter, p Page) (ds []Deposit, next int64, err error)
	// Balance is account's credited total on coin, in satoshis.
	Balance(ctx context.Context, coin, account string) (int64, error)

	// ApplyTx records the wallet's view of a deposit transaction in one
	// transaction (spec §7): no-op (no events) when the confirmations are
	// unchanged or tracking already stopped at maxConf; otherwise it
	// updates every deposit to a watched address, credits each once when
	// it reaches creditAt confirmations, and appends the resulting events
	// to the outbox of every registered handler before committing. It
	// returns those events. now is when the wallet was asked for tx: a
	// view older than the one already applied is stale and ignored, so a
	// slow fetch racing a newer one (two intakes, two instances) cannot
	// move confirmations back and repeat events. The rule is
	// PlanDeposit's: a store reads the state it needs under its lock and
	// persists the plan, deciding nothing itself.
	ApplyTx(ctx context.Context, coin string, tx WalletTx, creditAt, maxConf int64, now time.Time) ([]TxUpdate, error)
	// NetworkTx returns the tracked transaction (coin, typ, txid), or
	// ENotFound.
	NetworkTx(ctx context.Context, coin, typ, txid string) (NetworkTx, error)
	// OpenNetworkTxs lists coin's transactions still below maxConf
	// confirmations: the ones the confirmation poll must re-fetch.
	OpenNetworkTxs(ctx context.Context, coin string, maxConf int64) ([]NetworkTx, error)

	// RegisterHandler makes ApplyTx queue every later event for handler.
	// Registering again is a no-op; registrations survive restarts.
	RegisterHandler(ctx context.Context, handler string) error
	// ClaimOutbox leases up to limit of handler's due events until
	// now+lease: per (coin, address) only the oldest undelivered event,
	// so events of one address are delivered in order. A leased event is
	// not handed to anyone else until the lease expires.
	ClaimOutbox(ctx context.Context, handler string, limit int, lease time.Duration, now time.Time) ([]OutboxItem, error)
	// AckOutbox removes a delivered event from handler's outbox.
	AckOutbox(ctx context.Context, handler string, id int64) error
	// RetryOutbox releases a failed event's lease and holds it back until
	// nextAttempt; lastErr is kept for operators.
	RetryOutbox(ctx context.Context, handler string, id int64, nextAttempt time.Time, lastErr string) error
	// PendingOutbox counts handler's undelivered events.
	PendingOutbox(ctx context.Context, handler string) (int, error)
}

// ValidateApplyTx checks ApplyTx's arguments, the same way in every store.
func ValidateApplyTx(coin string, tx WalletTx, creditAt, maxConf int64) error {
	switch {
	case coin == "":
		return Errorf(EInvalid, "apply tx: coin is empty")
	case tx.TxID == "":
		return Errorf(EInvalid, "apply tx %s: txid is empty", coin)
	case creditAt < 1:
		return Errorf(EInvalid, "apply tx %s %s: credit threshold %d is below 1", coin, tx.TxID, creditAt)
	case maxConf < creditAt:
		return Errorf(EInvalid, "apply tx %s %s: max confirmations %d is below the credit threshold %d", coin, tx.TxID, maxConf, creditAt)
	}
	return nil
}

// ReceivedByAddress sums tx's receive details per address (spec §7.4):
// send details, and so change seen from the sending side, are ignored.
func ReceivedByAddress(tx WalletTx) map[string]int64 {
	out := make(map[string]int64)
	for _, d := range tx.Details {
		if d.Category == CategoryReceive && d.Address != "" && d.Amount > 0 {
			out[d.Address] += d.Amount
		}
	}
	return out
}

// Received is one address's share of a transaction.
type Received struct {
	Address string
	Amount  int64 // satoshis
}

// SortedReceived is ReceivedByAddress in address order, so every store
// creates deposit rows (and so events) in the same order.
func SortedReceived(tx WalletTx) []Received {
	m := ReceivedByAddress(tx)
	out := make([]Received, 0, len(m))
	for a, v := range m {
		out = append(out, Received{Address: a, Amount: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}
