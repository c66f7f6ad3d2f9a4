package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestServeOverElectrumXAndBtcd runs the real walletgate process as the
// Bitweb server's drop-in: its .env-style variables point at an Electrum
// protocol server whose chain is a real btcd regtest node, and a deposit
// made on that chain shows up through the REST API, at / and at /v1/bitweb/.
func TestServeOverElectrumXAndBtcd(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, srv := electrumtest.ServeNode(t, node, electrumtest.Config{FlushRule: true}, 100*time.Millisecond)

	_, port, _ := net.SplitHostPort(srv.Addr())
	bin := buildBinary(t)
	p := startProc(t, bin, t.TempDir(), freePort(t),
		"WALLETGATE_NETWORK=regtest", "ELECTRUM_PORT="+port, "ELECTRUM_TLS=false", "FIXED_FEE_SATOSHIS=2500")

	key := regtest.NewKey(t, regtest.P2WPKH)
	if _, err := node.Fund(ctx, key.Script(), 1_2345_6789); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	height, err := node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}

	want := fmt.Sprintf(`{"error":null,"id":"api-server","result":{"balance":123456789,"confirmed":123456789,"unconfirmed":0}}` + "\n")
	for _, prefix := range []string{"", "/v1/bitweb"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := do(t, "GET", p.base+prefix+"/balance/"+key.Address(), "", "", nil)
			if code == 200 && string(body) == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/balance = %d %s, want %s\nlogs:\n%s", prefix, code, body, want, p.logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := do(t, "GET", p.base+"/info", "", "", nil)
		var r struct {
			Result struct {
				Blocks int64 `json:"blocks"`
			} `json:"result"`
		}
		json.Unmarshal(body, &r)
		if r.Result.Blocks == height {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/info = %s, want blocks %d", body, height)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := do(t, "GET", p.base+"/fee", "", "", nil); code != 200 || string(body) != `{"error":null,"id":"api-server","result":{"feerate":2500}}`+"\n" {
		t.Fatalf("/fee = %d %s", code, body)
	}
	code, body := do(t, "GET", p.base+"/balance/web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse", "", "", nil)
	// As in the original, only the coin's own HRP takes the bech32 branch.
	if code != 400 || !strings.Contains(string(body), "Invalid base58check address 'web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse'") {
		t.Fatalf("a mainnet address on a regtest server = %d %s, want 400 naming the address", code, body)
	}
	// The ElectrumSV liveness text shares the listener.
	if code, body := do(t, "GET", p.base+"/", "", "", nil); code != 200 || string(body) != "ElectrumSV Reference Server" {
		t.Fatalf("GET / = %d %q", code, body)
	}
	// check reports the tip of the same backend, and fails on a dead one.
	out, err := checkCmd(bin, "WALLETGATE_NETWORK=regtest", "ELECTRUM_HOST=127.0.0.1", "ELECTRUM_PORT="+port, "ELECTRUM_TLS=false").CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("tip %d", height)) {
		t.Fatalf("check = %v, printed %q, want tip %d", err, out, height)
	}
	out, err = checkCmd(bin, "WALLETGATE_NETWORK=regtest", "ELECTRUM_HOST=127.0.0.1", fmt.Sprintf("ELECTRUM_PORT=%d", freePort(t)), "ELECTRUM_TLS=false", "ELECTRUM_TIMEOUT=2").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FAILED") {
		t.Fatalf("check against a dead backend = %v, printed %q; want a non-zero exit naming the failure", err, out)
	}
}

// checkCmd is `walletgate check` with env in a clean working directory.
func checkCmd(bin string, env ...string) *exec.Cmd {
	cmd := exec.Command(bin, "check", "--timeout", "10s")
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
