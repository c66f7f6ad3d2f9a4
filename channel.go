package walletgate

import (
	"context"
	"time"
)

// Account flags, as stored by the ElectrumSV reference server.
const (
	// AccountDisabled marks an account whose keys are refused (401).
	AccountDisabled uint32 = 1 << 10
)

// Token flags, as stored by the ElectrumSV reference server.
const (
	TokenRead  uint32 = 1 // may read, mark and listen
	TokenWrite uint32 = 2 // may write messages
	// TokenOwner marks the "Owner" token made with the channel; messages it
	// writes do not notify the owner's account websocket.
	TokenOwner uint32 = 4
)

// Account is a peer-channels account: a public key and its master bearer token.
type Account struct {
	ID        int64
	PublicKey []byte // compressed or uncompressed secp256k1 key, as registered
	APIKey    string // master bearer token, 88 chars
	Flags     uint32
	// Indexer callback settings (GET/POST /api/v1/indexer); nil when unset.
	TipFilterCallbackURL   *string
	TipFilterCallbackToken *string
}

// Disabled reports whether the account is refused.
func (a Account) Disabled() bool { return a.Flags&AccountDisabled != 0 }

// Retention is a channel's retention rule. Nil ages mean "none".
type Retention struct {
	MinAgeDays *int64
	MaxAgeDays *int64
	AutoPrune  bool
}

// Channel is a peer channel (message box).
type Channel struct {
	ID           int64  // internal row id
	ExternalID   string // public id, 88 chars
	AccountID    int64
	PublicRead   bool
	PublicWrite  bool
	Sequenced    bool
	Locked       bool
	Retention    Retention
	HeadSequence int64   // highest sequence ever written (deletions ignored), 0 when none
	Tokens       []Token // every token of the channel, revoked ones included, in id order
}

// Token is a channel access token.
type Token struct {
	ID          int64 // global autoincrement id
	ChannelID   int64 // internal channel row id
	AccountID   int64
	Value       string // the bearer token, 88 chars
	Description string
	Flags       uint32
	ValidFrom   time.Time
	ValidTo     *time.Time // nil while active; set on revoke
}

// CanRead reports whether the token carries read permission.
func (t Token) CanRead() bool { return t.Flags&TokenRead != 0 }

// CanWrite reports whether the token carries write permission.
func (t Token) CanWrite() bool { return t.Flags&TokenWrite != 0 }

// ActiveAt reports whether the token is valid at now. As in the reference
// server, a token revoked at second S still works during S.
func (t Token) ActiveAt(now time.Time) bool {
	return t.ValidTo == nil || !t.ValidTo.Before(now.Truncate(time.Second))
}

// Message is one message of a channel.
type Message struct {
	ChannelID   int64
	Sequence    int64
	Received    time.Time // whole seconds, UTC
	ContentType string
	Payload     []byte
	FromToken   int64
}

// NewMessage is what a writer submits.
type NewMessage struct {
	ChannelID   int64
	TokenID     int64 // the writing token
	ContentType string
	Payload     []byte
	Received    time.Time
}

// TipFilter is one pushdata registration of an account with the indexer.
type TipFilter struct {
	AccountID    int64
	PushDataHash [32]byte
	Flags        uint32 // TipFilterFinalised, TipFilterDeleting
	DateCreated  time.Time
	DurationSecs uint32
}

// Tip-filter registration flags.
const (
	TipFilterFinalised uint32 = 1
	TipFilterDeleting  uint32 = 2
)

