package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
)

// bitwebReply is the Bitweb REST envelope.
type bitwebReply struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result"`
}

// getBitweb GETs url within ctx and decodes the envelope. A request that
// outlives ctx fails the test: with ELECTRUM_TIMEOUT at ten minutes, that
// is what a server waiting for its backend timeout instead of failing fast
// does.
func getBitweb(t *testing.T, ctx context.Context, url string) (int, bitwebReply, time.Duration) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v (walletgate did not answer)", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	var r bitwebReply
	if err := json.Unmarshal(body, &r); err != nil || r.ID != "api-server" {
		t.Fatalf("GET %s = %d %q: not the Bitweb envelope", url, resp.StatusCode, body)
	}
	if (resp.StatusCode == http.StatusOK) != (r.Error == nil) || (r.Error != nil && r.Error.Code != resp.StatusCode) {
		t.Fatalf("GET %s = %d %q: error code and status disagree", url, resp.StatusCode, body)
	}
	return resp.StatusCode, r, took
}

type restBalance struct {
	Balance, Confirmed, Unconfirmed int64
}

func balanceOf(t *testing.T, r bitwebReply) restBalance {
	t.Helper()
	var b restBalance
	if err := json.Unmarshal(r.Result, &b); err != nil {
		t.Fatalf("balance result %s: %v", r.Result, err)
	}
	return b
}

