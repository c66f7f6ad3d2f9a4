package hub

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
)

// Kind says what an Event pushes.
type Kind int

// Event kinds.
const (
	// KindBlock: the coin's tip moved; Height is the new tip height.
	KindBlock Kind = iota + 1
	// KindBalance: the balance of ScriptHash; Payload holds it.
	KindBalance
	// KindAccount: an event of Account, pushed to the connections that
	// subscribed to it with Conn.SubscribeAccount. The only one is
	// txupdate (walletgate.EventTxUpdate); Payload holds its JSON object
	// (walletgate.MarshalTxUpdate).
	KindAccount
)

// Event is one push. The hub builds it once and hands the same value to
// every connection it goes to, so transports must treat it as read-only.
type Event struct {
	Kind       Kind
	Coin       string
	Height     int64                 // KindBlock: the new tip height
	ScriptHash walletgate.ScriptHash // KindBalance
	Account    string                // KindAccount
	// Payload is the balance_changed object for KindBalance, encoded once:
	// keys balance, confirmed, unconfirmed, pending_out, utxos, height, in
	// that order (spec §4), height being the last known tip. For
	// KindAccount it is the event's JSON object. Either way it is one JSON
	// object, so a transport may splice it into its frame.
	Payload []byte
}

// Sink is a transport's side of one client connection.
type Sink interface {
	// Send hands ev to the transport for the subscription the transport
	// tagged tag in Conn.Watch ("" for block events). It must not block
	// (block pushes are sent from the backend's event goroutine): the
	// transport queues the push and calls done once it has been written
	// to the client. Pushes not yet done count against
	// Config.QueueSize. Account events come with tag "" (Event.Account
	// names the account).
	Send(ev *Event, tag string, done func())
	// Close disconnects the client, telling it reason. The hub calls it
	// at most once, from a goroutine of its own, when the client fell
	// Config.QueueSize pushes behind.
	Close(reason string)
}

// Stats are the hub's counters, for tests and metrics.
type Stats struct {
	Conns       int    // open connections
	Watched     int    // distinct watched script hashes over all coins
	Accounts    int    // distinct subscribed accounts over all coins
	Builds      uint64 // balance payloads built
	BuildErrors uint64 // builds that failed
	Overflows   uint64 // connections closed as slow consumers
}

// Hub is the process's event hub. Build it with New, attach coins with
// AddCoin, and stop it with Close.
type Hub struct {
	cfg    Config
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	coins  map[string]*coinState
	jobs   map[jobKey]*job
	queue  []jobKey
	timers map[*time.Timer]struct{} // pending build retries

	builds    atomic.Uint64
	buildErrs atomic.Uint64
	overflows atomic.Uint64
}

type coinState struct {
	name     string
	svc      *chainview.Service
	blockMu  sync.Mutex // serialises block pushes (see Hub.onBlock)
	conns    map[*Conn]struct{}
	watchers map[walletgate.ScriptHash]*watchers
	accounts map[string]map[*Conn]struct{} // account → its subscribers
}

// watchers are the connections watching one script hash of one coin.
type watchers struct {
	script chainview.Script
	conns  map[*Conn]struct{}
}

// New starts a hub and its payload builders.
func New(cfg Config) *Hub {
	cfg = cfg.withDefaults()
	base, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg:    cfg,
		base:   base,
		cancel: cancel,
		coins:  make(map[string]*coinState),
		jobs:   make(map[jobKey]*job),
		timers: make(map[*time.Timer]struct{}),
	}
	h.cond = sync.NewCond(&h.mu)
	for range cfg.Builders {
		h.wg.Go(h.builder)
	}
	return h
}

// Config returns the effective configuration.
func (h *Hub) Config() Config { return h.cfg }

// AddCoin attaches coin's wallet service: its block and change events
// become pushes to the coin's connections. A coin is added once.
func (h *Hub) AddCoin(coin string, svc *chainview.Service) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return walletgate.Errorf(walletgate.EUnavailable, "hub is closed")
	}
	if _, ok := h.coins[coin]; ok {
		return walletgate.Errorf(walletgate.EConflict, "coin %q is already attached to the hub", coin)
	}
	cs := &coinState{
		name:     coin,
		svc:      svc,
		conns:    make(map[*Conn]struct{}),
		watchers: make(map[walletgate.ScriptHash]*watchers),
		accounts: make(map[string]map[*Conn]struct{}),
	}
	h.coins[coin] = cs
	svc.OnBlock(func(tip walletgate.Tip) { h.onBlock(cs, tip) })
	svc.OnChange(func(sh walletgate.ScriptHash) { h.onChange(cs, sh) })
	return nil
}

// Service returns the wallet service of coin, if attached.
func (h *Hub) Service(coin string) (*chainview.Service, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs, ok := h.coins[coin]
	if !ok {
		return nil, false
	}
	return cs.svc, true
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Stats{
		Builds:      h.builds.Load(),
		BuildErrors: h.buildErrs.Load(),
		Overflows:   h.overflows.Load(),
	}
	for _, cs := range h.coins {
		st.Conns += len(cs.conns)
		st.Watched += len(cs.watchers)
		st.Accounts += len(cs.accounts)
	}
	return st
}

// Close stops the builders. Connections stay registered until their
// transports close them; no more pushes are made.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.cond.Broadcast()
	for t := range h.timers {
		t.Stop()
	}
	clear(h.timers)
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// Connect registers a client connection of coin. The transport must call
// the returned Conn's Close when the client goes away.
func (h *Hub) Connect(coin string, sink Sink) (*Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, walletgate.Errorf(walletgate.EUnavailable, "hub is closed")
	}
	cs, ok := h.coins[coin]
	if !ok {
		return nil, walletgate.Errorf(walletgate.ENotFound, "coin %q is not served", coin)
	}
	c := &Conn{hub: h, coin: cs, sink: sink, watches: make(map[walletgate.ScriptHash]*connWatch)}
	cs.conns[c] = struct{}{}
	return c, nil
}

// onBlock hands a block push to every connection of cs before it returns.
// It runs on the backend's event goroutine, which delivers the block's
// change events after it: pushing here, rather than from a builder, puts
// the block ahead of the balance pushes those changes cause, as the
// original server did (it emitted block at once and built balances
// later). A builder could be scheduled after the balance builds, and a
// client reading "block, then its balances" would skip the confirmation.
// Sink.Send does not block, so this costs one queue append per connection.
func (h *Hub) onBlock(cs *coinState, tip walletgate.Tip) {
	// blockMu gives every connection the same order of tips when events
	// come from more than one goroutine (a backend's reader and its resync).
	cs.blockMu.Lock()
	defer cs.blockMu.Unlock()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	conns := make([]*Conn, 0, len(cs.conns))
	for c := range cs.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	ev := &Event{Kind: KindBlock, Coin: cs.name, Height: tip.Height}
	for _, c := range conns {
		c.send(ev, "")
	}
}

// onChange queues a balance push to the watchers of sh.
func (h *Hub) onChange(cs *coinState, sh walletgate.ScriptHash) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || cs.watchers[sh] == nil {
		return
	}
	h.jobLocked(jobKey{coin: cs.name, sh: sh}).all = true
}

func (h *Hub) errorf(format string, args ...any) {
	h.cfg.Logger.Warn(fmt.Sprintf(format, args...))
}
