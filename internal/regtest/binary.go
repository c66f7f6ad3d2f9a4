package regtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BinaryEnv names an environment variable that, when set, points at a btcd
// binary to use instead of building the module's pinned tool dependency
// (handy when a CI image ships a prebuilt btcd).
const BinaryEnv = "WALLETGATE_BTCD"

// btcdModule is the pinned tool dependency (see go.mod's tool directive); the
// fallback build installs exactly this version.
const (
	btcdPackage = "github.com/btcsuite/btcd"
	btcdVersion = "v0.26.2"
)

// btcdBuild memoises the located or built btcd binary for the whole test
// process. It is package state on purpose: every test in a process starts
// nodes from the same binary, and without the memo each Start would re-run
// the go command (seconds of CPU per node, many in parallel on 2 cores). The
// result never changes once found, so it behaves like a lazily computed
// constant; the mutex also makes concurrent first callers wait for one build.
var btcdBuild struct {
	mu   sync.Mutex
	done bool
	path string
	err  error
}

// binary returns the path of a runnable btcd, building it on first use and
// logging the build through tb, since a cold build takes about 45 s.
func binary(tb testing.TB, timeout time.Duration) (string, error) {
	tb.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("regtest: %s=%q: %w", BinaryEnv, p, err)
		}
		return p, nil
	}
	btcdBuild.mu.Lock()
	defer btcdBuild.mu.Unlock()
	if btcdBuild.done {
		return btcdBuild.path, btcdBuild.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	tb.Logf("regtest: locating btcd %s via 'go tool -n btcd' (builds it if needed; about 45 s when cold)", btcdVersion)
	path, err := goToolPath(ctx)
	if err != nil {
		tb.Logf("regtest: 'go tool -n btcd' failed (%v); installing %s@%s into the user cache instead", err, btcdPackage, btcdVersion)
		path, err = installToCache(ctx)
	}
	if err == nil {
		tb.Logf("regtest: btcd ready at %s after %s", path, time.Since(start).Round(time.Millisecond))
	}
	btcdBuild.done, btcdBuild.path, btcdBuild.err = true, path, err
	return path, err
}

// GoCommand finds the go command for tests that build programs: PATH
// first, then $GOROOT, then the toolchain the test binary was built with
// (go test does not always export PATH entries).
func GoCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	// The toolchain that built this test binary is the last resort.
	//lint:ignore SA1019 a test binary runs on the machine that built it, where its GOROOT is real
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("regtest: no go command on PATH, in $GOROOT or at %s", p)
	}
	return p, nil
}

// goToolPath asks the go command for the tool binary of the current module;
// it builds (and caches) btcd exactly as go.mod pins it.
func goToolPath(ctx context.Context) (string, error) {
	gocmd, err := GoCommand()
	if err != nil {
		return "", err
	}
	out, err := runGo(ctx, "", nil, gocmd, "tool", "-n", "btcd")
	if err != nil {
		return "", err
	}
	path := strings.TrimSpace(out)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return "", fmt.Errorf("regtest: 'go tool -n btcd' printed %q, which is not a file", path)
	}
	return path, nil
}

// installToCache builds btcd at the pinned version outside any module, into
// a directory under the user cache, and reuses it on later runs.
func installToCache(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("regtest: no user cache dir for btcd: %w", err)
	}
	dir := filepath.Join(cache, "walletgate", "btcd-"+btcdVersion)
	bin := filepath.Join(dir, "btcd")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if fi, err := os.Stat(bin); err == nil && !fi.IsDir() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("regtest: create %s: %w", dir, err)
	}
	gocmd, err := GoCommand()
	if err != nil {
		return "", err
	}
	// Run outside the module (in the cache dir) so the module's go.mod
	// plays no part; GOBIN puts the binary where we look for it.
	env := []string{"GOBIN=" + dir}
	if _, err := runGo(ctx, dir, env, gocmd, "install", btcdPackage+"@"+btcdVersion); err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("regtest: go install succeeded but %s is missing: %w", bin, err)
	}
	return bin, nil
}

// runGo runs the go command and returns its stdout, folding stderr into the
// error so a failed build says why.
func runGo(ctx context.Context, dir string, env []string, gocmd string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, gocmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (build timeout %s)", err, ctx.Err())
		}
		return "", fmt.Errorf("regtest: go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
