package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
)

// TestServeOverNodeBackend runs the real process with `backend: node` on a
// real btcd: walletgate indexes the chain itself, and a deposit shows in
// /balance and /unspent with no ElectrumX anywhere.
func TestServeOverNodeBackend(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := regtest.NewKey(t, regtest.P2TR)
	op, err := node.Fund(ctx, key.Script(), 5000_0000)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	yml := filepath.Join(dir, "walletgate.yaml")
	os.WriteFile(yml, []byte(fmt.Sprintf(`
coins:
  btc:
    network: regtest
    backend:
      type: node
      url: %s
      poll_interval: 1h
`, node.RPCURL())), 0o600)
	bin := buildBinary(t)
	p := startProc(t, bin, dir, freePort(t), "WALLETGATE_CONFIG="+yml)

	// The poll is an hour away: only the node's notify hook can make the
	// index see the payment and the block.
	notify := func() {
		t.Helper()
		if code, body := do(t, "POST", p.base+"/v1/btc/notify", "", "", nil); code != 204 {
			t.Fatalf("notify hook = %d %s", code, body)
		}
	}
	wantMempool := `{"error":null,"id":"api-server","result":{"balance":50000000,"confirmed":0,"unconfirmed":50000000}}` + "\n"
	notify()
	waitBody(t, p, "/balance/"+key.Address(), wantMempool)
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	notify()
	wantConfirmed := `{"error":null,"id":"api-server","result":{"balance":50000000,"confirmed":50000000,"unconfirmed":0}}` + "\n"
	waitBody(t, p, "/v1/btc/balance/"+key.Address(), wantConfirmed)
	height, _ := node.Height(ctx)
	_, body := do(t, "GET", p.base+"/unspent/"+key.Address(), "", "", nil)
	wantUTXO := fmt.Sprintf(`{"coinbase":false,"height":%d,"index":%d,"script":"%x","txid":"%s","value":50000000}`, height, op.Vout, key.Script(), op.TxID)
	if !strings.Contains(string(body), wantUTXO) {
		t.Fatalf("/unspent = %s, want it to hold %s", body, wantUTXO)
	}
	out, err := checkCmd(bin, "WALLETGATE_CONFIG="+yml).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "btc (regtest, node http://127.0.0.1:") || !strings.Contains(string(out), fmt.Sprintf("tip %d", height)) {
		t.Fatalf("check = %v %q", err, out)
	}
	if strings.Contains(string(out), node.RPCPass()) {
		t.Fatalf("check printed the RPC password: %q", out)
	}
}

// waitBody polls path until it answers 200 with exactly want.
func waitBody(t *testing.T, p *proc, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := do(t, "GET", p.base+path, "", "", nil)
		if code == 200 && string(body) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d %s, want %s\nlogs:\n%s", path, code, body, want, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
