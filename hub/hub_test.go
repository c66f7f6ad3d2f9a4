package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
	"github.com/walletgate/walletgate/hub"
)

const coin = "bitweb"

// push is what a test sink received.
type push struct {
	kind    hub.Kind
	tag     string
	height  int64
	sh      walletgate.ScriptHash
	account string
	payload string
}

// sink records pushes. With hold set it never reports them written, like
// a client that stopped reading.
type sink struct {
	hold   bool
	ch     chan push
	mu     sync.Mutex
	closed string
	closeC chan struct{}
}

func newSink(hold bool) *sink {
	return &sink{hold: hold, ch: make(chan push, 10000), closeC: make(chan struct{})}
}

func (s *sink) Send(ev *hub.Event, tag string, done func()) {
	s.ch <- push{kind: ev.Kind, tag: tag, height: ev.Height, sh: ev.ScriptHash, account: ev.Account, payload: string(ev.Payload)}
	if !s.hold {
		done()
	}
}

func (s *sink) Close(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = reason
	close(s.closeC)
}

func (s *sink) next(t *testing.T) push {
	t.Helper()
	select {
	case p := <-s.ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatalf("no push within 5 s")
		return push{}
	}
}

// quiet asserts nothing more arrives for a short while.
func (s *sink) quiet(t *testing.T) {
	t.Helper()
	select {
	case p := <-s.ch:
		t.Fatalf("unexpected push %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
}

type env struct {
	be  *chainviewtest.Backend
	svc *chainview.Service
	hub *hub.Hub
}

func newEnv(t *testing.T, cfg hub.Config) *env {
	t.Helper()
	be := chainviewtest.New()
	be.SetTip(100)
	svc := chainview.New(be, chainview.Config{})
	h := hub.New(cfg)
	if err := h.AddCoin(coin, svc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); svc.Close() })
	return &env{be: be, svc: svc, hub: h}
}

func script(i int) chainview.Script {
	spk := make([]byte, 22)
	spk[0], spk[1] = 0x00, 0x14
	copy(spk[2:], fmt.Sprintf("%020d", i))
	return chainview.NewScript(spk)
}

func (e *env) connect(t *testing.T, s *sink) *hub.Conn {
	t.Helper()
	c, err := e.hub.Connect(coin, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPayloadShapeAndHeight(t *testing.T) {
	e := newEnv(t, hub.Config{})
	sc := script(1)
	e.be.SetBalance(sc.Hash, 5000, -1000)
	e.be.SetUnspent(sc.Hash, []walletgate.UTXO{
		{TxHash: strings.Repeat("a", 64), TxPos: 1, Height: 90, Value: 2000},
		{TxHash: strings.Repeat("b", 64), TxPos: 0, Height: 0, Value: 500},
	})
	e.be.AddTx(strings.Repeat("a", 64), `{"txid":"`+strings.Repeat("a", 64)+`","vin":[{"coinbase":"01"}],"vout":[]}`, "00")
	e.be.AddTx(strings.Repeat("b", 64), `{"txid":"`+strings.Repeat("b", 64)+`","vin":[{"txid":"`+strings.Repeat("c", 64)+`","vout":0}],"vout":[]}`, "00")
	s := newSink(false)
	c := e.connect(t, s)
	announced := false
	if err := c.Watch(context.Background(), sc, "addr1", func() { announced = true }); err != nil {
		t.Fatal(err)
	}
	c.Refresh(sc.Hash, "addr1")
	if !announced {
		t.Fatal("announce not called")
	}
	p := s.next(t)
	if p.kind != hub.KindBalance || p.tag != "addr1" || p.sh != sc.Hash {
		t.Fatalf("initial push = %+v", p)
	}
	want := `{"balance":4000,"confirmed":5000,"unconfirmed":-1000,"pending_out":1500,"utxos":[` +
		`{"txid":"` + strings.Repeat("a", 64) + `","index":1,"value":2000,"height":90,"coinbase":true,"script":"` + sc.Hex + `"},` +
		`{"txid":"` + strings.Repeat("b", 64) + `","index":0,"value":500,"height":0,"coinbase":false,"script":"` + sc.Hex + `"}],"height":100}`
	if p.payload != want {
		t.Fatalf("payload\n got %s\nwant %s", p.payload, want)
	}

	// A block then a change: the change push carries the last known tip.
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: coin, Tip: walletgate.Tip{Height: 101}})
	if p := s.next(t); p.kind != hub.KindBlock || p.height != 101 || p.tag != "" {
		t.Fatalf("block push = %+v", p)
	}
	e.be.SetBalance(sc.Hash, 7000, 0)
	e.be.SetUnspent(sc.Hash, nil)
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	p = s.next(t)
	var got chainview.BalancePayload
	if err := json.Unmarshal([]byte(p.payload), &got); err != nil {
		t.Fatal(err)
	}
	if got.Balance != 7000 || got.Height != 101 || got.UTXOs == nil || len(got.UTXOs) != 0 {
		t.Fatalf("change payload = %s", p.payload)
	}
	s.quiet(t)
}

