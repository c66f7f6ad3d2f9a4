package regtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/txscript/v2"

	"github.com/walletgate/walletgate"
)

// WalletOptions are the settings of a btcwallet started by StartWallet.
type WalletOptions struct {
	// BuildTimeout bounds building btcwallet and mkwallet (cold: minutes).
	BuildTimeout time.Duration
	// StartTimeout bounds waiting until the wallet answers and is
	// connected to btcd.
	StartTimeout time.Duration
	// StopTimeout is how long btcwallet may take to exit after SIGTERM.
	StopTimeout time.Duration
	// RPCTimeout bounds every RPC call.
	RPCTimeout time.Duration
	// MaxReplyBytes caps an RPC reply body.
	MaxReplyBytes int64
	// PrivatePass is the wallet's private passphrase (walletpassphrase).
	PrivatePass string
	// UnlockSeconds is how long walletpassphrase unlocks the wallet.
	UnlockSeconds int
	// StartAttempts is how often to retry with new ports when btcwallet
	// exits during start-up.
	StartAttempts int
}

// WalletOption changes WalletOptions.
type WalletOption func(*WalletOptions)

// DefaultWalletOptions returns the settings StartWallet uses before options.
func DefaultWalletOptions() WalletOptions {
	return WalletOptions{
		BuildTimeout:  10 * time.Minute,
		StartTimeout:  60 * time.Second,
		StopTimeout:   10 * time.Second,
		RPCTimeout:    30 * time.Second,
		MaxReplyBytes: 16 << 20,
		PrivatePass:   "walletgate-regtest",
		UnlockSeconds: 3600,
		StartAttempts: 3,
	}
}

// Wallet is a running btcwallet (bitcoind-style wallet RPC) on top of a
// harness btcd node, owned by a test.
type Wallet struct {
	opts   WalletOptions
	node   *Node
	bin    string
	dir    string
	user   string
	pass   string
	client *http.Client
	reqID  atomic.Uint64

	mu      sync.Mutex
	rpcAddr string
	proc    *process
}

// StartWallet creates a regtest wallet, starts btcwallet connected to
// node, waits until it answers and has synced the chain, and unlocks it
// with walletpassphrase. The wallet stops when the test ends. Fund it with
// Wallet.Fund before SendTo.
//
// btcwallet's --create prompts on a terminal and --createtemp is
// simnet-only, so the wallet database is made beforehand by
// btcwallettool/mkwallet (wallet.Create on a fresh bdb file, as
// --createtemp does, but for regtest). btcwallet quirks met here: the
// account is "default"; getnewaddress gives P2PKH and only P2PKH coins are
// spent; gettransaction reports the fee as a positive number; batches are
// refused; getblockcount is the wallet's own synced height.
func StartWallet(tb testing.TB, node *Node, opts ...WalletOption) *Wallet {
	tb.Helper()
	o := DefaultWalletOptions()
	for _, f := range opts {
		f(&o)
	}
	bin, mkwallet, err := walletBinaries(tb, o.BuildTimeout)
	if err != nil {
		tb.Fatalf("regtest: no btcwallet: %v", err)
	}
	dir := tb.TempDir()
	appdata := filepath.Join(dir, "appdata")
	if err := os.WriteFile(filepath.Join(dir, "btcwallet.conf"), nil, 0o600); err != nil {
		tb.Fatalf("regtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.StartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mkwallet, "-appdata", appdata, "-privpass", o.PrivatePass, "-net", "regtest")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("regtest: mkwallet: %v: %s", err, out)
	}
	w := &Wallet{
		opts: o, node: node, bin: bin, dir: dir,
		user: "walletgate-wallet", pass: randomHex(16),
		client: &http.Client{
			Timeout: o.RPCTimeout,
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: o.RPCTimeout}).DialContext,
				MaxIdleConnsPerHost: 4,
			},
		},
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("regtest: last lines of btcwallet output (%s):\n%s", w.outPath(), w.logTail())
		}
		if err := w.Stop(); err != nil {
			tb.Logf("regtest: %v", err)
		}
	})
	var lastErr error
	for attempt := 0; attempt < max(o.StartAttempts, 1); attempt++ {
		if lastErr = w.launch(ctx); lastErr == nil {
			break
		}
		w.Stop()
	}
	if lastErr != nil {
		tb.Fatalf("regtest: start btcwallet: %v", lastErr)
	}
	if _, err := w.Call(ctx, "walletpassphrase", o.PrivatePass, o.UnlockSeconds); err != nil {
		tb.Fatalf("regtest: unlock btcwallet: %v", err)
	}
	// A new wallet first scans the whole chain for its addresses
	// ("recovery"); coins that arrive meanwhile may be invisible to coin
	// selection, so the wallet is handed over only once it is synced.
	if err := w.WaitSynced(ctx); err != nil {
		tb.Fatalf("regtest: btcwallet initial sync: %v", err)
	}
	return w
}

