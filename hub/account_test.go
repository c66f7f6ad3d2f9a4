package hub_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

const testKey = "s3cret"

// keyCheck accepts testKey for any account and records what it was asked.
type keyCheck struct {
	calls atomic.Int64
	mu    sync.Mutex
	last  [3]string
}

func (k *keyCheck) fn(coin, account, key string) bool {
	k.calls.Add(1)
	k.mu.Lock()
	k.last = [3]string{coin, account, key}
	k.mu.Unlock()
	return key == testKey
}

func txupdate(t *testing.T, account string, conf int64) []byte {
	t.Helper()
	b, err := walletgate.MarshalTxUpdate(walletgate.TxUpdate{
		EventID: walletgate.TxUpdateEventID(coin, strings.Repeat("ab", 32), "web1qaddr", conf), Coin: coin,
		TransactionType: walletgate.TxTypeDeposit, TransactionID: 7, NetworkTxID: 3, Account: account,
		TxID: strings.Repeat("ab", 32), Address: "web1qaddr", Amount: 21000, Credited: conf >= 1, Confirmations: conf,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAccountFanOut(t *testing.T) {
	k := &keyCheck{}
	e := newEnv(t, hub.Config{AccountKey: k.fn})
	a1, a2, b := newSink(false), newSink(false), newSink(false)
	for _, x := range []struct {
		s    *sink
		acct string
	}{{a1, "alice"}, {a2, "alice"}, {b, "bob"}} {
		c := e.connect(t, x.s)
		if err := c.SubscribeAccount(x.acct, testKey); err != nil {
			t.Fatalf("subscribe %s: %v", x.acct, err)
		}
	}
	k.mu.Lock()
	if k.last != [3]string{coin, "bob", testKey} {
		t.Fatalf("AccountKey asked %q", k.last)
	}
	k.mu.Unlock()
	if st := e.hub.Stats(); st.Accounts != 2 {
		t.Fatalf("stats accounts = %d, want 2", st.Accounts)
	}

	p := txupdate(t, "alice", 1)
	if err := e.hub.PublishAccountEvent(coin, "alice", p); err != nil {
		t.Fatal(err)
	}
	for i, s := range []*sink{a1, a2} {
		got := s.next(t)
		if got.kind != hub.KindAccount || got.account != "alice" || got.tag != "" || got.payload != string(p) {
			t.Fatalf("alice subscriber %d got %+v", i, got)
		}
	}
	b.quiet(t)

	pb := txupdate(t, "bob", 2)
	if err := e.hub.PublishAccountEvent(coin, "bob", pb); err != nil {
		t.Fatal(err)
	}
	if got := b.next(t); got.account != "bob" || got.payload != string(pb) {
		t.Fatalf("bob got %+v", got)
	}
	a1.quiet(t)
	a2.quiet(t)

	// Nobody listening is not an error: the outbox would retry forever.
	if err := e.hub.PublishAccountEvent(coin, "carol", txupdate(t, "carol", 1)); err != nil {
		t.Fatalf("publish without subscribers: %v", err)
	}
	if err := e.hub.PublishAccountEvent("nosuchcoin", "alice", p); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("publish to unknown coin: %v", err)
	}
	for _, bad := range []string{"", "[1]", `"x"`, "{", `{"a":1}x`} {
		if err := e.hub.PublishAccountEvent(coin, "alice", []byte(bad)); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Fatalf("payload %q: %v", bad, err)
		}
	}
	a1.quiet(t)
}

func TestAccountUnsubscribeAndClose(t *testing.T) {
	k := &keyCheck{}
	e := newEnv(t, hub.Config{AccountKey: k.fn})
	s1, s2 := newSink(false), newSink(false)
	c1, c2 := e.connect(t, s1), e.connect(t, s2)
	for _, c := range []*hub.Conn{c1, c2} {
		for _, a := range []string{"alice", "bob"} {
			if err := c.SubscribeAccount(a, testKey); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Subscribing again is free and does not count twice.
	if err := c1.SubscribeAccount("alice", testKey); err != nil || c1.Accounts() != 2 {
		t.Fatalf("resubscribe: %v, %d accounts", err, c1.Accounts())
	}

	if err := c1.UnsubscribeAccount("alice"); err != nil {
		t.Fatal(err)
	}
	if err := c1.UnsubscribeAccount("never-subscribed"); err != nil {
		t.Fatalf("unsubscribe of an unknown account: %v", err)
	}
	if err := c1.UnsubscribeAccount(""); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("unsubscribe of an empty account: %v", err)
	}
	if err := e.hub.PublishAccountEvent(coin, "alice", txupdate(t, "alice", 1)); err != nil {
		t.Fatal(err)
	}
	if got := s2.next(t); got.account != "alice" {
		t.Fatalf("c2 got %+v", got)
	}
	s1.quiet(t)
	if st := e.hub.Stats(); st.Accounts != 2 {
		t.Fatalf("accounts = %d: alice still has c2, bob both", st.Accounts)
	}

	// Closing releases every account of the connection.
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if st := e.hub.Stats(); st.Accounts != 1 {
		t.Fatalf("accounts after close = %d, want 1 (bob of c1)", st.Accounts)
	}
	if err := e.hub.PublishAccountEvent(coin, "alice", txupdate(t, "alice", 2)); err != nil {
		t.Fatal(err)
	}
	s2.quiet(t)
	if err := e.hub.PublishAccountEvent(coin, "bob", txupdate(t, "bob", 2)); err != nil {
		t.Fatal(err)
	}
	if got := s1.next(t); got.account != "bob" {
		t.Fatalf("c1 got %+v", got)
	}
	if err := c2.SubscribeAccount("alice", testKey); err != hub.ErrConnClosed {
		t.Fatalf("subscribe on a closed connection: %v", err)
	}
	c1.Close()
	if st := e.hub.Stats(); st.Accounts != 0 {
		t.Fatalf("accounts after every close = %d", st.Accounts)
	}
}

func TestAccountSubscribeErrors(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct {
		name     string
		cfg      func(*hub.Config, *keyCheck)
		account  string
		key      string
		code     string
		msg      string
		keyCalls int64
	}{
		{"disabled", func(c *hub.Config, _ *keyCheck) { c.AccountKey = nil }, "alice", testKey, walletgate.EForbidden, hub.MsgAccountsDisabled, 0},
		{"empty account", nil, "", testKey, walletgate.EInvalid, hub.MsgAccountRequired, 0},
		{"long account", nil, long, testKey, walletgate.EInvalid, "account is limited to 128 bytes", 0},
		{"longest account", nil, long[:128], testKey, "", "", 1},
		{"own limit", func(c *hub.Config, _ *keyCheck) { c.MaxAccountLen = 4 }, "alice", testKey, walletgate.EInvalid, "account is limited to 4 bytes", 0},
		{"wrong key", nil, "alice", "guess", walletgate.EUnauthorized, `wrong key for account "alice"`, 1},
		{"empty key", nil, "alice", "", walletgate.EUnauthorized, `wrong key for account "alice"`, 1},
		{"right key", nil, "alice", testKey, "", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &keyCheck{}
			cfg := hub.Config{AccountKey: k.fn}
			if tc.cfg != nil {
				tc.cfg(&cfg, k)
			}
			e := newEnv(t, cfg)
			c := e.connect(t, newSink(false))
			err := c.SubscribeAccount(tc.account, tc.key)
			if tc.code == "" {
				if err != nil || c.Accounts() != 1 {
					t.Fatalf("%v, %d accounts", err, c.Accounts())
				}
			} else {
				if walletgate.ErrorCode(err) != tc.code || walletgate.ErrorMessage(err) != tc.msg {
					t.Fatalf("got %v, want %s %q", err, tc.code, tc.msg)
				}
				if c.Accounts() != 0 || e.hub.Stats().Accounts != 0 {
					t.Fatal("a refused subscribe subscribed")
				}
			}
			if n := k.calls.Load(); n != tc.keyCalls {
				t.Fatalf("AccountKey called %d times, want %d", n, tc.keyCalls)
			}
		})
	}
}

func TestAccountLimits(t *testing.T) {
	k := &keyCheck{}
	e := newEnv(t, hub.Config{AccountKey: k.fn, MaxAccountsPerConn: 2, MaxKeyFailures: 3})
	c := e.connect(t, newSink(false))
	for _, a := range []string{"a", "b"} {
		if err := c.SubscribeAccount(a, testKey); err != nil {
			t.Fatal(err)
		}
	}
	err := c.SubscribeAccount("c", testKey)
	if walletgate.ErrorCode(err) != walletgate.ETooLarge || walletgate.ErrorMessage(err) != "too many accounts on this connection (max 2)" {
		t.Fatalf("third account: %v", err)
	}
	if err := c.SubscribeAccount("a", testKey); err != nil {
		t.Fatalf("an account already held is not a new one: %v", err)
	}
	if err := c.UnsubscribeAccount("a"); err != nil {
		t.Fatal(err)
	}
	if err := c.SubscribeAccount("c", testKey); err != nil {
		t.Fatalf("after making room: %v", err)
	}
	// The limit is per connection.
	if err := e.connect(t, newSink(false)).SubscribeAccount("z", testKey); err != nil {
		t.Fatal(err)
	}

	// Wrong keys: after MaxKeyFailures, even the right key is refused
	// without asking AccountKey; other connections are not affected.
	for i := range 3 {
		if err := c.SubscribeAccount("d", fmt.Sprint("guess", i)); walletgate.ErrorCode(err) != walletgate.EUnauthorized {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	before := k.calls.Load()
	err = c.SubscribeAccount("b", testKey)
	if walletgate.ErrorCode(err) != walletgate.EUnauthorized || walletgate.ErrorMessage(err) != "too many wrong keys on this connection (max 3)" {
		t.Fatalf("after 3 wrong keys: %v", err)
	}
	if k.calls.Load() != before {
		t.Fatal("AccountKey consulted after the failure limit")
	}
	if c.Accounts() != 2 {
		t.Fatalf("refusals changed the subscriptions: %d", c.Accounts())
	}
	if err := e.connect(t, newSink(false)).SubscribeAccount("b", testKey); err != nil {
		t.Fatalf("another connection: %v", err)
	}
}

func TestAccountSlowConsumerIsClosed(t *testing.T) {
	k := &keyCheck{}
	e := newEnv(t, hub.Config{AccountKey: k.fn, QueueSize: 4})
	slow, fast := newSink(true), newSink(false)
	for _, s := range []*sink{slow, fast} {
		if err := e.connect(t, s).SubscribeAccount("alice", testKey); err != nil {
			t.Fatal(err)
		}
	}
	for i := range int64(10) {
		p := txupdate(t, "alice", i)
		if err := e.hub.PublishAccountEvent(coin, "alice", p); err != nil {
			t.Fatal(err)
		}
		if got := fast.next(t); got.payload != string(p) {
			t.Fatalf("fast client got %+v, want event %d", got, i)
		}
	}
	select {
	case <-slow.closeC:
	case <-time.After(5 * time.Second):
		t.Fatal("slow client was not closed")
	}
	if n := len(slow.ch); n != 4 {
		t.Fatalf("slow client was handed %d pushes, want the queue size 4", n)
	}
	if st := e.hub.Stats(); st.Overflows != 1 {
		t.Fatalf("overflows = %d", st.Overflows)
	}
}

// Subscribes, unsubscribes, publishes and closes from many goroutines at
// once: run with -race. Every subscriber left at the end gets the last
// event.
func TestAccountConcurrency(t *testing.T) {
	k := &keyCheck{}
	e := newEnv(t, hub.Config{AccountKey: k.fn})
	const conns = 20
	sinks := make([]*sink, conns)
	cs := make([]*hub.Conn, conns)
	for i := range conns {
		sinks[i] = newSink(false)
		cs[i] = e.connect(t, sinks[i])
	}
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for j := range 50 {
				acct := fmt.Sprint("acct", j%5)
				if err := cs[i].SubscribeAccount(acct, testKey); err != nil {
					t.Error(err)
					return
				}
				if j%3 == 0 {
					if err := cs[i].UnsubscribeAccount(acct); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if i%4 == 0 {
				cs[i].Close()
			}
		})
		wg.Go(func() {
			for j := range 20 {
				acct := fmt.Sprint("acct", j%5)
				if err := e.hub.PublishAccountEvent(coin, acct, txupdate(t, acct, int64(j))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range sinks {
		for len(s.ch) > 0 {
			<-s.ch
		}
	}
	last := txupdate(t, "acct4", 99)
	if err := e.hub.PublishAccountEvent(coin, "acct4", last); err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		// acct4 was last touched at j=49 (49%3 != 0): still subscribed.
		if i%4 == 0 {
			sinks[i].quiet(t)
			continue
		}
		if got := sinks[i].next(t); got.payload != string(last) {
			t.Fatalf("conn %d got %+v", i, got)
		}
	}
	for _, c := range cs {
		c.Close()
	}
	if st := e.hub.Stats(); st.Accounts != 0 || st.Conns != 0 {
		t.Fatalf("stats after closing all: %+v", st)
	}
}
