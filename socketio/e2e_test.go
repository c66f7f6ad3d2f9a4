package socketio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/internal/stacktest"
	"github.com/walletgate/walletgate/socketio"
	"github.com/walletgate/walletgate/wsapi"
)

// realStack is the whole push path over real parts: btcd regtest →
// electrumtest indexer and server → electrum client → wallet service →
// hub → Socket.IO and /ws on one HTTP server.
type realStack struct {
	node   *regtest.Node
	idx    *electrumtest.Indexer
	esrv   *electrumtest.Server
	hub    *hub.Hub
	http   *httptest.Server
	params *chain.Params
}

func startRealStack(t *testing.T) *realStack {
	t.Helper()
	st := stacktest.Start(t, stacktest.Options{Electrum: electrumtest.Config{FlushRule: true}, SyncEvery: 50 * time.Millisecond})
	svc := st.Wallet

	params, err := chain.Lookup("bitweb", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Config{})
	if err := h.AddCoin("bitweb", svc); err != nil {
		t.Fatal(err)
	}
	sio, err := socketio.NewBitweb(h, "bitweb", hub.ChainDecoder(params), socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := wsapi.New(h, "bitweb", hub.ChainDecoder(params), wsapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	mux.Handle("/ws", ws)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		sio.Close()
		ws.Close()
		hs.Close()
		h.Close()
	})
	return &realStack{node: st.Node, idx: st.Indexer, esrv: st.Server, hub: h, http: hs, params: params}
}

// wsClient is a /ws client.
type wsClient struct {
	c    *websocket.Conn
	msgs chan string
}

func dialWS(t *testing.T, base string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(8 << 20)
	wc := &wsClient{c: c, msgs: make(chan string, 100)}
	go func() {
		defer close(wc.msgs)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			wc.msgs <- string(b)
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return wc
}

func (wc *wsClient) call(t *testing.T, req string) {
	t.Helper()
	if err := wc.c.Write(context.Background(), websocket.MessageText, []byte(req)); err != nil {
		t.Fatal(err)
	}
}

// waitFor reads messages until one satisfies ok, within d.
func (wc *wsClient) waitFor(t *testing.T, what string, d time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m, open := <-wc.msgs:
			if !open {
				t.Fatalf("/ws closed while waiting for %s", what)
			}
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("/ws: no %s within %s", what, d)
		}
	}
}

// waitEvent reads Socket.IO events until one named name satisfies ok.
func (rc *rawClient) waitEvent(t *testing.T, name string, d time.Duration, ok func(json.RawMessage) bool) json.RawMessage {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-rc.events:
			if ev.Name == name && ok(ev.Data) {
				return ev.Data
			}
		case <-rc.closed:
			t.Fatalf("socket closed while waiting for %s: %v", name, rc.err)
		case <-deadline:
			t.Fatalf("socket.io: no matching %s within %s", name, d)
		}
	}
}

type payload struct {
	Balance, Confirmed, Unconfirmed, PendingOut, Height int64
	UTXOs                                               []struct {
		TxID   string
		Height int64
		Value  int64
	}
}

func parsePayload(t *testing.T, raw []byte) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("payload %s: %v", raw, err)
	}
	return p
}

