package socketio_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/socketio"
)

// nodeClient runs testdata/client/driver.js: the official socket.io-client.
type nodeClient struct {
	stdin io.WriteCloser
	lines chan map[string]json.RawMessage
}

func startNodeClient(t *testing.T, url, mode string) *nodeClient {
	t.Helper()
	node := testenv.NodeBinary(t)
	dir, err := filepath.Abs(filepath.Join("testdata", "client"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		testenv.Unavailable(t, "socket.io-client is not installed in "+dir+" (run scripts/install-node-deps)")
	}
	cmd := exec.Command(node, "driver.js", url, mode)
	cmd.Dir = dir
	cmd.Stderr = &testLogWriter{t: t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	nc := &nodeClient{stdin: stdin, lines: make(chan map[string]json.RawMessage, 100)}
	done, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("driver printed %q: %v", sc.Text(), err)
				continue
			}
			select {
			case nc.lines <- m:
			case <-stop: // the test is over: lines it did not read are dropped
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		_, _ = io.WriteString(stdin, `{"exit":true}`+"\n")
		stdin.Close()
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
		<-done
	})
	return nc
}

type testLogWriter struct{ t *testing.T }

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.t.Logf("node: %s", p)
	return len(p), nil
}

func (nc *nodeClient) emit(t *testing.T, name string, data any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"emit": name, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("write to driver: %v", err)
	}
}

// emitAck emits name asking for an acknowledgement; the driver prints it
// as an "ack" line.
func (nc *nodeClient) emitAck(t *testing.T, name string, data any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"emit": name, "data": data, "ack": true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("write to driver: %v", err)
	}
}

// expect returns the next line, whose event must be name.
func (nc *nodeClient) expect(t *testing.T, name string) map[string]json.RawMessage {
	t.Helper()
	select {
	case m := <-nc.lines:
		var ev string
		_ = json.Unmarshal(m["event"], &ev)
		if ev != name {
			t.Fatalf("driver saw %s, want %s: %v", ev, name, fmtLine(m))
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("driver saw no %s within 10 s", name)
		return nil
	}
}

func fmtLine(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// officialModes are the driver's transport modes: a websocket only (as the
// Bitweb wallet connects), polling upgraded to a websocket, polling only.
var officialModes = []struct{ name, mode string }{
	{"websocket", "websocket"},
	{"polling-upgrade", "polling"},
	{"polling-only", "polling-only"},
}

// TestOfficialClient runs the official client over every transport mode,
// on the default namespace and on a coin namespace, and checks that the
// events came over the transport the mode ends on.
func TestOfficialClient(t *testing.T) {
	for _, tc := range officialModes {
		for _, nsp := range []string{"/", "/btc"} {
			t.Run(tc.name+"/"+map[string]string{"/": "default", "/btc": "btc"}[nsp], func(t *testing.T) {
				testOfficialClient(t, tc.mode, nsp)
			})
		}
	}
}

func testOfficialClient(t *testing.T, mode, nsp string) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	if nsp != "/" {
		if err := e.srv.Serve(nsp, testCoin, hub.ChainDecoder(e.params)); err != nil {
			t.Fatal(err)
		}
	}
	addr, sc := e.addr(t, 7)
	e.be.SetBalance(sc.Hash, 100, 0)
	url := e.ts.URL
	if nsp != "/" {
		url += nsp
	}
	nc := startNodeClient(t, url, mode)
	awaitConnected(t, nc, mode)
	wantTransport := map[string]string{"websocket": "websocket", "polling": "websocket", "polling-only": "polling"}[mode]
	expect := func(name, want string) {
		t.Helper()
		m := nc.expect(t, name)
		if d := string(m["data"]); d != want {
			t.Fatalf("%s %s, want %s", name, d, want)
		}
		if tr := string(m["transport"]); tr != fmt.Sprintf("%q", wantTransport) {
			t.Fatalf("%s came over %s, want %s", name, tr, wantTransport)
		}
	}
	nc.emit(t, "subscribe", map[string]any{"address": " " + addr + " "})
	expect("subscribed", `{"address":"`+addr+`"}`)
	expect("balance_changed", `{"balance":100,"confirmed":100,"unconfirmed":0,"pending_out":0,"utxos":[],"height":1000}`)
	nc.emit(t, "subscribe", map[string]any{"address": addr})
	expect("error", `{"message":"rate limited"}`)
	e.be.SetBalance(sc.Hash, 100, 50)
	e.change(t, sc.Hash)
	expect("balance_changed", `{"balance":150,"confirmed":100,"unconfirmed":50,"pending_out":0,"utxos":[],"height":1000}`)
	e.block(1001)
	expect("block", `{"height":1001}`)
}
