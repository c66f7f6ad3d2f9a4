package walletgate

import (
	"cmp"
	"slices"
	"time"
)

// The deposit credit rule (cryptoassets spec §7) is written once, here, as
// pure functions from what a store read under its lock to what it must
// write. The stores only read the state, call PlanDeposit and persist the
// plan, so SQLite and PostgreSQL cannot drift apart. The rule lives in the
// root package, beside DepositStore, rather than in deposits/: the stores
// import only the domain, never the tracker service that calls them.

// TxView is the wallet's view of one transaction, as a store is asked to
// apply it.
type TxView struct {
	Coin string
	Tx   WalletTx
	// Asked is when the wallet was asked for Tx. Views are ordered by it,
	// not by when they reach the store: a slow fetch overtaken by a newer
	// one must not step confirmations back.
	Asked time.Time
	// CreditAt is the confirmation count that credits a deposit (deposits
	// only; broadcasts are never credited).
	CreditAt int64
	// MaxConf ends tracking: a transaction stored at or above it takes no
	// further views.
	MaxConf int64
}

// TrackedTx is a stored network transaction as a store read it under its
// lock, with when the wallet was asked for the view it last applied (the
// stores keep that as the row's updated_at).
type TrackedTx struct {
	NetworkTx
	Asked time.Time
}

// Takes reports whether v changes t. A view is ignored when its count is
// the stored one (idempotent repeats fire nothing), when tracking already
// ended at v.MaxConf, or when it was asked for before the view already
// applied (stale). A newer view with fewer confirmations (a reorg) is a
// change like any other.
func (t TrackedTx) Takes(v TxView) bool {
	return t.Confirmations != v.Tx.Confirmations && t.Confirmations < v.MaxConf && !t.Asked.After(v.Asked)
}

// DepositState is everything PlanDeposit needs about one deposit
// transaction, read by the store inside the transaction that will write
// the plan, after locking the transaction's row.
type DepositState struct {
	// Tx is the stored network transaction; nil when the view is its
	// first, which always applies.
	Tx *TrackedTx
	// Deposits are the transaction's deposit rows, by id.
	Deposits []Deposit
	// Watches maps each address the view pays to the account watching it;
	// addresses nobody watches are absent.
	Watches map[string]string
}

// DepositChange is one deposit as a view leaves it.
type DepositChange struct {
	// Deposit is the row after the view. ID 0 means a new row: the store
	// inserts it and sets ID before calling DepositUpdate.Events.
	Deposit Deposit
	// Credit is set when this view credits the deposit: the store adds
	// Deposit.Amount to Deposit.Account's balance, in the same commit as
	// Deposit.CreditedAt. It happens once per deposit, ever.
	Credit bool
}

// DepositUpdate is what a store writes for one view: nothing at all when
// Apply is false, otherwise NetworkTx, every DepositChange, and the events
// of Events queued for every registered handler, in one commit.
type DepositUpdate struct {
	Apply bool
	// NetworkTx carries the view's confirmations. ID 0 means a new row;
	// the store inserts it and sets ID.
	NetworkTx NetworkTx
	// Deposits are every deposit of the transaction, in event order:
	// existing rows by id, then new rows in address order (so the ids the
	// store assigns keep that order).
	Deposits []DepositChange
}

// PlanDeposit applies the credit rule to one view: a new deposit for each
// watched address the view pays that has none yet (the sum of its receive
// details; change and third parties' outputs are ignored), every deposit
// of the transaction at the view's confirmations, and a credit for each
// one not yet credited that has reached v.CreditAt.
func PlanDeposit(s DepositState, v TxView) DepositUpdate {
	if s.Tx != nil && !s.Tx.Takes(v) {
		return DepositUpdate{}
	}
	u := DepositUpdate{Apply: true, NetworkTx: NetworkTx{Coin: v.Coin, Type: TxTypeDeposit, TxID: v.Tx.TxID, Confirmations: v.Tx.Confirmations}}
	if s.Tx != nil {
		u.NetworkTx.ID = s.Tx.ID
	}
	deps := slices.Clone(s.Deposits)
	slices.SortFunc(deps, func(a, b Deposit) int { return cmp.Compare(a.ID, b.ID) })
	have := make(map[string]bool, len(deps))
	for _, d := range deps {
		have[d.Address] = true
	}
	for _, r := range SortedReceived(v.Tx) {
		account, watched := s.Watches[r.Address]
		if !watched || have[r.Address] {
			continue
		}
		deps = append(deps, Deposit{NetworkTxID: u.NetworkTx.ID, Coin: v.Coin, TxID: v.Tx.TxID,
			Address: r.Address, Account: account, Amount: r.Amount})
	}
	u.Deposits = make([]DepositChange, 0, len(deps))
	for _, d := range deps {
		c := DepositChange{Deposit: d}
		if d.CreditedAt == nil && v.Tx.Confirmations >= v.CreditAt {
			at := v.Asked
			c.Deposit.CreditedAt, c.Credit = &at, true
		}
		c.Deposit.Confirmations, c.Deposit.UpdatedAt = v.Tx.Confirmations, v.Asked
		u.Deposits = append(u.Deposits, c)
	}
	return u
}

// Events are the txupdate events of u, one per deposit, in order. Every
// row must have its id by now; a missing one is EInternal (a store bug),
// since the ids are part of the payload.
func (u DepositUpdate) Events() ([]TxUpdate, error) {
	n := u.NetworkTx
	if n.ID == 0 {
		return nil, Errorf(EInternal, "deposit events of %s tx %s: the network transaction has no id yet", n.Coin, n.TxID)
	}
	out := make([]TxUpdate, 0, len(u.Deposits))
	for _, c := range u.Deposits {
		d := c.Deposit
		if d.ID == 0 {
			return nil, Errorf(EInternal, "deposit events of %s tx %s: the deposit to %s has no id yet", n.Coin, n.TxID, d.Address)
		}
		out = append(out, TxUpdate{
			EventID: TxUpdateEventID(n.Coin, n.TxID, d.Address, n.Confirmations),
			Coin:    n.Coin, TransactionType: TxTypeDeposit, TransactionID: d.ID, NetworkTxID: n.ID,
			Account: d.Account, TxID: n.TxID, Address: d.Address, Amount: d.Amount,
			Credited: d.CreditedAt != nil, Confirmations: n.Confirmations,
		})
	}
	return out, nil
}
