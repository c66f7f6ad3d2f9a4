package socketio_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

func (e *testEnv) change(t testing.TB, sh walletgate.ScriptHash) {
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: testCoin, ScriptHash: sh})
}

func (e *testEnv) block(h int64) {
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: testCoin, Tip: walletgate.Tip{Height: h}})
}

func TestSubscribeBalanceAndBlock(t *testing.T) {
	for _, mode := range rawModes {
		t.Run(mode, func(t *testing.T) { testSubscribeBalanceAndBlock(t, mode) })
	}
}

func testSubscribeBalanceAndBlock(t *testing.T, mode string) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	addr, sc := e.addr(t, 1)
	txid := strings.Repeat("ab", 32)
	e.be.SetBalance(sc.Hash, 2500, 0)
	e.be.SetUnspent(sc.Hash, []walletgate.UTXO{{TxHash: txid, TxPos: 3, Height: 990, Value: 2500}})
	e.be.AddTx(txid, `{"txid":"`+txid+`","vin":[{"txid":"`+strings.Repeat("cd", 32)+`","vout":0}],"vout":[]}`, "00")

	c := e.dialMode(t, mode)
	c.emit(t, "subscribe", map[string]any{"address": "  " + addr + "\t"})
	if got, want := string(c.expect(t, "subscribed")), `{"address":"`+addr+`"}`; got != want {
		t.Fatalf("subscribed = %s, want %s", got, want)
	}
	want := `{"balance":2500,"confirmed":2500,"unconfirmed":0,"pending_out":0,"utxos":[{"txid":"` + txid +
		`","index":3,"value":2500,"height":990,"coinbase":false,"script":"` + sc.Hex + `"}],"height":1000}`
	if got := string(c.expect(t, "balance_changed")); got != want {
		t.Fatalf("balance_changed\n got %s\nwant %s", got, want)
	}

	e.block(1001)
	if got := string(c.expect(t, "block")); got != `{"height":1001}` {
		t.Fatalf("block = %s", got)
	}
	e.be.SetBalance(sc.Hash, 2500, 700)
	e.be.SetUnspent(sc.Hash, []walletgate.UTXO{{TxHash: txid, TxPos: 3, Height: 990, Value: 2500}, {TxHash: strings.Repeat("ef", 32), TxPos: 0, Height: 0, Value: 700}})
	e.change(t, sc.Hash)
	var p struct {
		Balance, Unconfirmed, Height int64
		UTXOs                        []json.RawMessage
	}
	if err := json.Unmarshal(c.expect(t, "balance_changed"), &p); err != nil {
		t.Fatal(err)
	}
	if p.Balance != 3200 || p.Unconfirmed != 700 || p.Height != 1001 || len(p.UTXOs) != 2 {
		t.Fatalf("change push = %+v", p)
	}
	c.quiet(t, 100*time.Millisecond)
}

