package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

const testCoin = "bitweb"

type testEnv struct {
	be     *chainviewtest.Backend
	svc    *chainview.Service
	hub    *hub.Hub
	srv    *socketio.Server
	ts     *httptest.Server
	params *chain.Params
}

func newTestEnv(t testing.TB, hcfg hub.Config, cfg socketio.Config) *testEnv {
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
	srv := socketio.New(h, cfg)
	if err := srv.Serve("/", testCoin, hub.ChainDecoder(params)); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		h.Close()
		svc.Close()
	})
	return &testEnv{be: be, svc: svc, hub: h, srv: srv, ts: ts, params: params}
}

// addr returns the i-th test address (P2WPKH) and its script.
func (e *testEnv) addr(t testing.TB, i int) (string, chainview.Script) {
	t.Helper()
	spk := append([]byte{0x00, 0x14}, []byte(fmt.Sprintf("%020d", i))...)
	a, err := e.params.Encode(spk)
	if err != nil {
		t.Fatal(err)
	}
	return a, chainview.NewScript(spk)
}

func (e *testEnv) wsURL() string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// event is one Socket.IO event a raw client received.
type event struct {
	Name string
	Data json.RawMessage
}

// rawClient speaks Engine.IO v4 / Socket.IO v5 text frames directly over a
// websocket: it answers pings and queues events.
type rawClient struct {
	c      *websocket.Conn
	sid    string
	events chan event
	closed chan struct{}
	err    error
}

func dialRaw(t testing.TB, url string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(4 << 20)
	rc := &rawClient{c: c, events: make(chan event, 1000), closed: make(chan struct{})}
	_, open, err := c.Read(ctx)
	if err != nil || len(open) == 0 || open[0] != '0' {
		t.Fatalf("engine.io open packet: %q, %v", open, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	_, conn, err := c.Read(ctx)
	if err != nil || !strings.HasPrefix(string(conn), "40{") {
		t.Fatalf("socket.io connect packet: %q, %v", conn, err)
	}
	var sid struct{ Sid string }
	_ = json.Unmarshal(conn[2:], &sid)
	rc.sid = sid.Sid
	go rc.read()
	t.Cleanup(func() { c.CloseNow() })
	return rc
}

func (rc *rawClient) read() {
	defer close(rc.closed)
	for {
		_, msg, err := rc.c.Read(context.Background())
		if err != nil {
			rc.err = err
			return
		}
		s := string(msg)
		switch {
		case s == "2":
			_ = rc.c.Write(context.Background(), websocket.MessageText, []byte("3"))
		case strings.HasPrefix(s, "42"):
			var arr []json.RawMessage
			if err := json.Unmarshal(msg[2:], &arr); err != nil || len(arr) == 0 {
				rc.err = fmt.Errorf("bad event frame %q", s)
				return
			}
			var name string
			_ = json.Unmarshal(arr[0], &name)
			ev := event{Name: name}
			if len(arr) > 1 {
				ev.Data = arr[1]
			}
			rc.events <- ev
		case strings.HasPrefix(s, "43"):
			// An ack: the raw id and arguments after the packet type.
			rc.events <- event{Name: "#ack", Data: json.RawMessage(strconv.Quote(s[2:]))}
		case strings.HasPrefix(s, "41"), s == "1":
			rc.events <- event{Name: "#disconnect", Data: json.RawMessage(`"` + s + `"`)}
		}
	}
}

// send writes a raw Engine.IO frame.
func (rc *rawClient) send(t testing.TB, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rc.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("write %q: %v", frame, err)
	}
}

func (rc *rawClient) emit(t testing.TB, name string, data any) {
	t.Helper()
	b, err := json.Marshal([]any{name, data})
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, "42"+string(b))
}

func (rc *rawClient) next(t testing.TB) event {
	t.Helper()
	select {
	case ev := <-rc.events:
		return ev
	case <-rc.closed:
		select {
		case ev := <-rc.events:
			return ev
		default:
		}
		t.Fatalf("connection closed: %v", rc.err)
	case <-time.After(5 * time.Second):
		t.Fatalf("no event within 5 s")
	}
	return event{}
}

// expect returns the next event, which must be called name.
func (rc *rawClient) expect(t testing.TB, name string) json.RawMessage {
	t.Helper()
	ev := rc.next(t)
	if ev.Name != name {
		t.Fatalf("got event %s %s, want %s", ev.Name, ev.Data, name)
	}
	return ev.Data
}

// quiet asserts that no event arrives for a while.
func (rc *rawClient) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case ev := <-rc.events:
		t.Fatalf("unexpected event %s %s", ev.Name, ev.Data)
	case <-time.After(d):
	}
}
