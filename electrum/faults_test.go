package electrum

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

// waitReady waits until every pool connection and the subscriber are up, so
// fault injection only meets the requests a test sends.
func waitReady(t testing.TB, cl *Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := cl.sub.currentTip(); ok && int(cl.pool.live.Load()) == cl.cfg.PoolSize {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("client not connected: %d of %d pool connections", cl.pool.live.Load(), cl.cfg.PoolSize)
}

// waitCount waits until the server has received n requests of method.
func waitCount(t testing.TB, srv *electrumtest.Server, method string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Count(method) < n {
		if time.Now().After(deadline) {
			t.Fatalf("server saw %d %s, want %d", srv.Count(method), method, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func fundedChain(n int) *electrumtest.MemChain {
	chain := electrumtest.NewMemChain()
	for i := 1; i <= n; i++ {
		chain.Pay(script(byte(i)), int64(i)*1000)
	}
	chain.Mine(1)
	return chain
}

func TestOutOfOrderRepliesMatchedByID(t *testing.T) {
	srv := startServer(t, fundedChain(5), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.PoolSize, cfg.MaxBatch, cfg.NoFlushFiller = 1, 1, true // five separate lines on one connection
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.Reorder(5)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := 1; i <= 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bal, err := cl.Balance(ctxT(t), shOf(byte(i)))
			if err == nil && bal.Confirmed != int64(i)*1000 {
				err = fmt.Errorf("balance of %d = %+v", i, bal)
			}
			errs[i-1] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := srv.Count("blockchain.scripthash.get_balance"); got != 5 {
		t.Fatalf("server saw %d get_balance, want 5", got)
	}
}

func TestPaddingTolerated(t *testing.T) {
	srv := startServer(t, fundedChain(3), electrumtest.Config{})
	srv.ExtraPadding(5000)
	cl := newClient(t, clientConfig(t, srv), nil)
	ctx := ctxT(t)
	for i := 1; i <= 3; i++ {
		bal, err := cl.Balance(ctx, shOf(byte(i)))
		if err != nil || bal.Confirmed != int64(i)*1000 {
			t.Fatalf("balance %d: %+v, %v", i, bal, err)
		}
	}
	res, err := cl.Transactions(ctx, []string{strings.Repeat("00", 32), strings.Repeat("11", 32)})
	if err != nil || len(res) != 2 || res[0].Err == nil || res[1].Err == nil {
		t.Fatalf("padded batch: %+v, %v", res, err)
	}
}

func TestBusyErrorsRetriedOnAnotherConnection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code, k   int
		retries   int
		wantErr   bool
		reconnect bool
	}{
		{"-102 twice", -102, 2, 3, false, false},
		{"-101 closes and backs off", -101, 1, 3, false, true},
		{"-102 beyond retries", -102, 5, 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, fundedChain(1), electrumtest.Config{})
			cfg := clientConfig(t, srv)
			cfg.MaxRetries = tc.retries
			cl := newClient(t, cfg, nil)
			waitReady(t, cl)
			versions := srv.Count("server.version")
			srv.InjectError(tc.code, tc.k, "blockchain.scripthash.get_balance")
			bal, err := cl.Balance(ctxT(t), shOf(1))
			if tc.wantErr {
				var re *walletgate.RPCError
				if !errors.As(err, &re) || re.Code != tc.code || re.Message != "server busy - request timed out" {
					t.Fatalf("err %v, want RPCError %d verbatim", err, tc.code)
				}
				if got := srv.Count("blockchain.scripthash.get_balance"); got != tc.retries+1 {
					t.Fatalf("server saw %d attempts, want %d", got, tc.retries+1)
				}
				return
			}
			if err != nil || bal.Confirmed != 1000 {
				t.Fatalf("balance %+v, %v", bal, err)
			}
			if got := srv.Count("blockchain.scripthash.get_balance"); got != tc.k+1 {
				t.Fatalf("server saw %d attempts, want %d", got, tc.k+1)
			}
			if tc.reconnect {
				waitCount(t, srv, "server.version", versions+1)
			}
		})
	}
}

// TestConnectionKilledMidRequestIsRetried: a call whose connection dies
// is sent once more after one reconnect. When the server is still there
// (its sessions were dropped) the retry succeeds; when it is gone (a
// restart that takes longer than the reconnect) the call fails at once
// with the connect error rather than waiting for its deadline, and works
// again once the server is back.
func TestConnectionKilledMidRequestIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(*electrumtest.Server) error
		down bool // the server refuses connections until the test brings it back
	}{
		{"drop all", func(s *electrumtest.Server) error { s.DropAll(); return nil }, false},
		{"restart slower than the reconnect", (*electrumtest.Server).Down, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testKilledMidRequest(t, tc.kill, tc.down) })
	}
}

