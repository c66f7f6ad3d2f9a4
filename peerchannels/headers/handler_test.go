package headers_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/peerchannels/headers"
	"github.com/walletgate/walletgate/peerchannels/headers/headersvtest"
)

const regtestGenesis = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"

// pushRecorder records the account-socket broadcasts.
type pushRecorder struct {
	mu   sync.Mutex
	msgs []pushed
	got  chan struct{}
}

type pushed struct {
	typ    string
	result json.RawMessage
}

func newPushRecorder() *pushRecorder { return &pushRecorder{got: make(chan struct{}, 100)} }

func (p *pushRecorder) BroadcastAccountsText(_ context.Context, typ string, result json.RawMessage) {
	p.mu.Lock()
	p.msgs = append(p.msgs, pushed{typ, result})
	p.mu.Unlock()
	p.got <- struct{}{}
}

type env struct {
	fake    *headersvtest.Server
	handler *headers.Handler
	srv     *httptest.Server
	pusher  *pushRecorder
}

func newEnv(t testing.TB, blocks int) *env {
	t.Helper()
	fake := headersvtest.New(t)
	fake.Mine(blocks)
	src, err := headers.NewHeaderSV(headers.HeaderSVConfig{URL: fake.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := newPushRecorder()
	h, err := headers.New(headers.Config{Source: src, Pusher: p, PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(func(method, pattern string, hh http.Handler) { mux.Handle(method+" "+pattern, hh) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{fake: fake, handler: h, srv: srv, pusher: p}
}

func (e *env) get(t testing.TB, path, accept string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func rawHeader(t testing.TB, h wire.BlockHeader) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := h.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const octet = "application/octet-stream"

func TestHeaderByHash(t *testing.T) {
	e := newEnv(t, 5)
	h3 := e.fake.HeaderAt(3)
	unknown := strings.Repeat("ab", 32)
	tests := []struct {
		name       string
		path       string
		accept     string
		wantStatus int
		check      func(t *testing.T, hdr http.Header, body []byte)
	}{
		{"json", "/api/v1/headers/" + h3.BlockHash().String(), "application/json", 200, func(t *testing.T, _ http.Header, body []byte) {
			var got headers.Header
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Hash != h3.BlockHash().String() || got.PrevBlockHash != h3.PrevBlock.String() ||
				got.MerkleRoot != h3.MerkleRoot.String() || got.Nonce != int64(h3.Nonce) ||
				got.DifficultyTarget != int64(h3.Bits) || got.CreationTimestamp != h3.Timestamp.Unix() {
				t.Fatalf("header JSON %+v does not describe %s", got, h3.BlockHash())
			}
		}},
		{"json is the default", "/api/v1/headers/" + h3.BlockHash().String(), "", 200, func(t *testing.T, _ http.Header, body []byte) {
			if !bytes.Contains(body, []byte(`"hash":"`+h3.BlockHash().String())) {
				t.Fatalf("body %s", body)
			}
		}},
		{"binary", "/api/v1/headers/" + h3.BlockHash().String(), octet, 200, func(t *testing.T, hdr http.Header, body []byte) {
			if !bytes.Equal(body, rawHeader(t, h3)) {
				t.Fatalf("binary header %x, want %x", body, rawHeader(t, h3))
			}
			if hdr.Get("Content-Type") != octet {
				t.Fatalf("Content-Type %q", hdr.Get("Content-Type"))
			}
		}},
		{"genesis json values", "/api/v1/headers/" + regtestGenesis, "", 200, func(t *testing.T, _ http.Header, body []byte) {
			var got headers.Header
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Hash != regtestGenesis || got.Version != 1 || got.CreationTimestamp != 1296688602 ||
				got.DifficultyTarget != 545259519 || got.Nonce != 2 || got.Work.String() != "2" {
				t.Fatalf("genesis %+v", got)
			}
		}},
		{"genesis binary", "/api/v1/headers/" + regtestGenesis, octet, 200, func(t *testing.T, _ http.Header, body []byte) {
			if !bytes.Equal(body, rawHeader(t, chaincfg.RegressionNetParams.GenesisBlock.Header)) {
				t.Fatalf("genesis bytes %x", body)
			}
		}},
		{"unknown json is 204", "/api/v1/headers/" + unknown, "", 204, func(t *testing.T, _ http.Header, body []byte) {
			if len(body) != 0 {
				t.Fatalf("body %q", body)
			}
		}},
		{"unknown binary is 404", "/api/v1/headers/" + unknown, octet, 404, nil},
		// Not a hash: the reference hands it to HeaderSV, which finds
		// nothing, so these are the not-found answers, not 400s.
		{"short hash json is 204", "/api/v1/headers/abcd", "", 204, func(t *testing.T, _ http.Header, body []byte) {
			if len(body) != 0 {
				t.Fatalf("body %q", body)
			}
		}},
		{"non-hex hash binary is 404", "/api/v1/headers/" + strings.Repeat("zz", 32), octet, 404, func(t *testing.T, _ http.Header, body []byte) {
			if !strings.HasPrefix(string(body), "404: block header") {
				t.Fatalf("body %q", body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, hdr, body := e.get(t, tc.path, tc.accept)
			if st != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", st, body, tc.wantStatus)
			}
			if tc.check != nil {
				tc.check(t, hdr, body)
			}
		})
	}
}

func TestHeadersByHeight(t *testing.T) {
	e := newEnv(t, 6)
	var want3 []byte
	for i := 2; i < 5; i++ {
		want3 = append(want3, rawHeader(t, e.fake.HeaderAt(i))...)
	}
	tests := []struct {
		name       string
		query      string
		accept     string
		wantStatus int
		check      func(t *testing.T, body []byte)
	}{
		{"json three", "?height=2&count=3", "", 200, func(t *testing.T, body []byte) {
			var got []headers.Header
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("%d headers", len(got))
			}
			for i, g := range got {
				if hi := e.fake.HeaderAt(2 + i); g.Hash != hi.BlockHash().String() {
					want := hi.BlockHash().String()
					t.Fatalf("header %d is %s, want %s", i, g.Hash, want)
				}
			}
		}},
		{"binary three", "?height=2&count=3", octet, 200, func(t *testing.T, body []byte) {
			if !bytes.Equal(body, want3) {
				t.Fatalf("got %d bytes, want the 240 bytes of heights 2..4", len(body))
			}
		}},
		{"defaults are height 0 count 1", "", octet, 200, func(t *testing.T, body []byte) {
			if !bytes.Equal(body, rawHeader(t, chaincfg.RegressionNetParams.GenesisBlock.Header)) {
				t.Fatalf("got %x", body)
			}
		}},
		{"past the tip is empty", "?height=100&count=5", "", 200, func(t *testing.T, body []byte) {
			if string(body) != "[]" {
				t.Fatalf("got %s", body)
			}
		}},
		{"count at the limit", "?height=0&count=2000", octet, 200, func(t *testing.T, body []byte) {
			if len(body) != 7*headers.HeaderSize {
				t.Fatalf("got %d bytes for a 7-block chain", len(body))
			}
		}},
		{"count over the limit", "?height=0&count=2001", "", 400, nil},
		{"count zero", "?count=0", "", 400, nil},
		{"height not a number", "?height=x", "", 400, nil},
		{"negative height", "?height=-1", octet, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := e.get(t, "/api/v1/headers/by-height"+tc.query, tc.accept)
			if st != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", st, body, tc.wantStatus)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

func TestTips(t *testing.T) {
	e := newEnv(t, 4)
	stale := e.fake.Fork(3)
	tip := e.fake.HeaderAt(4)
	tests := []struct {
		name   string
		query  string
		accept string
		check  func(t *testing.T, body []byte)
	}{
		{"json all tips", "", "", func(t *testing.T, body []byte) {
			var got []headers.Tip
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].State != headers.StateLongestChain || got[0].Header.Hash != tip.BlockHash().String() ||
				got[0].Height != 4 || got[1].State != headers.StateStale || got[1].Header.Hash != stale.BlockHash().String() {
				t.Fatalf("tips %+v", got)
			}
			if got[0].ChainWork.String() != "10" { // 5 blocks of regtest work 2
				t.Fatalf("chainWork %s", got[0].ChainWork)
			}
		}},
		{"json longest chain only", "?longest_chain=1", "", func(t *testing.T, body []byte) {
			var got []headers.Tip
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Header.Hash != tip.BlockHash().String() {
				t.Fatalf("tips %+v", got)
			}
		}},
		{"binary all tips", "", octet, func(t *testing.T, body []byte) {
			if len(body) != 2*headers.TipFrameSize {
				t.Fatalf("%d bytes", len(body))
			}
			if !bytes.Equal(body[:80], rawHeader(t, tip)) || binary.LittleEndian.Uint32(body[80:84]) != 4 {
				t.Fatalf("first tip %x", body[:84])
			}
			if !bytes.Equal(body[84:164], rawHeader(t, stale)) || binary.LittleEndian.Uint32(body[164:]) != 3 {
				t.Fatalf("second tip %x", body[84:])
			}
		}},
		{"binary longest chain", "?longest_chain=1", octet, func(t *testing.T, body []byte) {
			bh, height, err := headers.ParseTipFrame(body)
			if err != nil || bh.BlockHash() != tip.BlockHash() || height != 4 {
				t.Fatalf("tip %x: %v", body, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := e.get(t, "/api/v1/headers/tips"+tc.query, tc.accept)
			if st != 200 {
				t.Fatalf("status %d (%s)", st, body)
			}
			tc.check(t, body)
		})
	}
}

// TestUpstreamFaults covers an unreachable HeaderSV (503 on every route, in
// both modes) and one that answers with an error status (passed through).
func TestUpstreamFaults(t *testing.T) {
	e := newEnv(t, 2)
	hash := e.fake.HashAt(1).String()
	paths := []string{"/api/v1/headers/" + hash, "/api/v1/headers/by-height?height=1", "/api/v1/headers/tips", "/api/v1/headers/tips?longest_chain=1"}
	faults := []struct {
		name   string
		set    func()
		status int
	}{
		{"connection dropped", func() { e.fake.SetDown(true) }, 503},
		{"internal error", func() { e.fake.SetDown(false); e.fake.SetStatus(500) }, 500},
		{"connection refused", func() { e.fake.SetStatus(0); e.fake.Close() }, 503},
	}
	for _, f := range faults {
		f.set()
		for _, p := range paths {
			for _, accept := range []string{"", octet} {
				t.Run(f.name+" "+p+" "+accept, func(t *testing.T) {
					st, _, body := e.get(t, p, accept)
					if st != f.status {
						t.Fatalf("status %d (%s), want %d", st, body, f.status)
					}
				})
			}
		}
	}
}

// TestCorruptUpstream: a header whose fields do not hash to its hash is
// never served in binary form.
func TestCorruptUpstream(t *testing.T) {
	e := newEnv(t, 2)
	e.fake.SetCorrupt(true)
	hash := e.fake.HashAt(1)
	for _, p := range []string{"/api/v1/headers/" + hash.String(), "/api/v1/headers/by-height?height=1", "/api/v1/headers/tips"} {
		st, _, body := e.get(t, p, octet)
		if st != http.StatusBadGateway || !strings.Contains(string(body), "bad") {
			t.Fatalf("%s: status %d %q, want 502", p, st, body)
		}
	}
}

func dialTips(t *testing.T, e *env) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/headers/tips/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readFrame(t *testing.T, c *websocket.Conn, timeout time.Duration) (websocket.MessageType, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Read(ctx)
}

// runHandler starts h.Run and returns an idempotent stop that waits for it.
func runHandler(t *testing.T, h *headers.Handler) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestTipsWebsocket(t *testing.T) {
	e := newEnv(t, 3)
	c := dialTips(t, e)
	for e.handler.Subscribers() != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	stop := runHandler(t, e.handler)

	// The poller's first tip counts as new.
	typ, frame, err := readFrame(t, c, 5*time.Second)
	if err != nil || typ != websocket.MessageBinary {
		t.Fatalf("first frame: %v %v", typ, err)
	}
	bh, height, err := headers.ParseTipFrame(frame)
	if err != nil || height != 3 || bh.BlockHash() != e.fake.HashAt(3) {
		t.Fatalf("first tip %x: %v", frame, err)
	}

	// A socket opened now gets nothing until the tip moves.
	late := dialTips(t, e)
	if _, b, err := readFrame(t, late, 10*20*time.Millisecond); err == nil {
		t.Fatalf("late socket got %x on connect", b)
	}
	late = dialTips(t, e) // a timed-out Read closes the conn; open a fresh one

	mined := e.fake.Mine(1)[0]
	for _, conn := range []*websocket.Conn{c, late} {
		typ, frame, err = readFrame(t, conn, 5*time.Second)
		if err != nil || typ != websocket.MessageBinary || len(frame) != headers.TipFrameSize {
			t.Fatalf("new tip frame: %v %d bytes %v", typ, len(frame), err)
		}
		if !bytes.Equal(frame[:80], rawHeader(t, mined)) || binary.LittleEndian.Uint32(frame[80:]) != 4 {
			t.Fatalf("new tip frame %x, want header %s at LE height 4", frame, mined.BlockHash())
		}
	}

	// Account sockets got the text tip message with the tips array.
	deadline := time.After(5 * time.Second)
	for {
		e.pusher.mu.Lock()
		var last *pushed
		if n := len(e.pusher.msgs); n > 0 {
			last = &e.pusher.msgs[n-1]
		}
		e.pusher.mu.Unlock()
		if last != nil && bytes.Contains(last.result, []byte(mined.BlockHash().String())) {
			if last.typ != headers.TipMessageType {
				t.Fatalf("message type %q", last.typ)
			}
			var tips []headers.Tip
			if err := json.Unmarshal(last.result, &tips); err != nil || tips[0].Height != 4 {
				t.Fatalf("pushed result %s: %v", last.result, err)
			}
			break
		}
		select {
		case <-e.pusher.got:
		case <-deadline:
			t.Fatal("no bsvapi.headers.tip push for the new tip")
		}
	}

	// Stopping Run closes the sockets with "going away".
	stop()
	_, _, err = readFrame(t, c, 5*time.Second)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after Run ended: %v", err)
	}
}

// TestTipsWebsocketRecovery checks that the tip is sent again after HeaderSV
// comes back from an outage, so clients that missed blocks catch up.
func TestTipsWebsocketRecovery(t *testing.T) {
	e := newEnv(t, 2)
	c := dialTips(t, e)
	for e.handler.Subscribers() != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	runHandler(t, e.handler)
	if _, _, err := readFrame(t, c, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	e.fake.SetDown(true)
	for n := e.fake.Hits("/api/v1/chain/tips"); e.fake.Hits("/api/v1/chain/tips") < n+2; {
		time.Sleep(10 * time.Millisecond)
	}
	e.fake.SetDown(false)
	_, frame, err := readFrame(t, c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, height, err := headers.ParseTipFrame(frame); err != nil || height != 2 {
		t.Fatalf("re-sent tip %x: %v", frame, err)
	}
}