// unspentValues returns the values of an /unspent result, sorted.
func unspentValues(t *testing.T, r bitwebReply) []int64 {
	t.Helper()
	var us []struct {
		Value int64 `json:"value"`
	}
	if err := json.Unmarshal(r.Result, &us); err != nil {
		t.Fatalf("unspent result %s: %v", r.Result, err)
	}
	vs := make([]int64, len(us))
	for i, u := range us {
		vs[i] = u.Value
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs
}

// TestOutageNeverServesStaleWatchedBalance is the user's report against
// the real binary, a real btcd regtest node and the ElectrumX stand-in: a
// socket watches an address (so its balance and unspent list are cached,
// kept fresh by the subscription), ElectrumX dies, the address is paid and
// the payment mined. While ElectrumX is away /balance and /unspent of the
// watched address never answer the old balance with 200: they answer 503
// at once, naming the backend and its connect error, as does /balance of an
// unwatched address. Once ElectrumX is back they show the new balance and
// the socket is pushed the change.
func TestOutageNeverServesStaleWatchedBalance(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	idx, srv := electrumtest.ServeNode(t, node, electrumtest.Config{}, 50*time.Millisecond)
	backend := srv.Addr()
	host, port, _ := net.SplitHostPort(backend)
	// The backend timeout (ELECTRUM_TIMEOUT) far beyond the test: a request
	// that waited for it during the outage would outlive ctx and fail the
	// test. The YAML form, because the write timeout must exceed it.
	dir := t.TempDir()
	yml := writeYAML(t, dir, fmt.Sprintf(`
server: {write_timeout: 15m}
coins:
  bitweb:
    network: regtest
    backend: {type: electrumx, host: %q, port: %s, tls: false, timeout: 10m}
`, host, port))
	p := startProc(t, buildBinary(t), dir, freePort(t), "WALLETGATE_CONFIG="+yml)
	defer func() {
		if t.Failed() {
			t.Logf("walletgate logs:\n%s", p.logs.String())
		}
	}()

	watched, unwatched := regtest.NewKey(t, regtest.P2WPKH), regtest.NewKey(t, regtest.P2WPKH)
	const first, second = 50_000, 30_000
	if _, err := node.Fund(ctx, watched.Script(), first); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	balanceURL, unspentURL := p.base+"/balance/"+watched.Address(), p.base+"/unspent/"+watched.Address()
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, r, _ := getBitweb(t, ctx, balanceURL)
		if code == http.StatusOK && balanceOf(t, r).Confirmed == first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first payment never showed: %d %+v", code, r)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A socket watches the address.
	ws, _, err := websocket.Dial(ctx, strings.Replace(p.base, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatalf("dial /ws: %v", err)
	}
	defer ws.CloseNow()
	sub := fmt.Sprintf(`{"id":1,"method":"subscribeAddresses","params":{"addresses":[%q]}}`, watched.Address())
	if err := ws.Write(ctx, websocket.MessageText, []byte(sub)); err != nil {
		t.Fatal(err)
	}
	pushedBalance := func(what string, want int64) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		for {
			_, data, err := ws.Read(rctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			var m struct {
				Event string `json:"event"`
				Data  struct {
					Address string `json:"address"`
					Balance int64  `json:"balance"`
				} `json:"data"`
			}
			json.Unmarshal(data, &m)
			if m.Event == "balance_changed" && m.Data.Address == watched.Address() && m.Data.Balance == want {
				return
			}
		}
	}
	pushedBalance("the initial balance_changed", first)

	// Watched: served from cache, without asking ElectrumX. This is what
	// makes the outage below dangerous.
	balances, unspents := srv.Count("blockchain.scripthash.get_balance"), srv.Count("blockchain.scripthash.listunspent")
	for range 2 {
		if code, r, _ := getBitweb(t, ctx, balanceURL); code != http.StatusOK || balanceOf(t, r).Balance != first {
			t.Fatalf("watched /balance = %d %+v, want %d", code, r, first)
		}
		if code, r, _ := getBitweb(t, ctx, unspentURL); code != http.StatusOK || fmt.Sprint(unspentValues(t, r)) != fmt.Sprint([]int64{first}) {
			t.Fatalf("watched /unspent = %d %s", code, r.Result)
		}
	}
	if srv.Count("blockchain.scripthash.get_balance") != balances || srv.Count("blockchain.scripthash.listunspent") != unspents {
		t.Fatal("the watched address's balance and unspent list are not served from cache; the outage check would prove nothing")
	}

	// ElectrumX dies; the address is paid and the payment mined meanwhile.
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Fund(ctx, watched.Script(), second); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	sh := electrumtest.ScriptHashOf(watched.Script())
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, _ := idx.Snapshot().Balance(sh); c == first+second {
			break // ElectrumX's own data has the payment; it is just unreachable
		}
		if time.Now().After(deadline) {
			t.Fatal("the stand-in's index never saw the second payment")
		}
		time.Sleep(20 * time.Millisecond)
	}

	outage503 := func(url string) time.Duration {
		t.Helper()
		code, r, took := getBitweb(t, ctx, url)
		if code == http.StatusOK {
			t.Fatalf("GET %s during the outage = 200 %s: a cached answer served as fresh", url, r.Result)
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("GET %s during the outage = %d %+v, want 503", url, code, r.Error)
		}
		if !strings.Contains(r.Error.Message, backend) || !strings.Contains(r.Error.Message, "connection refused") {
			t.Fatalf("GET %s during the outage: message %q does not name the backend %s and its connect error", url, r.Error.Message, backend)
		}
		return took
	}
	var tookUnwatched time.Duration
	for range 3 {
		outage503(balanceURL)
		outage503(unspentURL)
		tookUnwatched = outage503(p.base + "/balance/" + unwatched.Address())
	}
	t.Logf("an unwatched /balance during the outage was answered 503 in %s (the backend timeout is 10 min)", tookUnwatched)

	// ElectrumX is back: the new balance, never the old one, and a push.
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, r, _ := getBitweb(t, ctx, balanceURL)
		if code == http.StatusOK {
			if b := balanceOf(t, r); b.Confirmed != first+second || b.Balance != first+second {
				t.Fatalf("watched /balance after the outage = %+v, want %d confirmed", b, first+second)
			}
			break
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("watched /balance while reconnecting = %d %+v", code, r.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("walletgate did not recover after ElectrumX came back: %d %+v", code, r.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, r, _ := getBitweb(t, ctx, unspentURL); code != http.StatusOK || fmt.Sprint(unspentValues(t, r)) != fmt.Sprint([]int64{second, first}) {
		t.Fatalf("watched /unspent after the outage = %d %s, want both outputs", code, r.Result)
	}
	pushedBalance("the balance_changed of the payment made during the outage", first+second)
	if code, r, _ := getBitweb(t, ctx, p.base+"/balance/"+unwatched.Address()); code != http.StatusOK || balanceOf(t, r).Balance != 0 {
		t.Fatalf("unwatched /balance after the outage = %d %+v", code, r)
	}
}
