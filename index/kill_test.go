package index

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
)

// buildKillsync compiles the helper program once per test.
func buildKillsync(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "killsync")
	gobin, err := regtest.GoCommand()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gobin, "build", "-o", bin, "./internal/killsync").CombinedOutput()
	if err != nil {
		t.Fatalf("build killsync: %v\n%s", err, out)
	}
	return bin
}

// runUntil starts the helper and SIGKILLs it as soon as it logs a height
// of at least h (or when its output ends). It returns the last height seen.
func runUntil(t *testing.T, bin string, h int64, args ...string) int64 {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var last int64 = -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Height int64  `json:"height"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Height == 0 {
			continue
		}
		last = line.Height
		if last >= h {
			break
		}
	}
	_ = cmd.Process.Kill() // SIGKILL: no deferred Close, no final commit
	_ = cmd.Wait()
	return last
}

// TestKillDuringSyncAndAtTip kills an indexing process with SIGKILL in
// the middle of catch-up and again while it follows the tip, and checks
// that the store resumes from where it was (no resync) and then agrees
// with an independent index of the node.
func TestKillDuringSyncAndAtTip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a helper and a 1,500-block chain")
	}
	bin := buildKillsync(t)
	node := regtest.Start(t, regtest.WithBlocks(1500))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	args := []string{"-url", node.RPCURL(), "-path", path}

	// Mid-sync: the helper commits every block; kill it at block 400.
	seen := runUntil(t, bin, 400, args...)
	if seen < 400 {
		t.Fatalf("helper reached only height %d before its output ended", seen)
	}
	x := openTest(t, node, path, Options{})
	tip, err := x.Tip()
	if err != nil {
		t.Fatal(err)
	}
	if tip.Height < seen || tip.Height >= 1500 {
		t.Fatalf("after SIGKILL the store's tip is %d; want between the last logged %d and the node's 1500", tip.Height, seen)
	}
	x.Close()

	// At the tip: let the helper catch up and follow, make activity, and
	// kill it while it applies the new blocks and mempool.
	buildActivity(t, node)
	nh, _ := node.Height(ctx)
	seen = runUntil(t, bin, nh, append(args, "-follow")...)
	if seen < nh {
		t.Fatalf("follower reached only %d of %d", seen, nh)
	}
	if _, err := node.Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan int64, 1)
	go func() { done <- runUntil(t, bin, nh+2, append(args, "-follow")...) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("follower never reported the new blocks")
	}

	x = openTest(t, node, path, Options{})
	tip, _ = x.Tip()
	if tip.Height < nh {
		t.Fatalf("store tip %d after the follower ran to %d", tip.Height, nh)
	}
	mustSync(t, x)
	compareWithElectrumtest(t, x, node)
}
