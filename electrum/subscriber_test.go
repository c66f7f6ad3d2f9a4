package electrum

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

func isScript(sh walletgate.ScriptHash, status string) func(walletgate.Event) bool {
	return func(ev walletgate.Event) bool {
		return ev.Kind == walletgate.EventScriptHash && ev.ScriptHash == sh && ev.Status == status
	}
}

func isBlock(height int64) func(walletgate.Event) bool {
	return func(ev walletgate.Event) bool { return ev.Kind == walletgate.EventBlock && ev.Tip.Height == height }
}

func TestSubscribeIsSharedAndPublishesChanges(t *testing.T) {
	for _, tc := range []struct {
		protocol    string
		unsubscribe int // unsubscribe calls the server should see
	}{{"1.4", 0}, {"1.6", 1}} {
		t.Run(tc.protocol, func(t *testing.T) {
			chain := electrumtest.NewMemChain()
			srv := startServer(t, chain, electrumtest.Config{})
			cfg := clientConfig(t, srv)
			cfg.ProtocolMax = tc.protocol
			rec := newRecorder()
			cl := newClient(t, cfg, rec)
			ctx := ctxT(t)
			sh := shOf(1)
			var wg sync.WaitGroup
			for i := 0; i < 3; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					asked := sh
					if i == 2 { // the same script hash in upper case
						asked = walletgate.ScriptHash(strings.ToUpper(string(sh)))
					}
					if st, err := cl.Subscribe(ctx, asked); err != nil || st != "" {
						t.Errorf("subscribe: %q, %v", st, err)
					}
				}()
			}
			wg.Wait()
			if n := srv.Count("blockchain.scripthash.subscribe"); n != 1 {
				t.Fatalf("server saw %d subscribes for one script hash", n)
			}
			chain.Pay(script(1), 5000)
			mempoolStatus := chain.Snapshot().Status(string(sh))
			ev := rec.waitFor(t, "mempool status", isScript(sh, mempoolStatus))
			if ev.Coin != "BTC" || mempoolStatus == "" {
				t.Fatalf("event %+v", ev)
			}
			chain.Mine(1)
			rec.waitFor(t, "block 1", isBlock(1))
			rec.waitFor(t, "confirmed status", isScript(sh, chain.Snapshot().Status(string(sh))))
			if st, err := cl.Subscribe(ctx, sh); err != nil || st != chain.Snapshot().Status(string(sh)) {
				t.Fatalf("fourth subscribe: %q, %v", st, err)
			}
			for i := 0; i < 4; i++ {
				if err := cl.Unsubscribe(ctx, sh); err != nil {
					t.Fatal(err)
				}
				if i < 3 && srv.Count("blockchain.scripthash.unsubscribe") != 0 {
					t.Fatalf("unsubscribed on the server with %d references left", 3-i)
				}
			}
			waitCount(t, srv, "blockchain.scripthash.unsubscribe", tc.unsubscribe)
			if n := cl.sub.subscriptions(); n != 0 {
				t.Fatalf("%d subscriptions left", n)
			}
			// After the last reference is gone no change is reported, even at
			// 1.4 where the server keeps notifying. The block events order it:
			// a scripthash notification would precede block 3's.
			seen := len(rec.events())
			chain.Pay(script(1), 100)
			chain.Mine(1)
			chain.Mine(1)
			rec.waitFor(t, "block 3", isBlock(3))
			for _, ev := range rec.events()[seen:] {
				if ev.Kind == walletgate.EventScriptHash {
					t.Fatalf("event after unsubscribe: %+v", ev)
				}
			}
		})
	}
}

func TestSubscriberResyncsAfterRestart(t *testing.T) {
	chain := electrumtest.NewMemChain()
	chain.Pay(script(2), 1000)
	chain.Mine(1)
	srv := startServer(t, chain, electrumtest.Config{})
	rec := newRecorder()
	cl := newClient(t, clientConfig(t, srv), rec)
	ctx := ctxT(t)
	before, err := cl.Subscribe(ctx, shOf(1))
	if err != nil || before != "" {
		t.Fatalf("subscribe: %q, %v", before, err)
	}
	unchanged, err := cl.Subscribe(ctx, shOf(2))
	if err != nil || unchanged == "" {
		t.Fatalf("subscribe: %q, %v", unchanged, err)
	}
	versions := srv.Count("server.version")
	// The server goes away; while it is down the address receives a
	// transaction and a block is mined. No notification can reach us.
	if err := srv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	srv.DropAll()
	chain.Pay(script(1), 7000)
	chain.Mine(1)
	if err := srv.Refuse(false); err != nil {
		t.Fatal(err)
	}
	want := chain.Snapshot().Status(string(shOf(1)))
	rec.waitFor(t, "status changed while away", isScript(shOf(1), want))
	rec.waitFor(t, "tip moved while away", isBlock(2))
	if srv.Count("server.version") <= versions {
		t.Fatal("no reconnect happened")
	}
	for _, ev := range rec.events() {
		if ev.Kind == walletgate.EventScriptHash && ev.ScriptHash == shOf(2) {
			t.Fatalf("event for an unchanged script hash: %+v", ev)
		}
	}
	tip, err := cl.Tip(ctx)
	if err != nil || tip.Height != 2 {
		t.Fatalf("tip after resync: %+v, %v", tip, err)
	}
}

func TestNotificationDuringFirstSubscribe(t *testing.T) {
	c1, c2 := &conn{}, &conn{}
	for _, tc := range []struct {
		name      string
		from      *conn
		notifySeq uint64
		replySeq  uint64
		want      string
	}{
		{"notification after the reply wins", c1, 7, 5, "notified"},
		{"notification before the reply loses", c1, 3, 5, "replied"},
		{"notification from another connection loses", c2, 7, 5, "replied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &subscriber{subs: make(map[walletgate.ScriptHash]*sub)}
			sb := &sub{refs: 1, ready: make(chan struct{})}
			s.subs["aa"] = sb
			s.setStatusFrom(tc.from, tc.notifySeq, "aa", "notified")
			got, err := s.complete("aa", sb, "replied", c1, tc.replySeq, nil)
			if err != nil || got != tc.want {
				t.Fatalf("status %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSubscribeWithoutServerIsUnavailable(t *testing.T) {
	srv := startServer(t, electrumtest.NewMemChain(), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.Timeout = 10 * time.Minute // waiting for the deadline would hang the test
	if err := srv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, cfg, nil)
	_, err := cl.Subscribe(context.Background(), shOf(1))
	wantCode(t, err, walletgate.EUnavailable)
	if n := cl.sub.subscriptions(); n != 0 {
		t.Fatalf("a failed subscribe left %d subscriptions", n)
	}
}
