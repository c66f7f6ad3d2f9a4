package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
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

// Raw client transports: the three ways a session can run.
const (
	modeWebSocket = "websocket" // a websocket opened at once
	modePolling   = "polling"   // long-polling only
	modeUpgrade   = "upgrade"   // polling, then upgraded to a websocket
)

var rawModes = []string{modeWebSocket, modePolling, modeUpgrade}

// rawTransport carries Engine.IO packets for a rawClient.
type rawTransport interface {
	// write sends one packet.
	write(ctx context.Context, packet string) error
	// read returns the next packet the server sent.
	read(ctx context.Context) (string, error)
	// closeNow drops the session without a word.
	closeNow()
}

// wsTransport is a websocket: one packet per text message.
type wsTransport struct{ c *websocket.Conn }

func (w wsTransport) write(ctx context.Context, p string) error {
	return w.c.Write(ctx, websocket.MessageText, []byte(p))
}

func (w wsTransport) read(ctx context.Context) (string, error) {
	_, b, err := w.c.Read(ctx)
	return string(b), err
}

func (w wsTransport) closeNow() { w.c.CloseNow() }

// pollTransport is Engine.IO long-polling: a goroutine keeps a GET
// pending and splits its payloads; write POSTs one packet.
type pollTransport struct {
	url     string // …&sid=
	packets chan string
	errc    chan error
	stop    chan struct{}
	once    sync.Once
}

func newPollTransport(url string) *pollTransport {
	p := &pollTransport{url: url, packets: make(chan string, 1000), errc: make(chan error, 1), stop: make(chan struct{})}
	go p.loop()
	return p
}

func (p *pollTransport) loop() {
	for {
		select {
		case <-p.stop:
			p.errc <- errors.New("closed")
			return
		default:
		}
		resp, err := http.Get(p.url)
		if err != nil {
			p.errc <- err
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("poll: HTTP %d %s", resp.StatusCode, b)
		}
		if err != nil {
			p.errc <- err
			return
		}
		closed := false
		for _, pk := range strings.Split(string(b), "\x1e") {
			closed = closed || pk == "1"
			p.packets <- pk
		}
		if closed {
			p.errc <- errors.New("session closed")
			return
		}
	}
}

func (p *pollTransport) write(ctx context.Context, pk string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(pk))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok" {
		return fmt.Errorf("post: HTTP %d %q", resp.StatusCode, b)
	}
	return nil
}

func (p *pollTransport) read(ctx context.Context) (string, error) {
	select {
	case pk := <-p.packets:
		return pk, nil
	default:
	}
	select {
	case pk := <-p.packets:
		return pk, nil
	case err := <-p.errc:
		p.errc <- err
		select {
		case pk := <-p.packets:
			return pk, nil
		default:
		}
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (p *pollTransport) closeNow() {
	p.once.Do(func() {
		close(p.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.write(ctx, "1")
	})
}

// rawClient speaks Engine.IO v4 / Socket.IO v5 itself, over any of the
// three modes: it answers pings and queues events.
type rawClient struct {
	tr     rawTransport
	sid    string
	events chan event
	closed chan struct{}
	err    error
}

// dialRaw opens a websocket session at url and joins "/".
func dialRaw(t testing.TB, url string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return startRaw(t, ctx, wsTransport{c})
}

// dialMode opens a session over mode and joins "/".
func (e *testEnv) dialMode(t testing.TB, mode string) *rawClient {
	t.Helper()
	if mode == modeWebSocket {
		return dialRaw(t, e.wsURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sid := pollHandshake(t, e.ts.URL)
	purl := e.ts.URL + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	if mode == modePolling {
		p := newPollTransport(purl)
		t.Cleanup(p.closeNow)
		return startRawOpened(t, ctx, p) // the handshake read the open packet
	}
	c, _, err := websocket.Dial(ctx, e.wsURL()+"&sid="+sid, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { c.CloseNow() })
	for _, step := range []struct{ send, want string }{{"2probe", "3probe"}, {"5", ""}} {
		if err := c.Write(ctx, websocket.MessageText, []byte(step.send)); err != nil {
			t.Fatal(err)
		}
		if step.want != "" {
			if _, b, err := c.Read(ctx); err != nil || string(b) != step.want {
				t.Fatalf("upgrade: sent %s, got %q, %v", step.send, b, err)
			}
		}
	}
	return startRawOpened(t, ctx, wsTransport{c})
}

// pollHandshake opens a polling session and returns its sid.
func pollHandshake(t testing.TB, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var open struct{ Sid string }
	if resp.StatusCode != http.StatusOK || len(b) == 0 || b[0] != '0' || json.Unmarshal(b[1:], &open) != nil || open.Sid == "" {
		t.Fatalf("polling handshake: %d %q", resp.StatusCode, b)
	}
	return open.Sid
}

// startRaw reads the open packet, joins "/" and starts the reader.
func startRaw(t testing.TB, ctx context.Context, tr rawTransport) *rawClient {
	t.Helper()
	open, err := tr.read(ctx)
	if err != nil || len(open) == 0 || open[0] != '0' {
		t.Fatalf("engine.io open packet: %q, %v", open, err)
	}
	return startRawOpened(t, ctx, tr)
}

func startRawOpened(t testing.TB, ctx context.Context, tr rawTransport) *rawClient {
	t.Helper()
	rc := &rawClient{tr: tr, events: make(chan event, 1000), closed: make(chan struct{})}
	if err := tr.write(ctx, "40"); err != nil {
		t.Fatal(err)
	}
	conn, err := tr.read(ctx)
	if err != nil || !strings.HasPrefix(conn, "40{") {
		t.Fatalf("socket.io connect packet: %q, %v", conn, err)
	}
	var sid struct{ Sid string }
	_ = json.Unmarshal([]byte(conn[2:]), &sid)
	rc.sid = sid.Sid
	go rc.read()
	return rc
}

// closeNow drops the client's session.
func (rc *rawClient) closeNow() { rc.tr.closeNow() }

func (rc *rawClient) read() {
	defer close(rc.closed)
	for {
		s, err := rc.tr.read(context.Background())
		if err != nil {
			rc.err = err
			return
		}
		switch {
		case s == "2":
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = rc.tr.write(ctx, "3")
			cancel()
		case strings.HasPrefix(s, "42"):
			var arr []json.RawMessage
			if err := json.Unmarshal([]byte(s[2:]), &arr); err != nil || len(arr) == 0 {
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
	if err := rc.tr.write(ctx, frame); err != nil {
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
