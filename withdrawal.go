package walletgate

import (
	"context"
	"strconv"
	"time"
)

// Withdrawals (cryptoassets spec §9.2): payments out of the hot wallet
// that the deposit API queues (POST /v1/<coin>/send), debiting the sender
// at once, and that the withdrawals package then pays in batches, one
// multi-output transaction per coin per broadcast period. The rules the
// stores apply are in withdrawalrules.go.
//
// The types keep cryptoassets' names, which are also the names on the
// wire and in the database: a batch is a Broadcast (the API lists it under
// /v1/<coin>/broadcasts in the states pending, open and closed, its
// confirmations reach applications as txupdate events with
// transaction_type "broadcast", and it is a row of the broadcasts table),
// each queued payment is an OutgoingTx (table outgoing_txs) in state
// SendPending or SendBroadcasted, and BroadcastStore keeps both. Naming
// them otherwise in Go would make every reader translate between the code
// and what operators and applications see.
//
// None of this is Bitweb's POST /broadcast (bitweb/), which relays a raw
// transaction that somebody else built and signed: a Broadcast here is a
// transaction walletgate's own wallet builds to pay its queued sends.

// Outgoing transaction kinds (cryptoassets spec §9.2): a payment an
// application queued, or the network fee a broadcast cost, booked on the
// NetworkFeesAccount.
const (
	OutgoingSend       = "send"
	OutgoingNetworkFee = "network_fee"
)

// Outgoing transaction states: queued and not yet on the network, or sent
// in a broadcast that closed.
const (
	SendPending     = "pending"
	SendBroadcasted = "broadcasted"
)

// Broadcast states, as ListBroadcasts filters them: collected but never
// handed to the wallet (pending), handed to the wallet without a recorded
// outcome (open: it may or may not be on chain, so it is never resent
// automatically), or sent with its txid recorded (closed).
const (
	BroadcastPending = "pending"
	BroadcastOpen    = "open"
	BroadcastClosed  = "closed"
	BroadcastAll     = "all"
)

// NetworkFeesAccount is the account every broadcast's fee is booked on, per
// coin (cryptoassets' "Network fees"). The fee is subtracted from it, so its
// balance is minus the fees paid so far: the hot wallet paid them, no
// customer did. Summing every account of a coin therefore still gives what
// the hot wallet should hold. Do not use it as a customer account.
const NetworkFeesAccount = "Network fees"

// MaxAmount is the largest amount any coin can move: 21 million coins.
const MaxAmount int64 = 21_000_000 * 100_000_000

// SendRequest asks to pay Amount from Account to Address. ExternalID is the
// application's idempotency key (per coin): queueing the same request again
// returns the first send instead of debiting twice.
type SendRequest struct {
	Coin       string
	Account    string
	Address    string
	Amount     int64 // satoshis
	ExternalID string
}

// Validate checks a request before a store queues it. The address is only
// checked for presence here; its encoding is the caller's (API's) job, as
// only it knows the coin's network.
func (r SendRequest) Validate() error {
	switch {
	case r.Coin == "":
		return Errorf(EInvalid, "send: coin is empty")
	case r.Account == "":
		return Errorf(EInvalid, "send: account is empty")
	case r.Account == NetworkFeesAccount:
		return Errorf(EInvalid, "send: account %q is reserved for network fees", NetworkFeesAccount)
	case r.Address == "":
		return Errorf(EInvalid, "send: address is empty")
	case r.ExternalID == "":
		return Errorf(EInvalid, "send: external_id is empty; it is required so that a retried request cannot pay twice")
	case r.Amount <= 0 || r.Amount > MaxAmount:
		return Errorf(EInvalid, "send: amount %s must be positive and at most %s", FormatSats(r.Amount), FormatSats(MaxAmount))
	}
	return nil
}

