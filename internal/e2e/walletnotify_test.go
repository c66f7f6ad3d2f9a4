package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/internal/testenv"
)

// depositRow is one row of GET /v1/btc/deposits.
type depositRow struct {
	TxID          string `json:"txid"`
	Address       string `json:"address"`
	Account       string `json:"account"`
	Amount        string `json:"amount"`
	Confirmations int64  `json:"confirmations"`
	Credited      bool   `json:"credited"`
}

// TestWalletnotifyCommands runs the documented walletnotify lines as the
// node would (sh -c with %s replaced by the txid), each for one deposit to
// a btcwallet address watched through walletgate:
//
//	curl --data "txid=%s" http://127.0.0.1:PORT       (HTTP intake)
//	echo %s >> FIFO                                    (named pipe intake)
//	redis-cli -h HOST -p PORT publish CHANNEL %s       (Redis intake)
//
// and then the blocknotify line curl --data "blockhash=%s" for the block
// that confirms them. Each must show in the deposit API and as a txupdate
// push on the account's /ws subscription. The intakes listen on their own
// loopback ports, never behind the public front, so this runs once per
// store (SQLite, and PostgreSQL when WALLETGATE_TEST_POSTGRES is set).
func TestWalletnotifyCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd, btcwallet and walletgate")
	}
	walletgateBinary(t) // a build failure first, before anything starts
	t.Run("sqlite", func(t *testing.T) { walletnotifyCommands(t, "") })
	t.Run("postgres", func(t *testing.T) { walletnotifyCommands(t, testenv.PostgresDB(t)) })
}

