package electrum

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

// outageTimeout is the call timeout of the outage tests: far longer than
// any test may run, so a call that waited for its deadline instead of
// failing at once hangs the test instead of passing.
const outageTimeout = 10 * time.Minute

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	return addr.IP.String(), addr.Port
}

// TestDeadBackendFailsAtOnce: with no connection to ElectrumX up, every
// kind of call fails at once with EUnavailable whose message names the
// server and the connect error, however long Config.Timeout is.
func TestDeadBackendFailsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) Config
		addr  string // in the message; "" for the config's host:port
		cause string // in the message
	}{
		{"refused", func(t *testing.T) Config {
			host, port := closedPort(t)
			return Config{Host: host, Port: port}
		}, "", "connection refused"},
		{"dns failure", func(t *testing.T) Config {
			return Config{Host: "walletgate-outage.invalid", Port: 50001}
		}, "walletgate-outage.invalid:50001", "lookup walletgate-outage.invalid"},
		{"tls failure", func(t *testing.T) Config {
			srv := startServer(t, fundedChain(1), electrumtest.Config{TLS: electrumtest.SelfSignedTLS(t, "localhost")})
			cfg := clientConfig(t, srv)
			cfg.Host, cfg.TLS = "localhost", true // the certificate is not trusted
			return cfg
		}, "", "certificate"},
		{"protocol refused", func(t *testing.T) Config {
			srv := startServer(t, fundedChain(1), electrumtest.Config{ProtocolMax: "1.4"})
			cfg := clientConfig(t, srv)
			cfg.ProtocolMin, cfg.ProtocolMax = "1.6", "1.6"
			return cfg
		}, "", "unsupported protocol version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.setup(t)
			cfg.Timeout = outageTimeout
			cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
			addr := tc.addr
			if addr == "" {
				addr = net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
			}
			cl := newClient(t, cfg, nil)
			ctx := context.Background()
			checks := []struct {
				what string
				call func() error
			}{
				{"balance", func() error { _, err := cl.Balance(ctx, shOf(1)); return err }},
				{"transactions", func() error { _, err := cl.Transactions(ctx, []string{strings.Repeat("ab", 32)}); return err }},
				{"tip", func() error { _, err := cl.Tip(ctx); return err }},
				{"subscribe", func() error { _, err := cl.Subscribe(ctx, shOf(1)); return err }},
			}
			for _, c := range checks {
				err := c.call()
				wantCode(t, err, walletgate.EUnavailable)
				msg := walletgate.ErrorMessage(err)
				if !strings.Contains(msg, addr) || !strings.Contains(msg, tc.cause) {
					t.Fatalf("%s: message %q does not name %s and %q", c.what, msg, addr, tc.cause)
				}
			}
		})
	}
}

// TestOutageFailsAtOnceAndRecovers: a client that was connected loses its
// server (refused from now on). Calls fail at once, naming the server and
// the connect error, while the client keeps reconnecting in the
// background; once the server is back, the client reconnects by itself
// and calls work again.
func TestOutageFailsAtOnceAndRecovers(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.Timeout = outageTimeout
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	ctx := context.Background()
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // the first ones may meet the one redial after the drop
		_, err := cl.Balance(ctx, shOf(1))
		wantCode(t, err, walletgate.EUnavailable)
		msg := walletgate.ErrorMessage(err)
		if !strings.Contains(msg, srv.Addr()) || !strings.Contains(msg, "connection refused") {
			t.Fatalf("message %q does not name %s and the refusal", msg, srv.Addr())
		}
		if _, err := cl.Subscribe(ctx, shOf(2)); walletgate.ErrorCode(err) != walletgate.EUnavailable {
			t.Fatalf("subscribe during the outage: %v, want EUnavailable", err)
		}
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, cl) // no call made: the client reconnects on its own
	if bal, err := cl.Balance(ctx, shOf(1)); err != nil || bal.Confirmed != 1000 {
		t.Fatalf("balance after the server is back: %+v, %v", bal, err)
	}
	if _, err := cl.Subscribe(ctx, shOf(2)); err != nil {
		t.Fatalf("subscribe after the server is back: %v", err)
	}
}

// epochRecorder records events with the client's subscription epoch at the
// moment each was published.
type epochRecorder struct {
	*recorder
	mu     sync.Mutex
	cl     *Client
	epochs []epochAt
}

type epochAt struct {
	ev    walletgate.Event
	epoch uint64
	live  bool
}

func (r *epochRecorder) Publish(ev walletgate.Event) {
	r.mu.Lock()
	if r.cl != nil {
		e, live := r.cl.SubscriptionEpoch()
		r.epochs = append(r.epochs, epochAt{ev, e, live})
	}
	r.mu.Unlock()
	r.recorder.Publish(ev)
}

