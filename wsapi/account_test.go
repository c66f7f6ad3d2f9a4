package wsapi_test

import (
	"crypto/subtle"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/wsapi"
)

const accountKey = "admin-key"

func checkKey(_, _, key string) bool {
	return subtle.ConstantTimeCompare([]byte(key), []byte(accountKey)) == 1
}

func txupdatePayload(t *testing.T, account string, conf int64) string {
	t.Helper()
	txid := strings.Repeat("cd", 32)
	b, err := walletgate.MarshalTxUpdate(walletgate.TxUpdate{
		EventID: walletgate.TxUpdateEventID(testCoin, txid, "web1qdeposit", conf), Coin: testCoin,
		TransactionType: walletgate.TxTypeDeposit, TransactionID: 11, NetworkTxID: 5, Account: account,
		TxID: txid, Address: "web1qdeposit", Amount: 21000, Credited: conf >= 1, Confirmations: conf,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAccountPushes(t *testing.T) {
	e := newTestEnv(t, hub.Config{AccountKey: checkKey}, wsapi.Config{})
	alice, bob := e.dial(t, true), e.dial(t, true)
	alice.send(t, `{"id":1,"method":"subscribeAccount","params":{"account":"alice","key":"`+accountKey+`"}}`)
	if got := alice.next(t); got != `{"id":1,"result":{"subscribed":"alice"}}` {
		t.Fatalf("subscribeAccount: %s", got)
	}
	bob.send(t, `{"id":1,"method":"subscribeAccount","params":{"account":"bob","key":"`+accountKey+`"}}`)
	if got := bob.next(t); got != `{"id":1,"result":{"subscribed":"bob"}}` {
		t.Fatalf("subscribeAccount: %s", got)
	}

	p := txupdatePayload(t, "alice", 1)
	if err := e.hub.PublishAccountEvent(testCoin, "alice", []byte(p)); err != nil {
		t.Fatal(err)
	}
	if got, want := alice.next(t), `{"event":"txupdate","data":`+p+`}`; got != want {
		t.Fatalf("push\n got %s\nwant %s", got, want)
	}
	bob.quiet(t)

	alice.send(t, `{"id":2,"method":"unsubscribeAccount","params":{"account":"alice"}}`)
	if got := alice.next(t); got != `{"id":2,"result":{"unsubscribed":"alice"}}` {
		t.Fatalf("unsubscribeAccount: %s", got)
	}
	if err := e.hub.PublishAccountEvent(testCoin, "alice", []byte(txupdatePayload(t, "alice", 2))); err != nil {
		t.Fatal(err)
	}
	alice.quiet(t)

	// Closing the socket releases its accounts.
	bob.c.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Stats().Accounts != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("closing the socket left %d accounts subscribed", e.hub.Stats().Accounts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAccountErrors(t *testing.T) {
	e := newTestEnv(t, hub.Config{AccountKey: checkKey, MaxAccountsPerConn: 2}, wsapi.Config{})
	sub := func(id, account, key string) string {
		return `{"id":` + id + `,"method":"subscribeAccount","params":{"account":"` + account + `","key":"` + key + `"}}`
	}
	long := strings.Repeat("a", 129)
	tests := []struct{ name, req, want string }{
		{"missing account", `{"id":1,"method":"subscribeAccount","params":{"key":"` + accountKey + `"}}`,
			`{"id":1,"error":{"code":400,"message":"account is required"}}`},
		{"no params", `{"id":2,"method":"subscribeAccount"}`, `{"id":2,"error":{"code":400,"message":"account is required"}}`},
		{"long account", sub("3", long, accountKey), `{"id":3,"error":{"code":400,"message":"account is limited to 128 bytes"}}`},
		{"account not a string", `{"id":4,"method":"subscribeAccount","params":{"account":5,"key":"x"}}`,
			`{"id":4,"error":{"code":400,"message":"invalid params: field account has the wrong type (number)"}}`},
		{"wrong key", sub("5", "alice", "guess"), `{"id":5,"error":{"code":401,"message":"wrong key for account \"alice\""}}`},
		{"no key", `{"id":6,"method":"subscribeAccount","params":{"account":"alice"}}`, `{"id":6,"error":{"code":401,"message":"wrong key for account \"alice\""}}`},
		{"first", sub("7", "a1", accountKey), `{"id":7,"result":{"subscribed":"a1"}}`},
		{"second", sub("8", "a2", accountKey), `{"id":8,"result":{"subscribed":"a2"}}`},
		{"third", sub("9", "a3", accountKey), `{"id":9,"error":{"code":413,"message":"too many accounts on this connection (max 2)"}}`},
		{"unsubscribe missing account", `{"id":10,"method":"unsubscribeAccount","params":{}}`, `{"id":10,"error":{"code":400,"message":"account is required"}}`},
		{"unsubscribe unknown", `{"id":11,"method":"unsubscribeAccount","params":{"account":"zed"}}`, `{"id":11,"result":{"unsubscribed":"zed"}}`},
	}
	cl := e.dial(t, true)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl.send(t, tc.req)
			if got := cl.next(t); got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	if n := e.hub.Stats().Accounts; n != 2 {
		t.Fatalf("%d accounts subscribed, want a1 and a2", n)
	}

	// Too many wrong keys on one connection: even the right one is refused.
	g := e.dial(t, true)
	for i := range hub.DefaultConfig().MaxKeyFailures {
		g.send(t, sub("1", "alice", "guess"))
		if got := g.next(t); !strings.Contains(got, `"code":401`) {
			t.Fatalf("guess %d: %s", i, got)
		}
	}
	g.send(t, sub("2", "alice", accountKey))
	if got := g.next(t); got != `{"id":2,"error":{"code":401,"message":"too many wrong keys on this connection (max 5)"}}` {
		t.Fatalf("after the failure limit: %s", got)
	}
}

func TestAccountSubscriptionsDisabled(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{})
	cl := e.dial(t, true)
	cl.send(t, `{"id":1,"method":"subscribeAccount","params":{"account":"alice","key":"`+accountKey+`"}}`)
	if got := cl.next(t); got != `{"id":1,"error":{"code":403,"message":"account subscriptions are not enabled"}}` {
		t.Fatalf("got %s", got)
	}
}