// OutgoingTx is one row of the outgoing ledger: a queued send (debited from
// Account when queued) or a broadcast's network fee.
type OutgoingTx struct {
	ID          int64
	Coin        string
	Type        string // OutgoingSend or OutgoingNetworkFee
	Account     string
	Address     string // destination; "" for a network fee
	Amount      int64  // satoshis
	ExternalID  string // "" for a network fee
	State       string // SendPending or SendBroadcasted
	BroadcastID int64  // 0 until collected into a broadcast
	// TxID is the broadcast's transaction once it closed.
	TxID          string
	Confirmations int64 // -1 until the confirmation poll has seen it
	CreatedAt     time.Time
	// ProcessedAt is when the broadcast carrying it closed.
	ProcessedAt *time.Time
}

// Broadcast is one network transaction paying a batch of queued sends
// (cryptoassets' broadcast NetworkTransaction). It is two-phase: OpenedAt
// is committed before the wallet is asked to send, and TxID and ClosedAt
// after, so a crash in between leaves it open for an operator instead of
// resending it.
type Broadcast struct {
	ID   int64
	Coin string
	// Outputs is what the transaction pays: the sends' amounts summed per
	// destination address.
	Outputs map[string]int64
	// SendIDs are the OutgoingTx rows it carries, in id order.
	SendIDs []int64
	TxID    string // "" until closed
	Fee     int64  // satoshis, as the wallet reported it (0 if unknown)
	// NetworkTxID is the tracked broadcast NetworkTx once closed.
	NetworkTxID int64
	CreatedAt   time.Time
	OpenedAt    *time.Time
	ClosedAt    *time.Time
}

// State is the broadcast's state: BroadcastPending, BroadcastOpen or
// BroadcastClosed.
func (b Broadcast) State() string {
	switch {
	case b.ClosedAt != nil:
		return BroadcastClosed
	case b.OpenedAt != nil:
		return BroadcastOpen
	}
	return BroadcastPending
}

// Total is the sum of the outputs.
func (b Broadcast) Total() int64 {
	var t int64
	for _, v := range b.Outputs {
		t += v
	}
	return t
}

// Sender is a wallet that can pay several addresses in one transaction
// (nodewallet.Wallet). Send must not retry on its own: an error may mean
// the payment went out anyway. A txid returned together with an error
// means it went out but the fee could not be read.
type Sender interface {
	Send(ctx context.Context, recipients map[string]int64, label string) (txid string, fee int64, err error)
}

