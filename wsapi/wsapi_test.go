package wsapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/wsapi"
)

const testCoin = "bitweb"

type testEnv struct {
	be     *chainviewtest.Backend
	svc    *chainview.Service
	hub    *hub.Hub
	srv    *wsapi.Server
	ts     *httptest.Server
	params *chain.Params
}

func newTestEnv(t testing.TB, hcfg hub.Config, cfg wsapi.Config) *testEnv {
	t.Helper()
	params, err := chain.Lookup("bitweb", "mainnet")
	if err != nil {
		t.Fatal(err)
	}
	be := chainviewtest.New()
	be.SetTip(1000)
	svc := chainview.New(be, chainview.Config{})
	h := hub.New(hcfg)
	if err := h.AddCoin(testCoin, svc); err != nil {
		t.Fatal(err)
	}
	srv, err := wsapi.New(h, testCoin, hub.ChainDecoder(params), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		srv.Close()
		ts.Close()
		h.Close()
		svc.Close()
	})
	return &testEnv{be: be, svc: svc, hub: h, srv: srv, ts: ts, params: params}
}

func (e *testEnv) addr(t testing.TB, i int) (string, chainview.Script) {
	t.Helper()
	spk := append([]byte{0x00, 0x14}, []byte(fmt.Sprintf("%020d", i))...)
	a, err := e.params.Encode(spk)
	if err != nil {
		t.Fatal(err)
	}
	return a, chainview.NewScript(spk)
}

func (e *testEnv) change(sh walletgate.ScriptHash) {
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: testCoin, ScriptHash: sh})
}

func (e *testEnv) block(h int64) {
	e.svc.Publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: testCoin, Tip: walletgate.Tip{Height: h}})
}

type client struct {
	c    *websocket.Conn
	msgs chan string
	err  chan error
}

// dial connects; with read false nothing is ever read (a stalled client).
func (e *testEnv) dial(t testing.TB, read bool) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(8 << 20)
	cl := &client{c: c, msgs: make(chan string, 1000), err: make(chan error, 1)}
	if read {
		go func() {
			for {
				_, b, err := c.Read(context.Background())
				if err != nil {
					cl.err <- err
					return
				}
				cl.msgs <- string(b)
			}
		}()
	}
	t.Cleanup(func() { c.CloseNow() })
	return cl
}

