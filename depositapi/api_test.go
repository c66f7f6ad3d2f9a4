package depositapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/depositapi"
	"github.com/walletgate/walletgate/sqlite"
)

const (
	key     = "admin-secret"
	bech32  = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
	legacy  = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"
	maxBody = 256
)

type creator struct{ store walletgate.DepositStore }

func (c creator) CreateAddress(ctx context.Context, coin, account, ext string) (walletgate.Watch, error) {
	return c.store.AddWatch(ctx, walletgate.Watch{Coin: coin, Address: "made-" + account, Account: account, ExternalID: ext})
}

func setup(t *testing.T) (*httptest.Server, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "api.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := depositapi.New(depositapi.Config{AdminKey: key, Store: st, Creator: creator{st},
		Networks: map[string]string{"btc": "testnet"}, MaxBodyBytes: maxBody, MaxLimit: 50})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, st
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func errMsg(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func TestAPI(t *testing.T) {
	srv, st := setup(t)
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		msg                            string // substring of the error message
	}{
		{"no key", "GET", "/v1/btc/watch", "", "", 401, "admin API key"},
		{"wrong key", "GET", "/v1/btc/watch", "admin-secreT", "", 401, "admin API key"},
		{"watch bech32", "POST", "/v1/btc/watch", key, `{"address":"` + bech32 + `","account":"alice","external_id":"u1"}`, 200, ""},
		{"watch legacy", "POST", "/v1/btc/watch", key, `{"address":"` + legacy + `","account":"bob"}`, 200, ""},
		{"same again", "POST", "/v1/btc/watch", key, `{"address":"` + bech32 + `","account":"alice"}`, 200, ""},
		{"other account", "POST", "/v1/btc/watch", key, `{"address":"` + bech32 + `","account":"bob"}`, 409, "already watched"},
		{"mainnet address", "POST", "/v1/btc/watch", key, `{"address":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","account":"a"}`, 400, "bc1qw508"},
		{"garbage address", "POST", "/v1/btc/watch", key, `{"address":"xyz","account":"a"}`, 400, `address "xyz"`},
		{"no account", "POST", "/v1/btc/watch", key, `{"address":"` + bech32 + `"}`, 400, "account is required"},
		{"unknown field", "POST", "/v1/btc/watch", key, `{"address":"` + bech32 + `","account":"a","x":1}`, 400, "unknown field"},
		{"not json", "POST", "/v1/btc/watch", key, `address=1`, 400, "not a JSON object"},
		{"too large", "POST", "/v1/btc/watch", key, `{"account":"` + strings.Repeat("a", maxBody) + `"}`, 413, "exceeds 256 bytes"},
		{"unknown coin", "POST", "/v1/doge/watch", key, `{"address":"x","account":"a"}`, 404, `coin "doge"`},
		{"create address", "POST", "/v1/btc/address", key, `{"account":"carol"}`, 200, ""},
		{"create with address", "POST", "/v1/btc/address", key, `{"account":"carol","address":"x"}`, 400, "must not be given"},
		{"bad limit", "GET", "/v1/btc/watch?limit=51", key, "", 400, "1..50"},
		{"bad cursor", "GET", "/v1/btc/deposits?cursor=-1", key, "", 400, "cursor"},
	}
	for _, c := range cases {
		status, out := call(t, srv, c.method, c.path, c.auth, c.body)
		if status != c.status || (c.msg != "" && !strings.Contains(errMsg(out), c.msg)) {
			t.Errorf("%s: %d %v, want %d with %q", c.name, status, out, c.status, c.msg)
		}
	}
	status, out := call(t, srv, "GET", "/v1/btc/watch?limit=2", key, "")
	ws, _ := out["watches"].([]any)
	if status != 200 || len(ws) != 2 || out["next_cursor"] == float64(0) {
		t.Fatalf("watch page 1: %d %v", status, out)
	}
	status, out = call(t, srv, "GET", fmt.Sprintf("/v1/btc/watch?limit=2&cursor=%v", out["next_cursor"]), key, "")
	ws, _ = out["watches"].([]any)
	if status != 200 || len(ws) != 1 || ws[0].(map[string]any)["address"] != "made-carol" || out["next_cursor"] != float64(0) {
		t.Fatalf("watch page 2: %d %v", status, out)
	}

	tx := walletgate.WalletTx{TxID: "t1", Confirmations: 3, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategoryReceive, Address: bech32, Amount: 21000}}}
	if _, err := st.ApplyTx(context.Background(), "btc", tx, 3, 15, time.Now()); err != nil {
		t.Fatal(err)
	}
	status, out = call(t, srv, "GET", "/v1/btc/deposits?account=alice", key, "")
	ds, _ := out["deposits"].([]any)
	if status != 200 || len(ds) != 1 {
		t.Fatalf("deposits: %d %v", status, out)
	}
	d := ds[0].(map[string]any)
	if d["amount"] != "0.00021000" || d["credited"] != true || d["confirmations"] != float64(3) || d["txid"] != "t1" {
		t.Fatalf("deposit %v", d)
	}
	if _, out = call(t, srv, "GET", "/v1/btc/deposits?account=bob", key, ""); len(out["deposits"].([]any)) != 0 {
		t.Fatalf("bob's deposits %v", out)
	}
}

func FuzzParseWatchRequest(f *testing.F) {
	f.Add([]byte(`{"address":"a","account":"b","external_id":"c"}`), true)
	f.Add([]byte(`{"account":"b"}`), false)
	f.Add([]byte(`{"account":"b"} {}`), false)
	f.Add([]byte(`[]`), true)
	f.Fuzz(func(t *testing.T, body []byte, wantAddress bool) {
		req, err := depositapi.ParseWatchRequest(body, wantAddress, 64)
		if err != nil {
			if walletgate.ErrorCode(err) != walletgate.EInvalid || walletgate.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not an EInvalid with a message", err)
			}
			return
		}
		if req.Account == "" || len(req.Account) > 64 || len(req.ExternalID) > 64 || (req.Address != "") != wantAddress {
			t.Fatalf("accepted %+v for %q", req, body)
		}
	})
}
