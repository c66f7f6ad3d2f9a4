package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestServePushOverWebSocket checks the wiring of the push path in the real
// process: a /ws client (on the default coin and by ?coin=) subscribed to an
// address hears a mempool payment and its confirmation, and every block.
func TestServePushOverWebSocket(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, srv := electrumtest.ServeNode(t, node, electrumtest.Config{}, 50*time.Millisecond)
	_, port, _ := net.SplitHostPort(srv.Addr())
	p := startProc(t, buildBinary(t), t.TempDir(), freePort(t), "WALLETGATE_NETWORK=regtest", "ELECTRUM_PORT="+port, "ELECTRUM_TLS=false")
	defer func() {
		if t.Failed() {
			t.Logf("walletgate logs:\n%s", p.logs.String())
		}
	}()

	for _, path := range []string{"/ws", "/ws?coin=bitweb", "/v1/bitweb/ws"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			key := regtest.NewKey(t, regtest.P2WPKH)
			conn, _, err := websocket.Dial(ctx, strings.Replace(p.base, "http", "ws", 1)+path, nil)
			if err != nil {
				t.Fatalf("dial %s: %v", path, err)
			}
			defer conn.CloseNow()
			send := func(v any) {
				b, _ := json.Marshal(v)
				if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
					t.Fatal(err)
				}
			}
			send(map[string]any{"id": 1, "method": "subscribeAddresses", "params": map[string]any{"addresses": []string{key.Address()}}})
			send(map[string]any{"id": 2, "method": "subscribeBlocks"})
			// next reads messages until one satisfies want.
			next := func(what string, want func(m map[string]any) bool) {
				t.Helper()
				rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
				defer rcancel()
				for {
					_, data, err := conn.Read(rctx)
					if err != nil {
						t.Fatalf("waiting for %s: %v", what, err)
					}
					var m map[string]any
					json.Unmarshal(data, &m)
					if want(m) {
						return
					}
				}
			}
			balance := func(m map[string]any, field string) float64 {
				if m["event"] != "balance_changed" {
					return -1
				}
				d, _ := m["data"].(map[string]any)
				if d["address"] != key.Address() {
					return -1
				}
				v, _ := d[field].(float64)
				return v
			}
			next("the initial balance_changed", func(m map[string]any) bool { return balance(m, "balance") >= 0 })
			if _, err := node.Fund(ctx, key.Script(), 30000); err != nil {
				t.Fatal(err)
			}
			next("a mempool balance_changed", func(m map[string]any) bool { return balance(m, "unconfirmed") == 30000 })
			if _, err := node.Generate(ctx, 1); err != nil {
				t.Fatal(err)
			}
			h, _ := node.Height(ctx)
			// The block comes first: the server pushes it before the
			// balances of the changes it confirms, as the original did.
			next("a block event at the new height", func(m map[string]any) bool {
				if balance(m, "confirmed") == 30000 {
					t.Fatalf("the confirmation came before the block event at height %d: %v", h, m)
				}
				d, _ := m["data"].(map[string]any)
				return m["event"] == "block" && d["height"] == float64(h)
			})
			next("the confirmation", func(m map[string]any) bool { return balance(m, "confirmed") == 30000 })
		})
	}
}
