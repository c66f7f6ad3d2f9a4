package chainview

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
)

// SubscriptionGuard is implemented by a backend whose change events travel
// on a connection that can drop (electrum.Client): while it is down, or
// until it has resubscribed and compared every status, a change can happen
// without an event, so a cached balance, unspent list or history of a
// watched script hash cannot be trusted.
type SubscriptionGuard interface {
	// SubscriptionEpoch returns a number that changes every time change
	// events may have been lost (the subscription connection dropped), and
	// whether they flow now (connected and resubscribed). It is called on
	// every cached read, so it must be cheap and must not call back into
	// the service.
	SubscriptionEpoch() (epoch uint64, live bool)
}

// Service is the wallet service over one coin's Backend. It is safe for
// concurrent use. Build it with New and stop it with Close.
type Service struct {
	backend walletgate.Backend
	guard   SubscriptionGuard // nil when the backend's events cannot lapse
	cfg     Config
	now     func() time.Time // the clock; tests replace it

	base   context.Context // parent of every detached fetch; Close cancels it
	cancel context.CancelFunc

	mu      sync.Mutex
	tip     tipState
	watched map[walletgate.ScriptHash]*watchState
	gen     uint64 // source of watchState generations
	epoch   uint64 // the guard's epoch the watched generations belong to

	hist     *lru[walletgate.ScriptHash, histEntry]
	txs      *lru[string, *verboseTx]
	coinbase *lru[string, bool]

	tipFlight  *flightGroup[walletgate.Tip]
	balFlight  *flightGroup[walletgate.Balance]
	utxoFlight *flightGroup[[]walletgate.UTXO]
	histFlight *flightGroup[[]walletgate.HistoryEntry]
	txFlight   *flightGroup[*verboseTx]

	lmu     sync.Mutex
	onBlock []func(walletgate.Tip)
	onChng  []func(walletgate.ScriptHash)
}

type tipState struct {
	tip     walletgate.Tip
	known   bool
	expires time.Time
	seq     uint64 // bumped by every block event, so a slower fetch cannot overwrite it
}

// watchState is the per-script-hash state of a watched script hash. Cached
// values are valid only while active, only while the backend's change
// events flow (see SubscriptionGuard) and only for the generation they were
// fetched in: every change event, every block and every new subscription
// epoch bumps gen.
type watchState struct {
	refs       int
	active     bool       // the backend subscription is in place
	subscribed bool       // guarded by opMu
	opMu       sync.Mutex // serialises backend Subscribe/Unsubscribe for this hash
	gen        uint64

	bal    walletgate.Balance
	balOK  bool
	utxos  []walletgate.UTXO
	utxoOK bool
}

type histEntry struct {
	list    []walletgate.HistoryEntry
	at      time.Time
	watched bool   // fetched while watched: valid until gen changes
	gen     uint64 // the watch generation it was fetched in
}

// New builds a service over backend. The caller keeps ownership of the
// backend (Close does not close it) and wires the service to the backend's
// events by passing it as the backend's walletgate.EventSink. When backend
// implements SubscriptionGuard, watched values are served from cache only
// while it reports its events live.
func New(backend walletgate.Backend, cfg Config) *Service {
	cfg = cfg.withDefaults()
	base, cancel := context.WithCancel(context.Background())
	guard, _ := backend.(SubscriptionGuard)
	return &Service{
		backend:    backend,
		guard:      guard,
		cfg:        cfg,
		now:        time.Now,
		base:       base,
		cancel:     cancel,
		watched:    make(map[walletgate.ScriptHash]*watchState),
		hist:       newLRU[walletgate.ScriptHash, histEntry](cfg.HistoryCacheSize),
		txs:        newLRU[string, *verboseTx](cfg.TxCacheSize),
		coinbase:   newLRU[string, bool](cfg.CoinbaseCacheSize),
		tipFlight:  newFlightGroup[walletgate.Tip](base, cfg.FetchTimeout),
		balFlight:  newFlightGroup[walletgate.Balance](base, cfg.FetchTimeout),
		utxoFlight: newFlightGroup[[]walletgate.UTXO](base, cfg.FetchTimeout),
		histFlight: newFlightGroup[[]walletgate.HistoryEntry](base, cfg.FetchTimeout),
		txFlight:   newFlightGroup[*verboseTx](base, cfg.FetchTimeout),
	}
}

// Config returns the effective configuration (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

// Close stops every backend fetch the service started. It does not close
// the backend.
func (s *Service) Close() error {
	s.cancel()
	return nil
}

// OnBlock registers fn to be called with the new tip after every block
// event. fn runs on the backend's event goroutine, so it must not block:
// hand slow work to a goroutine of your own.
func (s *Service) OnBlock(fn func(walletgate.Tip)) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.onBlock = append(s.onBlock[:len(s.onBlock):len(s.onBlock)], fn)
}

// OnChange registers fn to be called with the script hash of every change
// event, after the service dropped that hash's cached balance, unspent list
// and history. The same non-blocking rule as OnBlock applies.
func (s *Service) OnChange(fn func(walletgate.ScriptHash)) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.onChng = append(s.onChng[:len(s.onChng):len(s.onChng)], fn)
}

