package withdrawals

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

// Options tunes a Broadcaster. Zero fields take the defaults named on each.
type Options struct {
	// Period is the time between rounds (default 30s, cryptoassets'
	// broadcast_period).
	Period time.Duration
	// MaxSends caps the sends one broadcast carries, so a backlog cannot
	// build a transaction too large to relay; the rest go in further
	// broadcasts of the same round (default 500).
	MaxSends int
	// SendTimeout bounds each wallet send (default 2m). A send that times
	// out leaves its broadcast open: it may have gone out.
	SendTimeout time.Duration
	// StoreTimeout bounds each store call (default 30s). Recording a
	// completed send runs under it even after the round's context ends,
	// so a shutdown does not lose a txid.
	StoreTimeout time.Duration
	// Logger receives send failures and broadcasts left open (default:
	// discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Period <= 0 {
		o.Period = 30 * time.Second
	}
	if o.MaxSends <= 0 {
		o.MaxSends = 500
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 2 * time.Minute
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Broadcaster runs the broadcast rounds of a set of coins. Several
// broadcasters (processes) may share one store: collecting and opening
// are atomic there, so each broadcast is sent by exactly one of them.
type Broadcaster struct {
	store   walletgate.BroadcastStore
	senders map[string]walletgate.Sender
	o       Options

	mu   sync.Mutex
	last map[string]time.Time
}

// New returns a broadcaster sending coin's broadcasts with senders[coin].
func New(store walletgate.BroadcastStore, senders map[string]walletgate.Sender, o Options) (*Broadcaster, error) {
	if store == nil {
		return nil, walletgate.Errorf(walletgate.EInvalid, "withdrawals: no store")
	}
	if len(senders) == 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "withdrawals: no coins configured")
	}
	s := make(map[string]walletgate.Sender, len(senders))
	for coin, snd := range senders {
		if snd == nil {
			return nil, walletgate.Errorf(walletgate.EInvalid, "withdrawals: coin %s has no sender", coin)
		}
		s[coin] = snd
	}
	return &Broadcaster{store: store, senders: s, o: o.withDefaults(), last: map[string]time.Time{}}, nil
}

// Coins lists the coins broadcast, in order.
func (b *Broadcaster) Coins() []string {
	return slices.Sorted(maps.Keys(b.senders))
}

// LastBroadcast is when a broadcast of coin last closed after a send from
// this process (zero if never), for status pages.
func (b *Broadcaster) LastBroadcast(coin string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last[coin]
}

