package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/internal/testenv"
)

// TestTwoProcessesNeverCreditTwice runs two walletgate processes on one
// PostgreSQL database and one wallet. Both are told about the same deposit
// many times at once, both poll it on every block, and both run an outbox
// worker for the same handler. The account is credited exactly once, there
// is one deposit row, and every event reaches the receiver exactly once.
func TestTwoProcessesNeverCreditTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd, btcwallet and two walletgate processes")
	}
	db := testenv.PostgresDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node := regtest.Start(t)
	rw := regtest.StartWallet(t, node)
	recv, recvURL := newEventReceiver(t)
	adminKey := "two-procs-admin-key-0123"
	bin := buildBinary(t)

	type instance struct {
		p          *proc
		notifyPort int
	}
	var procs []instance
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		np := freePort(t)
		yml := writeYAML(t, dir, fmt.Sprintf(`
database: {url: '%s'}
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
  poll_interval: 300ms
  outbox: {poll: 100ms}
`, db, node.RPCURL(), rw.RPCURL(), np, recvURL, adminKey))
		procs = append(procs, instance{startProc(t, bin, dir, freePort(t), "WALLETGATE_CONFIG="+yml), np})
	}
	a := procs[0].p

	const amount = 2_5000_0000
	txid := payWallet(t, ctx, node, rw, newWalletAddress(t, a, adminKey, "alice"), amount)

	// storm notifies both processes 10 times each, all at once.
	storm := func() {
		var wg sync.WaitGroup
		for _, in := range procs {
			for j := 0; j < 10; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, body := postWalletNotify(t, in.notifyPort, txid); code != 200 {
						t.Errorf("walletnotify = %d %s", code, body)
					}
				}()
			}
		}
		wg.Wait()
	}
	storm()
	for conf := int64(1); conf <= 5; conf++ {
		if _, err := node.Generate(ctx, 1); err != nil {
			t.Fatal(err)
		}
		for {
			if b, _ := rw.Call(ctx, "gettransaction", txid); b != nil {
				var tx struct {
					Confirmations int64 `json:"confirmations"`
				}
				json.Unmarshal(b, &tx)
				if tx.Confirmations >= conf {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		storm()
	}
	waitDeposits(t, procs[1].p, adminKey, "5 confirmations", func(rows []depositRow) bool {
		return len(rows) == 1 && rows[0].Confirmations == 5 && rows[0].Credited
	})

	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var balance, rows, ntxs int64
	if err := conn.QueryRow(ctx, `SELECT balance FROM deposit_accounts WHERE coin = 'btc' AND account = 'alice'`).Scan(&balance); err != nil {
		t.Fatalf("read alice's balance: %v", err)
	}
	conn.QueryRow(ctx, `SELECT count(*) FROM deposits`).Scan(&rows)
	conn.QueryRow(ctx, `SELECT count(*) FROM network_txs`).Scan(&ntxs)
	if balance != amount || rows != 1 || ntxs != 1 {
		t.Fatalf("alice's balance %d (want %d, credited once), %d deposit rows, %d network txs (want 1 each)", balance, amount, rows, ntxs)
	}

	// Events 0..5, each accepted once, although both processes ran a
	// worker for the handler.
	deadline := time.Now().Add(30 * time.Second)
	for {
		recv.mu.Lock()
		n := len(recv.order)
		recv.mu.Unlock()
		if n >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.order) != 6 {
		t.Errorf("receiver has %d distinct events, want 6 (0..5 confirmations)", len(recv.order))
	}
	for i, id := range recv.order {
		ev := recv.events[id]
		if got := int64(ev["confirmations"].(float64)); got != int64(i) {
			t.Errorf("event %d has %d confirmations, want %d (in order)", i, got, i)
		}
		if recv.accepted[id] != 1 {
			t.Errorf("event %s accepted %d times", id, recv.accepted[id])
		}
	}
}