// Publish implements walletgate.EventSink: it applies ev to the caches and
// then calls the listeners.
func (s *Service) Publish(ev walletgate.Event) {
	switch ev.Kind {
	case walletgate.EventBlock:
		s.mu.Lock()
		s.tip = tipState{tip: ev.Tip, known: true, expires: s.now().Add(s.cfg.TipTTL), seq: s.tip.seq + 1}
		// Confirmations move every cached balance between its confirmed
		// and unconfirmed parts; the per-hash events normally say so, but
		// dropping everything on a block also covers a backend that
		// reconnected and lost notifications.
		for _, st := range s.watched {
			s.invalidateLocked(st)
		}
		s.mu.Unlock()
		s.lmu.Lock()
		fns := s.onBlock
		s.lmu.Unlock()
		for _, fn := range fns {
			fn(ev.Tip)
		}
	case walletgate.EventScriptHash:
		s.mu.Lock()
		if st := s.watched[ev.ScriptHash]; st != nil {
			s.invalidateLocked(st)
		}
		s.mu.Unlock()
		s.hist.remove(ev.ScriptHash)
		s.lmu.Lock()
		fns := s.onChng
		s.lmu.Unlock()
		for _, fn := range fns {
			fn(ev.ScriptHash)
		}
	}
}

func (s *Service) invalidateLocked(st *watchState) {
	s.gen++
	st.gen = s.gen
	st.balOK, st.utxoOK = false, false
	st.bal, st.utxos = walletgate.Balance{}, nil
}

// Watch asks the backend for change events of sh and, once it is
// subscribed, serves sh's balance and unspent list from cache until the
// next change. Calls nest: every Watch needs one Unwatch. The backend sees
// one subscription however many watchers there are.
func (s *Service) Watch(ctx context.Context, sh walletgate.ScriptHash) error {
	s.mu.Lock()
	st := s.watched[sh]
	if st == nil {
		if len(s.watched) >= s.cfg.MaxWatched {
			s.mu.Unlock()
			return walletgate.Errorf(walletgate.ETooLarge, "too many watched addresses (max %d)", s.cfg.MaxWatched)
		}
		st = &watchState{}
		s.watched[sh] = st
	}
	st.refs++
	s.mu.Unlock()

	st.opMu.Lock()
	defer st.opMu.Unlock()
	if !st.subscribed {
		if _, err := s.backend.Subscribe(ctx, sh); err != nil {
			s.mu.Lock()
			s.dropRefLocked(sh, st)
			s.mu.Unlock()
			return backendErr(fmt.Sprintf("subscribe to %s", sh), err)
		}
		st.subscribed = true
	}
	s.mu.Lock()
	if !st.active {
		// Anything fetched before the subscription existed may predate a
		// change nobody will tell us about: start a new generation.
		st.active = true
		s.invalidateLocked(st)
	}
	s.mu.Unlock()
	s.hist.remove(sh)
	return nil
}

// Unwatch undoes one Watch. When the last watcher of sh leaves, the backend
// subscription is dropped and so are sh's cached values.
func (s *Service) Unwatch(ctx context.Context, sh walletgate.ScriptHash) error {
	s.mu.Lock()
	st := s.watched[sh]
	if st == nil {
		s.mu.Unlock()
		return nil
	}
	if st.refs--; st.refs > 0 {
		s.mu.Unlock()
		return nil
	}
	st.active = false
	s.invalidateLocked(st)
	s.mu.Unlock()
	s.hist.remove(sh)

	st.opMu.Lock()
	defer st.opMu.Unlock()
	s.mu.Lock()
	again := st.refs > 0 // a new watcher came while we waited; it keeps the subscription
	s.mu.Unlock()
	if again || !st.subscribed {
		return nil
	}
	err := s.backend.Unsubscribe(ctx, sh)
	st.subscribed = false
	s.mu.Lock()
	if st.refs == 0 && s.watched[sh] == st {
		delete(s.watched, sh)
	}
	s.mu.Unlock()
	if err != nil {
		return backendErr(fmt.Sprintf("unsubscribe from %s", sh), err)
	}
	return nil
}

// dropRefLocked undoes a failed Watch's reference.
func (s *Service) dropRefLocked(sh walletgate.ScriptHash, st *watchState) {
	st.refs--
	if st.refs <= 0 && !st.subscribed && s.watched[sh] == st {
		delete(s.watched, sh)
	}
}

// Watching reports how many watchers sh has.
func (s *Service) Watching(sh walletgate.ScriptHash) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.watched[sh]; st != nil {
		return st.refs
	}
	return 0
}

// Tip returns the best block, from cache while it is younger than
// Config.TipTTL or set by a block event.
func (s *Service) Tip(ctx context.Context) (walletgate.Tip, error) {
	s.mu.Lock()
	ts := s.tip
	s.mu.Unlock()
	if ts.known && s.now().Before(ts.expires) {
		return ts.tip, nil
	}
	tip, _, err := s.tipFlight.do(ctx, "tip", func(ctx context.Context) (walletgate.Tip, error) {
		t, err := s.backend.Tip(ctx)
		if err != nil {
			return t, err
		}
		s.mu.Lock()
		if s.tip.seq == ts.seq {
			s.tip = tipState{tip: t, known: true, expires: s.now().Add(s.cfg.TipTTL), seq: ts.seq}
		}
		s.mu.Unlock()
		return t, nil
	})
	if err != nil {
		return walletgate.Tip{}, backendErr("get tip", err)
	}
	return tip, nil
}

// LastTip returns the last tip the service learned, whatever its age, and
// whether it knows one at all.
func (s *Service) LastTip() (walletgate.Tip, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tip.tip, s.tip.known
}

// backendErr wraps a backend failure with what was being done. Backend
// errors (*walletgate.RPCError, *walletgate.Error) keep their identity for
// errors.As; an expired or cancelled context becomes ETimeout/EUnavailable
// so every surface answers "backend unavailable" rather than "internal".
func backendErr(op string, err error) error {
	var rpc *walletgate.RPCError
	var app *walletgate.Error
	switch {
	case errors.As(err, &rpc), errors.As(err, &app):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return walletgate.WrapError(walletgate.ETimeout, err, "timed out")
	case errors.Is(err, context.Canceled):
		return walletgate.WrapError(walletgate.EUnavailable, err, "request cancelled")
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}
