package regtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
)

// Options are the settings of a node. Start fills them with defaults first;
// an Option changes them.
type Options struct {
	// Binary is the btcd executable. Empty means: $WALLETGATE_BTCD, else
	// the module's pinned tool dependency, built on first use.
	Binary string
	// InitialBlocks are mined right after start (and after Restart). The
	// default, 101, makes the first coinbase spendable; later funding
	// reuses change, so tests rarely need more.
	InitialBlocks int
	// Args are extra btcd flags appended to the harness's own.
	Args []string
	// BuildTimeout bounds building btcd (the cold build takes about 45 s).
	BuildTimeout time.Duration
	// StartTimeout bounds waiting for the RPC server to answer.
	StartTimeout time.Duration
	// StopTimeout is how long btcd may take to exit after SIGTERM before
	// it is killed.
	StopTimeout time.Duration
	// RPCTimeout bounds every single RPC call (connect, request, reply).
	RPCTimeout time.Duration
	// MaxReplyBytes caps an RPC reply body; bigger replies are an error.
	MaxReplyBytes int64
	// FeeRate in sat/vB is used by Fund, Pay and Spend when the caller
	// gives none. btcd's relay minimum is 1 sat/vB.
	FeeRate int64
	// DustLimit is the smallest value of a spendable output in satoshis;
	// smaller change goes to the fee, smaller payments are refused (btcd
	// would reject them as non-standard).
	DustLimit int64
	// StartAttempts is how often Start picks new ports and retries when
	// btcd exits during start-up (another process took a port meanwhile).
	StartAttempts int
	// LogTailLines is how much of btcd's log is shown when a test fails.
	LogTailLines int
}

// Option changes Options.
type Option func(*Options)

// WithBlocks sets how many blocks are mined right after start.
func WithBlocks(n int) Option { return func(o *Options) { o.InitialBlocks = n } }

// DefaultOptions returns the settings Start uses before applying options.
func DefaultOptions() Options {
	return Options{
		InitialBlocks: 101,
		BuildTimeout:  5 * time.Minute,
		StartTimeout:  30 * time.Second,
		StopTimeout:   10 * time.Second,
		RPCTimeout:    30 * time.Second,
		MaxReplyBytes: 64 << 20,
		FeeRate:       2,
		DustLimit:     546,
		StartAttempts: 3,
		LogTailLines:  40,
	}
}

// Node is one running btcd regtest node owned by a test.
type Node struct {
	opts   Options
	bin    string
	dir    string // the test's temp dir: home/, data/, logs/, btcd.conf, btcd.out
	user   string
	pass   string
	client *http.Client
	mining *Key // coinbase outputs pay this key
	reqID  atomic.Uint64

	mu      sync.Mutex // guards the fields below
	rpcAddr string
	p2pAddr string
	proc    *process
	wallet  *wallet
}

// process is one run of btcd; done closes when it has exited and err is set.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start builds (if needed) and starts a btcd regtest node for tb, mines
// Options.InitialBlocks blocks, and registers a cleanup that stops the node
// and, if tb failed, logs the tail of btcd's output. It fails tb when the
// node cannot be started.
func Start(tb testing.TB, opts ...Option) *Node {
	tb.Helper()
	o := DefaultOptions()
	for _, f := range opts {
		f(&o)
	}
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = binary(tb, o.BuildTimeout); err != nil {
			tb.Fatalf("regtest: no btcd binary: %v", err)
		}
	}
	dir := tb.TempDir()
	for _, d := range []string{"home", "data", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			tb.Fatalf("regtest: %v", err)
		}
	}
	// An existing empty config file keeps btcd from reading or writing
	// ~/.btcd/btcd.conf.
	if err := os.WriteFile(filepath.Join(dir, "btcd.conf"), nil, 0o600); err != nil {
		tb.Fatalf("regtest: %v", err)
	}
	mining, err := GenerateKey(P2WPKH)
	if err != nil {
		tb.Fatalf("regtest: mining key: %v", err)
	}
	n := &Node{
		opts:   o,
		bin:    bin,
		dir:    dir,
		user:   "walletgate",
		pass:   randomHex(16),
		mining: mining,
		wallet: newWallet(),
		client: &http.Client{
			Timeout: o.RPCTimeout,
			// btcd closes every connection after its reply; keeping
			// idle connections would only collect dead ones.
			Transport: &http.Transport{
				DisableKeepAlives: true,
				DialContext:       (&net.Dialer{Timeout: o.RPCTimeout}).DialContext,
			},
		},
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("regtest: last lines of btcd output (%s):\n%s", n.outPath(), n.logTail())
		}
		if err := n.Stop(); err != nil {
			tb.Logf("regtest: %v", err)
		}
	})
	if err := n.launch(false); err != nil {
		tb.Fatalf("regtest: %v", err)
	}
	n.mineInitial(tb)
	return n
}

// Restart stops the node and starts it again on the same ports, with the
// same credentials and mining key. btcd wipes a regtest chain at every
// start, so the node comes back with a fresh chain: the harness forgets its
// coins and mines Options.InitialBlocks again. Use it to test how clients
// survive a node going away and coming back.
func (n *Node) Restart(tb testing.TB) {
	tb.Helper()
	if err := n.Stop(); err != nil {
		tb.Logf("regtest: %v", err)
	}
	n.mu.Lock()
	n.wallet = newWallet()
	n.mu.Unlock()
	if err := n.launch(true); err != nil {
		tb.Fatalf("regtest: restart: %v", err)
	}
	n.mineInitial(tb)
}

