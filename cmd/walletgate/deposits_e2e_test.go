package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/internal/testenv"
)

// eventReceiver is the application's txupdate listener (cryptoassets'
// simple_http_event_listener). It can be switched down (503), and records
// every accepted delivery per event id.
type eventReceiver struct {
	mu       sync.Mutex
	down     bool
	accepted map[string]int
	events   map[string]map[string]any // first accepted payload per id
	order    []string                  // ids in first-acceptance order
	refused  int
}

func newEventReceiver(t *testing.T) (*eventReceiver, string) {
	r := &eventReceiver{accepted: map[string]int{}, events: map[string]map[string]any{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r, "http://" + ln.Addr().String() + "/"
}

func (r *eventReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		r.refused++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if err := req.ParseForm(); err != nil || req.PostForm.Get("event_name") != "txupdate" || req.PostForm.Get("data") != req.PostForm.Get("xdata") {
		http.Error(w, "not a cryptoassets txupdate form", http.StatusBadRequest)
		return
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(req.PostForm.Get("data")), &data); err != nil {
		http.Error(w, "data is not JSON", http.StatusBadRequest)
		return
	}
	id, _ := data["event_id"].(string)
	if r.accepted[id]++; r.accepted[id] == 1 {
		r.events[id] = data
		r.order = append(r.order, id)
	}
}

func (r *eventReceiver) setDown(down bool) { r.mu.Lock(); r.down = down; r.mu.Unlock() }

// depositState is GET /v1/btc/deposits reduced to confirmations and
// credited per txid.
type depositRow struct {
	TxID          string `json:"txid"`
	Address       string `json:"address"`
	Account       string `json:"account"`
	Amount        string `json:"amount"`
	Confirmations int64  `json:"confirmations"`
	Credited      bool   `json:"credited"`
}

func listDeposits(t *testing.T, base, key string) []depositRow {
	t.Helper()
	code, body := do(t, "GET", base+"/v1/btc/deposits?limit=1000", key, "", nil)
	if code != 200 {
		return nil
	}
	var r struct {
		Deposits []depositRow `json:"deposits"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("deposits body %s: %v", body, err)
	}
	return r.Deposits
}

// waitDeposits polls the deposit API until ok accepts the rows.
func waitDeposits(t *testing.T, p *proc, key, what string, ok func([]depositRow) bool) []depositRow {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows := listDeposits(t, p.base, key)
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: last deposits %+v\nlogs:\n%s", what, rows, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDepositsEndToEnd is issue 7's run on a real btcd + btcwallet: three
// deposits, each notified through a different intake (HTTP, named pipe,
// real Redis), produce txupdate events at 0..15 confirmations with credited
// flipping at 3, delivered to a receiver that is down for part of the run,
// across a restart of walletgate in the middle. The receiver gets every
// event, each accepted exactly once, in order per address.
func TestDepositsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd, btcwallet and walletgate")
	}
	redisURL := testenv.RedisURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	node := regtest.Start(t)
	rw := regtest.StartWallet(t, node)
	recv, recvURL := newEventReceiver(t)

	dir := t.TempDir()
	pipe := filepath.Join(dir, "walletnotify.fifo")
	notifyPort := freePort(t)
	channel := fmt.Sprintf("walletgate_e2e_%d", time.Now().UnixNano())
	ru, _ := url.Parse(redisURL)
	adminKey := "e2e-admin-key-0123456789"
	yml := writeYAML(t, dir, fmt.Sprintf(`
coins:
  btc:
    network: regtest
    backend:
      type: node
      url: %s
      poll_interval: 200ms
      wallet: {url: '%s', kind: btcwallet}
      walletnotify:
        - {class: cryptoassets.core.backend.httpwalletnotify.HTTPWalletNotifyHandler, ip: 127.0.0.1, port: %d}
        - {class: cryptoassets.core.backend.pipewalletnotify.PipedWalletNotifyHandler, fname: '%s'}
        - {class: cryptoassets.core.backend.rediswalletnotify.RedisWalletNotifyHandler, url: '%s', channel: %s}
events:
  app: {class: cryptoassets.core.event.http.HTTPEventHandler, url: '%s', timeout: 2s}
  push: {type: sockets}
deposits:
  admin_key: %s
  poll_interval: 1s
  outbox: {poll: 200ms}
`, node.RPCURL(), rw.RPCURL(), notifyPort, pipe, ru.String(), channel, recvURL, adminKey))

	bin := buildBinary(t)
	port := freePort(t)
	env := []string{"WALLETGATE_CONFIG=" + yml}
	p := startProc(t, bin, dir, port, env...)

	// Three accounts, each with an address made by the wallet through
	// walletgate.
	accounts := []string{"alice", "bob", "carol"}
	addrs := map[string]string{}
	for _, acct := range accounts {
		addrs[acct] = newWalletAddress(t, p, adminKey, acct)
	}
	amounts := map[string]int64{"alice": 1_2345_6789, "bob": 50_000, "carol": 7_0000_0001}

	// alice's app also listens on /ws; the first process serves it until
	// the restart at 6 confirmations.
	pushed := subscribeAccount(t, ctx, p, "alice", adminKey)

	// Pay each address from outside the wallet and wait until btcwallet
	// knows the transaction: bitcoind runs walletnotify only then.
	txids := map[string]string{}
	for _, acct := range accounts {
		txids[acct] = payWallet(t, ctx, node, rw, addrs[acct], amounts[acct])
	}

	// alice through HTTP: 200 only after the commit, so the deposit is
	// listed as soon as the reply arrives.
	if code, body := postWalletNotify(t, notifyPort, txids["alice"]); code != 200 {
		t.Fatalf("HTTP walletnotify = %d %s\n%s", code, body, p.logs.String())
	}
	if rows := listDeposits(t, p.base, adminKey); len(rows) != 1 || rows[0].TxID != txids["alice"] || rows[0].Confirmations != 0 {
		t.Fatalf("after the HTTP intake answered 200 the deposit must be stored: %+v", rows)
	}
	// Bad input on the same intake is a 400 naming the problem.
	if code, body := do(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/", notifyPort), "", "application/x-www-form-urlencoded", []byte("txid=nothex")); code != 400 || !strings.Contains(string(body), "txid") {
		t.Errorf("malformed txid = %d %s, want 400 naming the txid", code, body)
	}
	// bob through the FIFO, as `walletnotify=echo %s >> fifo` does.
	f, err := os.OpenFile(pipe, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("open the walletnotify pipe: %v", err)
	}
	fmt.Fprintf(f, "%s\r\n", txids["bob"])
	f.Close()
	// carol through Redis pub/sub.
	opts, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opts)
	defer rc.Close()
	waitDeposits(t, p, adminKey, "bob's deposit through the pipe", func(rows []depositRow) bool { return len(rows) == 2 })
	if n, err := rc.Publish(ctx, channel, txids["carol"]).Result(); err != nil || n != 1 {
		t.Fatalf("publish to %s: %d subscribers, %v", channel, n, err)
	}
	all := waitDeposits(t, p, adminKey, "carol's deposit through Redis", func(rows []depositRow) bool { return len(rows) == 3 })
	for _, r := range all {
		if want := walletgate.FormatSats(amounts[r.Account]); r.Amount != want || addrs[r.Account] != r.Address || txids[r.Account] != r.TxID {
			t.Errorf("deposit %+v: want amount %s to %s in %s", r, want, addrs[r.Account], txids[r.Account])
		}
	}

	// Mine one block at a time and wait for every deposit to reach it, so
	// each count 1..15 is seen. The receiver is down from 2 to 9
	// confirmations, and walletgate restarts at 6.
	for conf := int64(1); conf <= 15; conf++ {
		switch conf {
		case 2:
			recv.setDown(true)
		case 6:
			// Sockets delivery is best effort to whoever is connected:
			// let alice's socket have 0..5 before its server goes.
			for pushed.count() < 6 && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			p = startProc(t, bin, dir, port, env...)
		case 10:
			recv.setDown(false)
		}
		if _, err := node.Generate(ctx, 1); err != nil {
			t.Fatal(err)
		}
		waitDeposits(t, p, adminKey, fmt.Sprintf("%d confirmations", conf), func(rows []depositRow) bool {
			if len(rows) != 3 {
				return false
			}
			for _, r := range rows {
				if r.Confirmations != conf {
					return false
				}
			}
			return true
		})
	}

	// The socket got alice's events up to the restart, in order, with the
	// same payload as the HTTP handler.
	select {
	case <-pushed.done:
	case <-ctx.Done():
		t.Fatal("/ws stayed open after its server stopped")
	}
	var pushedConfs []int64
	for _, ev := range pushed.got {
		if ev["address"] != addrs["alice"] || ev["coin_name"] != "btc" {
			t.Errorf("/ws pushed %v, want alice's btc events only", ev)
		}
		pushedConfs = append(pushedConfs, int64(ev["confirmations"].(float64)))
	}
	if fmt.Sprint(pushedConfs) != "[0 1 2 3 4 5]" {
		t.Errorf("/ws pushed confirmations %v, want [0 1 2 3 4 5]", pushedConfs)
	}

	// Every (tx, confirmations) event arrives, each accepted once.
	want := 3 * 16
	deadline := time.Now().Add(60 * time.Second)
	for {
		recv.mu.Lock()
		n := len(recv.order)
		recv.mu.Unlock()
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver has %d of %d events\n%s", n, want, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let any duplicate delivery land before counting
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.refused == 0 {
		t.Errorf("the receiver was never down when an event came: the outage tested nothing")
	}
	if len(recv.order) != want {
		t.Errorf("receiver has %d distinct events, want %d", len(recv.order), want)
	}
	perAddr := map[string][]int64{}
	for _, id := range recv.order {
		if n := recv.accepted[id]; n != 1 {
			t.Errorf("event %s accepted %d times, want once", id, n)
		}
		ev := recv.events[id]
		addr, _ := ev["address"].(string)
		conf := int64(ev["confirmations"].(float64))
		credited, _ := ev["credited"].(bool)
		if credited != (conf >= 3) {
			t.Errorf("event %s: credited %v at %d confirmations, want credited from 3", id, credited, conf)
		}
		if ev["coin_name"] != "btc" || ev["transaction_type"] != "deposit" {
			t.Errorf("event %s: coin_name %v transaction_type %v", id, ev["coin_name"], ev["transaction_type"])
		}
		perAddr[addr] = append(perAddr[addr], conf)
	}
	for acct, addr := range addrs {
		got := perAddr[addr]
		if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) || len(got) != 16 || got[0] != 0 || got[15] != 15 {
			t.Errorf("%s's events arrived as confirmations %v, want 0..15 in order", acct, got)
		}
	}
}

// accountSocket collects the txupdate pushes of one /ws connection.
type accountSocket struct {
	mu   sync.Mutex
	got  []map[string]any
	done chan struct{}
}

func (a *accountSocket) count() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.got) }

// subscribeAccount opens /ws, subscribes to account's txupdate events
// (refused first with a wrong key) and collects them until the connection
// ends.
func subscribeAccount(t *testing.T, ctx context.Context, p *proc, account, key string) *accountSocket {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, strings.Replace(p.base, "http", "ws", 1)+"/ws?coin=btc", nil)
	if err != nil {
		t.Fatalf("dial /ws: %v", err)
	}
	call := func(id int, params string) map[string]any {
		t.Helper()
		req := fmt.Sprintf(`{"id":%d,"method":"subscribeAccount","params":%s}`, id, params)
		if err := conn.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
			t.Fatal(err)
		}
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read /ws answer: %v", err)
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		return m
	}
	if m := call(1, `{"account":"`+account+`","key":"wrong-key"}`); m["error"] == nil || !strings.Contains(fmt.Sprint(m["error"]), "401") {
		t.Fatalf("subscribe with a wrong key answered %v, want a 401 error", m)
	}
	if m := call(2, `{"account":"`+account+`","key":"`+key+`"}`); fmt.Sprint(m["result"]) != fmt.Sprint(map[string]any{"subscribed": account}) {
		t.Fatalf("subscribe answered %v", m)
	}
	a := &accountSocket{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m struct {
				Event string         `json:"event"`
				Data  map[string]any `json:"data"`
			}
			if json.Unmarshal(data, &m) == nil && m.Event == "txupdate" {
				a.mu.Lock()
				a.got = append(a.got, m.Data)
				a.mu.Unlock()
			}
		}
	}()
	return a
}

// newWalletAddress asks walletgate for a deposit address of account.
func newWalletAddress(t *testing.T, p *proc, key, account string) string {
	t.Helper()
	code, body := do(t, "POST", p.base+"/v1/btc/address", key, "application/json", []byte(`{"account":"`+account+`"}`))
	if code != 200 {
		t.Fatalf("create address for %s: %d %s\n%s", account, code, body, p.logs.String())
	}
	var w struct {
		Address string `json:"address"`
	}
	json.Unmarshal(body, &w)
	return w.Address
}

// payWallet pays sats to the wallet's addr from outside the wallet and
// waits until btcwallet knows the transaction: bitcoind runs walletnotify
// only then.
func payWallet(t *testing.T, ctx context.Context, node *regtest.Node, rw *regtest.Wallet, addr string, sats int64) string {
	t.Helper()
	a, err := mustParams(t).Decode(addr)
	if err != nil {
		t.Fatalf("wallet address %q: %v", addr, err)
	}
	op, err := node.Fund(ctx, a.Script, sats)
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.AwaitTx(ctx, op.TxID); err != nil {
		t.Fatal(err)
	}
	return op.TxID
}

// postWalletNotify does what walletnotify=curl --data "txid=%s" does.
func postWalletNotify(t *testing.T, port int, txid string) (int, []byte) {
	t.Helper()
	return do(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/", port), "", "application/x-www-form-urlencoded", []byte(url.Values{"txid": {txid}}.Encode()))
}

// writeYAML writes a walletgate config file into dir.
func writeYAML(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "walletgate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustParams(t *testing.T) *chain.Params {
	t.Helper()
	p, err := chain.Lookup("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
