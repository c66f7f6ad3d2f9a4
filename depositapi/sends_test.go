package depositapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/depositapi"
	"github.com/walletgate/walletgate/sqlite"
)

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func sendBody(account, addr, amount, ext string) string {
	return fmt.Sprintf(`{"account":%q,"address":%q,"amount":%q,"external_id":%q}`, account, addr, amount, ext)
}

// setupSends serves an API with sends enabled on a store where alice has
// 0.01 coins.
func setupSends(t *testing.T) (*httptest.Server, *sqlite.Store, *clock) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h, err := depositapi.New(depositapi.Config{AdminKey: key, Store: st, Broadcasts: st, Now: clk.Now,
		Networks: map[string]string{"btc": "testnet"}, MaxBodyBytes: maxBody, MaxLimit: 50})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if _, err := st.AddWatch(ctx, walletgate.Watch{Coin: "btc", Address: "in-alice", Account: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyTx(ctx, "btc", walletgate.WalletTx{TxID: "fund", Confirmations: 3, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategoryReceive, Address: "in-alice", Amount: 1_000_000}}}, 3, 15, clk.Now()); err != nil {
		t.Fatal(err)
	}
	return srv, st, clk
}

func TestSendAPI(t *testing.T) {
	srv, st, clk := setupSends(t)
	txid := strings.Repeat("ab", 32)
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		msg                            string // substring of the error message
	}{
		{"no key", "POST", "/v1/btc/send", "", sendBody("alice", bech32, "0.001", "p1"), 401, "admin API key"},
		{"send", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.00100000", "p1"), 200, ""},
		{"same again", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.001", "p1"), 200, ""},
		{"same id, other amount", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.002", "p1"), 409, `external_id "p1" was already used`},
		{"legacy address", "POST", "/v1/btc/send", key, sendBody("alice", legacy, "0.002", "p2"), 200, ""},
		{"not enough", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.00800001", "p3"), 400, "has 0.00700000 btc, not enough to send 0.00800001"},
		{"unknown account", "POST", "/v1/btc/send", key, sendBody("zed", bech32, "0.001", "p4"), 400, `account "zed" has 0.00000000`},
		{"amount as number", "POST", "/v1/btc/send", key, `{"account":"alice","address":"` + bech32 + `","amount":0.001,"external_id":"p5"}`, 400, "not a JSON object"},
		{"amount exponent", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "1e-3", "p5"), 400, `amount "1e-3"`},
		{"amount 9 decimals", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.000000001", "p5"), 400, "at most 8 decimals"},
		{"amount zero", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0", "p5"), 400, "must be positive"},
		{"amount negative", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "-0.1", "p5"), 400, "must be positive"},
		{"amount huge", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "21000000.00000001", "p5"), 400, "at most 21000000"},
		{"no amount", "POST", "/v1/btc/send", key, `{"account":"alice","address":"` + bech32 + `","external_id":"p5"}`, 400, "amount is required"},
		{"no external id", "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.001", ""), 400, "external_id is required"},
		{"no address", "POST", "/v1/btc/send", key, sendBody("alice", "", "0.001", "p5"), 400, "address is required"},
		{"mainnet address", "POST", "/v1/btc/send", key, sendBody("alice", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "0.001", "p5"), 400, "bc1qw508"},
		{"fees account", "POST", "/v1/btc/send", key, sendBody(walletgate.NetworkFeesAccount, bech32, "0.001", "p5"), 400, "reserved"},
		{"unknown field", "POST", "/v1/btc/send", key, `{"account":"a","x":1}`, 400, "unknown field"},
		{"too large", "POST", "/v1/btc/send", key, sendBody(strings.Repeat("a", maxBody), bech32, "1", "x"), 413, "exceeds 256 bytes"},
		{"unknown coin", "POST", "/v1/doge/send", key, sendBody("alice", bech32, "0.001", "p5"), 404, `coin "doge"`},
		{"bad state", "GET", "/v1/btc/broadcasts?state=opened", key, "", 400, "pending, open, closed, all"},
		{"bad limit", "GET", "/v1/btc/broadcasts?limit=0", key, "", 400, "1..50"},
		{"bad id", "POST", "/v1/btc/broadcasts/x/resolve", key, `{"txid":"` + txid + `"}`, 400, "not a positive integer"},
		{"missing broadcast", "POST", "/v1/btc/broadcasts/99/resolve", key, `{"txid":"` + txid + `"}`, 404, "does not exist"},
		{"bad txid", "POST", "/v1/btc/broadcasts/1/resolve", key, `{"txid":"abc"}`, 400, "64 hex digits"},
		{"bad fee", "POST", "/v1/btc/broadcasts/1/resolve", key, `{"txid":"` + txid + `","fee":"-1"}`, 400, "negative"},
		{"release missing", "POST", "/v1/btc/broadcasts/99/release", key, "", 404, "does not exist"},
	}
	for _, c := range cases {
		status, out := call(t, srv, c.method, c.path, c.auth, c.body)
		if status != c.status || (c.msg != "" && !strings.Contains(errMsg(out), c.msg)) {
			t.Errorf("%s: %d %v, want %d with %q", c.name, status, out, c.status, c.msg)
		}
	}
	status, out := call(t, srv, "GET", "/v1/btc/accounts/alice", key, "")
	if status != 200 || out["balance"] != "0.00700000" || out["account"] != "alice" {
		t.Fatalf("alice's account: %d %v", status, out)
	}
	if _, out = call(t, srv, "GET", "/v1/btc/accounts/nobody", key, ""); out["balance"] != "0.00000000" {
		t.Fatalf("unknown account: %v", out)
	}
	status, out = call(t, srv, "POST", "/v1/btc/send", key, sendBody("alice", bech32, "0.001", "p1"))
	if status != 200 || out["amount"] != "0.00100000" || out["state"] != walletgate.SendPending || out["external_id"] != "p1" || out["address"] != bech32 {
		t.Fatalf("send reply %d %v", status, out)
	}

	// The operator's tools, around what the broadcaster does.
	ctx := context.Background()
	b, _, err := st.CollectBroadcast(ctx, "btc", 10, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/v1/btc/broadcasts/%d", b.ID)
	if status, out = call(t, srv, "POST", path+"/resolve", key, `{"txid":"`+txid+`"}`); status != 409 || !strings.Contains(errMsg(out), "never opened") {
		t.Fatalf("resolving a pending broadcast: %d %v", status, out)
	}
	if status, out = call(t, srv, "POST", path+"/release", key, ""); status != 409 || !strings.Contains(errMsg(out), "not open") {
		t.Fatalf("releasing a pending broadcast: %d %v", status, out)
	}
	if _, err := st.OpenBroadcast(ctx, "btc", b.ID, clk.Now()); err != nil {
		t.Fatal(err)
	}
	status, out = call(t, srv, "GET", "/v1/btc/broadcasts?state=open", key, "")
	list, _ := out["broadcasts"].([]any)
	if status != 200 || len(list) != 1 {
		t.Fatalf("open broadcasts: %d %v", status, out)
	}
	got := list[0].(map[string]any)
	outs, _ := got["outputs"].(map[string]any)
	if got["state"] != "open" || got["total"] != "0.00300000" || outs[bech32] != "0.00100000" || outs[legacy] != "0.00200000" || got["opened_at"] == nil {
		t.Fatalf("open broadcast %v", got)
	}
	if status, out = call(t, srv, "POST", path+"/release", key, ""); status != 409 || !strings.Contains(errMsg(out), "too recently") {
		t.Fatalf("release right after opening: %d %v", status, out)
	}
	clk.Add(11 * time.Minute)
	if status, out = call(t, srv, "POST", path+"/release", key, ""); status != 200 || out["state"] != "pending" {
		t.Fatalf("release: %d %v", status, out)
	}
	if _, err := st.OpenBroadcast(ctx, "btc", b.ID, clk.Now()); err != nil {
		t.Fatal(err)
	}
	status, out = call(t, srv, "POST", path+"/resolve", key, `{"txid":"`+txid+`","fee":"0.00000150"}`)
	if status != 200 || out["state"] != "closed" || out["txid"] != txid || out["fee"] != "0.00000150" {
		t.Fatalf("resolve: %d %v", status, out)
	}
	if status, out = call(t, srv, "POST", path+"/resolve", key, `{"txid":"`+strings.Repeat("cd", 32)+`"}`); status != 409 || !strings.Contains(errMsg(out), "already closed") {
		t.Fatalf("resolving again with another txid: %d %v", status, out)
	}
	for state, n := range map[string]int{"closed": 1, "open": 0, "pending": 0, "all": 1, "": 1} {
		_, out = call(t, srv, "GET", "/v1/btc/broadcasts?state="+state, key, "")
		if l, _ := out["broadcasts"].([]any); len(l) != n {
			t.Errorf("state %q: %d broadcasts, want %d", state, len(l), n)
		}
	}
	if _, out = call(t, srv, "GET", "/v1/btc/accounts/"+strings.ReplaceAll(walletgate.NetworkFeesAccount, " ", "%20"), key, ""); out["balance"] != "-0.00000150" {
		t.Fatalf("network fees account: %v", out)
	}
}

// TestSendDisabled: without a BroadcastStore the send routes are 501 and
// the others still work.
func TestSendDisabled(t *testing.T) {
	srv, _ := setup(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/btc/send", sendBody("alice", bech32, "0.001", "p1")},
		{"GET", "/v1/btc/broadcasts", ""},
		{"POST", "/v1/btc/broadcasts/1/release", ""},
	} {
		if status, out := call(t, srv, c.method, c.path, key, c.body); status != 501 || !strings.Contains(errMsg(out), "not enabled") {
			t.Errorf("%s %s: %d %v, want 501", c.method, c.path, status, out)
		}
	}
	if status, out := call(t, srv, "GET", "/v1/btc/accounts/alice", key, ""); status != 200 || out["balance"] != "0.00000000" {
		t.Errorf("account without sends: %d %v", status, out)
	}
}

func FuzzParseSendRequest(f *testing.F) {
	f.Add([]byte(sendBody("alice", "addr", "0.001", "x")))
	f.Add([]byte(sendBody("alice", "addr", "21000000", "x")))
	f.Add([]byte(`{"account":"a","address":"b","amount":1,"external_id":"c"}`))
	f.Add([]byte(`{"account":"a"} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := depositapi.ParseSendRequest(body, 64)
		if err != nil {
			if walletgate.ErrorCode(err) != walletgate.EInvalid || walletgate.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not an EInvalid with a message", err)
			}
			return
		}
		if r.Account == "" || r.Address == "" || r.ExternalID == "" || len(r.Account) > 64 || len(r.Address) > 64 || len(r.ExternalID) > 64 {
			t.Fatalf("accepted %+v for %q", r, body)
		}
		if r.Amount <= 0 || r.Amount > walletgate.MaxAmount || r.Account == walletgate.NetworkFeesAccount {
			t.Fatalf("accepted amount %d / account %q for %q", r.Amount, r.Account, body)
		}
		r.Coin = "btc"
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed request %+v fails the store's validation: %v", r, err)
		}
	})
}

func FuzzParseResolveRequest(f *testing.F) {
	f.Add([]byte(`{"txid":"` + strings.Repeat("ab", 32) + `","fee":"0.0000015"}`))
	f.Add([]byte(`{"txid":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		txid, fee, err := depositapi.ParseResolveRequest(body)
		if err != nil {
			if walletgate.ErrorCode(err) != walletgate.EInvalid || walletgate.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not an EInvalid with a message", err)
			}
			return
		}
		if err := walletgate.ValidateClose("btc", 1, txid, fee); err != nil {
			t.Fatalf("accepted %q, %d that CloseBroadcast refuses: %v", txid, fee, err)
		}
	})
}

// TestParseMessages pins the client texts of bad amounts, fees and txids,
// which the shared codec and validator must not change: a value beyond
// int64 gets the field's range text, as when ParseSats overflowed.
func TestParseMessages(t *testing.T) {
	txid := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name string
		err  func() error
		want string
	}{
		{"amount syntax", func() error {
			_, err := depositapi.ParseSendRequest([]byte(sendBody("a", "b", "1.5x", "c")), 64)
			return err
		}, `amount "1.5x" is not a decimal with at most 8 decimals`},
		{"amount places", func() error {
			_, err := depositapi.ParseSendRequest([]byte(sendBody("a", "b", "0.000000001", "c")), 64)
			return err
		}, `amount "0.000000001" is not a decimal with at most 8 decimals`},
		{"amount digits", func() error {
			_, err := depositapi.ParseSendRequest([]byte(sendBody("a", "b", "000000000001", "c")), 64)
			return err
		}, `amount "000000000001" is not a decimal with at most 8 decimals`},
		{"amount beyond int64", func() error {
			_, err := depositapi.ParseSendRequest([]byte(sendBody("a", "b", "99999999999", "c")), 64)
			return err
		}, `amount 99999999999 must be positive and at most 21000000.00000000`},
		{"amount negative", func() error {
			_, err := depositapi.ParseSendRequest([]byte(sendBody("a", "b", "-1", "c")), 64)
			return err
		}, `amount -1 must be positive and at most 21000000.00000000`},
		{"fee syntax", func() error {
			_, _, err := depositapi.ParseResolveRequest([]byte(`{"txid":"` + txid + `","fee":"+1"}`))
			return err
		}, `amount "+1" is not a decimal with at most 8 decimals`},
		{"fee beyond int64", func() error {
			_, _, err := depositapi.ParseResolveRequest([]byte(`{"txid":"` + txid + `","fee":"-99999999999"}`))
			return err
		}, `fee -99999999999 is negative or too large`},
		{"txid", func() error {
			_, _, err := depositapi.ParseResolveRequest([]byte(`{"txid":"` + txid[:63] + `g"}`))
			return err
		}, `txid "` + txid[:63] + `g" is not 64 hex digits`},
	} {
		err := tt.err()
		if walletgate.ErrorCode(err) != walletgate.EInvalid || walletgate.ErrorMessage(err) != tt.want {
			t.Errorf("%s: %v; want %s", tt.name, err, tt.want)
		}
	}
}