func (n *Node) mineInitial(tb testing.TB) {
	tb.Helper()
	if n.opts.InitialBlocks <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.StartTimeout)
	defer cancel()
	if _, err := n.Generate(ctx, n.opts.InitialBlocks); err != nil {
		tb.Fatalf("regtest: mine %d initial blocks: %v", n.opts.InitialBlocks, err)
	}
}

// Stop ends btcd: SIGTERM, then a kill after Options.StopTimeout. It is
// safe to call more than once; it returns an error only when btcd had to be
// killed or could not be stopped.
func (n *Node) Stop() error {
	n.mu.Lock()
	p := n.proc
	n.proc = nil
	n.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil // already exited
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill()
	}
	timer := time.NewTimer(n.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill btcd (pid %d): %w", p.cmd.Process.Pid, err)
	}
	<-p.done
	return fmt.Errorf("btcd (pid %d) ignored SIGTERM for %s and was killed", p.cmd.Process.Pid, n.opts.StopTimeout)
}

// launch starts btcd and waits until its RPC answers. With samePorts it
// reuses the node's ports (Restart); otherwise it picks free ones and
// retries on fresh ports if btcd dies during start-up.
func (n *Node) launch(samePorts bool) error {
	attempts := n.opts.StartAttempts
	if samePorts || attempts < 1 {
		attempts = 1
	}
	var err error
	for i := 0; i < attempts; i++ {
		if !samePorts {
			rpc, p2p, perr := freeAddrs()
			if perr != nil {
				return perr
			}
			n.mu.Lock()
			n.rpcAddr, n.p2pAddr = rpc, p2p
			n.mu.Unlock()
		}
		if err = n.launchOnce(); err == nil {
			return nil
		}
	}
	return err
}

func (n *Node) launchOnce() error {
	n.mu.Lock()
	rpcAddr, p2pAddr := n.rpcAddr, n.p2pAddr
	n.mu.Unlock()
	args := []string{
		"--regtest",
		"--configfile=" + filepath.Join(n.dir, "btcd.conf"),
		"--datadir=" + filepath.Join(n.dir, "data"),
		"--logdir=" + filepath.Join(n.dir, "logs"),
		"--listen=" + p2pAddr,
		"--rpclisten=" + rpcAddr,
		"--rpcuser=" + n.user,
		"--rpcpass=" + n.pass,
		"--notls",
		"--txindex",
		"--addrindex",
		"--miningaddr=" + n.mining.Address(),
		"--nodnsseed",
		"--nostalldetect",
		"--rpcmaxclients=100",
		"--rpcmaxwebsockets=100",
	}
	args = append(args, n.opts.Args...)
	out, err := os.OpenFile(n.outPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open btcd output file: %w", err)
	}
	cmd := exec.Command(n.bin, args...)
	cmd.Dir = n.dir
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(n.dir, "home"))
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	// The waiter owns the process: it reaps it and closes done, which
	// Stop waits on, so it ends when btcd ends.
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	if err := n.waitReady(p); err != nil {
		_ = n.Stop()
		return fmt.Errorf("btcd on %s: %w\n--- btcd output ---\n%s", rpcAddr, err, n.logTail())
	}
	return nil
}

// waitReady polls getblockcount until it succeeds, the process exits, or
// Options.StartTimeout passes.
func (n *Node) waitReady(p *process) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.StartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		callCtx, callCancel := context.WithTimeout(ctx, time.Second)
		_, err := n.Height(callCtx)
		callCancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("exited during start-up: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("RPC not answering after %s: %w", n.opts.StartTimeout, last)
		case <-tick.C:
		}
	}
}

// freeAddrs returns two loopback addresses whose ports were free a moment
// ago. Another process may take one before btcd binds it; launch retries.
func freeAddrs() (rpc, p2p string, err error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", fmt.Errorf("find a free loopback port: %w", err)
		}
		ls = append(ls, l)
	}
	return ls[0].Addr().String(), ls[1].Addr().String(), nil
}

func (n *Node) outPath() string { return filepath.Join(n.dir, "btcd.out") }

// logTail returns the last Options.LogTailLines lines of btcd's output.
func (n *Node) logTail() string {
	b, err := os.ReadFile(n.outPath())
	if err != nil {
		return fmt.Sprintf("(cannot read btcd output: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if k := n.opts.LogTailLines; k > 0 && len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// RPCHost is the host:port of the JSON-RPC server.
func (n *Node) RPCHost() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rpcAddr
}

// P2PHost is the host:port btcd listens on for peers.
func (n *Node) P2PHost() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p2pAddr
}

// RPCUser is the JSON-RPC user name.
func (n *Node) RPCUser() string { return n.user }

// RPCPass is the JSON-RPC password.
func (n *Node) RPCPass() string { return n.pass }

// RPCURL is the JSON-RPC endpoint with credentials, e.g.
// http://user:pass@127.0.0.1:port/ (no TLS).
func (n *Node) RPCURL() string {
	u := url.URL{Scheme: "http", User: url.UserPassword(n.user, n.pass), Host: n.RPCHost(), Path: "/"}
	return u.String()
}

// WebsocketURL is btcd's notification endpoint, ws://127.0.0.1:port/ws. It
// takes the RPC credentials as HTTP basic auth on the upgrade request.
func (n *Node) WebsocketURL() string {
	return "ws://" + n.RPCHost() + "/ws"
}

// MiningAddress is the address every generated block pays its coinbase to.
// The harness owns its key and spends its coins in Fund and Pay.
func (n *Node) MiningAddress() string { return n.mining.Address() }

// Options returns the settings the node runs with.
func (n *Node) Options() Options { return n.opts }

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
