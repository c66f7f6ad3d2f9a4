package electrum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletgate/walletgate"
)

// sub is one backend subscription shared by every Subscribe of a script hash.
type sub struct {
	refs   int
	status string
	ready  chan struct{} // closed once the first subscribe answered
	err    error
	// from and seq are the connection and position (see call.seq) of the
	// message status came from. Replies are applied by the goroutine that
	// waited for them, after the reader has moved on, so a notification
	// read right behind a reply can be applied first; an older message of
	// the same connection never overwrites it.
	from *conn
	seq  uint64
}

// liveState is the subscriber's connection as the wallet's cache sees it:
// the epoch changes whenever the connection drops (change notifications
// may have been lost from then on), and conn is set only once a connection
// is resynced (every subscription re-sent and its status compared).
type liveState struct {
	epoch uint64
	conn  *conn
}

// subscriber owns the push connection: blockchain.headers.subscribe plus one
// blockchain.scripthash.subscribe per distinct script hash, however many
// callers want it (reference counted). After every reconnect it subscribes
// everything again and publishes an event for each status that changed
// while it was away, and a block event if the tip moved, so no change is
// lost across a reconnect.
type subscriber struct {
	cfg  *Config
	sh   *shared
	coin string
	sink walletgate.EventSink
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	health *health                   // whether Subscribe waits or fails at once
	live   atomic.Pointer[liveState] // read without locks on every cached wallet read

	mu      sync.Mutex
	conn    *conn // nil while disconnected or resyncing
	subs    map[walletgate.ScriptHash]*sub
	tip     walletgate.Tip
	haveTip bool
}

func newSubscriber(cfg *Config, sh *shared, h *health, coin string, sink walletgate.EventSink, log *slog.Logger) *subscriber {
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscriber{cfg: cfg, sh: sh, coin: coin, sink: sink, log: log, ctx: ctx, stop: cancel,
		health: h, subs: make(map[walletgate.ScriptHash]*sub)}
	s.live.Store(&liveState{})
	s.wg.Add(1)
	go s.loop()
	return s
}

func (s *subscriber) close() {
	s.stop()
	s.wg.Wait()
}

func (s *subscriber) publish(ev walletgate.Event) {
	if s.sink != nil {
		ev.Coin = s.coin
		s.sink.Publish(ev)
	}
}

// loop keeps the push connection up, redialling on the schedule of redial.
func (s *subscriber) loop() {
	defer s.wg.Done()
	r := &redial{cfg: s.cfg}
	for r.wait(s.ctx, s.sh.reach) {
		c, err := dial(s.ctx, s.cfg, s.sh, s.log, s.onNotify)
		if err != nil {
			s.health.failed(err)
			s.log.Warn("electrum: subscriber connection failed", "err", err, "retry_in", r.failed())
			continue
		}
		// The server is back: the pool may stop waiting out its backoff,
		// and Subscribe calls wait for the resync below.
		s.sh.reach.connected()
		if err := s.resync(c); err != nil {
			s.log.Warn("electrum: subscriber resync failed", "err", err)
			c.close()
			s.health.failed(fmt.Errorf("resync: %w", err))
			r.failed()
			continue
		}
		started := time.Now()
		epoch := s.live.Load().epoch
		s.mu.Lock()
		s.conn = c
		s.mu.Unlock()
		s.live.Store(&liveState{epoch: epoch, conn: c})
		s.health.up()
		select {
		case <-c.done:
		case <-s.ctx.Done():
		}
		// From here on a change can happen unnoticed: a new epoch, so the
		// wallet stops trusting what it cached under this connection.
		s.live.Store(&liveState{epoch: epoch + 1})
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		c.close()
		s.log.Info("electrum: subscriber disconnected", "err", c.err())
		wait := r.ended(time.Since(started), c.excessive.Load())
		s.health.down(fmt.Errorf("connection lost: %w", c.err()), wait)
	}
}

// epoch reports the subscription epoch (see liveState) and whether change
// notifications flow now: a resynced connection whose reader has not seen
// it end.
func (s *subscriber) epoch() (uint64, bool) {
	ls := s.live.Load()
	if ls.conn == nil {
		return ls.epoch, false
	}
	select {
	case <-ls.conn.done:
		return ls.epoch, false
	default:
		return ls.epoch, true
	}
}

