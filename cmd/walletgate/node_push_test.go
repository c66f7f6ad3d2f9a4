package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestNodeBackendPushAndReorg runs the real process on `backend: node` over
// real btcd: a /ws client hears the mempool payment, its confirmation and
// each block; a 2-block reorg (invalidateblock + 3 new blocks) moves the
// tip, and the final balance is right.
func TestNodeBackendPushAndReorg(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	yml := filepath.Join(dir, "walletgate.yaml")
	os.WriteFile(yml, []byte(fmt.Sprintf("coins:\n  btc:\n    network: regtest\n    backend: {type: node, url: %q, poll_interval: 100ms, websocket: %q}\n",
		node.RPCURL(), node.WebsocketURL())), 0o600)
	p := startProc(t, buildBinary(t), dir, freePort(t), "WALLETGATE_CONFIG="+yml)

	key := regtest.NewKey(t, regtest.P2SHP2WPKH)
	// Script reads answer 503 until the index's first sync is done; a
	// client subscribing before then is refused, so wait like a client would.
	waitBody(t, p, "/balance/"+key.Address(), `{"error":null,"id":"api-server","result":{"balance":0,"confirmed":0,"unconfirmed":0}}`+"\n")
	conn, _, err := websocket.Dial(ctx, strings.Replace(p.base, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for i, req := range []string{
		fmt.Sprintf(`{"id":1,"method":"subscribeAddresses","params":{"addresses":[%q]}}`, key.Address()),
		`{"id":2,"method":"subscribeBlocks"}`,
	} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	next := func(what string, want func(event string, d map[string]any) bool) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		for {
			_, data, err := conn.Read(rctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v\nlogs:\n%s", what, err, p.logs.String())
			}
			var m struct {
				ID    any            `json:"id"`
				Error any            `json:"error"`
				Event string         `json:"event"`
				Data  map[string]any `json:"data"`
			}
			json.Unmarshal(data, &m)
			if m.Error != nil {
				t.Fatalf("request %v failed while waiting for %s: %s", m.ID, what, data)
			}
			if want(m.Event, m.Data) {
				return
			}
		}
	}
	isBalance := func(field string, v float64) func(string, map[string]any) bool {
		return func(ev string, d map[string]any) bool {
			return ev == "balance_changed" && d["address"] == key.Address() && d[field] == v
		}
	}
	isBlock := func(h int64) func(string, map[string]any) bool {
		return func(ev string, d map[string]any) bool { return ev == "block" && d["height"] == float64(h) }
	}
	next("the initial balance", isBalance("balance", 0))

	if _, err := node.Fund(ctx, key.Script(), 42_000); err != nil {
		t.Fatal(err)
	}
	next("the mempool payment", isBalance("unconfirmed", 42_000))
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h, _ := node.Height(ctx)
	next("the block", isBlock(h))
	next("the confirmation", isBalance("confirmed", 42_000))

	// Replace the last two blocks (the payment's among them) with three.
	removed, added, err := node.Reorg(ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 || len(added) != 3 {
		t.Fatalf("reorg removed %d, added %d blocks", len(removed), len(added))
	}
	next("the block of the new branch", isBlock(h+1))
	code, body := do(t, "GET", p.base+"/balance/"+key.Address(), "", "", nil)
	want := `{"error":null,"id":"api-server","result":{"balance":42000,"confirmed":42000,"unconfirmed":0}}` + "\n"
	if code != 200 || string(body) != want {
		t.Fatalf("balance after the reorg = %d %s, want %s", code, body, want)
	}
	_, body = do(t, "GET", p.base+"/unspent/"+key.Address(), "", "", nil)
	var u struct {
		Result []struct {
			Height int64 `json:"height"`
		} `json:"result"`
	}
	json.Unmarshal(body, &u)
	if len(u.Result) != 1 || u.Result[0].Height <= h-2 || u.Result[0].Height > h+1 {
		t.Fatalf("after the reorg the output should be confirmed in the new branch (height %d..%d): %s", h-1, h+1, body)
	}
}