// Run runs a round for every coin at once and then every Period until ctx
// ends. Failures are logged, never fatal: pending broadcasts are retried
// next round, open ones wait for an operator.
func (b *Broadcaster) Run(ctx context.Context) error {
	tick := time.NewTicker(b.o.Period)
	defer tick.Stop()
	for {
		for _, coin := range b.Coins() {
			if err := b.RunOnce(ctx, coin); err != nil && ctx.Err() == nil {
				b.o.Logger.Warn("withdrawals: round had failures", "coin", coin, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// RunOnce runs one round for coin: collect every pending send into
// broadcasts, then open, send and close each pending broadcast. Each
// broadcast is handled on its own; the failures are joined into the
// result.
func (b *Broadcaster) RunOnce(ctx context.Context, coin string) error {
	snd, ok := b.senders[coin]
	if !ok {
		return walletgate.Errorf(walletgate.ENotFound, "withdrawals: coin %q is not configured (known: %v)", coin, b.Coins())
	}
	for {
		sctx, cancel := context.WithTimeout(ctx, b.o.StoreTimeout)
		_, ok, err := b.store.CollectBroadcast(sctx, coin, b.o.MaxSends, b.o.Now())
		cancel()
		if err != nil {
			return fmt.Errorf("withdrawals: collect %s sends: %w", coin, err)
		}
		if !ok {
			break
		}
	}
	var pending []walletgate.Broadcast
	for cursor := int64(0); ; {
		sctx, cancel := context.WithTimeout(ctx, b.o.StoreTimeout)
		page, next, err := b.store.ListBroadcasts(sctx, coin, walletgate.BroadcastPending, walletgate.Page{Cursor: cursor, Limit: 100})
		cancel()
		if err != nil {
			return fmt.Errorf("withdrawals: list pending %s broadcasts: %w", coin, err)
		}
		pending = append(pending, page...)
		if next == 0 {
			break
		}
		cursor = next
	}
	var errs []error
	for _, p := range pending {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := b.send(ctx, coin, snd, p.ID); err != nil {
			errs = append(errs, err)
		}
	}
	b.remindOpen(ctx, coin)
	return errors.Join(errs...)
}

// remindOpen logs, every round, the broadcasts still waiting for an
// operator, so a send left open is not forgotten.
func (b *Broadcaster) remindOpen(ctx context.Context, coin string) {
	sctx, cancel := context.WithTimeout(ctx, b.o.StoreTimeout)
	open, next, err := b.store.ListBroadcasts(sctx, coin, walletgate.BroadcastOpen, walletgate.Page{Limit: 20})
	cancel()
	if err != nil || len(open) == 0 {
		return
	}
	ids := make([]int64, 0, len(open))
	for _, o := range open {
		ids = append(ids, o.ID)
	}
	b.o.Logger.Warn("withdrawals: open broadcasts wait for an operator to resolve (txid found on chain) or release (not on chain)",
		"coin", coin, "ids", ids, "more", next != 0)
}

// send opens broadcast id, hands it to the wallet once and closes it.
func (b *Broadcaster) send(ctx context.Context, coin string, snd walletgate.Sender, id int64) error {
	octx, cancel := context.WithTimeout(ctx, b.o.StoreTimeout)
	br, err := b.store.OpenBroadcast(octx, coin, id, b.o.Now())
	cancel()
	if walletgate.ErrorCode(err) == walletgate.EConflict {
		return nil // another broadcaster opened it first: it is theirs to send
	}
	if err != nil {
		// Not known to be opened, so not sent; if the open did commit,
		// the broadcast waits for an operator like any open one.
		return fmt.Errorf("withdrawals: open %s broadcast %d: %w", coin, id, err)
	}
	label := fmt.Sprintf("Outgoing broadcast %d", id)
	sctx, cancel := context.WithTimeout(ctx, b.o.SendTimeout)
	txid, fee, err := snd.Send(sctx, br.Outputs, label)
	cancel()
	log := b.o.Logger.With("coin", coin, "broadcast", id, "outputs", len(br.Outputs), "total", walletgate.FormatSats(br.Total()))
	switch {
	case err != nil && txid == "":
		log.Error("withdrawals: send failed; the broadcast stays open and is not resent: check the chain, then resolve it with the txid or release it",
			"err", err)
		return fmt.Errorf("withdrawals: send %s broadcast %d (left open): %w", coin, id, err)
	case err != nil:
		log.Warn("withdrawals: sent, but the wallet could not report the fee; recording fee 0", "txid", txid, "err", err)
		fee = 0
	}
	// The payment is out: record it even if ctx has ended meanwhile.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.o.StoreTimeout)
	_, err = b.store.CloseBroadcast(cctx, coin, id, txid, fee, b.o.Now())
	cancel()
	if err != nil {
		log.Error("withdrawals: sent but not recorded; the broadcast stays open: resolve it with this txid", "txid", txid, "fee", fee, "err", err)
		return fmt.Errorf("withdrawals: record %s broadcast %d as %s: %w", coin, id, txid, err)
	}
	log.Info("withdrawals: sent", "txid", txid, "fee", walletgate.FormatSats(fee))
	b.mu.Lock()
	b.last[coin] = b.o.Now()
	b.mu.Unlock()
	return nil
}