func (cl *client) send(t testing.TB, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func (cl *client) next(t testing.TB) string {
	t.Helper()
	select {
	case m := <-cl.msgs:
		return m
	case err := <-cl.err:
		t.Fatalf("connection ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5 s")
	}
	return ""
}

func (cl *client) quiet(t testing.TB) {
	t.Helper()
	select {
	case m := <-cl.msgs:
		t.Fatalf("unexpected message %s", m)
	case <-time.After(150 * time.Millisecond):
	}
}

func TestMethods(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{})
	a, sc := e.addr(t, 1)
	tx1, tx2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	e.be.SetBalance(sc.Hash, 5000, -200)
	e.be.SetUnspent(sc.Hash, []walletgate.UTXO{{TxHash: tx1, TxPos: 0, Height: 900, Value: 5000}, {TxHash: tx2, TxPos: 1, Height: 0, Value: 300}})
	e.be.SetHistory(sc.Hash, []walletgate.HistoryEntry{{TxHash: tx1, Height: 900}})
	e.be.AddTx(tx1, `{"txid":"`+tx1+`","vin":[{"coinbase":"03"}],"vout":[{"n":0,"value":0.00005,"scriptPubKey":{"hex":"`+sc.Hex+`","address":"`+a+`"}}],"blocktime":1700000000}`, "00")
	e.be.AddTx(tx2, `{"txid":"`+tx2+`","vin":[{"txid":"`+tx1+`","vout":0}],"vout":[]}`, "00")
	bad := a[:len(a)-1] + map[bool]string{true: "q", false: "p"}[a[len(a)-1] != 'q']

	tests := []struct{ name, req, want string }{
		{"info", `{"id":1,"method":"getInfo"}`, `{"id":1,"result":{"blocks":1000}}`},
		{"balance", `{"id":"b","method":"getBalance","params":{"address":"` + a + `"}}`, `{"id":"b","result":{"balance":4800,"confirmed":5000,"unconfirmed":-200}}`},
		{"unspent", `{"id":2,"method":"getUnspent","params":{"address":"` + a + `"}}`,
			`{"id":2,"result":[{"coinbase":true,"height":900,"index":0,"script":"` + sc.Hex + `","txid":"` + tx1 + `","value":5000},{"coinbase":false,"height":0,"index":1,"script":"` + sc.Hex + `","txid":"` + tx2 + `","value":300}]}`},
		{"unspent confirmed", `{"id":3,"method":"getUnspent","params":{"address":"` + a + `","confirmed":true}}`,
			`{"id":3,"result":[{"coinbase":true,"height":900,"index":0,"script":"` + sc.Hex + `","txid":"` + tx1 + `","value":5000}]}`},
		{"unspent amount", `{"id":4,"method":"getUnspent","params":{"address":"` + a + `","amount":1000}}`,
			`{"id":4,"result":[{"coinbase":true,"height":900,"index":0,"script":"` + sc.Hex + `","txid":"` + tx1 + `","value":5000}]}`},
		{"history", `{"id":5,"method":"getHistory","params":{"address":"` + a + `","limit":5}}`,
			`{"id":5,"result":[{"amount":5000,"direction":"in","height":900,"mine_in":0,"mine_out":5000,"timestamp":1700000000,"txid":"` + tx1 + `"}]}`},
		{"tx", `{"id":6,"method":"getTx","params":{"txid":"` + tx1 + `"}}`,
			`{"id":6,"result":{"blocktime":1700000000,"txid":"` + tx1 + `","vin":[{"coinbase":"03"}],"vout":[{"n":0,"scriptPubKey":{"address":"` + a + `","hex":"` + sc.Hex + `"},"value":0.00005,"value_sat":5000}]}}`},
		{"tx unknown", `{"id":7,"method":"getTx","params":{"txid":"` + strings.Repeat("9", 64) + `"}}`,
			`{"id":7,"error":{"code":400,"message":"backend error 2: ` + strings.ReplaceAll(chainviewtest.UnknownTxMessage, "'", "'") + `"}}`},
		{"bad txid", `{"id":8,"method":"getTx","params":{"txid":"xyz"}}`, `{"id":8,"error":{"code":400,"message":"Invalid txid  -  expected 64 hex characters"}}`},
		{"bad address", `{"id":9,"method":"getBalance","params":{"address":"short"}}`, `{"id":9,"error":{"code":400,"message":"` + hub.MsgBadAddress + `","address":"short"}}`},
		{"bad checksum", `{"id":10,"method":"getBalance","params":{"address":"` + bad + `"}}`, `{"id":10,"error":{"code":400,"message":"Invalid bech32/bech32m address: '` + bad + `'","address":"` + bad + `"}}`},
		{"negative amount", `{"id":11,"method":"getUnspent","params":{"address":"` + a + `","amount":-1}}`, `{"id":11,"error":{"code":400,"message":"amount must be a non-negative integer"}}`},
		{"wrong param type", `{"id":12,"method":"getUnspent","params":{"address":"` + a + `","amount":"x"}}`, `{"id":12,"error":{"code":400,"message":"invalid params: field amount has the wrong type (string)"}}`},
		{"unknown method", `{"id":13,"method":"nope"}`, `{"id":13,"error":{"code":404,"message":"unknown method \"nope\""}}`},
		{"missing method", `{"id":14}`, `{"id":14,"error":{"code":400,"message":"missing method"}}`},
		{"params not object", `{"id":15,"method":"getInfo","params":[1]}`, `{"id":15,"error":{"code":400,"message":"params must be a JSON object"}}`},
		{"not an object", `[1,2]`, `{"id":null,"error":{"code":400,"message":"request must be a JSON object {\"id\",\"method\",\"params\"}"}}`},
		{"broken JSON keeps id", `{"id":16,"method":5}`, `{"id":16,"error":{"code":400,"message":"malformed request: field method has the wrong type (number)"}}`},
		{"object id", `{"id":{"a":1},"method":"getInfo"}`, `{"id":null,"error":{"code":400,"message":"id must be a number, a string or null"}}`},
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
}

func TestSubscriptionsAndPushes(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{})
	a, sa := e.addr(t, 1)
	b, sb := e.addr(t, 2)
	e.be.SetBalance(sa.Hash, 10, 0)
	e.be.SetBalance(sb.Hash, 20, 0)
	cl := e.dial(t, true)
	cl.send(t, `{"id":1,"method":"subscribeAddresses","params":{"addresses":[" `+a+`","`+b+`"]}}`)
	if got, want := cl.next(t), `{"id":1,"result":{"subscribed":["`+a+`","`+b+`"]}}`; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	pushes := map[string]bool{cl.next(t): true, cl.next(t): true}
	for _, want := range []string{
		`{"event":"balance_changed","data":{"address":"` + a + `","balance":10,"confirmed":10,"unconfirmed":0,"pending_out":0,"utxos":[],"height":1000}}`,
		`{"event":"balance_changed","data":{"address":"` + b + `","balance":20,"confirmed":20,"unconfirmed":0,"pending_out":0,"utxos":[],"height":1000}}`,
	} {
		if !pushes[want] {
			t.Fatalf("missing push %s; got %v", want, pushes)
		}
	}
	if n := e.be.Calls(chainviewtest.MSubscribe); n != 2 {
		t.Fatalf("backend subscriptions = %d", n)
	}

	e.block(1001) // not subscribed to blocks yet
	cl.quiet(t)
	cl.send(t, `{"id":2,"method":"subscribeBlocks"}`)
	if got := cl.next(t); got != `{"id":2,"result":{"blocks":1001}}` {
		t.Fatalf("subscribeBlocks: %s", got)
	}
	e.block(1002)
	if got := cl.next(t); got != `{"event":"block","data":{"height":1002}}` {
		t.Fatalf("block push: %s", got)
	}

	e.be.SetBalance(sb.Hash, 25, 0)
	e.change(sb.Hash)
	if got := cl.next(t); !strings.Contains(got, `"address":"`+b+`","balance":25,`) || !strings.Contains(got, `"height":1002}`) {
		t.Fatalf("change push: %s", got)
	}
	cl.send(t, `{"id":3,"method":"unsubscribeAddresses","params":{"addresses":["`+b+`"]}}`)
	if got := cl.next(t); got != `{"id":3,"result":{"unsubscribed":["`+b+`"]}}` {
		t.Fatalf("unsubscribe: %s", got)
	}
	if n := e.be.Subscribed(sb.Hash); n != 0 {
		t.Fatalf("b still subscribed (%d)", n)
	}
	e.change(sb.Hash)
	cl.quiet(t)

	cl.c.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for e.be.Subscribed(sa.Hash) != 0 || e.hub.Stats().Conns != 0 {
		if time.Now().After(deadline) {
			t.Fatal("closing the socket did not release its subscriptions")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSubscribeLimits(t *testing.T) {
	e := newTestEnv(t, hub.Config{MaxWatchesPerConn: 3}, wsapi.Config{MaxAddresses: 2})
	a, sa := e.addr(t, 1)
	b, _ := e.addr(t, 2)
	c, _ := e.addr(t, 3)
	d, _ := e.addr(t, 4)
	cl := e.dial(t, true)
	cl.send(t, `{"id":1,"method":"subscribeAddresses","params":{"addresses":["`+a+`","`+b+`","`+c+`"]}}`)
	if got := cl.next(t); got != `{"id":1,"error":{"code":413,"message":"too many addresses in one request: 3 (max 2)"}}` {
		t.Fatalf("got %s", got)
	}
	cl.send(t, `{"id":2,"method":"subscribeAddresses","params":{"addresses":["`+a+`","oops"]}}`)
	if got := cl.next(t); got != `{"id":2,"error":{"code":400,"message":"`+hub.MsgBadAddress+`","address":"oops"}}` {
		t.Fatalf("got %s", got)
	}
	if n := e.be.Subscribed(sa.Hash); n != 0 {
		t.Fatalf("a request with a bad address subscribed %d", n)
	}
	cl.send(t, `{"id":3,"method":"subscribeAddresses","params":{"addresses":["`+a+`","`+b+`"]}}`)
	cl.next(t)
	cl.next(t)
	cl.next(t)
	cl.send(t, `{"id":4,"method":"subscribeAddresses","params":{"addresses":["`+c+`","`+d+`"]}}`)
	if got := cl.next(t); got != `{"id":4,"error":{"code":413,"message":"too many addresses on this connection (max 3)","address":"`+d+`"}}` {
		t.Fatalf("got %s", got)
	}
	if w := e.hub.Stats().Watched; w != 2 {
		t.Fatalf("a failed request left %d watched, want the 2 from before", w)
	}
	cl.send(t, `{"id":5,"method":"subscribeAddresses","params":{"addresses":[]}}`)
	if got := cl.next(t); got != `{"id":5,"error":{"code":400,"message":"addresses must be a non-empty list of address strings"}}` {
		t.Fatalf("got %s", got)
	}
}

func TestMessageTooBig(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{MaxMessageBytes: 1024})
	cl := e.dial(t, true)
	cl.send(t, `{"id":1,"method":"getInfo","params":{"pad":"`+strings.Repeat("x", 2000)+`"}}`)
	select {
	case err := <-cl.err:
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("closed with %v, want 1009", err)
		}
	case m := <-cl.msgs:
		t.Fatalf("answered an oversized message: %s", m)
	case <-time.After(5 * time.Second):
		t.Fatal("oversized message did not close the connection")
	}
}

func TestStalledClients(t *testing.T) {
	t.Run("ping timeout", func(t *testing.T) {
		e := newTestEnv(t, hub.Config{}, wsapi.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
		e.dial(t, false) // never reads, so never answers a ping
		deadline := time.Now().Add(5 * time.Second)
		for e.hub.Stats().Conns != 1 {
			time.Sleep(5 * time.Millisecond)
		}
		for e.hub.Stats().Conns != 0 {
			if time.Now().After(deadline) {
				t.Fatal("a client that does not answer pings stayed connected")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("slow consumer", func(t *testing.T) {
		e := newTestEnv(t, hub.Config{QueueSize: 4}, wsapi.Config{})
		a, sa := e.addr(t, 1)
		// Large payloads fill the socket buffers quickly.
		var us []walletgate.UTXO
		for i := range 3000 {
			us = append(us, walletgate.UTXO{TxHash: fmt.Sprintf("%064x", i), Height: 10, Value: 1})
		}
		e.be.SetUnspent(sa.Hash, us)
		slow, fast := e.dial(t, false), e.dial(t, true)
		for _, cl := range []*client{slow, fast} {
			cl.send(t, `{"id":1,"method":"subscribeAddresses","params":{"addresses":["`+a+`"]}}`)
		}
		fast.next(t)
		fast.next(t)
		deadline := time.Now().Add(20 * time.Second)
		for n := 0; e.hub.Stats().Overflows == 0; n++ {
			if time.Now().After(deadline) {
				t.Fatal("a client that never reads was not disconnected")
			}
			e.be.SetBalance(sa.Hash, int64(n), 0)
			e.change(sa.Hash)
			// The reading client keeps getting every state.
			if got := fast.next(t); !strings.Contains(got, fmt.Sprintf(`"confirmed":%d,`, n)) {
				t.Fatalf("fast client got %.80s…, want state %d", got, n)
			}
		}
		e.be.SetBalance(sa.Hash, -1, 0)
		e.change(sa.Hash)
		if got := fast.next(t); !strings.Contains(got, `"confirmed":-1,`) {
			t.Fatalf("fast client after the overflow got %.80s", got)
		}
		for e.hub.Stats().Conns != 1 {
			if time.Now().After(deadline) {
				t.Fatal("slow client still registered")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestRequestsInFlightAreBounded(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{MaxInFlight: 2})
	cl := e.dial(t, true)
	release := e.be.Hold()
	for i := range 5 {
		a, _ := e.addr(t, i)
		cl.send(t, fmt.Sprintf(`{"id":%d,"method":"getBalance","params":{"address":"%s"}}`, i, a))
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.be.Calls(chainviewtest.MBalance); n != 2 {
		release()
		t.Fatalf("%d backend calls in flight, want 2", n)
	}
	release()
	ids := map[string]bool{}
	for range 5 {
		m := cl.next(t)
		if !strings.Contains(m, `"result":{"balance":0,`) {
			t.Fatalf("answer %s", m)
		}
		ids[m[:strings.Index(m, ",")]] = true
	}
	if len(ids) != 5 {
		t.Fatalf("answers %v", ids)
	}
}
