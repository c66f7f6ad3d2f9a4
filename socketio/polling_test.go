package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// pollSession drives one polling session by hand.
type pollSession struct {
	t   *testing.T
	e   *testEnv
	sid string
	url string
}

func (e *testEnv) openPoll(t *testing.T) *pollSession {
	t.Helper()
	sid := pollHandshake(t, e.ts.URL)
	return &pollSession{t: t, e: e, sid: sid, url: e.ts.URL + "/socket.io/?EIO=4&transport=polling&sid=" + sid}
}

// post sends body and returns the status and answer.
func (p *pollSession) post(body string) (int, string) {
	p.t.Helper()
	resp, err := http.Post(p.url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustPost posts body, which must be answered "ok".
func (p *pollSession) mustPost(body string) {
	p.t.Helper()
	if code, ans := p.post(body); code != http.StatusOK || ans != "ok" {
		p.t.Fatalf("POST %.40q: %d %q", body, code, ans)
	}
}

type pollResult struct {
	code    int
	packets []string // the payload split at the record separator
	body    string
}

func (p *pollSession) getResult() pollResult {
	resp, err := http.Get(p.url)
	if err != nil {
		return pollResult{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := pollResult{code: resp.StatusCode, body: string(b)}
	if resp.StatusCode == http.StatusOK {
		r.packets = strings.Split(string(b), "\x1e")
	}
	return r
}

// get polls once; the answer must be 200.
func (p *pollSession) get() []string {
	p.t.Helper()
	r := p.getResult()
	if r.code != http.StatusOK {
		p.t.Fatalf("GET: %d %q", r.code, r.body)
	}
	return r.packets
}

// getPending starts a GET and returns once the server holds it.
func (p *pollSession) getPending(pending int) <-chan pollResult {
	p.t.Helper()
	ch := make(chan pollResult, 1)
	go func() { ch <- p.getResult() }()
	deadline := time.Now().Add(5 * time.Second)
	for socketio.PendingPolls(p.e.srv) != pending {
		if time.Now().After(deadline) {
			p.t.Fatalf("%d GETs pending, want %d", socketio.PendingPolls(p.e.srv), pending)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ch
}

func recv(t *testing.T, ch <-chan pollResult) pollResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the pending GET was not answered")
		return pollResult{}
	}
}

// connect joins "/" and reads the CONNECT answer.
func (p *pollSession) connect() {
	p.t.Helper()
	p.mustPost("40")
	if pk := p.get(); len(pk) != 1 || !strings.HasPrefix(pk[0], `40{"sid":"`) {
		p.t.Fatalf("connect: %q", pk)
	}
}

func (p *pollSession) expectGone() {
	p.t.Helper()
	if r := p.getResult(); r.code != http.StatusBadRequest || r.body != `{"code":1,"message":"Session ID unknown"}` {
		p.t.Fatalf("GET of a closed session: %d %q", r.code, r.body)
	}
}

var openPattern = regexp.MustCompile(`^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\[(.*)\],"pingInterval":(\d+),"pingTimeout":(\d+),"maxPayload":(\d+)\}$`)

// TestHandshakeFields: the open packet has the reference server's fields
// in its order, with the settings of Config, on both transports.
func TestHandshakeFields(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{PingInterval: 1500 * time.Millisecond, PingTimeout: 700 * time.Millisecond, MaxPayload: 4096})
	resp, err := http.Get(e.ts.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c := dialBare(t, e.wsURL())
	for _, tc := range []struct{ transport, open, upgrades string }{
		{"polling", string(b), `"websocket"`},
		{"websocket", readFrame(t, c), ``},
	} {
		m := openPattern.FindStringSubmatch(tc.open)
		if m == nil || m[1] != tc.upgrades || m[2] != "1500" || m[3] != "700" || m[4] != "4096" {
			t.Errorf("%s open packet %s", tc.transport, tc.open)
		}
	}
}

// TestPollingBatches: several packets in one POST are handled in order,
// and what is queued meanwhile comes back in one GET, separated by the
// record separator; empty records are skipped.
func TestPollingBatches(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	if err := e.srv.Serve("/btc", testCoin, hub.ChainDecoder(e.params)); err != nil {
		t.Fatal(err)
	}
	a, _ := e.addr(t, 1)
	p := e.openPoll(t)
	p.mustPost("\x1e40\x1e\x1e40/btc,\x1e" + `42/btc,["subscribe",{"address":"` + a + `"}]` + "\x1e6")
	pk := p.get()
	if len(pk) < 3 || !strings.HasPrefix(pk[0], `40{"sid":"`) || !strings.HasPrefix(pk[1], `40/btc,{"sid":"`) || pk[2] != `42/btc,["subscribed",{"address":"`+a+`"}]` {
		t.Fatalf("payload %q", pk)
	}
	for len(pk) < 4 {
		pk = append(pk, p.get()...)
	}
	if !strings.HasPrefix(pk[3], `42/btc,["balance_changed",{"balance":0,`) {
		t.Fatalf("then %q", pk[3:])
	}
	e.block(1001)
	pk = p.get()
	for len(pk) < 2 { // the namespaces' pushes may come in two polls
		pk = append(pk, p.get()...)
	}
	sort.Strings(pk)
	if len(pk) != 2 || pk[0] != `42/btc,["block",{"height":1001}]` || pk[1] != `42["block",{"height":1001}]` {
		t.Fatalf("block to both namespaces: %q", pk)
	}
}

// TestPollingPingPong: the server pings on a held GET; answered pongs keep
// the session; an unanswered one ends it with the close packet.
func TestPollingPingPong(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	p := e.openPoll(t)
	p.connect()
	for range 3 {
		if pk := p.get(); len(pk) != 1 || pk[0] != "2" {
			t.Fatalf("held GET: %q, want a ping", pk)
		}
		p.mustPost("3")
	}
	if pk := p.get(); len(pk) != 1 || pk[0] != "2" {
		t.Fatalf("held GET: %q, want a ping", pk)
	}
	// No pong: the next GET is held until the session times out.
	if pk := p.get(); len(pk) != 1 || pk[0] != "1" {
		t.Fatalf("after an unanswered ping: %q, want the close packet", pk)
	}
	p.expectGone()
	waitConns(t, e, 0)
}

func waitConns(t *testing.T, e *testEnv, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Stats().Conns != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets registered, want %d", e.hub.Stats().Conns, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPollingClosePacket: the client's close packet ends the session and
// its pending GET gets a noop, as the reference does.
func TestPollingClosePacket(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	p := e.openPoll(t)
	p.connect()
	pending := p.getPending(1)
	p.mustPost("1")
	if r := recv(t, pending); r.code != http.StatusOK || r.body != "6" {
		t.Fatalf("pending GET: %d %q, want a noop", r.code, r.body)
	}
	p.expectGone()
	waitConns(t, e, 0)
}

// TestPollingDuplicateGET: a second GET while one is pending closes the
// session: the first gets the close packet, the second a bare 400.
func TestPollingDuplicateGET(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	p := e.openPoll(t)
	p.connect()
	first := p.getPending(1)
	if r := p.getResult(); r.code != http.StatusBadRequest || r.body != "" {
		t.Fatalf("second GET: %d %q, want a bare 400", r.code, r.body)
	}
	if r := recv(t, first); r.code != http.StatusOK || r.body != "1" {
		t.Fatalf("first GET: %d %q, want the close packet", r.code, r.body)
	}
	p.expectGone()
	waitConns(t, e, 0)
}

// TestPollingDuplicatePOST: a POST while another is being read closes the
// session too.
func TestPollingDuplicatePOST(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	p := e.openPoll(t)
	p.connect()
	slow, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// Headers and half of the body: the server waits for the rest.
	req := httpRequest("POST", strings.TrimPrefix(p.url, e.ts.URL), nil, `42["subscribe",{}]`)
	if _, err := io.WriteString(slow, req[:len(req)-5]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := p.post("6")
		if code == http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatal("the slow POST never started")
			}
			time.Sleep(5 * time.Millisecond)
			continue // the slow one is not being read yet
		}
		if code != http.StatusBadRequest || body != "" {
			t.Fatalf("overlapping POST: %d %q, want a bare 400", code, body)
		}
		break
	}
	p.expectGone()
}

// TestPollingOversize: a POST over MaxPayload gets 413, whether its
// Content-Length says so or its chunks add up to it, and the session
// stays; MaxPayload itself is accepted.
func TestPollingOversize(t *testing.T) {
	const max = 100
	e := newTestEnv(t, hub.Config{}, socketio.Config{MaxPayload: max})
	p := e.openPoll(t)
	addr := e.ts.Listener.Addr().String()
	target := strings.TrimPrefix(p.url, e.ts.URL)
	if r := rawRequest(t, addr, httpRequest("POST", target, nil, strings.Repeat("6", max+1))); r.status != http.StatusRequestEntityTooLarge || r.body != "" {
		t.Fatalf("Content-Length over the limit: %s", r)
	}
	chunk := strings.Repeat("6", max/2+1)
	chunked := "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk, len(chunk), chunk)
	if r := rawRequest(t, addr, chunked); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunks over the limit: %s", r)
	}
	p.mustPost("40\x1e" + strings.Repeat("6", max-3)) // exactly max
	if pk := p.get(); len(pk) != 1 || !strings.HasPrefix(pk[0], `40{"sid":"`) {
		t.Fatalf("after the refusals: %q", pk)
	}
}

// TestBinaryRefused: binary messages ("b…" in a polling payload, binary
// frames on a websocket) and Socket.IO binary events are ignored, the
// session going on; a binary POST (Engine.IO v3's) and a message that is
// not Socket.IO end it.
func TestBinaryRefused(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	a, _ := e.addr(t, 1)
	subscribe := `42["subscribe",{"address":"` + a + `"}]`
	binaryEvent := `451-["subscribe",{"_placeholder":true,"num":0}]`
	t.Run("polling", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		p.mustPost("bAQID\x1e" + binaryEvent + "\x1e" + `461-[{"_placeholder":true,"num":0}]`)
		p.mustPost("bAQID")
		p.mustPost(subscribe)
		if pk := p.get(); pk[0] != `42["subscribed",{"address":"`+a+`"}]` {
			t.Fatalf("after the binary packets: %q", pk)
		}
	})
	t.Run("polling octet-stream", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		resp, err := http.Post(p.url, "application/octet-stream", strings.NewReader("\x04\x01\x02"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || string(b) != `{"code":3,"message":"Bad request"}` {
			t.Fatalf("binary POST: %d %q", resp.StatusCode, b)
		}
		p.expectGone()
	})
	t.Run("polling not socket.io", func(t *testing.T) {
		p := e.openPoll(t)
		p.connect()
		if code, body := p.post("4zzz"); code != http.StatusBadRequest || body != `{"code":3,"message":"Bad request"}` {
			t.Fatalf("POST 4zzz: %d %q", code, body)
		}
		p.expectGone()
	})
	t.Run("websocket", func(t *testing.T) {
		c := dialBare(t, e.wsURL())
		readFrame(t, c)
		writeFrame(t, c, "40")
		readFrame(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		writeFrame(t, c, binaryEvent)
		writeFrame(t, c, "bAQID")
		writeFrame(t, c, subscribe)
		if f := readFrame(t, c); f != `42["subscribed",{"address":"`+a+`"}]` {
			t.Fatalf("after the binary packets: %q", f)
		}
		readFrame(t, c) // balance_changed
		writeFrame(t, c, "4zzz")
		if _, _, err := c.Read(ctx); err == nil {
			t.Fatal("a message that is not Socket.IO left the session open")
		}
	})
	waitConns(t, e, 1) // the first polling session
}

// TestPollingTransportMismatch: a session on a websocket cannot be polled.
func TestPollingTransportMismatch(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	c := dialBare(t, e.wsURL())
	var open struct{ Sid string }
	if err := json.Unmarshal([]byte(readFrame(t, c)[1:]), &open); err != nil {
		t.Fatal(err)
	}
	p := &pollSession{t: t, e: e, sid: open.Sid, url: e.ts.URL + "/socket.io/?EIO=4&transport=polling&sid=" + open.Sid}
	for _, r := range []pollResult{p.getResult(), func() pollResult { code, b := p.post("40"); return pollResult{code: code, body: b} }()} {
		if r.code != http.StatusBadRequest || r.body != `{"code":3,"message":"Bad request"}` {
			t.Fatalf("polling a websocket session: %d %q", r.code, r.body)
		}
	}
}