func (w *Wallet) outPath() string { return filepath.Join(w.dir, "btcwallet.out") }

func (w *Wallet) logTail() string {
	b, err := os.ReadFile(w.outPath())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// launch starts btcwallet on a fresh port and waits until it is
// connected to btcd (getnewaddress-type calls fail before that).
func (w *Wallet) launch(ctx context.Context) error {
	rpcAddr, _, err := freeAddrs()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(w.outPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	args := []string{
		"--regtest",
		"-C", filepath.Join(w.dir, "btcwallet.conf"),
		"--appdata=" + filepath.Join(w.dir, "appdata"),
		"--logdir=" + filepath.Join(w.dir, "logs"),
		"--rpcconnect=" + w.node.RPCHost(),
		"--noclienttls",
		"--btcdusername=" + w.node.RPCUser(),
		"--btcdpassword=" + w.node.RPCPass(),
		"--rpclisten=" + rpcAddr,
		"--noservertls",
		"--username=" + w.user,
		"--password=" + w.pass,
	}
	cmd := exec.Command(w.bin, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "HOME="+w.dir)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", w.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	w.mu.Lock()
	w.rpcAddr, w.proc = rpcAddr, p
	w.mu.Unlock()
	for {
		// getinfo goes through to btcd, so an answer proves both the
		// wallet's RPC server and its chain connection.
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := w.Call(cctx, "getinfo")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("btcwallet exited during start-up (%v): %s", p.err, w.logTail())
		case <-ctx.Done():
			return fmt.Errorf("btcwallet not ready: %v (last error: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends btcwallet (SIGTERM, then SIGKILL after StopTimeout).
func (w *Wallet) Stop() error {
	w.mu.Lock()
	p := w.proc
	w.proc = nil
	w.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(w.opts.StopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("btcwallet did not stop within %s of SIGTERM; killed", w.opts.StopTimeout)
	}
}

// RPCHost is the wallet's RPC address, host:port.
func (w *Wallet) RPCHost() string { w.mu.Lock(); defer w.mu.Unlock(); return w.rpcAddr }

// RPCUser is the wallet's RPC user name.
func (w *Wallet) RPCUser() string { return w.user }

// RPCPass is the wallet's RPC password.
func (w *Wallet) RPCPass() string { return w.pass }

// RPCURL is http://user:pass@host:port/, the form bitcoind backends take.
func (w *Wallet) RPCURL() string {
	u := url.URL{Scheme: "http", User: url.UserPassword(w.user, w.pass), Host: w.RPCHost(), Path: "/"}
	return u.String()
}

// Call sends one JSON-RPC request to the wallet (batches are not
// supported by btcwallet). Node-side errors are *walletgate.RPCError.
func (w *Wallet) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(rpcRequest{JSONRPC: "1.0", ID: w.reqID.Add(1), Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("regtest: btcwallet: encode %s params: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+w.RPCHost()+"/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("regtest: btcwallet %s: %w", method, err)
	}
	req.SetBasicAuth(w.user, w.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("regtest: btcwallet %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, w.opts.MaxReplyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("regtest: btcwallet %s: read reply: %w", method, err)
	}
	if int64(len(raw)) > w.opts.MaxReplyBytes {
		return nil, fmt.Errorf("regtest: btcwallet %s: reply larger than %d bytes", method, w.opts.MaxReplyBytes)
	}
	res, err := decodeReply(resp.StatusCode, raw)
	if err != nil {
		return nil, fmt.Errorf("regtest: btcwallet %s: %w", method, err)
	}
	return res, nil
}

// CallInto is Call that decodes the result into out. Use json.Number
// fields for amounts: they are whole-coin decimals.
func (w *Wallet) CallInto(ctx context.Context, out any, method string, params ...any) error {
	res, err := w.Call(ctx, method, params...)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(res))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("regtest: btcwallet: decode %s result %q: %w", method, clip(res, 200), err)
	}
	return nil
}

// NewAddress makes a fresh P2PKH address in btcwallet's "default" account
// (btcwallet has no "" account, and spends only P2PKH coins).
func (w *Wallet) NewAddress(ctx context.Context) (string, error) {
	var addr string
	if err := w.CallInto(ctx, &addr, "getnewaddress", "default"); err != nil {
		return "", err
	}
	return addr, nil
}

// SendTo pays sats to addr with sendtoaddress and returns the txid.
func (w *Wallet) SendTo(ctx context.Context, addr string, sats int64) (string, error) {
	if sats <= 0 {
		return "", fmt.Errorf("regtest: SendTo %s: amount %d sat must be positive", addr, sats)
	}
	var txid string
	if err := w.CallInto(ctx, &txid, "sendtoaddress", addr, BTC(sats)); err != nil {
		return "", err
	}
	return txid, nil
}

// Balance is getbalance for the "default" account with minConf
// confirmations, in satoshis.
func (w *Wallet) Balance(ctx context.Context, minConf int) (int64, error) {
	var n json.Number
	if err := w.CallInto(ctx, &n, "getbalance", "default", minConf); err != nil {
		return 0, err
	}
	return ParseBTC(n)
}

// Fund gives the wallet spendable coins: the harness's mining key pays
// sats to a fresh wallet P2PKH address and one block confirms it. (btcd's
// mining address is fixed when the node starts, so the harness cannot
// mine to a wallet address directly; a confirmed P2PKH payment is the same
// for sendtoaddress and needs no 100-block coinbase maturity.) It returns
// once the wallet counts the coins at one confirmation.
func (w *Wallet) Fund(ctx context.Context, sats int64) (Outpoint, error) {
	before, err := w.Balance(ctx, 1)
	if err != nil {
		return Outpoint{}, err
	}
	addr, err := w.NewAddress(ctx)
	if err != nil {
		return Outpoint{}, err
	}
	a, err := address.DecodeAddress(addr, params())
	if err != nil {
		return Outpoint{}, fmt.Errorf("regtest: wallet address %q: %w", addr, err)
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		return Outpoint{}, fmt.Errorf("regtest: wallet address %q: %w", addr, err)
	}
	op, err := w.node.Fund(ctx, script, sats)
	if err != nil {
		return Outpoint{}, err
	}
	if _, err := w.node.Generate(ctx, 1); err != nil {
		return Outpoint{}, err
	}
	if err := w.WaitSynced(ctx); err != nil {
		return Outpoint{}, err
	}
	for {
		bal, err := w.Balance(ctx, 1)
		if err == nil && bal >= before+sats {
			return op, nil
		}
		select {
		case <-ctx.Done():
			return Outpoint{}, fmt.Errorf("regtest: wallet balance %d sat never reached %d: %w (last error %v)", bal, before+sats, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitSynced waits until the wallet has processed the node's tip.
// btcwallet's getblockcount is its own synced height, which trails btcd's
// after a block; until they match, coin selection (sendtoaddress) may not
// count the newest confirmations even when getbalance already does.
func (w *Wallet) WaitSynced(ctx context.Context) error {
	for {
		want, err := w.node.Height(ctx)
		if err != nil {
			return err
		}
		var got int64
		if err := w.CallInto(ctx, &got, "getblockcount"); err != nil {
			return err
		}
		if got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("regtest: btcwallet synced to %d, node at %d: %w", got, want, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// BTC formats satoshis as an exact whole-coin JSON number with 8 places,
// the form bitcoind-style wallets take amounts in.
func BTC(sats int64) json.Number { return json.Number(walletgate.FormatSats(sats)) }

// walletAmount is how a wallet reports amounts: a JSON number of whole
// coins, no exponent, exact to the satoshi, at most 21 million coins.
var walletAmount = walletgate.AmountFormat{JSON: true, Max: maxMoney}

// ParseBTC turns a whole-coin JSON number (as a wallet reports amounts)
// into satoshis exactly, without float64. Exponent forms are refused.
func ParseBTC(n json.Number) (int64, error) {
	v, err := walletgate.ParseCoins(string(n), walletAmount)
	if err != nil {
		return 0, fmt.Errorf("regtest: %w", err)
	}
	return v, nil
}

// AwaitTx waits until the wallet knows txid (gettransaction answers), as a
// node runs walletnotify only then; it fails when ctx ends first.
func (w *Wallet) AwaitTx(ctx context.Context, txid string) error {
	for {
		if _, err := w.Call(ctx, "gettransaction", txid); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("regtest: btcwallet never saw %s: %w", txid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
