package peerchannels

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/inmem"
)

// dial opens a websocket on e; hdr are header pairs.
func (e *env) dial(path string, hdr ...string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+path, &websocket.DialOptions{HTTPHeader: h})
	if c != nil {
		e.t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func (e *env) mustDial(path string, hdr ...string) *websocket.Conn {
	e.t.Helper()
	c, _, err := e.dial(path, hdr...)
	if err != nil {
		e.t.Fatalf("dial %s: %v", path, err)
	}
	return c
}

// next reads one frame within 10 s.
func next(t testing.TB, c *websocket.Conn) (websocket.MessageType, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read websocket frame: %v", err)
	}
	return typ, b
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Checklist 21: /notify handshake errors and notices to every socket of
// the channel, the writer's included; client frames are ignored.
func e2eNotifySocket(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, "")
	other := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	rd := e.token(key, ch.ID, true, false).Token
	wo := e.token(key, ch.ID, false, true).Token
	base := "/api/v1/channel/" + ch.ID + "/notify"

	for _, tc := range []struct {
		name, query string
		status      int
		reason      string
	}{
		{"no token", "", 400, "400: 10018: Missing 'token' query parameter (bearer token)"},
		{"unknown token", "?token=nope", 401, "401: 10023: Unauthorized - invalid Bearer Token"},
		{"write-only token", "?token=" + wo, 401, ""},
		{"other channel's token", "?token=" + other.AccessTokens[0].Token, 401, ""},
		{"master token", "?token=" + key, 401, ""},
	} {
		r := e.req("GET", base+tc.query, "", "Connection", "Upgrade", "Upgrade", "websocket",
			"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		want(t, tc.name, r, tc.status, tc.reason)
	}

	a := e.mustDial(base + "?token=" + owner)
	b := e.mustDial(base + "?token=" + rd)
	otherSock := e.mustDial("/api/v1/channel/" + other.ID + "/notify?token=" + other.AccessTokens[0].Token)
	// A client frame on /notify is ignored, the socket stays.
	if err := a.Write(t.Context(), websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		want(t, "write", e.write(owner, ch.ID, `{"n":1}`), 200, "")
		e.req("POST", "/api/v1/channel/"+ch.ID+"/"+itoa(int64(i)), `{"read":true}`, auth(owner)...)
		for _, c := range []*websocket.Conn{a, b} {
			typ, data := next(t, c)
			var raw map[string]any
			if typ != websocket.MessageText || json.Unmarshal(data, &raw) != nil || len(raw) != 4 {
				t.Fatalf("notice %s: want a text frame with exactly 4 keys", data)
			}
			var n noticeJSON
			json.Unmarshal(data, &n)
			if n.Sequence != int64(i) || n.ChannelID != ch.ID || n.ContentType != "application/json" || len(n.Received) != len("2006-01-02T15:04:05Z") {
				t.Fatalf("notice %s", data)
			}
		}
	}
	// The other channel's socket heard none of it.
	want(t, "write other", e.write(other.AccessTokens[0].Token, other.ID, `1`), 200, "")
	_, data := next(t, otherSock)
	var n noticeJSON
	json.Unmarshal(data, &n)
	if n.ChannelID != other.ID || n.Sequence != 1 {
		t.Fatalf("other channel's socket got %s first", data)
	}
}

// Checklist 22, 23: the account socket, JSON and binary; Owner-token
// writes are skipped; kind 2 and text broadcasts from other packages.
func e2eAccountSocket(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, acctID := e.account()
	ch := e.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	owner := ch.AccessTokens[0].Token
	peer := e.token(key, ch.ID, true, true).Token

	for _, tc := range []struct {
		name, query string
		status      int
	}{{"no token", "", 400}, {"unknown", "?token=nope", 401}, {"channel token", "?token=" + owner, 401}} {
		r := e.req("GET", "/api/v1/web-socket"+tc.query, "", "Connection", "Upgrade", "Upgrade", "websocket",
			"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		want(t, tc.name, r, tc.status, "")
	}
	if err := e.svc.SendAccount(t.Context(), acctID, KindOutputSpend, make([]byte, 100)); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("SendAccount without a socket: %v, want ENotFound", err)
	}

	js := e.mustDial("/api/v1/web-socket?token=" + key)
	eventually(t, "account socket tracked", func() bool { return e.svc.AccountConnected(acctID) })
	want(t, "owner write (skipped)", e.write(owner, ch.ID, `1`), 200, "")
	want(t, "peer write", e.write(peer, ch.ID, `2`), 200, "")
	typ, data := next(t, js)
	var env struct {
		MessageType string          `json:"message_type"`
		Result      json.RawMessage `json:"result"`
	}
	if typ != websocket.MessageText || json.Unmarshal(data, &env) != nil || env.MessageType != "bsvapi.channels.notification" {
		t.Fatalf("JSON-mode frame %s", data)
	}
	var res map[string]any
	json.Unmarshal(env.Result, &res)
	if len(res) != 4 || res["sequence"] != float64(2) || res["channel_id"] != ch.ID {
		t.Fatalf("kind 1 result %s: want the peer's message 2 only (owner writes skipped)", env.Result)
	}
	spend := make([]byte, 100)
	for i := range spend {
		spend[i] = byte(i)
	}
	if err := e.svc.SendAccount(t.Context(), acctID, KindOutputSpend, spend); err != nil {
		t.Fatal(err)
	}
	_, data = next(t, js)
	json.Unmarshal(data, &env)
	if env.MessageType != "bsvapi.output-spends.notification" || string(env.Result) != `"`+hex.EncodeToString(spend)+`"` {
		t.Fatalf("kind 2 JSON frame %s", data)
	}
	if err := e.svc.SendAccount(t.Context(), acctID, 9, nil); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("unknown kind in JSON mode: %v", err)
	}

	// A newer socket (binary mode) replaces the JSON one, which is closed.
	bin := e.mustDial("/api/v1/web-socket?token="+key, "Accept", "application/octet-stream")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := js.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("replaced socket: %v, want a policy-violation close", err)
	}
	want(t, "peer write 3", e.write(peer, ch.ID, `3`), 200, "")
	typ, data = next(t, bin)
	if typ != websocket.MessageBinary || binary.BigEndian.Uint32(data) != KindChannelMessage {
		t.Fatalf("binary kind 1 frame %x", data)
	}
	json.Unmarshal(data[4:], &res)
	if len(res) != 4 || res["sequence"] != float64(3) {
		t.Fatalf("binary kind 1 payload %s", data[4:])
	}
	if err := e.svc.SendAccount(t.Context(), acctID, KindOutputSpend, spend); err != nil {
		t.Fatal(err)
	}
	_, data = next(t, bin)
	if binary.BigEndian.Uint32(data) != KindOutputSpend || string(data[4:]) != string(spend) {
		t.Fatalf("binary kind 2 frame %x", data)
	}
	e.svc.BroadcastAccountsText(t.Context(), "bsvapi.headers.tip", json.RawMessage(`[{"height":7}]`))
	tip := `{"message_type":"bsvapi.headers.tip","result":[{"height":7}]}`
	if typ, data = next(t, bin); typ != websocket.MessageText || string(data) != tip {
		t.Fatalf("broadcast frame %v %s: want text even in binary mode", typ, data)
	}

	// Checklist 23: any client frame closes the account socket.
	closed := make(chan struct{})
	e.svc.OnAccountSocketClosed(func(ctx context.Context, id int64) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("close hook context has no deadline")
		}
		if id == acctID {
			close(closed)
		}
	})
	if err := bin.Write(t.Context(), websocket.MessageBinary, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bin.Read(ctx); websocket.CloseStatus(err) == -1 {
		t.Fatalf("account socket after a client frame: %v, want a close", err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("close hook not run")
	}
	if e.svc.AccountConnected(acctID) {
		t.Fatal("closed socket still tracked")
	}
}

// Heartbeats: a client that answers pings stays; one that never reads
// (so never pongs) is closed once a ping misses WriteTimeout.
func e2eSocketPings(t *testing.T, be backend) {
	e := newEnvWith(t, be, func(c *Config) { c.PingInterval, c.WriteTimeout = 20*time.Millisecond, 200*time.Millisecond })
	key, acctID := e.account()
	ch := e.channel(key, "")
	live := e.mustDial("/api/v1/channel/" + ch.ID + "/notify?token=" + ch.AccessTokens[0].Token)
	readErr := make(chan error, 1)
	go func() {
		_, _, err := live.Read(context.Background())
		readErr <- err
	}()
	e.mustDial("/api/v1/web-socket?token=" + key) // never read: pongs never sent
	eventually(t, "tracked", func() bool { return e.svc.AccountConnected(acctID) })
	eventually(t, "the silent socket closed by the missed pong", func() bool { return !e.svc.AccountConnected(acctID) })
	// The live one survived the same number of pings and still delivers.
	want(t, "write", e.write(ch.AccessTokens[0].Token, ch.ID, `1`), 200, "")
	select {
	case err := <-readErr:
		if err != nil {
			t.Fatalf("live socket: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("live socket got no notice")
	}
}

// A socket that cannot keep up is closed; queueing never blocks.
func e2eSlowSocketClosed(t *testing.T, be backend) {
	e := newEnvWith(t, be, func(c *Config) { c.SendQueue = 2; c.WriteTimeout = time.Minute })
	key, acctID := e.account()
	e.mustDial("/api/v1/web-socket?token="+key, "Accept", "application/octet-stream") // never reads
	eventually(t, "tracked", func() bool { return e.svc.AccountConnected(acctID) })
	big := make([]byte, 1<<20)
	var err error
	for i := 0; i < 256 && err == nil; i++ {
		err = e.svc.SendAccount(t.Context(), acctID, KindOutputSpend, big)
	}
	if err == nil {
		t.Fatal("256 MiB queued to a socket that never reads")
	}
	eventually(t, "slow socket dropped", func() bool { return !e.svc.AccountConnected(acctID) })
}

// Run's end closes every socket.
func TestRunEndClosesSockets(t *testing.T) {
	st := openSQLite(t)
	svc, err := New(Config{}, st, inmem.NewChannelNotifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Ready()
	e := &env{t: t, svc: svc, store: st}
	e.srv = newServer(t, svc.Handler())
	key, _ := e.account()
	c := e.mustDial("/api/v1/web-socket?token=" + key)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	rctx, rcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer rcancel()
	if _, _, err := c.Read(rctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("socket after Run ended: %v", err)
	}
	// New sockets are refused once shut down.
	c2, _, err := e.dial("/api/v1/web-socket?token=" + key)
	if err == nil {
		_, _, err = c2.Read(rctx)
	}
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("socket after shutdown: %v", err)
	}
}

// The shapes the headers and indexer proxies consume (their
// AccountPusher and AccountSockets interfaces).
var _ interface {
	AccountConnected(accountID int64) bool
	SendAccount(ctx context.Context, accountID int64, kind uint32, payload []byte) error
	BroadcastAccountsText(ctx context.Context, messageType string, result json.RawMessage)
} = (*Service)(nil)

// Close hooks run when the tracked account socket is replaced (before the
// new one is visible) and when it closes, not for untracked ones.
func e2eAccountSocketCloseHooks(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, acctID := e.account()
	calls := make(chan bool, 8) // whether the account looked connected during the hook
	e.svc.OnAccountSocketClosed(func(ctx context.Context, id int64) {
		if id == acctID {
			calls <- e.svc.AccountConnected(id)
		}
	})
	first := e.mustDial("/api/v1/web-socket?token=" + key)
	eventually(t, "first tracked", func() bool { return e.svc.AccountConnected(acctID) })
	second := e.mustDial("/api/v1/web-socket?token=" + key)
	select {
	case connected := <-calls:
		if connected {
			t.Fatal("during the replacement hook the account already looked connected")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no hook on replacement")
	}
	eventually(t, "second tracked", func() bool { return e.svc.AccountConnected(acctID) })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := first.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("replaced socket: %v", err)
	}
	second.Close(websocket.StatusNormalClosure, "bye")
	select {
	case <-calls:
	case <-ctx.Done():
		t.Fatal("no hook on close")
	}
	eventually(t, "untracked", func() bool { return !e.svc.AccountConnected(acctID) })
	select {
	case <-calls:
		t.Fatal("a hook ran a third time")
	case <-time.After(50 * time.Millisecond):
	}
}
