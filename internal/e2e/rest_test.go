package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
)

// testREST checks the Bitweb REST API of both coins through the front:
// byte-exact bodies for a payment made on btcd, the CORS header, and a
// form POST to /broadcast reaching walletgate.
func (s *stack) testREST(t *testing.T, f front) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := regtest.NewKey(t, regtest.P2WPKH)
	op, err := s.node.Fund(ctx, key.Script(), 1_2345_6789)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.waitSynced(t)
	h, _ := s.node.Height(ctx)
	wantBalance := `{"error":null,"id":"api-server","result":{"balance":123456789,"confirmed":123456789,"unconfirmed":0}}` + "\n"
	// Wait on the direct listener, so the front's rate limits only see the
	// requests of the checks below.
	waitBody(t, s.wg.base+"/v1/btc/balance/"+key.Address(), wantBalance)
	waitBody(t, s.wg.base+"/balance/"+key.Address(), wantBalance)

	for _, c := range coins {
		t.Run(c.name, func(t *testing.T) {
			get := func(path string) (int, string) {
				t.Helper()
				code, hdr, body, err := httpDo(ctx, "GET", f.base+c.rest+path, nil, "Origin", "https://wallet.example")
				if err != nil {
					t.Fatalf("GET %s%s through %s: %v", c.rest, path, f.name, err)
				}
				if got := hdr.Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("GET %s%s: Access-Control-Allow-Origin %q, want *", c.rest, path, got)
				}
				return code, string(body)
			}
			if code, body := get("/info"); code != 200 || body != fmt.Sprintf(`{"error":null,"id":"api-server","result":{"blocks":%d}}`+"\n", h) {
				t.Errorf("/info = %d %s, want blocks %d", code, body, h)
			}
			if code, body := get("/fee"); code != 200 || body != `{"error":null,"id":"api-server","result":{"feerate":10000}}`+"\n" {
				t.Errorf("/fee = %d %s", code, body)
			}
			if code, body := get("/balance/" + key.Address()); code != 200 || body != wantBalance {
				t.Errorf("/balance = %d %s, want %s", code, body, wantBalance)
			}
			wantUTXO := fmt.Sprintf(`{"error":null,"id":"api-server","result":[{"coinbase":false,"height":%d,"index":%d,"script":"%x","txid":"%s","value":123456789}]}`+"\n",
				h, op.Vout, key.Script(), op.TxID)
			if code, body := get("/unspent/" + key.Address() + "?confirmed=true"); code != 200 || body != wantUTXO {
				t.Errorf("/unspent = %d %s, want %s", code, body, wantUTXO)
			}
			if code, body := get("/history/" + key.Address() + "?limit=10"); code != 200 ||
				!strings.Contains(body, fmt.Sprintf(`"amount":123456789,"direction":"in","height":%d,"mine_in":0,"mine_out":123456789`, h)) ||
				!strings.Contains(body, op.TxID) {
				t.Errorf("/history = %d %s, want the incoming payment %s", code, body, op.TxID)
			}
			code, body := get("/tx/" + op.TxID)
			if code != 200 || !strings.Contains(body, `"txid":"`+op.TxID+`"`) || !strings.Contains(body, `"value_sat":123456789`) {
				t.Errorf("/tx = %d %.300s", code, body)
			}
			code, body = get("/rawtx/" + op.TxID)
			var raw struct {
				Result string `json:"result"`
			}
			if code != 200 || json.Unmarshal([]byte(body), &raw) != nil || len(raw.Result) < 100 {
				t.Fatalf("/rawtx = %d %.300s", code, body)
			}

			// The wallet posts the form field raw. Invalid hex is refused by
			// walletgate itself (its text, not the proxy's) ...
			post := func(raw string) (int, string) {
				t.Helper()
				code, _, body, err := httpDo(ctx, "POST", f.base+c.rest+"/broadcast", []byte(url.Values{"raw": {raw}}.Encode()),
					"Content-Type", "application/x-www-form-urlencoded")
				if err != nil {
					t.Fatalf("POST %s/broadcast through %s: %v", c.rest, f.name, err)
				}
				return code, string(body)
			}
			if code, body := post("zz"); code != 400 || !strings.Contains(body, "raw must be a valid hex string") {
				t.Errorf("/broadcast of bad hex = %d %s, want 400 naming the hex", code, body)
			}
			// ... and a transaction already in the chain is refused by the
			// node, which proves the whole body arrived.
			if code, body := post(raw.Result); code != 400 || !strings.Contains(strings.ToLower(body), "already") {
				t.Errorf("/broadcast of a confirmed transaction = %d %s, want 400 with the node's refusal", code, body)
			}
		})
	}
}

