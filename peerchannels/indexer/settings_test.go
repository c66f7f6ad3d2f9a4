package indexer_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate/peerchannels/indexer"
)

type settings struct {
	URL   *string `json:"tipFilterCallbackUrl"`
	Token *string `json:"tipFilterCallbackToken"`
}

func TestIndexerSettings(t *testing.T) {
	e := newEnv(t)
	get := func() settings {
		t.Helper()
		st, _, body := e.call(http.MethodGet, "/api/v1/indexer", nil, e.bearer())
		var s settings
		if st != 200 || json.Unmarshal(body, &s) != nil {
			t.Fatalf("GET: %d %s", st, body)
		}
		return s
	}
	if s := get(); s.URL != nil || s.Token != nil {
		t.Fatalf("fresh account has settings %+v", s)
	}
	tests := []struct {
		name      string
		body      string
		headers   []string
		status    int
		reason    string // prefix
		wantURL   string // after the call; "-" for null
		wantToken string
	}{
		{"url and token", `{"tipFilterCallbackUrl":"  http://127.0.0.1:47124/api/v1/channel/abc ","tipFilterCallbackToken":"Bearer abcdefgh"}`,
			nil, 200, "", "http://127.0.0.1:47124/api/v1/channel/abc", "Bearer abcdefgh"},
		{"absent token is cleared", `{"tipFilterCallbackUrl":"https://example.com/cb?x=1"}`, nil, 200, "", "https://example.com/cb?x=1", "-"},
		{"token without url", `{"tipFilterCallbackToken":"Bearer abcdefgh"}`, nil, 400, "400: 10004: Tip filter callback token provided without url", "https://example.com/cb?x=1", "-"},
		{"ftp scheme", `{"tipFilterCallbackUrl":"ftp://example.com/"}`, nil, 400, "400: 10004: Invalid tip filter callback url Invalid scheme", "https://example.com/cb?x=1", "-"},
		{"no scheme", `{"tipFilterCallbackUrl":"example.com"}`, nil, 400, "400: 10004", "https://example.com/cb?x=1", "-"},
		{"fragment", `{"tipFilterCallbackUrl":"http://example.com/#x"}`, nil, 400, "400: 10004", "https://example.com/cb?x=1", "-"},
		{"single-label host", `{"tipFilterCallbackUrl":"http://intranet/x"}`, nil, 400, "400: 10004: Invalid tip filter callback url Invalid host", "https://example.com/cb?x=1", "-"},
		{"too long", `{"tipFilterCallbackUrl":"http://example.com/` + strings.Repeat("a", 2048) + `"}`, nil, 400, "400: 10004", "https://example.com/cb?x=1", "-"},
		{"short token", `{"tipFilterCallbackUrl":"http://localhost:8080/","tipFilterCallbackToken":"a b c d e f g"}`, nil, 400, "400: 10004", "https://example.com/cb?x=1", "-"},
		{"non-ascii token", `{"tipFilterCallbackUrl":"http://localhost:8080/","tipFilterCallbackToken":"Bearer abcdéfgh"}`, nil, 400, "400: 10004", "https://example.com/cb?x=1", "-"},
		{"url not a string", `{"tipFilterCallbackUrl":5}`, nil, 400, "400: 10004", "https://example.com/cb?x=1", "-"},
		{"not an object", `[1]`, nil, 400, "400: Invalid settings update object in body", "https://example.com/cb?x=1", "-"},
		{"bad json", `{`, nil, 400, "400:", "https://example.com/cb?x=1", "-"},
		{"bad content type", `{}`, []string{"Content-Type: text/plain"}, 400, "400: Invalid 'Content-Type'", "https://example.com/cb?x=1", "-"},
		{"bad accept", `{}`, []string{"Accept: text/plain"}, 400, "400: Invalid 'Accept'", "https://example.com/cb?x=1", "-"},
		{"empty object clears both", `{}`, []string{"Accept: */*"}, 200, "", "-", "-"},
		{"localhost with port", `{"tipFilterCallbackUrl":"http://localhost:8080/x","tipFilterCallbackToken":"12345678"}`, nil, 200, "", "http://localhost:8080/x", "12345678"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := e.call(http.MethodPost, "/api/v1/indexer", []byte(tc.body), append([]string{e.bearer()}, tc.headers...)...)
			if st != tc.status || !strings.HasPrefix(string(body), tc.reason) {
				t.Fatalf("status %d %q, want %d %q", st, body, tc.status, tc.reason)
			}
			s := get()
			if str(s.URL) != tc.wantURL || str(s.Token) != tc.wantToken {
				t.Fatalf("settings now %q %q, want %q %q", str(s.URL), str(s.Token), tc.wantURL, tc.wantToken)
			}
			if st == 200 {
				var echo settings
				if json.Unmarshal(body, &echo) != nil || str(echo.URL) != tc.wantURL || str(echo.Token) != tc.wantToken {
					t.Fatalf("reply %s", body)
				}
			}
		})
	}
	for _, h := range [][]string{nil, {"Authorization: Bearer wrong"}, {"Authorization: bearer " + e.acct.APIKey}} {
		if st, _, _ := e.call(http.MethodGet, "/api/v1/indexer", nil, h...); st != 401 {
			t.Fatalf("GET with %v: %d", h, st)
		}
		if st, _, _ := e.call(http.MethodPost, "/api/v1/indexer", []byte(`{}`), h...); st != 401 {
			t.Fatalf("POST with %v: %d", h, st)
		}
	}
	if st, _, _ := e.call(http.MethodGet, "/api/v1/indexer", nil, e.bearer(), "Accept: "+octet); st != 400 {
		t.Fatalf("GET with binary Accept: %d", st)
	}
}