func testKilledMidRequest(t *testing.T, kill func(*electrumtest.Server) error, down bool) {
	chain := fundedChain(1)
	srv := startServer(t, chain, electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.Timeout = 10 * time.Minute // a call that waited for its deadline would hang the test
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.Stall(0)
	type result struct {
		bal walletgate.Balance
		err error
	}
	done := make(chan result, 1)
	go func() {
		bal, err := cl.Balance(ctxT(t), shOf(1))
		done <- result{bal, err}
	}()
	waitCount(t, srv, "blockchain.scripthash.get_balance", 1)
	if err := kill(srv); err != nil {
		t.Fatal(err)
	}
	srv.Unstall()
	r := <-done
	if down {
		wantCode(t, r.err, walletgate.EUnavailable)
		if msg := walletgate.ErrorMessage(r.err); !strings.Contains(msg, srv.Addr()) || !strings.Contains(msg, "connection refused") {
			t.Fatalf("message %q does not name the server and the connect error", msg)
		}
		if got := srv.Count("blockchain.scripthash.get_balance"); got != 1 {
			t.Fatalf("server saw %d get_balance, want 1 (the retry found no connection)", got)
		}
		if err := srv.Up(); err != nil {
			t.Fatal(err)
		}
		waitReady(t, cl)
		if bal, err := cl.Balance(ctxT(t), shOf(1)); err != nil || bal.Confirmed != 1000 {
			t.Fatalf("after the server is back: %+v, %v", bal, err)
		}
		return
	}
	if r.err != nil || r.bal.Confirmed != 1000 {
		t.Fatalf("after the kill: %+v, %v", r.bal, r.err)
	}
	if got := srv.Count("blockchain.scripthash.get_balance"); got != 2 {
		t.Fatalf("server saw %d get_balance, want 2 (original + one retry)", got)
	}
}

func TestBroadcastRetriedAfterKillCountsAlreadyKnownAsSuccess(t *testing.T) {
	chain := electrumtest.NewMemChain()
	srv := startServer(t, chain, electrumtest.Config{})
	cl := newClient(t, clientConfig(t, srv), nil)
	waitReady(t, cl)
	tx := testTx(script(3), 4321)
	srv.Stall(0)
	type result struct {
		txid string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		txid, err := cl.Broadcast(ctxT(t), txHexOf(tx))
		done <- result{txid, err}
	}()
	waitCount(t, srv, "blockchain.transaction.broadcast", 1)
	srv.DropAll() // the server accepted the tx, but the reply is lost
	srv.Unstall()
	r := <-done
	if r.err != nil || r.txid != tx.TxHash().String() {
		t.Fatalf("broadcast after kill: %q, %v", r.txid, r.err)
	}
	if got := srv.Count("blockchain.transaction.broadcast"); got != 2 {
		t.Fatalf("server saw %d broadcasts, want 2", got)
	}
}

func TestServerGoneGivesUnavailable(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.Timeout = 10 * time.Minute // waiting for the deadline would hang the test
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.Stall(0)
	done := make(chan error, 1)
	go func() {
		_, err := cl.Balance(context.Background(), shOf(1))
		done <- err
	}()
	waitCount(t, srv, "blockchain.scripthash.get_balance", 1)
	if err := srv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	srv.DropAll()
	err := <-done
	wantCode(t, err, walletgate.EUnavailable)
	if !strings.Contains(err.Error(), "no connection to ElectrumX") {
		t.Fatalf("error does not say the server is unreachable: %v", err)
	}
}

func TestStalledCallTimesOut(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.Timeout = 300 * time.Millisecond
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.Stall(0)
	defer srv.Unstall()
	_, err := cl.Balance(context.Background(), shOf(1))
	wantCode(t, err, walletgate.ETimeout)
	// A caller's shorter deadline wins too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = cl.History(ctx, shOf(1))
	wantCode(t, err, walletgate.ETimeout)
}

func TestPoolExhaustionWaitsOnlyUntilDeadline(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.PoolSize, cfg.MaxInFlight, cfg.MaxBatch = 1, 1, 1
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.Stall(0)
	first := make(chan error, 1)
	go func() {
		_, err := cl.Balance(ctxT(t), shOf(1))
		first <- err
	}()
	waitCount(t, srv, "blockchain.scripthash.get_balance", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := cl.Balance(ctx, shOf(1))
	wantCode(t, err, walletgate.ETimeout)
	if got := srv.Count("blockchain.scripthash.get_balance"); got != 1 {
		t.Fatalf("the waiting call was sent anyway: server saw %d", got)
	}
	srv.Unstall()
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
}

func TestIdlePingKeepsSessionsAlive(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{SessionTimeout: 400 * time.Millisecond})
	for _, tc := range []struct {
		name string
		ping time.Duration
		kept bool
	}{
		{"pinging", 100 * time.Millisecond, true},
		{"not pinging", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientConfig(t, srv)
			cfg.PoolSize, cfg.PingInterval = 2, tc.ping
			before := srv.Count("server.version")
			cl := newClient(t, cfg, nil)
			waitReady(t, cl)
			waitCount(t, srv, "server.version", before+3) // 2 pool + subscriber
			time.Sleep(1200 * time.Millisecond)           // three server idle timeouts
			reconnected := srv.Count("server.version") > before+3
			if reconnected == tc.kept {
				t.Fatalf("reconnected=%v after idling; pings sent: %d", reconnected, srv.Count("server.ping"))
			}
			if bal, err := cl.Balance(ctxT(t), shOf(1)); err != nil || bal.Confirmed != 1000 {
				t.Fatalf("balance after idling: %+v, %v", bal, err)
			}
			cl.Close()
		})
	}
}

