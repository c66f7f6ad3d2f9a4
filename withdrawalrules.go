package walletgate

import (
	"cmp"
	"slices"
	"time"
)

// The withdrawal rules (cryptoassets spec §7.5, §9.2), for queued sends and
// the broadcasts that pay them, written once as pure functions of what a
// store read under its lock; the stores read, call these and persist the
// result, like PlanDeposit for deposits.

// PlanQueueSend decides QueueSend for r, given the send already queued
// under r's external id (nil if none) and the account's balance. A repeat
// of the same request returns prev and writes nothing (insert false); the
// same external id with another account, address or amount is EConflict;
// a balance below the amount is EInvalid naming both. Otherwise it returns
// the pending send to insert, whose amount the store debits in the same
// commit; the store sets its ID.
func PlanQueueSend(r SendRequest, prev *OutgoingTx, balance int64, now time.Time) (o OutgoingTx, insert bool, err error) {
	if prev != nil {
		if prev.Account != r.Account || prev.Address != r.Address || prev.Amount != r.Amount {
			return OutgoingTx{}, false, Errorf(EConflict, "external_id %q was already used for a send of %s from %q to %s",
				r.ExternalID, FormatSats(prev.Amount), prev.Account, prev.Address)
		}
		return *prev, false, nil
	}
	if balance < r.Amount {
		return OutgoingTx{}, false, InsufficientBalance(r.Coin, r.Account, balance, r.Amount)
	}
	return OutgoingTx{Coin: r.Coin, Type: OutgoingSend, Account: r.Account, Address: r.Address, Amount: r.Amount,
		ExternalID: r.ExternalID, State: SendPending, Confirmations: -1, CreatedAt: now}, true, nil
}

// ValidateCollect checks CollectBroadcast's arguments, the same way in
// every store.
func ValidateCollect(coin string, maxSends int) error {
	if coin == "" || maxSends <= 0 {
		return Errorf(EInvalid, "collect broadcast: coin %q must be set and max sends %d positive", coin, maxSends)
	}
	return nil
}

// CheckOpen says whether b may be opened, that is handed to the wallet:
// only a pending broadcast, so that one opened before (in flight, failed,
// or sent) is never sent again, and only one with outputs.
func (b Broadcast) CheckOpen() error {
	if st := b.State(); st != BroadcastPending {
		return Errorf(EConflict, "%s broadcast %d is %s, not pending; it is not sent again", b.Coin, b.ID, st)
	}
	if len(b.Outputs) == 0 {
		return Errorf(EInternal, "%s broadcast %d has no outputs", b.Coin, b.ID)
	}
	return nil
}

// CheckRelease says whether b may be released (sent again): only an open
// broadcast opened no later than openedBefore, so that a send still in
// flight is not released under the broadcaster's feet.
func (b Broadcast) CheckRelease(openedBefore time.Time) error {
	if st := b.State(); st != BroadcastOpen {
		return Errorf(EConflict, "%s broadcast %d is %s, not open", b.Coin, b.ID, st)
	}
	if b.OpenedAt.After(openedBefore) {
		return Errorf(EConflict, "%s broadcast %d was opened at %s, too recently to release: its send may still be in flight",
			b.Coin, b.ID, b.OpenedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// BroadcastClose is what closing a broadcast writes, when Changed: txid,
// fee and closed_at on the broadcast (opened_at too if it was never
// opened), every send broadcasted, the txid tracked as a broadcast
// NetworkTx, and Fee when set.
type BroadcastClose struct {
	// Changed is false when the broadcast is already closed as this txid:
	// closing again writes nothing (no second fee).
	Changed bool
	// Fee is the network_fee row to insert, whose amount the store
	// subtracts from NetworkFeesAccount in the same commit; nil for a zero
	// fee. The store sets its ID.
	Fee *OutgoingTx
}

// PlanClose decides CloseBroadcast of b as txid with fee. holder is the
// broadcast already closed as txid (0 if none): one transaction pays one
// broadcast, so a second is EConflict. A broadcast closed as another txid
// is EConflict too, and one without sends EInternal.
func PlanClose(b Broadcast, txid string, fee, holder int64, now time.Time) (BroadcastClose, error) {
	if b.ClosedAt != nil {
		if b.TxID == txid {
			return BroadcastClose{}, nil
		}
		return BroadcastClose{}, Errorf(EConflict, "%s broadcast %d is already closed as %s", b.Coin, b.ID, b.TxID)
	}
	if len(b.SendIDs) == 0 {
		return BroadcastClose{}, Errorf(EInternal, "%s broadcast %d has no sends", b.Coin, b.ID)
	}
	if holder != 0 {
		return BroadcastClose{}, TxIDTaken(b.Coin, txid, holder)
	}
	c := BroadcastClose{Changed: true}
	if fee > 0 {
		at := now
		c.Fee = &OutgoingTx{Coin: b.Coin, Type: OutgoingNetworkFee, Account: NetworkFeesAccount, Amount: fee,
			State: SendBroadcasted, BroadcastID: b.ID, Confirmations: -1, CreatedAt: now, ProcessedAt: &at}
	}
	return c, nil
}

// TxIDTaken is the error for a txid already recorded for another broadcast
// (holder, or 0 when a store only learns it from a unique index).
func TxIDTaken(coin, txid string, holder int64) error {
	if holder == 0 {
		return Errorf(EConflict, "txid %s is already recorded for another %s broadcast", txid, coin)
	}
	return Errorf(EConflict, "txid %s is already recorded for %s broadcast %d", txid, coin, holder)
}

// BroadcastTxState is what PlanBroadcastTx needs about one broadcast
// transaction, read by the store after locking its network_txs row.
type BroadcastTxState struct {
	Tx TrackedTx
	// BroadcastID is the broadcast closed as Tx (0 if none).
	BroadcastID int64
	// Rows are the broadcast's outgoing rows (sends and its fee), by id.
	Rows []OutgoingTx
}

// BroadcastTxUpdate is what a store writes for one view of a broadcast:
// nothing when Apply is false; otherwise the view's confirmations on the
// network transaction and on every row of the broadcast, and Events
// queued for every registered handler, in one commit.
type BroadcastTxUpdate struct {
	Apply         bool
	Confirmations int64
	Events        []TxUpdate
}

// PlanBroadcastTx applies a view to a closed broadcast's transaction: the
// same ordering rule as deposits (TrackedTx.Takes), and one txupdate per
// send still pending or broadcasted, with account the sender, address the
// destination and no credit (spec §7.5). The fee row takes the
// confirmations but has no event: nobody was paid.
func PlanBroadcastTx(s BroadcastTxState, v TxView) BroadcastTxUpdate {
	if !s.Tx.Takes(v) {
		return BroadcastTxUpdate{}
	}
	u := BroadcastTxUpdate{Apply: true, Confirmations: v.Tx.Confirmations}
	rows := slices.Clone(s.Rows)
	slices.SortFunc(rows, func(a, b OutgoingTx) int { return cmp.Compare(a.ID, b.ID) })
	for _, o := range rows {
		if o.Type != OutgoingSend || (o.State != SendPending && o.State != SendBroadcasted) {
			continue
		}
		u.Events = append(u.Events, TxUpdate{
			EventID: BroadcastEventID(v.Coin, v.Tx.TxID, o.ID, v.Tx.Confirmations),
			Coin:    v.Coin, TransactionType: TxTypeBroadcast, TransactionID: o.ID, NetworkTxID: s.Tx.ID,
			Account: o.Account, TxID: v.Tx.TxID, Address: o.Address, Amount: o.Amount, Confirmations: v.Tx.Confirmations,
		})
	}
	return u
}
