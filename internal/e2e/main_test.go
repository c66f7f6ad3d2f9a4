package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/internal/testenv"
)

// binDir holds the walletgate binary built for this run of the package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "walletgate-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
}

// VarBinary names a walletgate executable to test instead of building
// cmd/walletgate (a release build, or an older commit to check that a test
// catches a bug).
const VarBinary = "WALLETGATE_E2E_BINARY"

// walletgateBinary builds cmd/walletgate once per test run and returns the
// executable's path.
func walletgateBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if p := os.Getenv(VarBinary); p != "" {
			build.path, build.err = filepath.Abs(p)
			return
		}
		goBin, err := regtest.GoCommand()
		if err != nil {
			build.err = err
			return
		}
		out := filepath.Join(binDir, "walletgate")
		cmd := exec.Command(goBin, "build", "-o", out, "./cmd/walletgate")
		cmd.Dir = repoRoot(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/walletgate: %v\n%s", err, b)
			return
		}
		build.path = out
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// repoRoot is the module's root directory (where go.mod is).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// tool returns the path of an executable the test runs, or skips the test
// (fails it under WALLETGATE_REQUIRE_ALL=1) when it is not installed.
// Debian puts nginx in /usr/sbin, which is not on every user's PATH.
func tool(t testing.TB, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	testenv.Unavailable(t, fmt.Sprintf("%s is not installed (%s)", name, install))
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// walletgate is one running walletgate process.
type walletgate struct {
	cmd  *exec.Cmd
	addr string // host:port of the main listener
	base string // http://addr
	logs *testenv.LockedBuffer
	// exited is closed once the process has exited (cmd.ProcessState is
	// then set).
	exited chan struct{}
}

// startWalletgate runs `walletgate serve` with the YAML config cfg (its
// server.port is port) in dir, and waits until /healthz answers. The
// process is stopped with SIGTERM when t ends; its logs go to t's log if t
// failed.
func startWalletgate(t testing.TB, dir string, port int, cfg string, env ...string) *walletgate {
	t.Helper()
	yml := filepath.Join(dir, "walletgate.yaml")
	if err := os.WriteFile(yml, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(walletgateBinary(t), "--config", yml, "serve")
	cmd.Dir = dir
	// Only the variables a test sets: walletgate reads its settings from the
	// environment too, and the developer's must not leak in.
	cmd.Env = append([]string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}, env...)
	wg := &walletgate{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), logs: &testenv.LockedBuffer{}}
	wg.base = "http://" + wg.addr
	cmd.Stdout, cmd.Stderr = wg.logs, wg.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	wg.exited = exited
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			t.Logf("walletgate stopped %.1fs after SIGTERM (%v)", time.Since(start).Seconds(), cmd.ProcessState)
		case <-time.After(30 * time.Second):
			t.Errorf("walletgate did not stop within 30 s of SIGTERM; killed")
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("walletgate logs:\n%s", wg.logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(wg.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return wg
			}
		}
		select {
		case <-exited:
			t.Fatalf("walletgate exited during start-up (%v):\n%s", cmd.ProcessState, wg.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("walletgate did not answer /healthz: %v\n%s", err, wg.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpDo sends one request and returns the status and body; a transport
// error (for example nginx closing the connection with 444) is returned as
// err.
func httpDo(ctx context.Context, method, url string, body []byte, hdr ...string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// wsURL turns an http:// base into ws://.
func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") }