// waitEpoch waits until the client's subscription state is (any epoch but
// not, live).
func waitEpoch(t *testing.T, cl *Client, not uint64, live bool) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, l := cl.SubscriptionEpoch()
		if e != not && l == live {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription state stayed at epoch %d live %v; want another epoch than %d, live %v", e, l, not, live)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSubscriptionEpochAcrossOutage: the epoch moves on when the subscriber
// connection drops and stays there while it is down; it is live again only
// after the resync, whose events for the statuses that changed meanwhile
// are published before — so the wallet never trusts a cached value a
// resync is about to invalidate.
func TestSubscriptionEpochAcrossOutage(t *testing.T) {
	chain := fundedChain(1)
	srv := startServer(t, chain, electrumtest.Config{})
	rec := &epochRecorder{recorder: newRecorder()}
	cl := newClient(t, clientConfig(t, srv), rec)
	rec.mu.Lock()
	rec.cl = cl
	rec.mu.Unlock()
	waitReady(t, cl)
	ctx := ctxT(t)
	if _, err := cl.Subscribe(ctx, shOf(1)); err != nil {
		t.Fatal(err)
	}
	e0, live := cl.SubscriptionEpoch()
	if !live {
		t.Fatal("not live while connected and subscribed")
	}
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	e1 := waitEpoch(t, cl, e0, false)
	chain.Pay(script(1), 2500) // unnotified: nobody is connected
	if e, l := cl.SubscriptionEpoch(); e != e1 || l {
		t.Fatalf("while down: epoch %d live %v, want %d and not live", e, l, e1)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	want := chain.Snapshot().Status(string(shOf(1)))
	rec.waitFor(t, "status changed while away", isScript(shOf(1), want))
	if e := waitEpoch(t, cl, e0, true); e != e1 {
		t.Fatalf("live again at epoch %d, want %d (one epoch per drop)", e, e1)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, at := range rec.epochs {
		if at.ev.Kind == walletgate.EventScriptHash && at.ev.Status == want && at.live {
			t.Fatalf("the resync's change event was published while already live (epoch %d)", at.epoch)
		}
	}
}

// TestResubscribeReplyOrderedByPosition: statuses applied during a resync
// follow their position on the connection, whichever goroutine applies
// them first. A resubscribe reply is applied after the reader moved on, so
// a notification read right behind it can already be in; the reply must
// not overwrite it, or the subscriber would keep the older status and miss
// the change back to it later.
func TestResubscribeReplyOrderedByPosition(t *testing.T) {
	c1, c2 := &conn{}, &conn{}
	for _, tc := range []struct {
		name      string
		from      *conn
		notifySeq uint64
		replySeq  uint64
		want      string
		events    []string // statuses published, in order
	}{
		{"notification behind the reply wins", c1, 7, 5, "notified", []string{"notified"}},
		{"notification before the reply loses", c1, 3, 5, "replied", []string{"notified", "replied"}},
		{"notification from the old connection loses", c2, 7, 5, "replied", []string{"notified", "replied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			s := &subscriber{sink: rec, subs: make(map[walletgate.ScriptHash]*sub)}
			sb := &sub{refs: 1, ready: make(chan struct{}), status: "known", from: c2, seq: 1}
			close(sb.ready)
			s.subs["aa"] = sb
			s.setStatusFrom(tc.from, tc.notifySeq, "aa", "notified") // the reader
			s.setStatusFrom(c1, tc.replySeq, "aa", "replied")        // the resync, later
			if sb.status != tc.want {
				t.Fatalf("status %q, want %q", sb.status, tc.want)
			}
			var got []string
			for _, ev := range rec.events() {
				got = append(got, ev.Status)
			}
			if strings.Join(got, ",") != strings.Join(tc.events, ",") {
				t.Fatalf("published %v, want %v", got, tc.events)
			}
			// The status going back to the reply's value is a change, and
			// is published, whichever won.
			s.setStatusFrom(c1, 9, "aa", "replied")
			if evs := rec.events(); tc.want == "notified" && evs[len(evs)-1].Status != "replied" {
				t.Fatalf("the change back to the reply's status was not published: %+v", evs)
			}
		})
	}
}

// gateSink holds the publisher of hold's event until release's event was
// published: it parks the resync goroutine on its first change event so
// the reader applies a notification before the resync applies the reply
// that precedes it on the connection — the order the race produces.
type gateSink struct {
	*recorder
	hold, release func(walletgate.Event) bool
	released      chan struct{}
	once          sync.Once
	timedOut      chan struct{}
}

func (g *gateSink) Publish(ev walletgate.Event) {
	g.recorder.Publish(ev)
	if g.release(ev) {
		g.once.Do(func() { close(g.released) })
	}
	if g.hold(ev) {
		select {
		case <-g.released:
		case <-time.After(10 * time.Second):
			close(g.timedOut)
		}
	}
}

// TestResubscribeReplyBehindNotificationOverStandIn is the race above over
// the wire: after a reconnect the stand-in answers the resubscribe batch
// and right behind it notifies a change of b on the same connection, while
// the resync goroutine is parked publishing a's change. The subscriber
// must keep b's notified status, publish no stale status for b, and hand
// the notified status to the next Subscribe of b.
func TestResubscribeReplyBehindNotificationOverStandIn(t *testing.T) {
	chain := fundedChain(0)
	srv := startServer(t, chain, electrumtest.Config{NoPadding: true})
	na, nb := byte(1), byte(2)
	if shOf(na) > shOf(nb) { // the resync goes in script hash order: a first
		na, nb = nb, na
	}
	a, b := shOf(na), shOf(nb)
	bReplied := chain.Snapshot().Status(string(b)) // b's status until the scripted payment
	gate := &gateSink{
		recorder: newRecorder(),
		released: make(chan struct{}),
		timedOut: make(chan struct{}),
	}
	gate.hold = func(ev walletgate.Event) bool { return ev.Kind == walletgate.EventScriptHash && ev.ScriptHash == a }
	gate.release = func(ev walletgate.Event) bool {
		return ev.Kind == walletgate.EventScriptHash && ev.ScriptHash == b && ev.Status != bReplied
	}
	cl := newClient(t, clientConfig(t, srv), gate)
	waitReady(t, cl)
	ctx := ctxT(t)
	for _, sh := range []walletgate.ScriptHash{a, b} {
		if _, err := cl.Subscribe(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	e0, _ := cl.SubscriptionEpoch()
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	waitEpoch(t, cl, e0, false)
	chain.Pay(script(na), 1000) // a changes while away: the resync publishes it
	// b changes right behind the resubscribe reply, which still says bReplied.
	paid := make(chan struct{})
	srv.AfterReply("blockchain.scripthash.subscribe", func() {
		chain.Pay(script(nb), 2000)
		close(paid)
	})
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-paid:
	case <-ctx.Done():
		t.Fatal("no resubscribe reached the server")
	}
	bNotified := chain.Snapshot().Status(string(b))
	gate.waitFor(t, "b's notified status", isScript(b, bNotified))
	waitEpoch(t, cl, e0, true)
	select {
	case <-gate.timedOut:
		t.Fatal("the resync was not parked behind b's notification: the scripted order did not happen")
	default:
	}
	for _, ev := range gate.events() {
		if ev.Kind == walletgate.EventScriptHash && ev.ScriptHash == b && ev.Status == bReplied {
			t.Fatalf("b's older resubscribe status %q was published after the newer notification: %+v", bReplied, gate.events())
		}
	}
	st, err := cl.Subscribe(ctx, b)
	if err != nil || st != bNotified {
		t.Fatalf("Subscribe(b) = %q, %v; want the notified status %q", st, err, bNotified)
	}
}

// TestRedialSchedule: the reconnect rules of a slot, step by step.
func TestRedialSchedule(t *testing.T) {
	cfg := Config{BackoffMin: 100 * time.Millisecond, BackoffMax: 800 * time.Millisecond}
	r := &redial{cfg: &cfg}
	ms := time.Millisecond
	for i, step := range []struct {
		name        string
		ended       bool // a connection ended (else an attempt failed)
		served      time.Duration
		excessive   bool
		backoff     time.Duration
		now         bool
		patient     bool
		callersWait bool // for ended steps
	}{
		{name: "first failure", backoff: 100 * ms},
		{name: "second failure doubles", backoff: 200 * ms},
		{name: "served a while: one reconnect at once", ended: true, served: 300 * ms, backoff: 200 * ms, now: true, callersWait: true},
		{name: "its failure keeps growing the backoff", backoff: 400 * ms},
		{name: "dropped at once: backoff, waited out in full", ended: true, served: ms, backoff: 800 * ms, patient: true, callersWait: true},
		{name: "-101: in full, and callers fail at once", ended: true, served: time.Hour, excessive: true, backoff: 800 * ms, patient: true},
		{name: "long-lived: the backoff resets", ended: true, served: time.Second, callersWait: true},
	} {
		callersWait := false
		if step.ended {
			callersWait = r.ended(step.served, step.excessive)
		} else {
			r.failed()
		}
		if r.backoff != step.backoff || r.now != step.now || r.patient != step.patient || callersWait != step.callersWait {
			t.Fatalf("step %d (%s): backoff %s now %v patient %v callers wait %v; want %s %v %v %v",
				i, step.name, r.backoff, r.now, r.patient, callersWait, step.backoff, step.now, step.patient, step.callersWait)
		}
	}

	// A sibling connection getting through cuts an impatient wait short.
	rc := newReach()
	long := &redial{cfg: &Config{BackoffMin: time.Hour, BackoffMax: time.Hour}}
	long.failed()
	woke := make(chan bool)
	go func() { woke <- long.wait(context.Background(), rc) }()
	for done := false; !done; {
		rc.connected() // until the sleeper has taken the wake-up channel
		select {
		case ok := <-woke:
			if !ok {
				t.Fatal("wait reported its context ended")
			}
			done = true
		case <-time.After(time.Millisecond):
		}
	}
}
