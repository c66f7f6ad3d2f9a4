package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/internal/regtest"
)

// wsMsg is one message of the plain WebSocket API: an answer (id set) or a
// push (event set).
type wsMsg struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	raw    string
}

// wsClient is a /ws client: answers are matched by id, pushes queue in
// order.
type wsClient struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	answers map[string]chan wsMsg
	pushes  chan wsMsg
	closed  chan struct{}
	err     error
	nextID  int
}

func dialWS(t *testing.T, ctx context.Context, url string, hdr http.Header) *wsClient {
	t.Helper()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	// The answer to a 1,000-address subscribe is larger than
	// coder/websocket's default 32 KiB read limit.
	conn.SetReadLimit(1 << 20)
	c := &wsClient{conn: conn, answers: map[string]chan wsMsg{}, pushes: make(chan wsMsg, 100), closed: make(chan struct{})}
	go func() {
		defer close(c.closed)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			m := wsMsg{raw: string(data)}
			if err := json.Unmarshal(data, &m); err != nil {
				c.err = fmt.Errorf("unparsable message %q: %v", data, err)
				return
			}
			if m.Event != "" {
				c.pushes <- m
				continue
			}
			c.mu.Lock()
			ch := c.answers[string(m.ID)]
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}()
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, ""); <-c.closed })
	return c
}

// call sends method with params and returns its answer.
func (c *wsClient) call(t *testing.T, method string, params any) wsMsg {
	t.Helper()
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	ch := make(chan wsMsg, 1)
	c.answers[id] = ch
	c.mu.Unlock()
	req := map[string]any{"id": c.nextID, "method": method}
	if params != nil {
		req["params"] = params
	}
	b, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("send %s: %v", method, err)
	}
	select {
	case m := <-ch:
		if len(m.Error) > 0 && string(m.Error) != "null" {
			t.Fatalf("%s answered an error: %s", method, m.raw)
		}
		return m
	case <-c.closed:
		t.Fatalf("connection closed waiting for the %s answer: %v", method, c.err)
	case <-ctx.Done():
		t.Fatalf("no answer to %s within 20 s", method)
	}
	return wsMsg{}
}

// push returns the next push.
func (c *wsClient) push(t *testing.T, what string) wsMsg {
	t.Helper()
	select {
	case m := <-c.pushes:
		return m
	case <-c.closed:
		t.Fatalf("connection closed waiting for %s: %v", what, c.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30 s", what)
	}
	return wsMsg{}
}

// testWebSocketAPI drives the plain WebSocket API with coder/websocket on
// /ws (the default coin), /ws?coin=btc and /v1/btc/ws: subscribeAddresses,
// subscribeBlocks, getBalance, and the pushes for a payment and its block.
func (s *stack) testWebSocketAPI(t *testing.T, f front) {
	amount := int64(70_000)
	for _, tc := range []struct{ name, path string }{
		{"ws", "/ws"},
		{"ws_coin_query", "/ws?coin=btc"},
		{"v1_btc_ws", "/v1/btc/ws"},
	} {
		amount++
		t.Run(tc.name, func(t *testing.T) { s.wsSession(t, f, tc.path, amount) })
	}
}

func (s *stack) wsSession(t *testing.T, f front, path string, amount int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.waitSynced(t)
	// A page served by the front itself connects with its own Origin.
	c := dialWS(t, ctx, wsURL(f.base)+path, http.Header{"Origin": {f.base}})

	key := regtest.NewKey(t, regtest.P2WPKH)
	addr := key.Address()
	h, err := s.node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := c.call(t, "subscribeAddresses", map[string]any{"addresses": []string{addr}}); string(m.Result) != `{"subscribed":["`+addr+`"]}` {
		t.Fatalf("subscribeAddresses answered %s", m.raw)
	}
	initial := fmt.Sprintf(`{"address":"%s","balance":0,"confirmed":0,"unconfirmed":0,"pending_out":0,"utxos":[],"height":%d}`, addr, h)
	if m := c.push(t, "the initial balance_changed"); m.Event != "balance_changed" || string(m.Data) != initial {
		t.Fatalf("first push %s, want balance_changed %s", m.raw, initial)
	}
	if m := c.call(t, "subscribeBlocks", nil); string(m.Result) != fmt.Sprintf(`{"blocks":%d}`, h) {
		t.Fatalf("subscribeBlocks answered %s, want blocks %d", m.raw, h)
	}
	if m := c.call(t, "getBalance", map[string]any{"address": addr}); string(m.Result) != `{"balance":0,"confirmed":0,"unconfirmed":0}` {
		t.Fatalf("getBalance before the payment answered %s", m.raw)
	}

	op, err := s.node.Fund(ctx, key.Script(), amount)
	if err != nil {
		t.Fatal(err)
	}
	var mempool sioPayload
	for {
		m := c.push(t, "balance_changed for the mempool payment")
		if m.Event != "balance_changed" {
			t.Fatalf("got %s, want balance_changed for the payment", m.raw)
		}
		if string(m.Data) == initial {
			continue
		}
		mempool = parseBalance(t, m.Data)
		break
	}
	if mempool.Address != addr || mempool.Balance != amount || mempool.Unconfirmed != amount || mempool.Confirmed != 0 {
		t.Fatalf("mempool push %+v, want %s unconfirmed %d", mempool, addr, amount)
	}
	checkUTXO(t, "mempool push", mempool, op, key.Script(), 0)
	if m := c.call(t, "getBalance", map[string]any{"address": addr}); string(m.Result) != fmt.Sprintf(`{"balance":%d,"confirmed":0,"unconfirmed":%d}`, amount, amount) {
		t.Fatalf("getBalance after the payment answered %s", m.raw)
	}

	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h++
	var confirmed sioPayload
	sawBlock := false
	for {
		m := c.push(t, "the block and the confirmation")
		if m.Event == "block" {
			if string(m.Data) != fmt.Sprintf(`{"height":%d}`, h) {
				t.Fatalf("block push %s, want height %d", m.raw, h)
			}
			sawBlock = true
			continue
		}
		if m.Event != "balance_changed" {
			t.Fatalf("unexpected push %s", m.raw)
		}
		p := parseBalance(t, m.Data)
		if p.Confirmed == 0 {
			continue // a repeat of the mempool state
		}
		if !sawBlock {
			t.Fatalf("the confirmation %s came before the block event at height %d", m.raw, h)
		}
		confirmed = p
		break
	}
	if confirmed.Balance != amount || confirmed.Confirmed != amount || confirmed.Unconfirmed != 0 || confirmed.Height != h {
		t.Fatalf("confirmation push %+v, want confirmed %d at height %d", confirmed, amount, h)
	}
	checkUTXO(t, "confirmation push", confirmed, op, key.Script(), h)
	if m := c.call(t, "getBalance", map[string]any{"address": addr}); string(m.Result) != fmt.Sprintf(`{"balance":%d,"confirmed":%d,"unconfirmed":0}`, amount, amount) {
		t.Fatalf("getBalance after the block answered %s", m.raw)
	}
	if m := c.call(t, "getInfo", nil); string(m.Result) != fmt.Sprintf(`{"blocks":%d}`, h) {
		t.Fatalf("getInfo answered %s, want blocks %d", m.raw, h)
	}
}
