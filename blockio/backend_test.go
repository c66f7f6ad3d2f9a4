package blockio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/blockio"
	"github.com/walletgate/walletgate/blockio/blockiotest"
)

const key = "1111-2222-3333-4444"

func setup(t *testing.T, cfg blockio.Config) (*blockio.Client, *blockiotest.Server) {
	t.Helper()
	srv := blockiotest.New(key, "btctest")
	t.Cleanup(srv.Close)
	if cfg.APIKey == "" {
		cfg.APIKey = key
	}
	cfg.Network = "btctest"
	cfg.BaseURL = srv.URL
	c, err := blockio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func txid(n int) string { return fmt.Sprintf("%064x", n) }

func TestCreateAddress(t *testing.T) {
	c, srv := setup(t, blockio.Config{})
	ctx := context.Background()
	a1, err := c.CreateAddress(ctx, "Customer 42")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.CreateAddress(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []blockiotest.Address{{Address: a1, Label: "customer-42"}, {Address: a2, Label: "label2"}}
	if got := srv.Addresses(); !reflect.DeepEqual(got, want) || a1 == a2 {
		t.Fatalf("addresses %v, want %v", got, want)
	}
	// block.io needs unique labels: its refusal comes back with its message.
	_, err = c.CreateAddress(ctx, "customer 42")
	if walletgate.ErrorCode(err) != walletgate.EBackend || !strings.Contains(err.Error(), "Label already exists: customer-42") {
		t.Fatalf("duplicate label: %v", err)
	}
}

func TestBalance(t *testing.T) {
	c, srv := setup(t, blockio.Config{})
	srv.SetBalance(123_456_789, 1_000)
	tests := []struct {
		minConf int
		want    int64
	}{{3, 123_456_789}, {1, 123_456_789}, {0, 123_457_789}}
	for _, tc := range tests {
		got, err := c.Balance(context.Background(), tc.minConf)
		if err != nil || got != tc.want {
			t.Errorf("Balance(%d) = %d, %v; want %d", tc.minConf, got, err, tc.want)
		}
	}
}

func TestAddressBalances(t *testing.T) {
	c, srv := setup(t, blockio.Config{})
	ctx := context.Background()
	a, _ := c.CreateAddress(ctx, "a")
	b, _ := c.CreateAddress(ctx, "b")
	srv.AddTx(blockiotest.Tx{TxID: txid(1), Confirmations: 3, Received: map[string]int64{a: 150_000_000, b: 1}})
	got, err := c.AddressBalances(ctx, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := []blockio.AddressBalance{{Address: a, Available: 150_000_000}, {Address: b, Available: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := srv.LastParams("get_address_balance")["addresses"]; len(got) != 1 || got[0] != a+","+b {
		t.Fatalf("addresses param %q", got)
	}
}

// scripted adds n received transactions; tx i pays i satoshis to addr,
// with i confirmations. Newest (n) comes first in listings.
func scripted(srv *blockiotest.Server, n int, addr string) {
	for i := 1; i <= n; i++ {
		srv.AddTx(blockiotest.Tx{TxID: txid(i), Confirmations: int64(i), Received: map[string]int64{addr: int64(i)}})
	}
}

func TestReceivedPages(t *testing.T) {
	tests := []struct {
		name      string
		txs       int
		pageSize  int
		ignoreTx  bool
		wantPages [][]int // txids (as numbers) per page
		wantCalls int
	}{
		{"empty account", 0, 3, false, nil, 1},
		{"exact pages", 6, 3, false, [][]int{{6, 5, 4}, {3, 2, 1}}, 3},
		{"short last page", 5, 2, false, [][]int{{5, 4}, {3, 2}, {1}}, 4},
		{"server ignores before_tx: stop on repeated txid", 5, 2, true, [][]int{{5, 4}, {5, 4}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := setup(t, blockio.Config{})
			srv.SetPageSize(tc.pageSize)
			srv.IgnoreBeforeTx(tc.ignoreTx)
			scripted(srv, tc.txs, "addr")
			var pages [][]int
			cursor := ""
			for range 10 {
				txs, next, err := c.ReceivedPage(context.Background(), cursor)
				if err != nil {
					t.Fatal(err)
				}
				if len(txs) > 0 {
					var page []int
					for _, tx := range txs {
						var n int
						fmt.Sscanf(tx.TxID, "%x", &n)
						page = append(page, n)
						want := walletgate.WalletTx{TxID: tx.TxID, Confirmations: int64(n), OnlyReceive: true,
							Details: []walletgate.WalletTxDetail{{Category: "receive", Address: "addr", Amount: int64(n)}}}
						if !reflect.DeepEqual(tx, want) {
							t.Errorf("tx %+v, want %+v", tx, want)
						}
					}
					pages = append(pages, page)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if !reflect.DeepEqual(pages, tc.wantPages) {
				t.Fatalf("pages %v, want %v", pages, tc.wantPages)
			}
			if got := srv.Calls("get_transactions"); got != tc.wantCalls {
				t.Fatalf("%d get_transactions calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestTransaction(t *testing.T) {
	c, srv := setup(t, blockio.Config{MaxScanPages: 2})
	srv.SetPageSize(2)
	scripted(srv, 5, "addr") // received pages: {5,4} {3,2} {1}
	srv.AddTx(blockiotest.Tx{TxID: txid(100), Confirmations: 0, Sent: map[string]int64{"them": 70_000, "change?": 1}})
	srv.AddTx(blockiotest.Tx{TxID: txid(101), Confirmations: 1, Received: map[string]int64{"a1": 250_000_000, "a2": 1}})
	ctx := context.Background()
	tests := []struct {
		name string
		txid string
		want walletgate.WalletTx
		code string
	}{
		{"newest received", txid(101), walletgate.WalletTx{TxID: txid(101), Confirmations: 1, OnlyReceive: true, Details: []walletgate.WalletTxDetail{
			{Category: "receive", Address: "a1", Amount: 250_000_000}, {Category: "receive", Address: "a2", Amount: 1}}}, ""},
		{"second page", txid(4), walletgate.WalletTx{TxID: txid(4), Confirmations: 4, OnlyReceive: true, Details: []walletgate.WalletTxDetail{
			{Category: "receive", Address: "addr", Amount: 4}}}, ""},
		{"sent", txid(100), walletgate.WalletTx{TxID: txid(100), Confirmations: 0, OnlyReceive: true, Details: []walletgate.WalletTxDetail{
			{Category: "send", Address: "change?", Amount: -1}, {Category: "send", Address: "them", Amount: -70_000}}}, ""},
		{"beyond MaxScanPages", txid(1), walletgate.WalletTx{}, walletgate.ENotFound},
		{"unknown", txid(7777), walletgate.WalletTx{}, walletgate.ENotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Transaction(ctx, tc.txid)
			if tc.code != "" {
				if walletgate.ErrorCode(err) != tc.code {
					t.Fatalf("err %v, want code %s", err, tc.code)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	// Confirmations come from block.io's current view on every call.
	srv.SetConfirmations(txid(101), 6)
	got, err := c.Transaction(ctx, txid(101))
	if err != nil || got.Confirmations != 6 {
		t.Fatalf("after SetConfirmations: %+v, %v", got, err)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault blockiotest.Fault
		code  string
		msg   string
	}{
		{"fail status", blockiotest.Fault{FailMessage: "Network fee too low"}, walletgate.EBackend, "block.io get_balance failed: Network fee too low"},
		{"HTTP 503", blockiotest.Fault{HTTPStatus: 503}, walletgate.EUnavailable, "HTTP 503"},
		{"HTTP 404 not JSON", blockiotest.Fault{HTTPStatus: 404}, walletgate.EBackend, "not JSON"},
		{"slow reply", blockiotest.Fault{Delay: 5 * time.Second}, walletgate.ETimeout, "no reply within 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := setup(t, blockio.Config{Timeout: 200 * time.Millisecond})
			srv.SetBalance(5, 0)
			tc.fault.Times = 1
			srv.SetFault("get_balance", tc.fault)
			_, err := c.Balance(context.Background(), 1)
			if walletgate.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want code %s containing %q", err, tc.code, tc.msg)
			}
			// The fault was for one call only: the next one works.
			if got, err := c.Balance(context.Background(), 1); err != nil || got != 5 {
				t.Fatalf("after the fault: %d, %v", got, err)
			}
		})
	}
}

func TestWrongAPIKey(t *testing.T) {
	c, _ := setup(t, blockio.Config{APIKey: "wrong"})
	_, err := c.Balance(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "API Key invalid") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err %v: want block.io's message, without the key", err)
	}
}

func TestMalformedData(t *testing.T) {
	tests := []struct {
		name string
		body string
		call func(*blockio.Client) error
		want string
	}{
		{"float-looking amount with too many places", `{"status":"success","data":{"available_balance":"0.123456789","pending_received_balance":"0"}}`,
			func(c *blockio.Client) error { _, err := c.Balance(context.Background(), 1); return err }, "more than 8 decimal places"},
		{"numeric amount", `{"status":"success","data":{"available_balance":1.5}}`,
			func(c *blockio.Client) error { _, err := c.Balance(context.Background(), 1); return err }, "unexpected data"},
		{"negative confirmations", `{"status":"success","data":{"txs":[{"txid":"ab","confirmations":-1,"amounts_received":[]}]}}`,
			func(c *blockio.Client) error { _, _, err := c.ReceivedPage(context.Background(), ""); return err }, "not a count"},
		{"negative received amount", `{"status":"success","data":{"txs":[{"txid":"ab","confirmations":1,"amounts_received":[{"recipient":"x","amount":"-1"}]}]}}`,
			func(c *blockio.Client) error { _, _, err := c.ReceivedPage(context.Background(), ""); return err }, "received amount"},
		{"no address", `{"status":"success","data":{}}`,
			func(c *blockio.Client) error { _, err := c.CreateAddress(context.Background(), "x"); return err }, "unexpected data"},
		{"fail without message", `{"status":"fail","data":{}}`,
			func(c *blockio.Client) error { _, err := c.CreateAddress(context.Background(), "x"); return err }, "no error_message given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tc.body) }))
			defer srv.Close()
			c, err := blockio.New(blockio.Config{APIKey: key, Network: "btc", BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.call(c)
			var werr *walletgate.Error
			if !errors.As(err, &werr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a walletgate.Error containing %q", err, tc.want)
			}
		})
	}
}

func TestNotificationsAPI(t *testing.T) {
	c, srv := setup(t, blockio.Config{})
	ctx := context.Background()
	old := srv.AddNotification("address", "https://old.example/")
	n, err := c.CreateNotification(ctx, "account", "https://example.com/secret")
	if err != nil {
		t.Fatal(err)
	}
	if n.Type != "account" || n.URL != "https://example.com/secret" || !n.Enabled || n.ID == "" {
		t.Fatalf("created %+v", n)
	}
	list, err := c.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != old || list[1] != n {
		t.Fatalf("list %+v", list)
	}
	if err := c.DeleteNotification(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteNotification(ctx, n.ID); walletgate.ErrorCode(err) != walletgate.EBackend || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("second delete: %v", err)
	}
	if got := srv.Notifications(); len(got) != 1 || got[0].ID != old {
		t.Fatalf("left %+v", got)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		cfg  blockio.Config
		want string
	}{
		{blockio.Config{Network: "btc"}, "APIKey is required"},
		{blockio.Config{APIKey: "k", Network: "eth"}, `network "eth"`},
		{blockio.Config{APIKey: "k", Network: "btc", BaseURL: "ftp://x/"}, "want an http(s) URL"},
	}
	for _, tc := range tests {
		if _, err := blockio.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