func TestOneSubscriptionPerAddress(t *testing.T) {
	e := newEnv(t, hub.Config{})
	const sockets, addrs = 200, 50
	sinks := make([]*sink, sockets)
	conns := make([]*hub.Conn, sockets)
	var wg sync.WaitGroup
	for i := range sockets {
		sinks[i] = newSink(false)
		conns[i] = e.connect(t, sinks[i])
		wg.Go(func() {
			if err := conns[i].Watch(context.Background(), script(i%addrs), fmt.Sprint(i), nil); err != nil {
				t.Error(err)
			}
			conns[i].Refresh(script(i%addrs).Hash, fmt.Sprint(i))
		})
	}
	wg.Wait()
	for i := range sockets {
		if p := sinks[i].next(t); p.kind != hub.KindBalance || p.tag != fmt.Sprint(i) || p.sh != script(i%addrs).Hash {
			t.Fatalf("socket %d initial push = %+v", i, p)
		}
	}
	if n := e.be.Calls(chainviewtest.MSubscribe); n != addrs {
		t.Fatalf("backend subscriptions = %d, want %d", n, addrs)
	}
	for a := range addrs {
		if n := e.be.Subscribed(script(a).Hash); n != 1 {
			t.Fatalf("address %d subscribed %d times", a, n)
		}
	}
	if st := e.hub.Stats(); st.Watched != addrs || st.Conns != sockets {
		t.Fatalf("stats = %+v", st)
	}

	// A change of address 7 reaches exactly its 4 sockets, built once.
	before := e.hub.Stats().Builds
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: script(7).Hash})
	for i := range sockets {
		if i%addrs == 7 {
			if p := sinks[i].next(t); p.sh != script(7).Hash || p.tag != fmt.Sprint(i) {
				t.Fatalf("socket %d got %+v", i, p)
			}
		}
	}
	for i := range sockets {
		if i%addrs != 7 && len(sinks[i].ch) != 0 {
			t.Fatalf("socket %d got a push for another address", i)
		}
	}
	if b := e.hub.Stats().Builds - before; b != 1 {
		t.Fatalf("payload built %d times for one change, want 1", b)
	}

	// Releasing: the subscription goes with the last watcher.
	for i := range sockets {
		if i%addrs == 7 {
			if err := conns[i].Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := e.be.Subscribed(script(7).Hash); n != 0 {
		t.Fatalf("address 7 still subscribed %d times after its watchers left", n)
	}
	if n := e.be.Subscribed(script(8).Hash); n != 1 {
		t.Fatalf("address 8 subscribed %d times", n)
	}
}

func TestResubscribeDoesNotLeak(t *testing.T) {
	e := newEnv(t, hub.Config{})
	s := newSink(false)
	c := e.connect(t, s)
	sc := script(1)
	ctx := context.Background()
	for range 3 {
		if err := c.Watch(ctx, sc, "", nil); err != nil {
			t.Fatal(err)
		}
		c.Refresh(sc.Hash, "")
		s.next(t)
	}
	if n := e.svc.Watching(sc.Hash); n != 1 {
		t.Fatalf("service watchers = %d after 3 identical subscribes, want 1", n)
	}
	// A second tag for the same script shares the watch; both get changes.
	if err := c.Watch(ctx, sc, "other", nil); err != nil {
		t.Fatal(err)
	}
	c.Refresh(sc.Hash, "other")
	if p := s.next(t); p.tag != "other" {
		t.Fatalf("refresh went to tag %q", p.tag)
	}
	s.quiet(t)
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	tags := map[string]bool{s.next(t).tag: true, s.next(t).tag: true}
	if !tags[""] || !tags["other"] {
		t.Fatalf("change reached tags %v, want both", tags)
	}
	if err := c.Unwatch(ctx, sc.Hash, ""); err != nil {
		t.Fatal(err)
	}
	if n := e.be.Subscribed(sc.Hash); n != 1 {
		t.Fatalf("subscribed %d after dropping one of two tags", n)
	}
	if err := c.Unwatch(ctx, sc.Hash, "other"); err != nil {
		t.Fatal(err)
	}
	if n := e.be.Subscribed(sc.Hash); n != 0 {
		t.Fatalf("subscribed %d after dropping both tags", n)
	}
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	s.quiet(t)
}

func TestSlowConsumerIsClosed(t *testing.T) {
	e := newEnv(t, hub.Config{QueueSize: 4})
	slow, fast := newSink(true), newSink(false)
	e.connect(t, slow)
	e.connect(t, fast)
	for h := range int64(10) {
		e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: coin, Tip: walletgate.Tip{Height: 200 + h}})
		if p := fast.next(t); p.height != 200+h {
			t.Fatalf("fast client got %+v, want block %d", p, 200+h)
		}
	}
	select {
	case <-slow.closeC:
	case <-time.After(5 * time.Second):
		t.Fatal("slow client was not closed")
	}
	slow.mu.Lock()
	reason := slow.closed
	slow.mu.Unlock()
	if !strings.Contains(reason, "slow consumer") || !strings.Contains(reason, "4") {
		t.Fatalf("close reason = %q", reason)
	}
	if n := len(slow.ch); n != 4 {
		t.Fatalf("slow client was handed %d pushes, want the queue size 4", n)
	}
	if st := e.hub.Stats(); st.Overflows != 1 {
		t.Fatalf("overflows = %d", st.Overflows)
	}
}