// resync subscribes the headers and every script hash on a fresh c and
// publishes what changed since the last connection.
func (s *subscriber) resync(c *conn) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	hc := newCall(ctx, "blockchain.headers.subscribe", nil)
	if err := c.roundTrip(ctx, hc); err != nil {
		return err
	}
	var t tipJSON
	if err := json.Unmarshal(hc.result, &t); err != nil {
		return err
	}
	s.setTip(walletgate.Tip{Height: t.Height, Header: t.Hex})

	s.mu.Lock()
	hashes := make([]walletgate.ScriptHash, 0, len(s.subs))
	for sh, sb := range s.subs {
		select {
		case <-sb.ready:
			hashes = append(hashes, sh)
		default: // its own Subscribe sends it once this connection is up
		}
	}
	s.mu.Unlock()
	slices.Sort(hashes) // one order per set of subscriptions, for logs and tests
	for start := 0; start < len(hashes); start += s.cfg.MaxBatch {
		chunk := hashes[start:min(start+s.cfg.MaxBatch, len(hashes))]
		calls := make([]*call, len(chunk))
		for i, sh := range chunk {
			calls[i] = newCall(ctx, "blockchain.scripthash.subscribe", params(sh))
		}
		c.send(calls, false, true)
		for i, cl := range calls {
			if err := cl.wait(ctx); err != nil {
				var re *walletgate.RPCError
				if errors.As(err, &re) {
					s.log.Warn("electrum: resubscribe refused", "scripthash", chunk[i], "err", err)
					continue
				}
				return err
			}
			s.setStatusFrom(c, cl.seq, chunk[i], statusOf(cl.result))
		}
	}
	return nil
}

// statusOf reads a status result: a hex string, or null for no history.
func statusOf(raw json.RawMessage) string {
	var st *string
	if json.Unmarshal(raw, &st) != nil || st == nil {
		return ""
	}
	return *st
}

func (s *subscriber) setTip(t walletgate.Tip) {
	s.mu.Lock()
	changed := !s.haveTip || s.tip != t
	hadTip := s.haveTip
	s.tip, s.haveTip = t, true
	s.mu.Unlock()
	s.sh.tipHeight.Store(t.Height)
	if changed && hadTip {
		s.publish(walletgate.Event{Kind: walletgate.EventBlock, Tip: t})
	}
}

// setStatusFrom applies the status sh had at position seq of connection c
// (a notification, or a resubscribe reply) and publishes it when it differs
// from the last known one of a live subscription. A message older than the
// last one applied from the same connection is dropped: see sub.from.
// During the first subscribe nothing is published; complete decides what
// Subscribe returns.
func (s *subscriber) setStatusFrom(c *conn, seq uint64, sh walletgate.ScriptHash, status string) {
	s.mu.Lock()
	sb := s.subs[sh]
	if sb == nil || sb.refs <= 0 || (sb.from == c && sb.seq > seq) {
		s.mu.Unlock()
		return
	}
	sb.from, sb.seq = c, seq
	if sb.status == status {
		s.mu.Unlock()
		return
	}
	sb.status = status
	select {
	case <-sb.ready:
	default:
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.publish(walletgate.Event{Kind: walletgate.EventScriptHash, ScriptHash: sh, Status: status})
}

// onNotify runs on the reader goroutine for every notification.
func (s *subscriber) onNotify(c *conn, method string, raw json.RawMessage, seq uint64) {
	switch method {
	case "blockchain.headers.subscribe":
		var p []tipJSON
		if err := json.Unmarshal(raw, &p); err != nil || len(p) == 0 {
			s.log.Warn("electrum: bad header notification", "params", string(raw))
			return
		}
		s.setTip(walletgate.Tip{Height: p[0].Height, Header: p[0].Hex})
	case "blockchain.scripthash.subscribe":
		var p []json.RawMessage
		var sh string
		if err := json.Unmarshal(raw, &p); err != nil || len(p) != 2 || json.Unmarshal(p[0], &sh) != nil {
			s.log.Warn("electrum: bad scripthash notification", "params", string(raw))
			return
		}
		s.setStatusFrom(c, seq, walletgate.ScriptHash(strings.ToLower(sh)), statusOf(p[1]))
	}
}

// currentTip returns the tip while the subscriber is connected.
func (s *subscriber) currentTip() (walletgate.Tip, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tip, s.haveTip && s.conn != nil
}

// waitConn returns the live connection. While there is none it waits for
// one until ctx ends if one is being made (a resync under way, the redial
// after a drop), and otherwise fails at once with a *downError.
func (s *subscriber) waitConn(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		c := s.conn
		s.mu.Unlock()
		if c != nil {
			return c, nil
		}
		st := s.health.state()
		if err := st.unreachable(); err != nil {
			return nil, err
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.ctx.Done():
			return nil, errClosed
		}
	}
}