// BroadcastStore keeps the outgoing ledger and its broadcasts (cryptoassets
// spec §9.2) beside the DepositStore's balances, network transactions and
// outbox, which it shares. Every method is safe for concurrent use, also by
// several processes sharing one database.
type BroadcastStore interface {
	// QueueSend records a pending send and debits its account in the same
	// transaction. Not enough balance is EInvalid naming both amounts. The
	// same (coin, external id) again returns the first send unchanged and
	// debits nothing; with different account, address or amount it is
	// EConflict.
	QueueSend(ctx context.Context, r SendRequest, now time.Time) (OutgoingTx, error)
	// OutgoingTx returns coin's send with externalID, or ENotFound.
	OutgoingTx(ctx context.Context, coin, externalID string) (OutgoingTx, error)

	// CollectBroadcast attaches up to maxSends of coin's pending sends that
	// are in no broadcast (oldest first) to one new broadcast, all or none.
	// ok is false when there was nothing to collect.
	CollectBroadcast(ctx context.Context, coin string, maxSends int, now time.Time) (b Broadcast, ok bool, err error)
	// Broadcast returns coin's broadcast id, or ENotFound.
	Broadcast(ctx context.Context, coin string, id int64) (Broadcast, error)
	// ListBroadcasts lists coin's broadcasts in state (a Broadcast* state
	// or BroadcastAll) by id; next is the following page's cursor, 0 at
	// the end.
	ListBroadcasts(ctx context.Context, coin, state string, p Page) (bs []Broadcast, next int64, err error)
	// OpenBroadcast commits opened_at=now on a pending broadcast and
	// returns it; the caller may then send it, once. It is never retried
	// internally, and opening a broadcast that is not pending is EConflict,
	// so of two processes racing to open it exactly one gets to send.
	OpenBroadcast(ctx context.Context, coin string, id int64, now time.Time) (Broadcast, error)
	// CloseBroadcast records that the broadcast is on the network as txid
	// with fee: it sets txid and closed_at, marks its sends broadcasted,
	// starts tracking txid as a broadcast NetworkTx and, when fee > 0,
	// books a network_fee OutgoingTx on NetworkFeesAccount and subtracts
	// the fee from that account. It is used by the broadcaster after a
	// send and by an operator resolving an open broadcast found on chain.
	// Closing again with the same txid returns the closed broadcast and
	// changes nothing; with another txid it is EConflict. A retry after a
	// conflict re-checks closed_at in its own transaction, so it can
	// neither book twice nor cause a send.
	CloseBroadcast(ctx context.Context, coin string, id int64, txid string, fee int64, now time.Time) (Broadcast, error)
	// ReleaseBroadcast clears opened_at of an open broadcast so that the
	// broadcaster sends it again: the operator's answer to "it is not on
	// chain". It refuses (EConflict) a broadcast that is not open, or was
	// opened after openedBefore, so that a send still in flight is not
	// released under the broadcaster's feet.
	ReleaseBroadcast(ctx context.Context, coin string, id int64, openedBefore time.Time) (Broadcast, error)

	// ApplyBroadcastTx records the wallet's view of a closed broadcast's
	// transaction (spec §7.5), like DepositStore.ApplyTx: no-op when the
	// confirmations are unchanged or tracking already stopped at maxConf;
	// otherwise one txupdate per send of the broadcast (account = sender,
	// address = destination, credited null) goes into the outbox of every
	// registered handler in the same commit. The NetworkTx must exist
	// (ENotFound otherwise): only CloseBroadcast creates broadcast ones.
	// The rule is PlanBroadcastTx's, as the other methods' decisions are
	// PlanQueueSend's, CheckOpen's, PlanClose's and CheckRelease's.
	ApplyBroadcastTx(ctx context.Context, coin string, tx WalletTx, maxConf int64, now time.Time) ([]TxUpdate, error)
}

// BroadcastEventID is the stable event id of the txupdate for one send of
// a broadcast at a confirmation count. It names the send rather than the
// address, because one broadcast may pay an address for several sends,
// and because a send to one of our own watched addresses also has a
// deposit event for the same (txid, address).
func BroadcastEventID(coin, txid string, sendID, confirmations int64) string {
	return coin + ":" + txid + ":send" + strconv.FormatInt(sendID, 10) + ":" + strconv.FormatInt(confirmations, 10)
}

// ValidateClose checks CloseBroadcast's arguments, the same way in every
// store.
func ValidateClose(coin string, id int64, txid string, fee int64) error {
	switch {
	case coin == "":
		return Errorf(EInvalid, "close broadcast: coin is empty")
	case id <= 0:
		return Errorf(EInvalid, "close broadcast: id %d is not positive", id)
	case !ValidTxID(txid):
		return Errorf(EInvalid, "close broadcast %d: txid %.80q is not 64 hex digits", id, txid)
	case fee < 0 || fee > MaxAmount:
		return Errorf(EInvalid, "close broadcast %d: fee %s is negative or too large", id, FormatSats(fee))
	}
	return nil
}

// ValidBroadcastState checks a ListBroadcasts state filter.
func ValidBroadcastState(state string) error {
	switch state {
	case BroadcastPending, BroadcastOpen, BroadcastClosed, BroadcastAll:
		return nil
	}
	return Errorf(EInvalid, "broadcast state %.40q is not one of pending, open, closed, all", state)
}

// InsufficientBalance is the error QueueSend returns when account has less
// than amount; every store words it the same way.
func InsufficientBalance(coin, account string, balance, amount int64) error {
	return Errorf(EInvalid, "account %q has %s %s, not enough to send %s", account, FormatSats(balance), coin, FormatSats(amount))
}