func str(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}

// callbackSink is the callback target (a peer channel in production): it
// fails the first failures deliveries with 503.
type callbackSink struct {
	mu       sync.Mutex
	failures int
	got      []callback
	ok       chan callback
}

type callback struct {
	auth, contentType string
	body              []byte
	status            int
}

func (c *callbackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	cb := callback{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b, 200}
	if c.failures > 0 {
		c.failures--
		cb.status = 503
	}
	c.got = append(c.got, cb)
	c.mu.Unlock()
	w.WriteHeader(cb.status)
	if cb.status == 200 {
		c.ok <- cb
	}
}

func TestInternalTipFilterMatches(t *testing.T) {
	e := newEnv(t)
	sink := &callbackSink{failures: 2, ok: make(chan callback, 10)}
	target := httptest.NewServer(sink)
	t.Cleanup(target.Close)
	st, _, body := e.call(http.MethodPost, "/api/v1/indexer",
		[]byte(`{"tipFilterCallbackUrl":"`+target.URL+`/api/v1/channel/xyz","tipFilterCallbackToken":"Bearer channel-token-1"}`), e.bearer())
	if st != 200 {
		t.Fatalf("settings: %d %s", st, body)
	}
	noCallback := newAccount(t, e)
	internal := httptest.NewServer(e.h.InternalHandler())
	t.Cleanup(internal.Close)

	resp, err := http.Get(internal.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "true" {
		t.Fatalf("ping: %d %q", resp.StatusCode, b)
	}

	match := `{"pushDataHashHex":"` + strings.Repeat("ab", 32) + `","transactionId":"` + strings.Repeat("cd", 32) + `","transactionIndex":1,"flags":1}`
	batch := `{"blockId":null,"entries":[{"accountId":` + itoa(e.acct.ID) + `,"matches":[` + match + `]},{"accountId":` + itoa(noCallback.ID) + `,"matches":[]}]}`
	post := func(body string, ct string) int {
		req, _ := http.NewRequest(http.MethodPost, internal.URL+"/api/v1/tip-filter/matches", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(batch, jsonType); st != 200 {
		t.Fatalf("matches: %d", st)
	}
	// The first delivery and one retry fail; the next retry lands.
	var cb callback
	select {
	case cb = <-sink.ok:
	case <-time.After(10 * time.Second):
		t.Fatal("callback never delivered")
	}
	if cb.auth != "Bearer channel-token-1" || cb.contentType != jsonType {
		t.Fatalf("callback headers %+v", cb)
	}
	var got struct {
		BlockID *string           `json:"blockId"`
		Matches []json.RawMessage `json:"matches"`
	}
	if json.Unmarshal(cb.body, &got) != nil || got.BlockID != nil || len(got.Matches) != 1 || string(got.Matches[0]) != match {
		t.Fatalf("callback body %s", cb.body)
	}
	sink.mu.Lock()
	attempts := len(sink.got)
	sink.mu.Unlock()
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3 (two failures, then success)", attempts)
	}
	if n := e.h.PendingCallbacks(); n != 0 {
		t.Fatalf("%d callbacks still pending", n)
	}

	for _, bad := range []struct{ body, ct string }{
		{batch, "text/plain"}, {`{`, jsonType}, {`{"entries":[{"matches":[]}]}`, jsonType},
	} {
		if st := post(bad.body, bad.ct); st != 400 {
			t.Fatalf("bad batch %q %q: %d", bad.body, bad.ct, st)
		}
	}
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestCallbackRetryLimit: a delivery that keeps failing is dropped after
// CallbackMaxAttempts tries.
func TestCallbackRetryLimit(t *testing.T) {
	e := newEnvWith(t, func(c *indexer.Config) { c.CallbackMaxAttempts = 3 })
	sink := &callbackSink{failures: 1 << 30, ok: make(chan callback, 1)}
	target := httptest.NewServer(sink)
	t.Cleanup(target.Close)
	if st, _, body := e.call(http.MethodPost, "/api/v1/indexer", []byte(`{"tipFilterCallbackUrl":"`+target.URL+`/cb"}`), e.bearer()); st != 200 {
		t.Fatalf("settings: %d %s", st, body)
	}
	internal := httptest.NewServer(e.h.InternalHandler())
	t.Cleanup(internal.Close)
	resp, err := http.Post(internal.URL+"/api/v1/tip-filter/matches", jsonType,
		strings.NewReader(`{"blockId":"00ff","entries":[{"accountId":`+itoa(e.acct.ID)+`,"matches":[]}]}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("matches: %v %v", resp, err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.got)
		sink.mu.Unlock()
		if n == 3 && e.h.PendingCallbacks() == 0 {
			break
		}
		if n > 3 || time.Now().After(deadline) {
			t.Fatalf("%d attempts, %d pending; want 3 and 0", n, e.h.PendingCallbacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // several retry periods
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 3 || sink.got[0].auth != "" || !strings.Contains(string(sink.got[0].body), `"blockId":"00ff"`) {
		t.Fatalf("attempts %d, first %+v", len(sink.got), sink.got[0])
	}
}