// subscribe adds a reference to sh, subscribing on the server for the
// first one, and returns the current status.
func (s *subscriber) subscribe(ctx context.Context, sh walletgate.ScriptHash) (string, error) {
	s.mu.Lock()
	if sb := s.subs[sh]; sb != nil {
		sb.refs++
		ready := sb.ready
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			s.release(sh, sb)
			return "", ctx.Err()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if sb.err != nil {
			return "", sb.err
		}
		return sb.status, nil
	}
	sb := &sub{refs: 1, ready: make(chan struct{})}
	s.subs[sh] = sb
	s.mu.Unlock()

	status, from, seq, err := s.serverSubscribe(ctx, sh)
	return s.complete(sh, sb, status, from, seq, err)
}

// complete stores the first subscribe's outcome: the reply's status, unless
// a notification that came after the reply on the same connection was
// already recorded (it is newer). On error every caller waiting on this
// subscription gets the error, so none of them holds a reference: it is
// dropped whole.
func (s *subscriber) complete(sh walletgate.ScriptHash, sb *sub, status string, from *conn, seq uint64, err error) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		sb.err = err
		if s.subs[sh] == sb {
			delete(s.subs, sh)
		}
	} else if sb.from != from || sb.seq < seq {
		sb.status, sb.from, sb.seq = status, from, seq
	}
	close(sb.ready)
	return sb.status, err
}

// serverSubscribe sends blockchain.scripthash.subscribe, once more if the
// connection died meanwhile (the resync of the next connection covers it too).
// It returns the status, and the connection and position of the reply.
func (s *subscriber) serverSubscribe(ctx context.Context, sh walletgate.ScriptHash) (string, *conn, uint64, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var c *conn
		if c, err = s.waitConn(ctx); err != nil {
			return "", nil, 0, err
		}
		cl := newCall(ctx, "blockchain.scripthash.subscribe", params(sh))
		if err = c.roundTrip(ctx, cl); err == nil {
			return statusOf(cl.result), c, cl.seq, nil
		}
		if !errors.Is(err, errConnLost) {
			return "", nil, 0, err
		}
	}
	return "", nil, 0, err
}

// release drops one reference of sb.
func (s *subscriber) release(sh walletgate.ScriptHash, sb *sub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb.refs--
	if sb.refs <= 0 && s.subs[sh] == sb {
		delete(s.subs, sh)
	}
}

// unsubscribe drops one reference of sh. At zero it stops reporting sh and,
// when the negotiated protocol has it (1.4.2+), tells the server; at 1.4
// the server keeps notifying and the notifications are ignored.
func (s *subscriber) unsubscribe(ctx context.Context, sh walletgate.ScriptHash) {
	s.mu.Lock()
	sb := s.subs[sh]
	if sb == nil {
		s.mu.Unlock()
		return
	}
	sb.refs--
	if sb.refs > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.subs, sh)
	c := s.conn
	s.mu.Unlock()
	if c == nil || !versionAtLeast(c.version, "1.4.2") {
		return
	}
	cl := newCall(ctx, "blockchain.scripthash.unsubscribe", params(sh))
	if err := c.roundTrip(ctx, cl); err != nil {
		s.log.Debug("electrum: unsubscribe failed", "scripthash", sh, "err", err)
	}
}

// subscriptions returns the number of distinct subscribed script hashes.
func (s *subscriber) subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}