// waitBody polls url until it answers 200 with exactly want.
func waitBody(t *testing.T, url, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		code, _, body, err := httpDo(ctx, "GET", url, nil)
		if err == nil && code == 200 && string(body) == want {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("GET %s = %d %s %v, want %s", url, code, body, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testPrivatePaths checks what must not be public: the metrics, the health
// check and the node notify hook answer on walletgate's own listener, and
// nginx closes the connection on them (444) without asking walletgate. The
// notify hook matters most: it trusts loopback callers, and behind a proxy
// on the same host every caller is loopback.
func (s *stack) testPrivatePaths(t *testing.T, f front) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		method, path string
		direct       int // status on the direct listener
	}{
		{"GET", "/metrics", 200},
		{"GET", "/healthz", 200},
		{"POST", "/v1/btc/notify", 204},
		{"POST", "/v1/bitweb/notify", 204},
		{"GET", "/v1/btc/nosuchthing", 404},
	} {
		code, _, body, err := httpDo(ctx, tc.method, f.base+tc.path, nil)
		if f.nginx == nil {
			if err != nil || code != tc.direct {
				t.Errorf("%s %s directly = %d %v, want %d", tc.method, tc.path, code, err, tc.direct)
			}
			continue
		}
		// 444: nginx closes the connection without a response.
		if err == nil {
			t.Errorf("%s %s through nginx answered %d %.200s, want the connection closed (444)", tc.method, tc.path, code, body)
		} else if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
			t.Errorf("%s %s through nginx: %v, want the connection closed without a response", tc.method, tc.path, err)
		}
	}
	if f.nginx == nil {
		_, _, body, _ := httpDo(ctx, "GET", f.base+"/metrics", nil)
		if !strings.Contains(string(body), "go_goroutines") {
			t.Errorf("/metrics does not look like Prometheus metrics: %.300s", body)
		}
	}
}

// testBroadcastLimit checks the front's tightest limit, /broadcast at
// 20 r/min with a burst of 10 per client IP: 30 posts in a row all reach
// walletgate directly (it has no limit of its own), while through nginx the
// first 11 do (the one the rate allows plus the burst) and later ones get
// 429. The posts carry invalid hex, so nothing is broadcast.
func (s *stack) testBroadcastLimit(t *testing.T, f front) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var codes []int
	for range 30 {
		code, _, body, err := httpDo(ctx, "POST", f.base+"/broadcast", []byte("raw=zz"), "Content-Type", "application/x-www-form-urlencoded")
		if err != nil {
			t.Fatalf("POST /broadcast: %v", err)
		}
		if code == 400 && !strings.Contains(string(body), "raw must be a valid hex string") {
			t.Fatalf("POST /broadcast = 400 %s, want walletgate's hex error", body)
		}
		codes = append(codes, code)
	}
	limited := 0
	for i, code := range codes {
		switch {
		case code == 429 && f.nginx != nil && i >= 11:
			limited++
		case code != 400:
			t.Fatalf("post %d of 30 answered %d (all: %v)", i+1, code, codes)
		}
	}
	if f.nginx != nil && limited == 0 {
		t.Fatalf("30 posts in a row through nginx were never limited: %v", codes)
	}
}
