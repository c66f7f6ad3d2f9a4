package peerchannels

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/sqlite"
)

// openSQLite opens a fresh SQLite store file for t.
func openSQLite(t testing.TB) walletgate.ChannelStore {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "channels.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// env is a running service behind a real HTTP server.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	svc   *Service
	store walletgate.ChannelStore
}

// newEnv starts a service on a fresh SQLite store with its notice loop.
func newEnv(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	return newEnvWith(t, sqliteBackend, tweak...)
}

// newEnvWith starts a service on a fresh store of be.
func newEnvWith(t testing.TB, be backend, tweak ...func(*Config)) *env {
	t.Helper()
	st, n := be(t)
	return newEnvOn(t, st, n, tweak...)
}

func newEnvOn(t testing.TB, store walletgate.ChannelStore, n walletgate.ChannelNotifier, tweak ...func(*Config)) *env {
	t.Helper()
	cfg := Config{HrefHost: "127.0.0.1", HrefPort: 55666}
	for _, f := range tweak {
		f(&cfg)
	}
	svc, err := New(cfg, store, n, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- svc.Run(ctx) }()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		srv.Close()
	})
	select {
	case <-svc.Ready():
	case err := <-runErr:
		t.Fatalf("Run failed before ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run not ready after 10s")
	}
	return &env{t: t, srv: srv, svc: svc, store: store}
}

// reply is a finished HTTP exchange.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("reply %d %q is not the expected JSON: %v", r.status, r.body, err)
	}
}

// req sends method path with body; hdr holds header pairs ("Authorization",
// "Bearer x", ...). A body of "" sends none.
func (e *env) req(method, path, body string, hdr ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	rq, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("request %s %s: %v", method, path, err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		rq.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(rq)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// want fails unless r has status and, when body is not "", exactly body.
func want(t testing.TB, what string, r reply, status int, body string) {
	t.Helper()
	if r.status != status || (body != "" && r.body != body) {
		t.Fatalf("%s: got %d %q, want %d %q", what, r.status, r.body, status, body)
	}
}

func auth(token string) []string { return []string{"Authorization", "Bearer " + token} }

// keyProof signs msg with priv as a Bitcoin signed message and returns the
// registration body.
func keyProof(t testing.TB, priv *btcec.PrivateKey, compressed bool, msg string) string {
	t.Helper()
	sig := ecdsa.SignCompact(priv, SignedMessageHash([]byte(msg)), compressed)
	pub := priv.PubKey().SerializeUncompressed()
	if compressed {
		pub = priv.PubKey().SerializeCompressed()
	}
	b, _ := json.Marshal(map[string]string{
		"public_key_hex": hex.EncodeToString(pub),
		"signature_hex":  hex.EncodeToString(sig),
		"message_hex":    hex.EncodeToString([]byte(msg)),
	})
	return string(b)
}

func newKey(t testing.TB) *btcec.PrivateKey {
	t.Helper()
	k, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatalf("new key: %v", err)
	}
	return k
}

// account registers a fresh key and returns its master token.
func (e *env) account() (apiKey string, id int64) {
	e.t.Helper()
	k := newKey(e.t)
	r := e.req("POST", "/api/v1/account/register", keyProof(e.t, k, true, e.srv.URL+"/api/v1/account/register 2026-01-01T00:00:00"))
	want(e.t, "register", r, 200, "")
	var a accountReply
	r.json(e.t, &a)
	acct, err := e.store.AccountByAPIKey(context.Background(), a.APIKey)
	if err != nil {
		e.t.Fatalf("registered account not stored: %v", err)
	}
	return a.APIKey, acct.ID
}

const defaultChannelBody = `{"public_read":false,"public_write":true,"sequenced":true,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`

// channel creates a channel with body (defaultChannelBody when "").
func (e *env) channel(apiKey, body string) channelJSON {
	e.t.Helper()
	if body == "" {
		body = defaultChannelBody
	}
	r := e.req("POST", "/api/v1/channel/manage", body, auth(apiKey)...)
	want(e.t, "create channel", r, 200, "")
	var ch channelJSON
	r.json(e.t, &ch)
	return ch
}

// token creates an access token on channel id.
func (e *env) token(apiKey, id string, read, write bool) tokenJSON {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"description": "t", "can_read": read, "can_write": write})
	r := e.req("POST", "/api/v1/channel/manage/"+id+"/api-token", string(b), auth(apiKey)...)
	want(e.t, "create token", r, 200, "")
	var tk tokenJSON
	r.json(e.t, &tk)
	return tk
}

// write posts a JSON message.
func (e *env) write(token, id, payload string) reply {
	e.t.Helper()
	return e.req("POST", "/api/v1/channel/"+id, payload, append(auth(token), "Content-Type", "application/json")...)
}

// messages reads the token's messages (query may be "?unread=true").
func (e *env) messages(token, id, query string) []messageJSON {
	e.t.Helper()
	r := e.req("GET", "/api/v1/channel/"+id+query, "", auth(token)...)
	want(e.t, "get messages", r, 200, "")
	var ms []messageJSON
	r.json(e.t, &ms)
	return ms
}

func seqs(ms []messageJSON) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Sequence)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// clock is a settable Config.Now for tests that cross second boundaries.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