func TestEndToEndRealNode(t *testing.T) {
	s := startRealStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := regtest.NewKey(t, regtest.P2WPKH)
	addr, err := s.params.Encode(key.Script())
	if err != nil {
		t.Fatal(err)
	}
	tip, err := s.node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}

	sio := dialRaw(t, "ws"+strings.TrimPrefix(s.http.URL, "http")+"/socket.io/?EIO=4&transport=websocket")
	sio.emit(t, "subscribe", map[string]any{"address": addr})
	if d := string(sio.expect(t, "subscribed")); d != `{"address":"`+addr+`"}` {
		t.Fatalf("subscribed %s", d)
	}
	if p := parsePayload(t, sio.expect(t, "balance_changed")); p.Balance != 0 || p.Height != tip || len(p.UTXOs) != 0 {
		t.Fatalf("initial payload %+v, tip %d", p, tip)
	}
	ws := dialWS(t, s.http.URL)
	ws.call(t, `{"id":1,"method":"subscribeAddresses","params":{"addresses":["`+addr+`"]}}`)
	ws.call(t, `{"id":2,"method":"subscribeBlocks"}`)
	ws.waitFor(t, "initial balance", 5*time.Second, func(m string) bool {
		return strings.HasPrefix(m, `{"event":"balance_changed","data":{"address":"`+addr+`","balance":0,`)
	})

	// A real transaction to the address reaches both transports.
	sent, err := s.node.Fund(ctx, key.Script(), 100_000)
	if err != nil {
		t.Fatal(err)
	}
	mempool := func(raw json.RawMessage) bool {
		p := parsePayload(t, raw)
		return p.Unconfirmed == 100_000 && len(p.UTXOs) == 1 && p.UTXOs[0].TxID == sent.TxID && p.UTXOs[0].Height == 0
	}
	sio.waitEvent(t, "balance_changed", 2*time.Second, mempool)
	ws.waitFor(t, "mempool balance", 2*time.Second, func(m string) bool {
		return strings.Contains(m, `"event":"balance_changed"`) && strings.Contains(m, `"unconfirmed":100000,`)
	})

	// Mining it: a block with the new height, and the confirmed balance.
	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	want := `{"height":` + strconv.FormatInt(tip+1, 10) + `}`
	sio.waitEvent(t, "block", 5*time.Second, func(d json.RawMessage) bool { return string(d) == want })
	sio.waitEvent(t, "balance_changed", 5*time.Second, func(raw json.RawMessage) bool {
		p := parsePayload(t, raw)
		return p.Confirmed == 100_000 && p.Unconfirmed == 0 && p.Height == tip+1
	})
	ws.waitFor(t, "block", 5*time.Second, func(m string) bool { return m == `{"event":"block","data":`+want+`}` })

	// The Electrum server goes away; a payment arrives meanwhile; it comes
	// back. The client's resync finds the change and the push is made.
	if err := s.esrv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	s.esrv.DropAll()
	second, err := s.node.Fund(ctx, key.Script(), 50_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.idx.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// While the server is down nothing can tell us: no push yet.
	outage := time.After(500 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case ev := <-sio.events:
			if ev.Name == "balance_changed" && parsePayload(t, ev.Data).Unconfirmed == 50_000 {
				t.Fatal("pushed the payment before the Electrum server came back: the outage was not real")
			}
		case <-outage:
			waiting = false
		}
	}
	if err := s.esrv.Refuse(false); err != nil {
		t.Fatal(err)
	}
	sio.waitEvent(t, "balance_changed", 10*time.Second, func(raw json.RawMessage) bool {
		p := parsePayload(t, raw)
		return p.Confirmed == 100_000 && p.Unconfirmed == 50_000 && len(p.UTXOs) == 2 && p.UTXOs[1].TxID == second.TxID
	})
	ws.waitFor(t, "balance after reconnect", 10*time.Second, func(m string) bool {
		return strings.Contains(m, `"confirmed":100000,"unconfirmed":50000,`)
	})
}

// The official client, websocket-only as the Bitweb wallet connects, over
// the real stack.
func TestEndToEndOfficialClient(t *testing.T) {
	s := startRealStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := regtest.NewKey(t, regtest.P2TR)
	addr, err := s.params.Encode(key.Script())
	if err != nil {
		t.Fatal(err)
	}
	tip, err := s.node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nc := startNodeClient(t, s.http.URL, "websocket")
	nc.expect(t, "open")
	nc.expect(t, "connect")
	nc.emit(t, "subscribe", map[string]any{"address": addr})
	nc.expect(t, "subscribed")
	if p := parsePayload(t, nc.expect(t, "balance_changed")["data"]); p.Balance != 0 || p.Height != tip {
		t.Fatalf("initial %+v", p)
	}
	sent, err := s.node.Fund(ctx, key.Script(), 42_000)
	if err != nil {
		t.Fatal(err)
	}
	if p := parsePayload(t, nc.expect(t, "balance_changed")["data"]); p.Unconfirmed != 42_000 || len(p.UTXOs) != 1 || p.UTXOs[0].TxID != sent.TxID {
		t.Fatalf("mempool %+v", p)
	}
	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The block and the confirmation come in either order.
	var sawBlock, sawConfirmed bool
	for !sawBlock || !sawConfirmed {
		select {
		case m := <-nc.lines:
			var ev string
			_ = json.Unmarshal(m["event"], &ev)
			switch ev {
			case "block":
				sawBlock = string(m["data"]) == `{"height":`+strconv.FormatInt(tip+1, 10)+`}`
			case "balance_changed":
				p := parsePayload(t, m["data"])
				sawConfirmed = p.Confirmed == 42_000 && p.Height == tip+1
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("block %v, confirmation %v", sawBlock, sawConfirmed)
		}
	}
}
