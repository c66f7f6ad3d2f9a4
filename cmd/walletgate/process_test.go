package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/peerchannels"
)

// proc is a walletgate process started by a test.
type proc struct {
	cmd  *exec.Cmd
	base string
	logs *testenv.LockedBuffer
}

// startProc runs the walletgate binary with env and waits for /healthz.
func startProc(t testing.TB, bin, dir string, port int, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port),
		"WALLETGATE_DATA_DIR=" + filepath.Join(dir, "data"), "ELECTRUM_HOST=127.0.0.1", "ELECTRUM_TLS=false",
		fmt.Sprintf("ELECTRUM_PORT=%d", freePort(t)), "ELECTRUM_TIMEOUT=2"}, env...)...)
	p := &proc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &testenv.LockedBuffer{}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("walletgate did not start: %v\n%s", err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func do(t *testing.T, method, url, auth, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// registerAccount registers a fresh key and returns its master token.
func registerAccount(t *testing.T, base string) string {
	t.Helper()
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(base + "/api/v1/account/register " + time.Now().UTC().Format(time.RFC3339))
	sig := ecdsa.SignCompact(priv, peerchannels.SignedMessageHash(msg), true)
	body, _ := json.Marshal(map[string]string{
		"public_key_hex": hex.EncodeToString(priv.PubKey().SerializeCompressed()),
		"signature_hex":  hex.EncodeToString(sig),
		"message_hex":    hex.EncodeToString(msg),
	})
	code, resp := do(t, "POST", base+"/api/v1/account/register", "", "application/json", body)
	if code != 200 {
		t.Fatalf("register: %d %s", code, resp)
	}
	var r struct {
		APIKey string `json:"api_key"`
	}
	json.Unmarshal(resp, &r)
	return r.APIKey
}

// TestAcknowledgedMessagesSurviveSIGKILL writes a stream of messages from
// several writers, kills the process with SIGKILL in the middle, restarts
// it on the same data directory and finds every acknowledged message, with
// its sequence and bytes, and no gaps.
func TestAcknowledgedMessagesSurviveSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) { killDuringWrites(t, bin) })
	t.Run("postgres", func(t *testing.T) { killDuringWrites(t, bin, "DATABASE_URL="+testenv.PostgresDB(t)) })
}

func killDuringWrites(t *testing.T, bin string, env ...string) {
	dir := t.TempDir()
	port := freePort(t)
	p := startProc(t, bin, dir, port, env...)

	master := registerAccount(t, p.base)
	create := []byte(`{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	code, body := do(t, "POST", p.base+"/api/v1/channel/manage", master, "application/json", create)
	if code != 200 {
		t.Fatalf("create channel: %d %s", code, body)
	}
	var ch struct {
		ID     string `json:"id"`
		Tokens []struct {
			Token string `json:"token"`
		} `json:"access_tokens"`
	}
	if err := json.Unmarshal(body, &ch); err != nil || len(ch.Tokens) != 1 {
		t.Fatalf("channel reply %s: %v", body, err)
	}
	token := ch.Tokens[0].Token

	var mu sync.Mutex
	acked := map[int64]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				payload := fmt.Sprintf("writer %d message %d \x00\xff", w, i)
				code, body := do(t, "POST", p.base+"/api/v1/channel/"+ch.ID, token, "application/octet-stream", []byte(payload))
				if code != 200 {
					return // the process is gone
				}
				var r struct {
					Sequence int64 `json:"sequence"`
				}
				if json.Unmarshal(body, &r) != nil || r.Sequence == 0 {
					return
				}
				mu.Lock()
				acked[r.Sequence] = payload
				mu.Unlock()
			}
		}(w)
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	close(stop)
	wg.Wait()

	p2 := startProc(t, bin, dir, freePort(t), env...)
	req, _ := http.NewRequest("GET", p2.base+"/api/v1/channel/"+ch.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []struct {
		Sequence int64  `json:"sequence"`
		Payload  []byte `json:"payload"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatalf("read messages after restart: %v", err)
	}
	stored := map[int64]string{}
	for i, m := range msgs {
		if m.Sequence != int64(i+1) {
			t.Fatalf("sequence gap after restart: position %d has sequence %d", i, m.Sequence)
		}
		stored[m.Sequence] = string(m.Payload)
	}
	mu.Lock()
	defer mu.Unlock()
	for seq, payload := range acked {
		got, ok := stored[seq]
		if !ok {
			t.Fatalf("acknowledged message %d lost after SIGKILL (%d acknowledged, %d stored)", seq, len(acked), len(stored))
		}
		if got != payload {
			t.Fatalf("message %d changed: %q, want %q", seq, got, payload)
		}
	}
	t.Logf("%d acknowledged before SIGKILL, %d stored after restart", len(acked), len(stored))
	if !strings.Contains(p2.logs.String(), "store") {
		t.Errorf("restart logs do not mention the store:\n%s", p2.logs.String())
	}
}

// stopProc sends SIGTERM and waits for the process to exit; it fails the
// test unless the exit is clean (code 0).
func stopProc(t testing.TB, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nlogs:\n%s", err, p.logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("walletgate did not stop after SIGTERM\nlogs:\n%s", p.logs.String())
	}
}