func TestSubscribeRules(t *testing.T) {
	const interval = 300 * time.Millisecond
	e := newTestEnv(t, hub.Config{}, socketio.Config{SubscribeInterval: interval})
	good, _ := e.addr(t, 1)
	bech32Bad := good[:len(good)-1] + map[bool]string{true: "q", false: "p"}[good[len(good)-1] != 'q']
	tests := []struct {
		name  string
		frame string // raw Engine.IO frame
		want  string // "" = nothing at all; else event name + " " + data
	}{
		{"not an object: string", `42["subscribe","` + good + `"]`, ""},
		{"not an object: array", `42["subscribe",["` + good + `"]]`, ""},
		{"not an object: null", `42["subscribe",null]`, ""},
		{"no payload", `42["subscribe"]`, ""},
		{"short", `42["subscribe",{"address":"abc"}]`, `error {"message":"` + hub.MsgBadAddress + `"}`},
		{"missing address", `42["subscribe",{}]`, `error {"message":"` + hub.MsgBadAddress + `"}`},
		{"number", `42["subscribe",{"address":12345}]`, `error {"message":"` + hub.MsgBadAddress + `"}`},
		{"punctuation", `42["subscribe",{"address":"` + good[:30] + `-"}]`, `error {"message":"` + hub.MsgBadAddress + `"}`},
		{"bad checksum", `42["subscribe",{"address":"` + bech32Bad + `"}]`, `error {"message":"Invalid bech32/bech32m address: '` + bech32Bad + `'"}`},
	}
	c := dialRaw(t, e.wsURL())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(interval + 50*time.Millisecond)
			c.send(t, tc.frame)
			if tc.want == "" {
				c.quiet(t, 150*time.Millisecond)
				return
			}
			ev := c.next(t)
			if got := ev.Name + " " + string(ev.Data); got != tc.want {
				t.Fatalf("got %s\nwant %s", got, tc.want)
			}
		})
	}

	t.Run("rate limit counts invalid attempts", func(t *testing.T) {
		time.Sleep(interval + 50*time.Millisecond)
		c.emit(t, "subscribe", map[string]any{"address": "bad"})
		start := time.Now()
		c.expect(t, "error")
		time.Sleep(interval / 2)
		c.emit(t, "subscribe", map[string]any{"address": good})
		if got := string(c.expect(t, "error")); got != `{"message":"rate limited"}` {
			t.Fatalf("got %s", got)
		}
		// A rate-limited attempt does not restart the clock: this one is
		// less than an interval after it, but more after the invalid one.
		time.Sleep(time.Until(start.Add(interval + 50*time.Millisecond)))
		c.emit(t, "subscribe", map[string]any{"address": good})
		c.expect(t, "subscribed")
		c.expect(t, "balance_changed")
	})
	t.Run("ignored payloads do not count", func(t *testing.T) {
		time.Sleep(interval + 50*time.Millisecond)
		c.send(t, `42["subscribe","junk"]`)
		c.emit(t, "subscribe", map[string]any{"address": good})
		c.expect(t, "subscribed")
		c.expect(t, "balance_changed")
	})
}

func TestOneAddressPerSocket(t *testing.T) {
	const interval = 100 * time.Millisecond
	e := newTestEnv(t, hub.Config{}, socketio.Config{SubscribeInterval: interval})
	a, sa := e.addr(t, 1)
	b, sb := e.addr(t, 2)
	c := dialRaw(t, e.wsURL())
	for range 3 { // re-subscribing the same address leaks nothing
		c.emit(t, "subscribe", map[string]any{"address": a})
		c.expect(t, "subscribed")
		c.expect(t, "balance_changed")
		time.Sleep(interval + 20*time.Millisecond)
	}
	if n := e.svc.Watching(sa.Hash); n != 1 {
		t.Fatalf("watchers of a = %d after 3 subscribes, want 1", n)
	}
	c.emit(t, "subscribe", map[string]any{"address": b})
	if got := string(c.expect(t, "subscribed")); got != `{"address":"`+b+`"}` {
		t.Fatalf("subscribed = %s", got)
	}
	c.expect(t, "balance_changed")
	if n := e.be.Subscribed(sa.Hash); n != 0 {
		t.Fatalf("old address still subscribed at the backend (%d)", n)
	}
	e.change(t, sa.Hash)
	c.quiet(t, 150*time.Millisecond)
	e.change(t, sb.Hash)
	c.expect(t, "balance_changed")

	c.closeNow()
	deadline := time.Now().Add(5 * time.Second)
	for e.be.Subscribed(sb.Hash) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("disconnect did not release the subscription")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListFormAndUnsubscribe(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{MaxAddresses: 3})
	a, sa := e.addr(t, 1)
	b, sb := e.addr(t, 2)
	c := dialRaw(t, e.wsURL())
	c.emit(t, "subscribe", map[string]any{"addresses": []string{a, "nonsense", " " + b}})
	got := map[string]int{}
	withAddr := map[string]bool{}
	for range 5 { // subscribed a, b; error nonsense; balance_changed a, b
		ev := c.next(t)
		got[ev.Name]++
		var m map[string]any
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatal(err)
		}
		if ev.Name == "balance_changed" {
			if !strings.HasPrefix(string(ev.Data), `{"address":"`) {
				t.Fatalf("list-form push does not start with its address: %s", ev.Data)
			}
			withAddr[m["address"].(string)] = true
		}
		if ev.Name == "error" && (m["address"] != "nonsense" || m["message"] != hub.MsgBadAddress) {
			t.Fatalf("error = %s", ev.Data)
		}
	}
	if got["subscribed"] != 2 || got["error"] != 1 || got["balance_changed"] != 2 || !withAddr[a] || !withAddr[b] {
		t.Fatalf("events %v, pushes for %v", got, withAddr)
	}

	e.change(t, sb.Hash)
	if d := string(c.expect(t, "balance_changed")); !strings.HasPrefix(d, `{"address":"`+b+`","balance":`) {
		t.Fatalf("change push = %s", d)
	}
	c.emit(t, "unsubscribe", map[string]any{"address": b})
	if d := string(c.expect(t, "unsubscribed")); d != `{"address":"`+b+`"}` {
		t.Fatalf("unsubscribed = %s", d)
	}
	if n := e.be.Subscribed(sb.Hash); n != 0 {
		t.Fatalf("b still subscribed (%d)", n)
	}
	e.change(t, sb.Hash)
	c.quiet(t, 150*time.Millisecond)
	e.change(t, sa.Hash)
	c.expect(t, "balance_changed")

	time.Sleep(time.Second)
	c.emit(t, "subscribe", map[string]any{"addresses": []string{a, a, a, a}})
	if d := string(c.expect(t, "error")); d != `{"message":"too many addresses in one subscribe: 4 (max 3)"}` {
		t.Fatalf("error = %s", d)
	}
	time.Sleep(time.Second)
	c.emit(t, "subscribe", map[string]any{"addresses": "not a list"})
	if d := string(c.expect(t, "error")); d != `{"message":"addresses must be a list of address strings"}` {
		t.Fatalf("error = %s", d)
	}
}

