package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestSendsEndToEnd runs the send path of the real process on btcd +
// btcwallet: a credited account queues two sends, the broadcaster pays
// both in one transaction through the wallet, the fee is booked on
// "Network fees", the REST API (walletgate's own node index) shows the
// outputs, and confirmations come back as broadcast txupdates with
// credited null. Overdrawing is a 400 naming the balance.
func TestSendsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd, btcwallet and walletgate")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	node := regtest.Start(t)
	rw := regtest.StartWallet(t, node)
	recv, recvURL := newEventReceiver(t)
	dir := t.TempDir()
	np := freePort(t)
	key := "sends-admin-key-012345678"
	yml := writeYAML(t, dir, fmt.Sprintf(`
coins:
  btc:
    network: regtest
    backend:
      type: node
      url: %s
      poll_interval: 200ms
      wallet: {url: '%s', kind: btcwallet}
      walletnotify: {type: http, port: %d}
events:
  app: {type: http, url: '%s', timeout: 2s}
deposits:
  admin_key: %s
  poll_interval: 500ms
  broadcast_period: 300ms
  outbox: {poll: 100ms}
`, node.RPCURL(), rw.RPCURL(), np, recvURL, key))
	p := startProc(t, buildBinary(t), dir, freePort(t), "WALLETGATE_CONFIG="+yml)

	// Credit alice with 1 BTC.
	txid0 := payWallet(t, ctx, node, rw, newWalletAddress(t, p, key, "alice"), 1_0000_0000)
	if code, body := postWalletNotify(t, np, txid0); code != 200 {
		t.Fatalf("walletnotify: %d %s", code, body)
	}
	if _, err := node.Generate(ctx, 3); err != nil {
		t.Fatal(err)
	}
	waitDeposits(t, p, key, "alice credited", func(rows []depositRow) bool { return len(rows) == 1 && rows[0].Credited })
	balance := func(account string) string {
		t.Helper()
		code, body := do(t, "GET", p.base+"/v1/btc/accounts/"+url.PathEscape(account), key, "", nil)
		if code != 200 {
			t.Fatalf("balance of %s: %d %s", account, code, body)
		}
		var r struct {
			Balance string `json:"balance"`
		}
		json.Unmarshal(body, &r)
		return r.Balance
	}
	if got := balance("alice"); got != "1.00000000" {
		t.Fatalf("alice's balance %s after the deposit, want 1.00000000", got)
	}

	// Two sends from alice to outside keys, and one she cannot afford.
	k1, k2 := regtest.NewKey(t, regtest.P2WPKH), regtest.NewKey(t, regtest.P2PKH)
	sends := []struct {
		addr, amount, id string
		code             int
		want             string
	}{
		{k1.Address(), "0.30000000", "w-1", 200, `"state":"pending"`},
		{k2.Address(), "0.20000000", "w-2", 200, `"state":"pending"`},
		{k1.Address(), "0.60000000", "w-3", 400, "has 0.50000000 btc, not enough"},
		{"not-an-address", "0.1", "w-4", 400, "address"},
	}
	for _, s := range sends {
		b := fmt.Sprintf(`{"account":"alice","address":%q,"amount":%q,"external_id":%q}`, s.addr, s.amount, s.id)
		if code, body := do(t, "POST", p.base+"/v1/btc/send", key, "application/json", []byte(b)); code != s.code || !strings.Contains(string(body), s.want) {
			t.Errorf("send %s = %d %s, want %d with %q", s.id, code, body, s.code, s.want)
		}
	}

	// The broadcaster sends both in one transaction.
	var txid, fee string
	deadline := time.Now().Add(60 * time.Second)
	for txid == "" {
		_, body := do(t, "GET", p.base+"/v1/btc/broadcasts?state=closed", key, "", nil)
		var r struct {
			Broadcasts []struct {
				TxID    string            `json:"txid"`
				Fee     string            `json:"fee"`
				Outputs map[string]string `json:"outputs"`
			} `json:"broadcasts"`
		}
		json.Unmarshal(body, &r)
		if len(r.Broadcasts) == 1 {
			b := r.Broadcasts[0]
			if b.Outputs[k1.Address()] != "0.30000000" || b.Outputs[k2.Address()] != "0.20000000" || len(b.Outputs) != 2 {
				t.Fatalf("broadcast outputs %v", b.Outputs)
			}
			txid, fee = b.TxID, b.Fee
		}
		if time.Now().After(deadline) {
			t.Fatalf("no closed broadcast: %s\n%s", body, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	feeSats, err := walletgate.ParseSats(fee)
	if err != nil || feeSats <= 0 {
		t.Fatalf("broadcast fee %q: want a positive fee (%v)", fee, err)
	}
	if got := balance("alice"); got != "0.50000000" {
		t.Errorf("alice's balance %s after sending 0.5, want 0.50000000", got)
	}
	if got := balance(walletgate.NetworkFeesAccount); got != walletgate.FormatSats(-feeSats) {
		t.Errorf("Network fees balance %s, want -%s", got, fee)
	}

	// The chain has it: mine it and read it back through the REST API.
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for {
		code, body := do(t, "GET", p.base+"/v1/btc/tx/"+txid, "", "", nil)
		if code == 200 && strings.Contains(string(body), k1.Address()) && strings.Contains(string(body), k2.Address()) && strings.Contains(string(body), `"confirmations":1`) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("/tx/%s = %d %s", txid, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Its confirmation reaches the app as broadcast events, one per send.
	deadline = time.Now().Add(60 * time.Second)
	for {
		recv.mu.Lock()
		var found []map[string]any
		for _, id := range recv.order {
			if ev := recv.events[id]; ev["transaction_type"] == "broadcast" && ev["confirmations"] == float64(1) {
				found = append(found, ev)
			}
		}
		recv.mu.Unlock()
		if len(found) == 2 {
			for _, ev := range found {
				if c, present := ev["credited"]; !present || c != nil || ev["account"] != "alice" || ev["txid"] != txid {
					t.Errorf("broadcast event %v: want credited null, account alice, txid %s", ev, txid)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcast events at 1 confirmation: %v\n%s", found, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