func TestWatchErrors(t *testing.T) {
	e := newEnv(t, hub.Config{MaxWatchesPerConn: 2})
	s := newSink(false)
	c := e.connect(t, s)
	ctx := context.Background()
	for i := range 2 {
		if err := c.Watch(ctx, script(i), "", nil); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Watch(ctx, script(3), "", nil)
	if walletgate.ErrorCode(err) != walletgate.ETooLarge || !strings.Contains(err.Error(), "max 2") {
		t.Fatalf("third watch: %v", err)
	}

	e.be.Fail(chainviewtest.MSubscribe, walletgate.Errorf(walletgate.EUnavailable, "Server closed the connection"))
	c2 := e.connect(t, newSink(false))
	if err := c2.Watch(ctx, script(9), "", nil); err == nil {
		t.Fatal("watch succeeded while the backend fails")
	}
	if n := e.svc.Watching(script(9).Hash); n != 0 {
		t.Fatalf("failed watch left %d watchers", n)
	}
	e.be.Fail(chainviewtest.MSubscribe, nil)
	if err := c2.Watch(ctx, script(9), "", nil); err != nil {
		t.Fatalf("watch after recovery: %v", err)
	}

	c.Close()
	if err := c.Watch(ctx, script(5), "", nil); err != hub.ErrConnClosed {
		t.Fatalf("watch on closed conn: %v", err)
	}
	if _, err := e.hub.Connect("nosuchcoin", s); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("connect to unknown coin: %v", err)
	}
}

