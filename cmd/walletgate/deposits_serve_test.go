package main

import (
	"fmt"
	"github.com/walletgate/walletgate/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate/blockio/blockiotest"
)

// TestServeDepositOnlyBackends runs the real process with a null coin and
// a block.io coin (against the local block.io stand-in): both make deposit
// addresses through the deposit API; the null coin's REST API answers an
// empty chain, the block.io coin's answers 503 naming why; a walletnotify
// the wallet cannot resolve is a 500 with the wallet's message.
func TestServeDepositOnlyBackends(t *testing.T) {
	bio := blockiotest.New("doge-key", "dogetest")
	defer bio.Close()
	dir := t.TempDir()
	np, sp := freePort(t), freePort(t)
	key := "serve-admin-key-0123456789"
	yml := writeYAML(t, dir, fmt.Sprintf(`
coins:
  btc:
    network: regtest
    backend:
      class: cryptoassets.core.backend.null.DummyCoinBackend
      walletnotify: {class: cryptoassets.core.backend.httpwalletnotify.HTTPWalletNotifyHandler, port: %d}
  doge:
    network: testnet
    backend:
      class: cryptoassets.core.backend.blockio.BlockIo
      api_key: doge-key
      network: dogetest
      url: '%s'
events:
  log: {class: cryptoassets.core.event.python.InProcessEventHandler, callback: walletgate.log}
deposits: {admin_key: %s}
status_server: {ip: 127.0.0.1, port: %d}
`, np, bio.URL, key, sp))
	p := startProc(t, buildBinary(t), dir, freePort(t), "WALLETGATE_CONFIG="+yml)

	tests := []struct {
		name, method, path, auth, body string
		code                           int
		want                           string
	}{
		{"null chain balance", "GET", "/v1/btc/balance/bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "", "", 200, `"balance":0`},
		{"blockio chain refuses REST", "GET", "/v1/doge/balance/nbMFaHF9pjNoohS4fD1jefKBgDnETK9uPu", "", "", 503, "block.io, which serves deposits only"},
		{"null address", "POST", "/v1/btc/address", key, `{"account":"alice"}`, 200, `"account":"alice"`},
		{"blockio address", "POST", "/v1/doge/address", key, `{"account":"bob"}`, 200, `"account":"bob"`},
		{"wrong admin key", "POST", "/v1/btc/address", "nope", `{"account":"alice"}`, 401, "admin API key"},
		{"watch a bad address", "POST", "/v1/btc/watch", key, `{"address":"xyz","account":"a"}`, 400, "address"},
		{"watch list", "GET", "/v1/btc/watch", key, "", 200, `"watches":[{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype := ""
			if tt.body != "" {
				ctype = "application/json"
			}
			code, body := do(t, tt.method, p.base+tt.path, tt.auth, ctype, []byte(tt.body))
			if code != tt.code || !strings.Contains(string(body), tt.want) {
				t.Errorf("%s %s = %d %s, want %d with %q", tt.method, tt.path, code, body, tt.code, tt.want)
			}
		})
	}
	if len(bio.Addresses()) != 1 || bio.Addresses()[0].Label != "bob" {
		t.Errorf("block.io addresses %+v, want one labelled bob", bio.Addresses())
	}
	// The status page lists both coins with the null wallet's fixed hot
	// balance, and /error answers 500 for alert testing.
	status := fmt.Sprintf("http://127.0.0.1:%d", sp)
	code, body := do(t, "GET", status+"/", "", "", nil)
	if code != 200 || !strings.Contains(string(body), "btc") || !strings.Contains(string(body), "doge") || !strings.Contains(string(body), "999999.00000000") {
		t.Errorf("status page = %d %s", code, body)
	}
	if code, _ := do(t, "GET", status+"/error", "", "", nil); code != 500 {
		t.Errorf("status /error = %d, want 500", code)
	}
	code, body = postWalletNotify(t, np, strings.Repeat("ab", 32))
	if code != 500 || !strings.Contains(string(body), "the null backend has none") {
		t.Errorf("walletnotify of an unknown tx = %d %s, want 500 with the wallet's message", code, body)
	}
}

// TestDeadIntakeExitsTwo: an intake that cannot run (its FIFO directory
// does not exist) stops the server with exit code 2, as cryptoassets'
// service monitor did, instead of serving without it.
func TestDeadIntakeExitsTwo(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "walletgate.yaml")
	os.WriteFile(yml, []byte(`
coins:
  btc:
    network: regtest
    backend:
      type: 'null'
      walletnotify: {type: pipe, fname: '`+filepath.Join(dir, "missing", "fifo")+`'}
`), 0o600)
	cmd := exec.Command(buildBinary(t), "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", freePort(t)), "WALLETGATE_CONFIG="+yml, "WALLETGATE_DATA_DIR="+filepath.Join(dir, "data"))
	out := &testenv.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("walletgate kept running with a dead intake:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(out.String(), "critical task died: walletnotify pipe") {
		t.Fatalf("exit code %d, output:\n%s\nwant exit 2 naming the pipe intake", code, out.String())
	}
}
