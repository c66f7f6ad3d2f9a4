package socketio_test

import (
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

const accountKey = "admin-key"

func checkKey(_, _, key string) bool {
	return subtle.ConstantTimeCompare([]byte(key), []byte(accountKey)) == 1
}

func txupdatePayload(t *testing.T, account string, conf int64) []byte {
	t.Helper()
	txid := strings.Repeat("ef", 32)
	b, err := walletgate.MarshalTxUpdate(walletgate.TxUpdate{
		EventID: walletgate.TxUpdateEventID(testCoin, txid, "web1qdeposit", conf), Coin: testCoin,
		TransactionType: walletgate.TxTypeDeposit, TransactionID: 42, NetworkTxID: 9, Account: account,
		TxID: txid, Address: "web1qdeposit", Amount: 21000, Credited: conf >= 1, Confirmations: conf,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ack is what a raw client sees of an ACK packet: id then arguments.
func ack(id, args string) string { return strconv.Quote(id + args) }

func TestAccountEventsDirect(t *testing.T) {
	e := newTestEnv(t, hub.Config{AccountKey: checkKey, MaxAccountsPerConn: 2}, socketio.Config{})
	rc := dialRaw(t, e.wsURL())
	expect := func(name, data string) {
		t.Helper()
		if got := string(rc.expect(t, name)); got != data {
			t.Fatalf("%s\n got %s\nwant %s", name, got, data)
		}
	}

	// Without an ack id the answers are events, as subscribe's are.
	rc.emit(t, "subscribe_account", map[string]any{"account": "alice", "key": "guess"})
	expect("error", `{"account":"alice","message":"wrong key for account \"alice\""}`)
	rc.emit(t, "subscribe_account", map[string]any{"account": "carol", "key": accountKey})
	expect("account_subscribed", `{"account":"carol"}`)

	// With one, the ack is the answer.
	for _, tc := range []struct{ name, frame, want string }{
		{"subscribe", `425["subscribe_account",{"account":"alice","key":"` + accountKey + `"}]`, ack("5", `[{"subscribed":"alice"}]`)},
		{"wrong key", `426["subscribe_account",{"account":"bob","key":"nope"}]`, ack("6", `[{"error":{"code":401,"message":"wrong key for account \"bob\""}}]`)},
		{"not an object", `427["subscribe_account","alice"]`, ack("7", `[{"error":{"code":400,"message":"subscribe_account takes {account, key}: account and key must be strings"}}]`)},
		{"account not a string", `428["subscribe_account",{"account":5,"key":"k"}]`, ack("8", `[{"error":{"code":400,"message":"subscribe_account takes {account, key}: account and key must be strings"}}]`)},
		{"no account", `429["subscribe_account",{"key":"` + accountKey + `"}]`, ack("9", `[{"error":{"code":400,"message":"account is required"}}]`)},
		{"long account", `4210["subscribe_account",{"account":"` + strings.Repeat("x", 129) + `","key":"` + accountKey + `"}]`, ack("10", `[{"error":{"code":400,"message":"account is limited to 128 bytes"}}]`)},
		{"too many", `4211["subscribe_account",{"account":"dave","key":"` + accountKey + `"}]`, ack("11", `[{"error":{"code":413,"message":"too many accounts on this connection (max 2)"}}]`)},
		{"unsubscribe bad", `4212["unsubscribe_account",{"account":[]}]`, ack("12", `[{"error":{"code":400,"message":"unsubscribe_account takes {account}: account must be a string"}}]`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc.send(t, tc.frame)
			if got := string(rc.expect(t, "#ack")); got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}

	p := txupdatePayload(t, "alice", 1)
	if err := e.hub.PublishAccountEvent(testCoin, "alice", p); err != nil {
		t.Fatal(err)
	}
	expect("txupdate", string(p))
	pc := txupdatePayload(t, "carol", 3)
	if err := e.hub.PublishAccountEvent(testCoin, "carol", pc); err != nil {
		t.Fatal(err)
	}
	expect("txupdate", string(pc))

	rc.send(t, `4213["unsubscribe_account",{"account":"alice"}]`)
	if got := string(rc.expect(t, "#ack")); got != ack("13", `[{"unsubscribed":"alice"}]`) {
		t.Fatalf("unsubscribe: %s", got)
	}
	rc.emit(t, "unsubscribe_account", map[string]any{"account": "carol"})
	expect("account_unsubscribed", `{"account":"carol"}`)
	if err := e.hub.PublishAccountEvent(testCoin, "alice", txupdatePayload(t, "alice", 2)); err != nil {
		t.Fatal(err)
	}
	rc.quiet(t, 150*time.Millisecond)

	rc.emit(t, "subscribe_account", map[string]any{"account": "alice", "key": accountKey})
	expect("account_subscribed", `{"account":"alice"}`)
	rc.closeNow()
	waitAccounts(t, e, 0)
}

// An ack in another namespace names it, as the library's do.
func TestAccountAckInNamespace(t *testing.T) {
	e := newTestEnv(t, hub.Config{AccountKey: checkKey}, socketio.Config{})
	if err := e.srv.Serve("/btc", testCoin, hub.ChainDecoder(e.params)); err != nil {
		t.Fatal(err)
	}
	c := dialBare(t, e.wsURL())
	readFrame(t, c) // open
	writeFrame(t, c, "40/btc,")
	if f := readFrame(t, c); !strings.HasPrefix(f, `40/btc,{"sid":"`) {
		t.Fatalf("connect: %s", f)
	}
	writeFrame(t, c, `42/btc,3["subscribe_account",{"account":"alice","key":"`+accountKey+`"}]`)
	if f := readFrame(t, c); f != `43/btc,3[{"subscribed":"alice"}]` {
		t.Fatalf("ack: %s", f)
	}
	p := txupdatePayload(t, "alice", 1)
	if err := e.hub.PublishAccountEvent(testCoin, "alice", p); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, c); f != `42/btc,["txupdate",`+string(p)+`]` {
		t.Fatalf("push: %s", f)
	}
}

func TestAccountSubscriptionsDisabled(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	rc := dialRaw(t, e.wsURL())
	rc.send(t, `421["subscribe_account",{"account":"alice","key":"`+accountKey+`"}]`)
	if got := string(rc.expect(t, "#ack")); got != ack("1", `[{"error":{"code":403,"message":"account subscriptions are not enabled"}}]`) {
		t.Fatalf("got %s", got)
	}
	rc.emit(t, "subscribe_account", map[string]any{"account": "alice", "key": accountKey})
	if got := string(rc.expect(t, "error")); got != `{"account":"alice","message":"account subscriptions are not enabled"}` {
		t.Fatalf("got %s", got)
	}
}

func waitAccounts(t *testing.T, e *testEnv, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Stats().Accounts != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d accounts subscribed, want %d", e.hub.Stats().Accounts, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The official client over every transport mode: a websocket, polling
// upgraded to websocket, and polling alone.
func TestAccountEventsOfficialClient(t *testing.T) {
	for _, tc := range officialModes {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, hub.Config{AccountKey: checkKey}, socketio.Config{})
			nc := startNodeClient(t, e.ts.URL, tc.mode)
			awaitConnected(t, nc, tc.mode)

			nc.emitAck(t, "subscribe_account", map[string]any{"account": "alice", "key": "guess"})
			if d := string(nc.expect(t, "ack")["data"]); d != `{"error":{"code":401,"message":"wrong key for account \"alice\""}}` {
				t.Fatalf("wrong key, ack: %s", d)
			}
			nc.emit(t, "subscribe_account", map[string]any{"account": "alice", "key": "guess2"})
			if d := string(nc.expect(t, "error")["data"]); d != `{"account":"alice","message":"wrong key for account \"alice\""}` {
				t.Fatalf("wrong key, event: %s", d)
			}
			if n := e.hub.Stats().Accounts; n != 0 {
				t.Fatalf("a wrong key subscribed (%d accounts)", n)
			}

			nc.emitAck(t, "subscribe_account", map[string]any{"account": "alice", "key": accountKey})
			if d := string(nc.expect(t, "ack")["data"]); d != `{"subscribed":"alice"}` {
				t.Fatalf("subscribe ack: %s", d)
			}
			p := txupdatePayload(t, "alice", 1)
			if err := e.hub.PublishAccountEvent(testCoin, "alice", p); err != nil {
				t.Fatal(err)
			}
			d := nc.expect(t, "txupdate")["data"]
			if string(d) != string(p) {
				t.Fatalf("txupdate\n got %s\nwant %s", d, p)
			}
			if got, err := walletgate.UnmarshalTxUpdate(d); err != nil || got.Account != "alice" || got.Amount != 21000 || got.Confirmations != 1 {
				t.Fatalf("decoded txupdate %+v, %v", got, err)
			}

			nc.emitAck(t, "unsubscribe_account", map[string]any{"account": "alice"})
			if d := string(nc.expect(t, "ack")["data"]); d != `{"unsubscribed":"alice"}` {
				t.Fatalf("unsubscribe ack: %s", d)
			}
			waitAccounts(t, e, 0)
		})
	}
}

// awaitConnected reads the driver's lines up to the namespace connect (and,
// for "polling", the upgrade, which may come before or after it).
func awaitConnected(t *testing.T, nc *nodeClient, mode string) {
	t.Helper()
	want := map[string]bool{"open": true, "connect": true}
	if mode == "polling" {
		want["upgrade"] = true
	}
	for len(want) > 0 {
		select {
		case m := <-nc.lines:
			var ev string
			_ = json.Unmarshal(m["event"], &ev)
			if !want[ev] {
				t.Fatalf("driver saw %s while connecting: %s", ev, fmtLine(m))
			}
			if tr := string(m["transport"]); ev == "open" && tr != `"websocket"` && mode == "websocket" || ev == "open" && tr != `"polling"` && mode != "websocket" {
				t.Fatalf("opened over %s in mode %s", tr, mode)
			}
			delete(want, ev)
		case <-time.After(10 * time.Second):
			t.Fatalf("still waiting for %v", want)
		}
	}
}
