package indexer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/peerchannels/indexer"
	"github.com/walletgate/walletgate/peerchannels/indexer/indexertest"
	"github.com/walletgate/walletgate/sqlite"
)

// sent is one push to an account socket.
type sent struct {
	account int64
	kind    uint32
	payload []byte
}

// sockets stands in for the peer-channels service's account websockets.
type sockets struct {
	mu        sync.Mutex
	connected map[int64]bool
	got       chan sent
}

func (s *sockets) AccountConnected(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected[id]
}

func (s *sockets) SendAccount(_ context.Context, id int64, kind uint32, payload []byte) error {
	s.got <- sent{id, kind, append([]byte(nil), payload...)}
	return nil
}

func (s *sockets) connect(id int64) {
	s.mu.Lock()
	s.connected[id] = true
	s.mu.Unlock()
}

// lookup resolves account ids through the real store's key lookup (the
// ChannelStore contract has no id lookup yet).
type lookup struct {
	store *sqlite.Store
	mu    sync.Mutex
	keys  map[int64]string
}

func (l *lookup) AccountByID(ctx context.Context, id int64) (walletgate.Account, error) {
	l.mu.Lock()
	key, ok := l.keys[id]
	l.mu.Unlock()
	if !ok {
		return walletgate.Account{}, walletgate.Errorf(walletgate.ENotFound, "no account %d", id)
	}
	return l.store.AccountByAPIKey(ctx, key)
}

type env struct {
	t       testing.TB
	fake    *indexertest.Server
	h       *indexer.Handler
	srv     *httptest.Server
	store   *sqlite.Store
	sockets *sockets
	lookup  *lookup
	acct    walletgate.Account
	stop    func()
}

func newAccount(t testing.TB, e *env) walletgate.Account {
	t.Helper()
	pub := make([]byte, 33)
	_, _ = rand.Read(pub)
	pub[0] = 2
	raw := make([]byte, 64)
	_, _ = rand.Read(raw)
	key := base64.URLEncoding.EncodeToString(raw)
	a, err := e.store.CreateAccount(context.Background(), pub, key)
	if err != nil {
		t.Fatal(err)
	}
	e.lookup.mu.Lock()
	e.lookup.keys[a.ID] = key
	e.lookup.mu.Unlock()
	return a
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with a hook to adjust the handler's Config.
func newEnvWith(t testing.TB, adjust func(*indexer.Config)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "channels.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, fake: indexertest.New(t), store: store,
		sockets: &sockets{connected: map[int64]bool{}, got: make(chan sent, 100)},
		lookup:  &lookup{store: store, keys: map[int64]string{}}}
	e.acct = newAccount(t, e)
	cfg := indexer.Config{URL: e.fake.URL, Store: store, Sockets: e.sockets, Accounts: e.lookup,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		ReconnectInterval: 20 * time.Millisecond, CallbackRetryInterval: 40 * time.Millisecond, RequestTimeout: 5 * time.Second}
	if adjust != nil {
		adjust(&cfg)
	}
	e.h, err = indexer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.h.Register(func(method, pattern string, hh http.Handler) { mux.Handle(method+" "+pattern, hh) })
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.h.Run(rctx) }()
	var once sync.Once
	e.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(e.stop)
	e.waitConnected(true)
	return e
}

func (e *env) waitConnected(want bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.h.Connected() != want {
		if time.Now().After(deadline) {
			e.t.Fatalf("indexer connection never became %v", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call sends a request to the public routes; headers are "Name: value" pairs.
func (e *env) call(method, path string, body []byte, headers ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (e *env) bearer() string { return "Authorization: Bearer " + e.acct.APIKey }

func (e *env) waitPush(timeout time.Duration) (sent, bool) {
	select {
	case s := <-e.sockets.got:
		return s, true
	case <-time.After(timeout):
		return sent{}, false
	}
}

const (
	octet    = "application/octet-stream"
	jsonType = "application/json"
)