func TestVersionNegotiationFailureIsUnavailable(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{ProtocolMax: "1.4"})
	cfg := clientConfig(t, srv)
	cfg.ProtocolMin, cfg.ProtocolMax, cfg.Timeout = "1.6", "1.6", 500*time.Millisecond
	cl := newClient(t, cfg, nil)
	_, err := cl.Balance(context.Background(), shOf(1))
	wantCode(t, err, walletgate.EUnavailable)
	if !strings.Contains(err.Error(), "unsupported protocol version") {
		t.Fatalf("error does not carry the server's refusal: %v", err)
	}
}

func TestOverlongLineBreaksConnection(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.Timeout, cfg.MaxLine = time.Second, 2048
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.ExtraPadding(4096) // every padded reply from here on is longer
	_, err := cl.Balance(context.Background(), shOf(1))
	wantCode(t, err, walletgate.EUnavailable)
}

func TestTLS(t *testing.T) {
	srv := startServer(t, fundedChain(1), electrumtest.Config{TLS: electrumtest.SelfSignedTLS(t, "localhost")})
	cfg := clientConfig(t, srv)
	cfg.Host, cfg.TLS, cfg.SkipVerify = "localhost", true, true
	cl := newClient(t, cfg, nil)
	if bal, err := cl.Balance(ctxT(t), shOf(1)); err != nil || bal.Confirmed != 1000 {
		t.Fatalf("TLS without verification: %+v, %v", bal, err)
	}
	cfg.SkipVerify, cfg.Timeout = false, 2*time.Second
	strict := newClient(t, cfg, nil)
	_, err := strict.Balance(context.Background(), shOf(1))
	wantCode(t, err, walletgate.EUnavailable)
	if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("verification failure not explained: %v", err)
	}
}

func TestFlushRuleHoldIsDefeatedByFiller(t *testing.T) {
	// With an hour-long hold, any reply the server holds never arrives in
	// time: the outcome shows whether the client made the server flush.
	short := fundedChain(1) // 2 blocks: header(0) fillers
	long := fundedChain(1)
	long.Mine(10) // 12 blocks: one headers(0, 8) filler
	for _, tc := range []struct {
		name     string
		chain    *electrumtest.MemChain
		noFiller bool
		filler   string
	}{
		{"short chain", short, false, "blockchain.block.header"},
		{"long chain", long, false, "blockchain.block.headers"},
		{"no filler", short, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.chain, electrumtest.Config{FlushRule: true, FlushInterval: time.Hour})
			cfg := clientConfig(t, srv)
			cfg.PoolSize, cfg.NoFlushFiller, cfg.Timeout = 1, tc.noFiller, 500*time.Millisecond
			cl := newClient(t, cfg, nil)
			if !tc.noFiller {
				waitReady(t, cl) // the subscriber's tip picks the filler
			}
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				var bal walletgate.Balance
				bal, err = cl.Balance(context.Background(), shOf(1))
				if err == nil && bal.Confirmed != 1000 {
					t.Fatalf("balance %+v", bal)
				}
			}
			if tc.noFiller {
				wantCode(t, err, walletgate.ETimeout)
				return
			}
			if err != nil {
				t.Fatalf("sequential calls under the flush rule: %v", err)
			}
			if srv.Count(tc.filler) == 0 {
				t.Fatalf("no %s filler sent", tc.filler)
			}
		})
	}
}

func TestDropAfterRequestsIsRetried(t *testing.T) {
	srv := startServer(t, fundedChain(2), electrumtest.Config{})
	cfg := clientConfig(t, srv)
	cfg.NoFlushFiller = true // only the test's requests reach the server
	cl := newClient(t, cfg, nil)
	waitReady(t, cl)
	srv.DropAfter(2) // the second request from now kills its connection unanswered
	ctx := ctxT(t)
	for i := 1; i <= 2; i++ {
		if bal, err := cl.Balance(ctx, shOf(byte(i))); err != nil || bal.Confirmed != int64(i)*1000 {
			t.Fatalf("balance %d: %+v, %v", i, bal, err)
		}
	}
	if got := srv.Count("blockchain.scripthash.get_balance"); got != 3 {
		t.Fatalf("server saw %d get_balance, want 3 (one retried)", got)
	}
}