func TestChangesDuringBuildAreNotLost(t *testing.T) {
	e := newEnv(t, hub.Config{})
	s := newSink(false)
	c := e.connect(t, s)
	sc := script(1)
	if err := c.Watch(context.Background(), sc, "", nil); err != nil {
		t.Fatal(err)
	}
	c.Refresh(sc.Hash, "")
	s.next(t)
	// Hold the backend so the first change's build stalls; publish the
	// new state meanwhile. The last push must show the final state.
	release := e.be.Hold()
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	time.Sleep(50 * time.Millisecond)
	e.be.SetBalance(sc.Hash, 123, 0)
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	release()
	var last push
	deadline := time.After(5 * time.Second)
	for !strings.Contains(last.payload, `"confirmed":123`) {
		select {
		case last = <-s.ch:
		case <-deadline:
			t.Fatalf("final state never pushed; last %+v", last)
		}
	}
	// Later pushes (a coalesced rebuild) may follow, never an older state.
	for {
		select {
		case p := <-s.ch:
			if !strings.Contains(p.payload, `"confirmed":123`) {
				t.Fatalf("older state pushed after the newer one: %s", p.payload)
			}
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// A backend that reconnects publishes one change per watched script hash
// that changed meanwhile, all at once: each must become a push.
func TestReconnectBurstReachesEveryWatcher(t *testing.T) {
	e := newEnv(t, hub.Config{Builders: 2})
	const addrs = 100
	sinks := make([]*sink, addrs)
	for i := range addrs {
		sinks[i] = newSink(false)
		c := e.connect(t, sinks[i])
		if err := c.Watch(context.Background(), script(i), "", nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range addrs {
		e.be.SetBalance(script(i).Hash, int64(1000+i), 0)
	}
	for i := range addrs { // as the resync publishes them
		e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: script(i).Hash})
	}
	for i, s := range sinks {
		p := s.next(t)
		if !strings.Contains(p.payload, fmt.Sprintf(`"confirmed":%d,`, 1000+i)) {
			t.Fatalf("watcher %d got %s", i, p.payload)
		}
	}
	time.Sleep(100 * time.Millisecond)
	for i, s := range sinks {
		if len(s.ch) != 0 {
			t.Fatalf("watcher %d got more than one push", i)
		}
	}
}

func TestEveryBlockIsPushedInOrder(t *testing.T) {
	e := newEnv(t, hub.Config{Builders: 1})
	s := newSink(false)
	e.connect(t, s)
	c2 := e.connect(t, newSink(false))
	if err := c2.Watch(context.Background(), script(1), "", nil); err != nil {
		t.Fatal(err)
	}
	// Keep the only builder busy on a balance build while blocks arrive.
	release := e.be.Hold()
	c2.Refresh(script(1).Hash, "")
	time.Sleep(50 * time.Millisecond)
	for h := int64(1); h <= 20; h++ {
		e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: coin, Tip: walletgate.Tip{Height: h}})
	}
	release()
	for h := int64(1); h <= 20; h++ {
		if p := s.next(t); p.kind != hub.KindBlock || p.height != h {
			t.Fatalf("push %+v, want block %d", p, h)
		}
	}
}

func TestFailedBuildIsRetried(t *testing.T) {
	e := newEnv(t, hub.Config{RetryDelay: 50 * time.Millisecond, BuildRetries: 3})
	s := newSink(false)
	c := e.connect(t, s)
	sc := script(1)
	if err := c.Watch(context.Background(), sc, "", nil); err != nil {
		t.Fatal(err)
	}
	// The backend is reconnecting when the change comes in.
	e.be.Fail(chainviewtest.MBalance, walletgate.Errorf(walletgate.EUnavailable, "Server closed the connection"))
	e.be.SetBalance(sc.Hash, 77, 0)
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	time.Sleep(80 * time.Millisecond)
	if len(s.ch) != 0 {
		t.Fatal("pushed although the build failed")
	}
	e.be.Fail(chainviewtest.MBalance, nil)
	if p := s.next(t); !strings.Contains(p.payload, `"confirmed":77,`) {
		t.Fatalf("retried push %s", p.payload)
	}
	if st := e.hub.Stats(); st.BuildErrors == 0 {
		t.Fatalf("stats %+v", st)
	}

	// A backend that stays down: the hub gives up after BuildRetries.
	e.be.Fail(chainviewtest.MBalance, walletgate.Errorf(walletgate.EUnavailable, "down"))
	before := e.hub.Stats().Builds
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	time.Sleep(500 * time.Millisecond)
	if n := e.hub.Stats().Builds - before; n != 4 {
		t.Fatalf("%d builds for a backend that stays down, want 1 + 3 retries", n)
	}
}

// A backend reports a block, then the changes it confirms. The block push
// must reach each connection before the balance pushes of those changes,
// even when every builder is busy (a loaded machine): a client that waits
// for "block N" and then for its confirmed balance must not skip the
// balance as one more message before the block. The block is queued to
// the connections before the backend's event returns, as the original
// emitted it at once.
func TestBlockIsPushedBeforeTheChangesItConfirms(t *testing.T) {
	e := newEnv(t, hub.Config{Builders: 1})
	ctx := context.Background()
	s := newSink(false)
	c := e.connect(t, s)
	sc := script(1)
	if err := c.Watch(ctx, sc, "addr1", nil); err != nil {
		t.Fatal(err)
	}
	// Occupy the only builder with another connection's build.
	c2 := e.connect(t, newSink(false))
	if err := c2.Watch(ctx, script(2), "", nil); err != nil {
		t.Fatal(err)
	}
	release := e.be.Hold()
	defer release()
	c2.Refresh(script(2).Hash, "")

	e.be.SetTip(101)
	e.be.SetBalance(sc.Hash, 30000, 0)
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: coin, Tip: walletgate.Tip{Height: 101}})
	select {
	case p := <-s.ch:
		if p.kind != hub.KindBlock || p.height != 101 {
			t.Fatalf("first push %+v, want block 101", p)
		}
	default:
		t.Fatal("block 101 not handed to the connection when the block event returned")
	}
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: coin, ScriptHash: sc.Hash})
	release()
	if p := s.next(t); p.kind != hub.KindBalance || p.tag != "addr1" || !strings.Contains(p.payload, `"confirmed":30000,`) {
		t.Fatalf("push after the block %+v, want the confirmed balance", p)
	}
}