func walletnotifyCommands(t *testing.T, databaseURL string) {
	sh := tool(t, "sh", "a POSIX shell")
	// Redis is optional for the other intakes: without it only the redis
	// subtest skips (or fails under WALLETGATE_REQUIRE_ALL=1).
	redisURL := os.Getenv(testenv.VarRedis)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	node := regtest.Start(t)
	rw := regtest.StartWallet(t, node)
	dir := t.TempDir()
	pipe := filepath.Join(dir, "walletnotify.fifo")
	notifyPort := freePort(t)
	channel := fmt.Sprintf("walletgate_e2e_%d", time.Now().UnixNano())
	adminKey := "e2e-admin-key-0123456789abcdef"
	port := freePort(t)
	database := ""
	if databaseURL != "" {
		database = fmt.Sprintf("database: {url: %q}\n", databaseURL)
	}
	redisIntake := ""
	var ru *url.URL
	if redisURL != "" {
		var err error
		if ru, err = url.Parse(redisURL); err != nil {
			t.Fatalf("%s: %v", testenv.VarRedis, err)
		}
		db := strings.TrimPrefix(ru.Path, "/")
		if db == "" {
			db = "0"
		}
		// cryptoassets' own keys for the handler.
		redisIntake = fmt.Sprintf("        - {class: cryptoassets.core.backend.rediswalletnotify.RedisWalletNotifyHandler, host: %s, port: %s, db: %s, channel: %s",
			ru.Hostname(), portOr(ru.Port(), "6379"), db, channel)
		if pw, ok := ru.User.Password(); ok {
			redisIntake += fmt.Sprintf(", password: %q", pw)
		}
		redisIntake += "}\n"
	}
	// No chain index and an hourly poll: the intakes are the only way
	// walletgate learns of a transaction or a block.
	wg := startWalletgate(t, dir, port, fmt.Sprintf(`server: {host: 127.0.0.1, port: %d}
data_dir: %q
%scoins:
  btc:
    network: regtest
    backend:
      type: node
      url: %q
      index: false
      wallet: {url: %q, kind: btcwallet}
      walletnotify:
        - {class: cryptoassets.core.backend.httpwalletnotify.HTTPWalletNotifyHandler, ip: 127.0.0.1, port: %d}
        - {class: cryptoassets.core.backend.pipewalletnotify.PipedWalletNotifyHandler, fname: %q}
%sevents:
  push: {type: sockets}
deposits:
  admin_key: %s
  poll_interval: 1h
  outbox: {poll: 200ms}
`, port, filepath.Join(dir, "data"), database, node.RPCURL(), rw.RPCURL(), notifyPort, pipe, redisIntake, adminKey))

	// The app's account socket.
	ws := dialWS(t, ctx, wsURL(wg.base)+"/ws?coin=btc", nil)
	if m := ws.call(t, "subscribeAccount", map[string]any{"account": "shop", "key": adminKey}); string(m.Result) != `{"subscribed":"shop"}` {
		t.Fatalf("subscribeAccount answered %s", m.raw)
	}

	params, err := chain.Lookup("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, what, line string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, sh, "-c", line).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: sh -c %q: %v\n%s\nwalletgate logs:\n%s", what, line, err, out, wg.logs.String())
		}
		return string(out)
	}
	listDeposits := func(t *testing.T) []depositRow {
		t.Helper()
		code, _, body, err := httpDo(ctx, "GET", wg.base+"/v1/btc/deposits?limit=1000", nil, "Authorization", "Bearer "+adminKey)
		if err != nil || code != 200 {
			t.Fatalf("GET /v1/btc/deposits = %d %s %v", code, body, err)
		}
		var r struct {
			Deposits []depositRow `json:"deposits"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("deposits %s: %v", body, err)
		}
		return r.Deposits
	}
	find := func(t *testing.T, txid string) (depositRow, bool) {
		for _, r := range listDeposits(t) {
			if r.TxID == txid {
				return r, true
			}
		}
		return depositRow{}, false
	}
	waitDeposit := func(t *testing.T, what, txid string, ok func(depositRow) bool) depositRow {
		t.Helper()
		for {
			if r, found := find(t, txid); found && ok(r) {
				return r
			}
			if ctx.Err() != nil {
				r, _ := find(t, txid)
				t.Fatalf("%s: deposit %s is %+v\nwalletgate logs:\n%s", what, txid, r, wg.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitPush := func(t *testing.T, what, txid string, confirmations int64) {
		t.Helper()
		for {
			m := ws.push(t, what)
			if m.Event != "txupdate" {
				continue
			}
			var ev struct {
				TxID          string `json:"txid"`
				Account       string `json:"account"`
				Confirmations int64  `json:"confirmations"`
				CoinName      string `json:"coin_name"`
				Type          string `json:"transaction_type"`
			}
			json.Unmarshal(m.Data, &ev)
			if ev.TxID == txid && ev.Confirmations == confirmations {
				if ev.Account != "shop" || ev.CoinName != "btc" || ev.Type != "deposit" {
					t.Fatalf("%s: txupdate %s", what, m.Data)
				}
				return
			}
		}
	}

	intakes := []struct {
		name string
		line func(t *testing.T) string // the bitcoin.conf line; %s is the txid
	}{
		{"http", func(t *testing.T) string {
			return tool(t, "curl", "apt-get install curl") + ` --data "txid=%s" http://127.0.0.1:` + fmt.Sprint(notifyPort)
		}},
		{"pipe", func(t *testing.T) string { return "echo %s >> " + pipe }},
		{"redis", func(t *testing.T) string {
			testenv.RedisURL(t)
			line := fmt.Sprintf("%s -h %s -p %s", tool(t, "redis-cli", "apt-get install redis-tools"), ru.Hostname(), portOr(ru.Port(), "6379"))
			if pw, ok := ru.User.Password(); ok {
				line += " -a '" + pw + "' --no-auth-warning"
			}
			return line + " publish " + channel + " %s"
		}},
	}
	var txids []string
	for i, in := range intakes {
		t.Run(in.name, func(t *testing.T) {
			line := in.line(t)
			addr := newWalletAddress(t, ctx, wg.base, adminKey, "shop")
			amount := int64(1_0000_0000 + i)
			txid := payWallet(t, ctx, node, rw, params, addr, amount)
			txids = append(txids, txid)
			out := run(t, in.name+" walletnotify", fmt.Sprintf(line, txid))
			switch in.name {
			case "http":
				// 200 only after the commit: the deposit is there when curl returns.
				if _, ok := find(t, txid); !ok {
					t.Fatalf("curl returned (%q) but deposit %s is not listed", out, txid)
				}
			case "redis":
				// PUBLISH answers the number of subscribers that got it.
				if strings.TrimSpace(out) != "1" && strings.TrimSpace(out) != "(integer) 1" {
					t.Fatalf("redis-cli publish answered %q, want 1 subscriber (walletgate)", out)
				}
			}
			r := waitDeposit(t, "deposit through "+in.name, txid, func(r depositRow) bool { return r.Confirmations == 0 })
			if r.Address != addr || r.Account != "shop" || r.Amount != fmt.Sprintf("1.%08d", i) || r.Credited {
				t.Fatalf("deposit %+v, want 1.%08d to %s for shop", r, i, addr)
			}
			waitPush(t, "txupdate for the "+in.name+" deposit", txid, 0)
		})
	}
	if t.Failed() || len(txids) == 0 {
		return
	}

	t.Run("blocknotify", func(t *testing.T) {
		curl := tool(t, "curl", "apt-get install curl")
		hashes, err := node.Generate(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.WaitSynced(ctx); err != nil {
			t.Fatal(err)
		}
		run(t, "blocknotify", fmt.Sprintf(curl+` --data "blockhash=%s" http://127.0.0.1:%d`, hashes[0], notifyPort))
		for _, txid := range txids {
			waitDeposit(t, "confirmation after blocknotify", txid, func(r depositRow) bool { return r.Confirmations == 1 })
			waitPush(t, "txupdate at 1 confirmation", txid, 1)
		}
	})
}

func portOr(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

// newWalletAddress asks walletgate for a deposit address of account in the
// coin's wallet.
func newWalletAddress(t *testing.T, ctx context.Context, base, key, account string) string {
	t.Helper()
	code, _, body, err := httpDo(ctx, "POST", base+"/v1/btc/address", []byte(`{"account":"`+account+`"}`),
		"Authorization", "Bearer "+key, "Content-Type", "application/json")
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /v1/btc/address = %d %s %v", code, body, err)
	}
	var w struct {
		Address string `json:"address"`
	}
	json.Unmarshal(body, &w)
	if w.Address == "" {
		t.Fatalf("POST /v1/btc/address answered %s", body)
	}
	return w.Address
}

// payWallet pays sats to the wallet's addr from outside the wallet and
// waits until btcwallet knows the transaction: a node runs walletnotify
// only then.
func payWallet(t *testing.T, ctx context.Context, node *regtest.Node, rw *regtest.Wallet, params *chain.Params, addr string, sats int64) string {
	t.Helper()
	a, err := params.Decode(addr)
	if err != nil {
		t.Fatalf("wallet address %q: %v", addr, err)
	}
	op, err := node.Fund(ctx, a.Script, sats)
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.AwaitTx(ctx, op.TxID); err != nil {
		t.Fatal(err)
	}
	return op.TxID
}
