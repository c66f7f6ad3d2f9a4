package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs the command line in process with a clean .env and no config.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, ".env")
	var b strings.Builder
	for k, v := range env {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	if err := os.WriteFile(envFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--env-file", envFile}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAddressCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		wantOut  map[string]string
		wantErrs string
	}{
		{"bitweb p2wpkh (acceptance vector)", []string{"address", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse"}, 0,
			map[string]string{"type": "p2wpkh", "script": "001462e907b15cbf27d5425399ebf6f0fb50ebb88f18", "scripthash": "45dc3792fc06ee8c3b3e27ae390747f663ef0ac933aa29ade0ed0a390186bdfc"}, ""},
		{"bitweb legacy 0x42 on by default", []string{"address", "TiKoNBKPwJrUeKDvy5ShTc3Mt4vN6f6yBG"}, 0,
			map[string]string{"type": "p2pkh", "scripthash": "8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161"}, ""},
		{"other coin flag", []string{"address", "--coin", "btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}, 0,
			map[string]string{"type": "p2wpkh", "script": "0014751e76e8199196d454941c45d1b3a323f1433bd6"}, ""},
		{"bad address", []string{"address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}, 1, nil, "Unknown version byte 0x00: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'"},
		{"no address", []string{"address"}, 2, nil, "want exactly one ADDRESS"},
		{"unknown coin", []string{"address", "--coin", "xmr", "x"}, 2, nil, "xmr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if tt.wantErrs != "" && !strings.Contains(errs, tt.wantErrs) {
				t.Fatalf("stderr %q lacks %q", errs, tt.wantErrs)
			}
			if tt.wantErrs != "" && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("want one clear line, got %q", errs)
			}
			if tt.wantOut == nil {
				return
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not JSON: %q", out)
			}
			for k, v := range tt.wantOut {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestAddressHonoursCoinOverrides(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "c.yaml")
	os.WriteFile(yml, []byte("coins:\n  bitweb:\n    legacy_versions: {}\n    accept_upper_bech32: false\n    backend: {type: 'null'}\n"), 0o600)
	for _, addr := range []string{"TiKoNBKPwJrUeKDvy5ShTc3Mt4vN6f6yBG", "WEB1QVT5S0V2UHUNA2SJNN84LDU8M2R4M3RCCDTJCSE"} {
		code, out, errs := runCLI(t, nil, "--config", yml, "address", addr)
		if code != 1 || out != "" || errs == "" {
			t.Errorf("address %s with the override off: exit %d, stdout %q, stderr %q; want a refusal", addr, code, out, errs)
		}
	}
	if code, _, _ := runCLI(t, nil, "address", "WEB1QVT5S0V2UHUNA2SJNN84LDU8M2R4M3RCCDTJCSE"); code != 0 {
		t.Errorf("upper-case bech32 without overrides: exit %d, want 0", code)
	}
}

func TestBadConfigExitsTwoWithOneLinePerProblem(t *testing.T) {
	code, _, errs := runCLI(t, map[string]string{"PORT": "abc", "ELECTRUM_POOL_SIZE": "many"}, "serve")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "PORT") || !strings.Contains(lines[1], "ELECTRUM_POOL_SIZE") {
		t.Fatalf("want one line per problem, got %q", errs)
	}
	dir := t.TempDir()
	yml := filepath.Join(dir, "bad.yaml")
	os.WriteFile(yml, []byte("coins:\n  btc:\n    backend: {type: nodee}\n"), 0o600)
	code, _, errs = runCLI(t, nil, "--config", yml, "check")
	if code != 2 || !strings.Contains(errs, yml+": coins.btc.backend.type: unknown backend type \"nodee\"") {
		t.Fatalf("check with bad yaml: exit %d, stderr %q", code, errs)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, cmd := range []string{"serve", "check", "address", "version"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{cmd, "--help"}, &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d", cmd, code)
		}
		if !strings.Contains(errb.String(), "Usage: walletgate "+cmd) {
			t.Errorf("%s --help printed %q", cmd, errb.String())
		}
	}
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "walletgate ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, _, errs := runCLI(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// buildBinary builds walletgate once per test that needs a real process.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "walletgate")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestServeAnswersHealthzAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "LOG_FORMAT=json",
		"WALLETGATE_DATA_DIR="+filepath.Join(dir, "data"), "ELECTRUM_HOST=127.0.0.1", fmt.Sprintf("ELECTRUM_PORT=%d", freePort(t)))
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("healthz status %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered /healthz: %v\nlogs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nlogs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop after SIGTERM\nlogs:\n%s", logs.String())
	}
	// JSON logs: every line parses.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("LOG_FORMAT=json printed a non-JSON line: %q", line)
		}
		if d := duplicateKeys(t, line); len(d) > 0 {
			t.Errorf("log line repeats keys %v: %s", d, line)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no orderly stop in logs:\n%s", logs.String())
	}
}

// duplicateKeys lists the keys that appear twice in one JSON object of
// line (at any depth): encoding/json keeps the last and hides the repeat.
func duplicateKeys(t testing.TB, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	var dups []string
	var walk func() // reads one value
	walk = func() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				key := k.(string)
				if seen[key] {
					dups = append(dups, key)
				}
				seen[key] = true
				walk()
			}
			dec.Token() // }
		case json.Delim('['):
			for dec.More() {
				walk()
			}
			dec.Token() // ]
		}
	}
	walk()
	return dups
}

func TestDuplicateKeys(t *testing.T) {
	for line, want := range map[string]string{
		`{"a":1,"b":{"c":1,"c":2},"a":[{"d":1,"d":2}]}`: "[c a d]",
		`{"coin":"bitweb","electrum":"x:1"}`:            "[]",
	} {
		if got := fmt.Sprint(duplicateKeys(t, line)); got != want {
			t.Errorf("duplicateKeys(%s) = %s, want %s", line, got, want)
		}
	}
}
