package regtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BTCWalletEnv names an environment variable that, when set, points at a
// btcwallet binary to use instead of building the pinned one.
const BTCWalletEnv = "WALLETGATE_BTCWALLET"

// btcwalletVersion is pinned in btcwallettool/go.mod. btcwallet lives in a
// module of its own because it drags in grpc, neutrino and lnd packages
// the main module has no use for; the tool module builds it (and mkwallet)
// with the same btcd v2 family.
const btcwalletVersion = "v0.18.0"

// btcwalletBuild memoises the two binaries for the test process, for the
// same reason as btcdBuild: every StartWallet would otherwise re-run the
// go command on a crowded machine. It is set once and never changes.
var btcwalletBuild struct {
	mu       sync.Mutex
	done     bool
	wallet   string
	mkwallet string
	err      error
}

// walletBinaries returns btcwallet and mkwallet, building them on first use.
func walletBinaries(tb testing.TB, timeout time.Duration) (wallet, mkwallet string, err error) {
	tb.Helper()
	btcwalletBuild.mu.Lock()
	defer btcwalletBuild.mu.Unlock()
	if btcwalletBuild.done {
		return btcwalletBuild.wallet, btcwalletBuild.mkwallet, btcwalletBuild.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	tb.Logf("regtest: building btcwallet %s and mkwallet from the btcwallettool module (minutes when cold)", btcwalletVersion)
	wallet, mkwallet, err = buildWalletTools(ctx)
	if err == nil {
		tb.Logf("regtest: btcwallet ready at %s after %s", wallet, time.Since(start).Round(time.Millisecond))
	}
	btcwalletBuild.done, btcwalletBuild.wallet, btcwalletBuild.mkwallet, btcwalletBuild.err = true, wallet, mkwallet, err
	return wallet, mkwallet, err
}

func buildWalletTools(ctx context.Context) (wallet, mkwallet string, err error) {
	gocmd, err := GoCommand()
	if err != nil {
		return "", "", err
	}
	dir, err := toolModuleDir(ctx, gocmd)
	if err != nil {
		return "", "", err
	}
	if p := os.Getenv(BTCWalletEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("regtest: %s=%q: %w", BTCWalletEnv, p, err)
		}
		wallet = p
	} else {
		out, err := runGo(ctx, dir, nil, gocmd, "tool", "-n", "btcwallet")
		if err != nil {
			return "", "", err
		}
		wallet = strings.TrimSpace(out)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", "", fmt.Errorf("regtest: no user cache dir for mkwallet: %w", err)
	}
	outDir := filepath.Join(cache, "walletgate", "btcwallet-"+btcwalletVersion)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", "", fmt.Errorf("regtest: %w", err)
	}
	mkwallet = filepath.Join(outDir, "mkwallet")
	// go build is cached: a warm rebuild costs well under a second and
	// picks up edits of mkwallet.
	if _, err := runGo(ctx, dir, nil, gocmd, "build", "-o", mkwallet, "./mkwallet"); err != nil {
		return "", "", err
	}
	return wallet, mkwallet, nil
}

// toolModuleDir finds internal/regtest/btcwallettool: next to this source
// file, or (in a -trimpath build) through go list from the main module.
func toolModuleDir(ctx context.Context, gocmd string) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "btcwallettool")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	out, err := runGo(ctx, "", nil, gocmd, "list", "-f", "{{.Dir}}", "github.com/walletgate/walletgate/internal/regtest")
	if err != nil {
		return "", fmt.Errorf("regtest: cannot find the btcwallettool module: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(out), "btcwallettool")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("regtest: btcwallettool module: %w", err)
	}
	return dir, nil
}