func TestEngineIOv3Refused(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	for _, q := range []string{"EIO=3&transport=polling", "transport=polling", "EIO=3&transport=websocket"} {
		resp, err := http.Get(e.ts.URL + "/socket.io/?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || string(body) != `"The client is using an unsupported version of the Socket.IO or Engine.IO protocols"` {
			t.Fatalf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	// EIO=4 polling handshake works and advertises the spec's settings.
	resp, err := http.Get(e.ts.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "0{") {
		t.Fatalf("EIO=4 handshake: %d %s", resp.StatusCode, body)
	}
	var open struct {
		Upgrades     []string
		PingInterval int
		PingTimeout  int
		MaxPayload   int
	}
	if err := json.Unmarshal(body[1:], &open); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(open) != "{[websocket] 25000 20000 1000000}" {
		t.Fatalf("open packet = %s", body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("CORS header = %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestManySockets(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	const sockets, addrs = 200, 50
	clients := make([]*rawClient, sockets)
	for i := range sockets {
		clients[i] = dialRaw(t, e.wsURL())
		a, _ := e.addr(t, i%addrs)
		clients[i].emit(t, "subscribe", map[string]any{"address": a})
	}
	for _, c := range clients {
		c.expect(t, "subscribed")
		c.expect(t, "balance_changed")
	}
	if n := e.be.Calls(chainviewtest.MSubscribe); n > addrs {
		t.Fatalf("%d backend subscriptions for %d addresses", n, addrs)
	}
	// Every address changes once, with a balance that names it.
	for a := range addrs {
		_, sc := e.addr(t, a)
		e.be.SetBalance(sc.Hash, int64(a+1), 0)
		e.change(t, sc.Hash)
	}
	e.block(1234)
	for i, c := range clients {
		var sawBlock, sawBalance bool
		for range 2 {
			ev := c.next(t)
			switch ev.Name {
			case "block":
				sawBlock = string(ev.Data) == `{"height":1234}`
			case "balance_changed":
				var p struct{ Confirmed int }
				_ = json.Unmarshal(ev.Data, &p)
				if p.Confirmed != i%addrs+1 {
					t.Fatalf("socket %d got the balance of another address: %s", i, ev.Data)
				}
				sawBalance = true
			}
		}
		if !sawBlock || !sawBalance {
			t.Fatalf("socket %d: block %v balance %v", i, sawBlock, sawBalance)
		}
	}
	for _, c := range clients {
		c.quiet(t, 0)
	}
	time.Sleep(100 * time.Millisecond)
	for i, c := range clients {
		if len(c.events) != 0 {
			t.Fatalf("socket %d got extra events", i)
		}
	}
	if n := e.be.Calls(chainviewtest.MSubscribe); n > addrs {
		t.Fatalf("%d backend subscriptions for %d addresses", n, addrs)
	}
}
