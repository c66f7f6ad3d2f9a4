package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func rawGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWireDefectsFoundSideBySide runs the binary the way the originals'
// operators run theirs and checks what side-by-side runs found wrong:
// doubled slashes (Bitweb paths as /info, ElectrumSV paths 404, never a
// redirect), the endpoints baseUrl naming the listener actually reached,
// EXTERNAL_HOST/PORT equal to HOST/PORT sharing the one listener, a YAML
// `type: null` unquoted, and JSON logs without repeated keys.
func TestWireDefectsFoundSideBySide(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeYAML(t, dir, "coins:\n  bitweb:\n    network: regtest\n    backend: {type: null}\n  btc:\n    network: regtest\n    backend:\n      type: null\n")
	p := startProc(t, bin, dir, port, "WALLETGATE_CONFIG="+cfgPath, "LOG_FORMAT=json", "LOG_LEVEL=debug",
		"EXTERNAL_HOST=127.0.0.1", fmt.Sprintf("EXTERNAL_PORT=%d", port))

	_, info := rawGet(t, p.base+"/info")
	for _, path := range []string{"//info", "///info", "/v1/btc//info", "//v1//btc/info"} {
		code, body := rawGet(t, p.base+path)
		if code != 200 || body != info {
			t.Errorf("GET %s = %d %q, want 200 and the /info body %q", path, code, body, info)
		}
	}
	if code, body := rawGet(t, p.base+"/api/v1/channel//manage"); code != 404 || body != "404: Not Found" {
		t.Errorf("GET /api/v1/channel//manage = %d %q, want the reference's 404", code, body)
	}

	code, body := rawGet(t, p.base+"/api/v1/endpoints")
	var doc struct {
		BaseURL string `json:"baseUrl"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || code != 200 {
		t.Fatalf("endpoints = %d %q", code, body)
	}
	if doc.BaseURL != p.base {
		t.Errorf("baseUrl %q, want the address served and set in EXTERNAL_*, %q", doc.BaseURL, p.base)
	}
	// The same listener carries the peer channels: an account registers.
	registerAccount(t, p.base)

	stopProc(t, p)
	for _, line := range strings.Split(strings.TrimSpace(p.logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("LOG_FORMAT=json printed a non-JSON line: %q", line)
			continue
		}
		if d := duplicateKeys(t, line); len(d) > 0 {
			t.Errorf("log line repeats keys %v: %s", d, line)
		}
	}
}

// TestEndpointsBaseURLFollowsTheListener: with no EXTERNAL_* or HREF_*,
// the document names the address the request came to, not the
// reference's hard-coded 127.0.0.1:47124.
func TestEndpointsBaseURLFollowsTheListener(t *testing.T) {
	bin := buildBinary(t)
	p := startProc(t, bin, t.TempDir(), freePort(t))
	_, body := rawGet(t, p.base+"/api/v1/endpoints")
	if !strings.Contains(body, `"baseUrl":"`+p.base+`"`) {
		t.Fatalf("endpoints %s, want baseUrl %s", body, p.base)
	}
}

// TestSlowClientsAreCutOff: bodies sent a byte at a time to /broadcast and
// /api/v1/account/register are cut off at server.body_read_timeout, and a
// client that pipelines requests but never reads the answers is cut off
// at server.write_timeout, instead of holding connections for ever.
func TestSlowClientsAreCutOff(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfgPath := writeYAML(t, dir, "server: {body_read_timeout: 1s, write_timeout: 2s}\ncoins:\n  bitweb:\n    network: regtest\n    backend: {type: null}\n")
	p := startProc(t, bin, dir, freePort(t), "WALLETGATE_CONFIG="+cfgPath)
	addr := strings.TrimPrefix(p.base, "http://")

	const slow = 40
	results := make(chan error, slow)
	for i := 0; i < slow; i++ {
		path := []string{"/broadcast", "/api/v1/account/register"}[i%2]
		go func() { results <- slowBody(addr, path) }()
	}
	for i := 0; i < slow; i++ {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}

	const pipelined = 40000
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		req := []byte("GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetWriteDeadline(time.Now().Add(60 * time.Second))
		for i := 0; i < pipelined; i++ {
			if _, err := c.Write(req); err != nil {
				return
			}
		}
	}()
	time.Sleep(5 * time.Second) // not reading, well past write_timeout
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	all, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the connection of a client that did not read is still open")
	}
	if n := bytes.Count(all, []byte("HTTP/1.1 200 OK")); n >= pipelined {
		t.Fatalf("all %d pipelined requests were answered to a client that did not read", n)
	}
}

// slowBody sends a 1000-byte body at one byte per 50 ms and reports an
// error unless the server ends the exchange before the body is complete.
func slowBody(addr, path string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", path)
	for i := 0; i < 1000; i++ {
		if _, err := c.Write([]byte{' '}); err != nil {
			return nil // closed by the server
		}
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil // answered and closed, or reset
		}
	}
	return fmt.Errorf("POST %s: a body sent at 20 bytes/s was read to its end", path)
}