// ChannelStore keeps accounts, channels, tokens and messages. Every method
// that returns without error has committed durably. Not-found cases return a
// walletgate.Error with code ENotFound; rule violations return EConflict or
// EInvalid errors whose Message is the reference server's reason text (for
// example "10001: Channel is locked. Write failed.").
type ChannelStore interface {
	// CreateAccount stores a new account for publicKey, or returns the
	// existing one for the same key bytes (registration is idempotent; the
	// existing account keeps its own APIKey and apiKey is then unused).
	CreateAccount(ctx context.Context, publicKey []byte, apiKey string) (Account, error)
	// AccountByAPIKey finds an account by its master token; ENotFound if none.
	// Disabled accounts are returned too: the caller decides to refuse them.
	AccountByAPIKey(ctx context.Context, apiKey string) (Account, error)
	// AccountByID finds an account by its internal id (the account_id the
	// indexer knows); ENotFound if none.
	AccountByID(ctx context.Context, accountID int64) (Account, error)
	// AccountByPublicKey finds an account by its exact key bytes; ENotFound if none.
	AccountByPublicKey(ctx context.Context, publicKey []byte) (Account, error)
	// SetAccountFlags overwrites the account's flags; ENotFound if unknown.
	SetAccountFlags(ctx context.Context, accountID int64, flags uint32) error
	// SetTipFilterCallback overwrites both callback settings (nil clears
	// one); ENotFound if the account is unknown.
	SetTipFilterCallback(ctx context.Context, accountID int64, url, token *string) error

	// CreateChannel stores ch and its first token owner atomically and
	// returns the channel with ids filled in (ch.ID, ch.Tokens[0].ID and
	// ChannelID; owner.AccountID defaults to ch.AccountID and a zero
	// owner.ValidFrom to now). ENotFound if ch.AccountID is unknown,
	// EConflict if the external id or token value is taken, EInvalid for an
	// empty external id or token value.
	CreateChannel(ctx context.Context, ch Channel, owner Token) (Channel, error)
	// ChannelByExternalID returns the channel with its tokens; ENotFound if none.
	ChannelByExternalID(ctx context.Context, externalID string) (Channel, error)
	// ListChannels returns the account's channels, with tokens, in id order
	// (an empty slice when there are none).
	ListChannels(ctx context.Context, accountID int64) ([]Channel, error)
	// AmendChannel overwrites the three flags; ENotFound if the channel is unknown.
	AmendChannel(ctx context.Context, channelID int64, publicRead, publicWrite, locked bool) error
	// DeleteChannel removes the channel, its tokens, messages and states.
	// ENotFound if the channel is unknown (the HTTP layer answers 204
	// either way, as the reference server does).
	DeleteChannel(ctx context.Context, channelID int64) error

	// CreateToken stores t and gives it an unread, undeleted state row for
	// every existing message of the channel (backfill). t.AccountID is taken
	// from the channel and a zero t.ValidFrom becomes now. ENotFound if
	// t.ChannelID is unknown, EConflict if the value is taken.
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByValue finds a token by its bearer value, revoked or not;
	// ENotFound if none.
	TokenByValue(ctx context.Context, value string) (Token, error)
	// TokenByID finds a token by id, revoked or not; ENotFound if none.
	TokenByID(ctx context.Context, tokenID int64) (Token, error)
	// ActiveTokens lists the channel's tokens valid at now (Token.ActiveAt),
	// in id order.
	ActiveTokens(ctx context.Context, channelID int64, now time.Time) ([]Token, error)
	// RevokeToken sets the token's ValidTo to at, unless it is already
	// revoked (the first revocation time stays). ENotFound if unknown.
	// Times are kept to the microsecond.
	RevokeToken(ctx context.Context, tokenID int64, at time.Time) error

	// WriteMessage checks lock and sequencing rules, assigns the next
	// gap-free sequence number of the channel and stores the message with a
	// state row for every token active at m.Received (the writer's row read).
	// Received is truncated to whole seconds (zero means now). ENotFound if
	// the channel is unknown or the writing token is not one of its tokens;
	// EConflict "10001: …" when locked, "10002: …" when the channel is
	// sequenced and the writer still has an unread, undeleted message.
	WriteMessage(ctx context.Context, m NewMessage) (Message, error)
	// Messages lists the token's undeleted messages in sequence order, only
	// the unread ones when unreadOnly. Reading marks nothing read.
	Messages(ctx context.Context, channelID, tokenID int64, unreadOnly bool) ([]Message, error)
	// UnreadETag is the HEAD ETag: the max sequence of the channel's
	// messages not written by tokenID that have an undeleted state row, 0 if none.
	UnreadETag(ctx context.Context, channelID, tokenID int64) (int64, error)
	// MarkRead sets the read flag of the token's state row for seq, and for
	// every lower sequence when older is true (deleted ones too). ENotFound
	// "10014: Sequence number not found." when the token has no state row
	// for seq (deleted rows count as found).
	MarkRead(ctx context.Context, channelID, tokenID, seq int64, read, older bool) error
	// DeleteMessage soft-deletes seq for tokenID only, applying the
	// retention minimum against now. ENotFound "10014: …" when the token has
	// no state row for seq, ENotFound "10015: Message metadata not found."
	// when no token has it undeleted, EInvalid "10017: …" before
	// Received + MinAgeDays.
	DeleteMessage(ctx context.Context, channelID, tokenID, seq int64, now time.Time) error

	// AddTipFilters registers filters (Flags as given, usually 0 until
	// finalised); all-or-nothing: EConflict "10024: some pushdata hashes
	// already registered" if any hash is registered or repeated.
	AddTipFilters(ctx context.Context, accountID int64, filters []TipFilter) error
	// FinaliseTipFilters sets TipFilterFinalised on every hash; EInvalid
	// "10025: some pushdata hashes are not registered" (and no change) if any
	// hash is not registered.
	FinaliseTipFilters(ctx context.Context, accountID int64, hashes [][32]byte) error
	// ListTipFilters returns the account's finalised registrations (the GET
	// listing), in registration order.
	ListTipFilters(ctx context.Context, accountID int64) ([]TipFilter, error)
	// MarkTipFiltersDeleting sets (deleting) or clears (!deleting, the
	// rollback after an indexer failure) TipFilterDeleting. Setting needs
	// every hash finalised and not already deleting, clearing needs every
	// hash registered; else EInvalid "10025: …" and no change.
	MarkTipFiltersDeleting(ctx context.Context, accountID int64, hashes [][32]byte, deleting bool) error
	// DeleteTipFilters removes the registrations, finalised or not;
	// EInvalid "10025: …" (and no change) if any hash is not registered.
	DeleteTipFilters(ctx context.Context, accountID int64, hashes [][32]byte) error

	// PruneTipFilters deletes registrations that expired before now
	// (DateCreated + DurationSecs) and unfinalised ones, which a crash
	// mid-registration leaves behind, and returns how many it removed. The
	// reference server does this at startup; call it before serving, since
	// later it would also remove registrations still in flight.
	PruneTipFilters(ctx context.Context, now time.Time) (int64, error)

	// Close waits for pending writes and releases the database.
	Close() error
}

// ChannelNotice tells listeners that a message arrived on a channel. It is
// published after the message is committed.
type ChannelNotice struct {
	ChannelID         int64
	ChannelExternalID string
	AccountID         int64 // owner of the channel
	FromOwnerToken    bool  // the writer is the channel's Owner token
	Sequence          int64
	Received          time.Time
	ContentType       string
}

// ChannelNotifier carries channel notices between walletgate processes
// (in process by default; PostgreSQL LISTEN/NOTIFY or Redis when several
// instances share one database).
type ChannelNotifier interface {
	// PublishChannelNotice delivers n to every subscriber of every process,
	// the publishing process included.
	PublishChannelNotice(ctx context.Context, n ChannelNotice) error
	// SubscribeChannelNotices registers fn and returns once the
	// subscription is live: every notice published after it returns reaches
	// fn, until ctx ends. It does not block for the subscription's
	// lifetime; ctx owns whatever runs in the background. fn must return
	// quickly and be safe to call from several goroutines at once.
	SubscribeChannelNotices(ctx context.Context, fn func(ChannelNotice)) error
}
