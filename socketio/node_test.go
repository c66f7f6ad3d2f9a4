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
	done := make(chan struct{})
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
			nc.lines <- m
		}
	}()
	t.Cleanup(func() {
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

func TestOfficialClient(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		library    bool // direct websockets served by the library too
	}{{"websocket", "websocket", false}, {"websocket-library", "websocket", true}, {"polling-upgrade", "polling", false}} {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			e := newTestEnv(t, hub.Config{}, socketio.Config{LibraryWebSocket: tc.library})
			addr, sc := e.addr(t, 7)
			e.be.SetBalance(sc.Hash, 100, 0)
			nc := startNodeClient(t, e.ts.URL, mode)
			if open := nc.expect(t, "open"); string(open["transport"]) != fmt.Sprintf("%q", mode) {
				t.Fatalf("opened over %s, want %s", open["transport"], mode)
			}
			if mode == "polling" {
				// The upgrade and the namespace connect race; both must come.
				seen := map[string]string{}
				for range 2 {
					select {
					case m := <-nc.lines:
						var ev string
						_ = json.Unmarshal(m["event"], &ev)
						seen[ev] = string(m["transport"])
					case <-time.After(10 * time.Second):
						t.Fatalf("saw only %v", seen)
					}
				}
				if tr, ok := seen["upgrade"]; !ok || tr != `"websocket"` {
					t.Fatalf("no upgrade to websocket: %v", seen)
				}
				if _, ok := seen["connect"]; !ok {
					t.Fatalf("no connect: %v", seen)
				}
			} else {
				nc.expect(t, "connect")
			}
			nc.emit(t, "subscribe", map[string]any{"address": " " + addr + " "})
			if d := string(nc.expect(t, "subscribed")["data"]); d != `{"address":"`+addr+`"}` {
				t.Fatalf("subscribed %s", d)
			}
			want := `{"balance":100,"confirmed":100,"unconfirmed":0,"pending_out":0,"utxos":[],"height":1000}`
			if d := string(nc.expect(t, "balance_changed")["data"]); d != want {
				t.Fatalf("balance_changed %s, want %s", d, want)
			}
			nc.emit(t, "subscribe", map[string]any{"address": addr})
			if d := string(nc.expect(t, "error")["data"]); d != `{"message":"rate limited"}` {
				t.Fatalf("error %s", d)
			}
			e.be.SetBalance(sc.Hash, 100, 50)
			e.change(t, sc.Hash)
			want = `{"balance":150,"confirmed":100,"unconfirmed":50,"pending_out":0,"utxos":[],"height":1000}`
			if d := string(nc.expect(t, "balance_changed")["data"]); d != want {
				t.Fatalf("balance_changed %s, want %s", d, want)
			}
			e.block(1001)
			if d := string(nc.expect(t, "block")["data"]); d != `{"height":1001}` {
				t.Fatalf("block %s", d)
			}
		})
	}
}
