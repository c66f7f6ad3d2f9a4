package socketio_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// The load clients speak Engine.IO v4 / Socket.IO v5 themselves, over a
// websocket (coder/websocket) or long-polling (net/http): one goroutine
// each, so they can run by the ten thousand. With transport "tcp" they run
// in a child process (this test binary re-run as TestHelperLoadClients)
// over loopback, so the benchmark process holds only the server and its
// memory is the server's. A process may hold 20,000 descriptors here (a
// hard limit that cannot be raised without privileges), which a server
// with 20,000 TCP clients exceeds; transport "pipe" therefore runs the
// clients in process over net.Pipe, and its memory figure counts both
// ends.

const (
	envLoadURL  = "WALLETGATE_LOADCLIENT_URL"
	envLoadN    = "WALLETGATE_LOADCLIENT_N"
	envLoadMode = "WALLETGATE_LOADCLIENT_MODE"
)

// loadClients connects n clients with dial over mode ("websocket" or
// "polling"), each subscribing to addrs[i%len(addrs)], and reports on out:
// "ready" once all are connected and got their first balance, then
// "block H" each time all n received block H. base is the server's
// http:// URL.
func loadClients(ctx context.Context, dial func(ctx context.Context) (net.Conn, error), base, mode string, n int, addrs []string, out io.Writer) error {
	hc := &http.Client{Transport: &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		MaxIdleConnsPerHost: 2 * n,
		WriteBufferSize:     512,
		ReadBufferSize:      1024,
	}}
	var (
		mu     sync.Mutex
		counts = map[int64]int{}
		outMu  sync.Mutex
		wg     sync.WaitGroup
		failed atomic.Value
	)
	report := func(s string) {
		outMu.Lock()
		defer outMu.Unlock()
		_, _ = io.WriteString(out, s+"\n")
	}
	gotBlock := func(h int64) {
		mu.Lock()
		counts[h]++
		all := counts[h] == n
		if all {
			delete(counts, h)
		}
		mu.Unlock()
		if all {
			report("block " + strconv.FormatInt(h, 10))
		}
	}
	sem := make(chan struct{}, 64)
	var connected sync.WaitGroup
	for i := range n {
		connected.Add(1)
		sem <- struct{}{}
		wg.Go(func() {
			first := true
			ready := func(err error) {
				if first {
					first = false
					<-sem
					if err != nil {
						failed.Store(fmt.Errorf("client %d: %w", i, err))
					}
					connected.Done()
				}
			}
			var lc loadConn
			var err error
			if mode == "polling" {
				lc, err = pollHandshakeLoad(ctx, hc, base)
			} else {
				lc, err = wsHandshakeLoad(ctx, hc, base)
			}
			if err == nil {
				err = lc.write(ctx, `42["subscribe",{"address":"`+addrs[i%len(addrs)]+`"}]`)
			}
			if err != nil {
				ready(err)
				return
			}
			defer lc.close()
			for {
				pks, err := lc.read(ctx)
				if err != nil {
					ready(err)
					return
				}
				for _, msg := range pks {
					switch {
					case msg == "2":
						_ = lc.write(ctx, "3")
					case first && strings.HasPrefix(msg, `42["balance_changed",`):
						ready(nil)
					case strings.HasPrefix(msg, `42["block",{"height":`):
						s := msg[len(`42["block",{"height":`):]
						if h, err := strconv.ParseInt(strings.TrimSuffix(s, "}]"), 10, 64); err == nil {
							gotBlock(h)
						}
					}
				}
			}
		})
	}
	connected.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	report("ready")
	<-ctx.Done()
	wg.Wait()
	return nil
}

// loadConn is one load client's session.
type loadConn interface {
	write(ctx context.Context, packet string) error
	read(ctx context.Context) ([]string, error)
	close()
}

type wsLoad struct{ c *websocket.Conn }

func (w wsLoad) write(ctx context.Context, p string) error {
	return w.c.Write(ctx, websocket.MessageText, []byte(p))
}

func (w wsLoad) read(ctx context.Context) ([]string, error) {
	_, b, err := w.c.Read(ctx)
	return []string{string(b)}, err
}

func (w wsLoad) close() { w.c.CloseNow() }

func wsHandshakeLoad(ctx context.Context, hc *http.Client, base string) (loadConn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	c, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	lc := wsLoad{c}
	if err := loadConnect(dctx, lc); err != nil {
		c.CloseNow()
		return nil, err
	}
	return lc, nil
}

type pollLoad struct {
	hc  *http.Client
	url string
}

func (p pollLoad) write(ctx context.Context, pk string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(pk))
	if err != nil {
		return err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (p pollLoad) read(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: HTTP %d %s", resp.StatusCode, b)
	}
	return strings.Split(string(b), "\x1e"), nil
}

func (p pollLoad) close() {}

func pollHandshakeLoad(ctx context.Context, hc *http.Client, base string) (loadConn, error) {
	p := pollLoad{hc: hc, url: base + "/socket.io/?EIO=4&transport=polling"}
	open, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	var hs struct{ Sid string }
	if len(open[0]) == 0 || open[0][0] != '0' || json.Unmarshal([]byte(open[0][1:]), &hs) != nil {
		return nil, fmt.Errorf("open packet %q", open)
	}
	p.url += "&sid=" + hs.Sid
	if err := p.write(ctx, "40"); err != nil {
		return nil, err
	}
	for {
		pks, err := p.read(ctx)
		if err != nil {
			return nil, err
		}
		for _, pk := range pks {
			if strings.HasPrefix(pk, "40") {
				return p, nil
			}
		}
	}
}

// loadConnect reads the open packet and joins "/".
func loadConnect(ctx context.Context, lc loadConn) error {
	open, err := lc.read(ctx)
	if err != nil || len(open[0]) == 0 || open[0][0] != '0' {
		return fmt.Errorf("open packet %q: %v", open, err)
	}
	if err := lc.write(ctx, "40"); err != nil {
		return err
	}
	connect, err := lc.read(ctx)
	if err != nil || !strings.HasPrefix(connect[0], "40") {
		return fmt.Errorf("connect packet %q: %v", connect, err)
	}
	return nil
}

// TestHelperLoadClients is the child process of the tcp benchmarks; run
// directly it does nothing.
func TestHelperLoadClients(t *testing.T) {
	url, nStr, mode := os.Getenv(envLoadURL), os.Getenv(envLoadN), os.Getenv(envLoadMode)
	if url == "" {
		t.Skip("helper process for BenchmarkSocketIOClients")
	}
	n, _ := strconv.Atoi(nStr)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // the parent closes stdin to stop us
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", strings.TrimPrefix(url, "http://"))
	}
	if err := loadClients(ctx, dial, url, mode, n, benchAddrs(t), os.Stdout); err != nil {
		fmt.Println("error", err)
	}
}

// benchAddrs are the addresses the load clients watch: a thousand, so
// several clients share each, as on a busy server.
func benchAddrs(t testing.TB) []string {
	e := &testEnv{}
	var err error
	if e.params, err = chain.Lookup("bitweb", "mainnet"); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 1000)
	for i := range out {
		out[i], _ = e.addr(t, i)
	}
	return out
}

// pipeListener hands net.Pipe server ends to an http.Server.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial(ctx context.Context) (net.Conn, error) {
	srv, cli := net.Pipe()
	select {
	case l.conns <- srv:
		return cli, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkSocketIOClients holds N clients, over websockets opened at
// once or over long-polling, and measures the server memory and
// goroutines per client and the time for one block event to reach all of
// them (ns/op).
func BenchmarkSocketIOClients(b *testing.B) {
	for _, tc := range []struct {
		mode, transport string
		n               int
	}{
		{"websocket", "tcp", 1000}, {"websocket", "tcp", 10000}, {"websocket", "pipe", 10000}, {"websocket", "pipe", 20000},
		{"polling", "tcp", 1000}, {"polling", "tcp", 5000}, {"polling", "pipe", 1000},
	} {
		b.Run(fmt.Sprintf("%s/%s/clients=%d", tc.mode, tc.transport, tc.n), func(b *testing.B) {
			benchClients(b, socketio.Config{}, tc.mode, tc.transport, tc.n)
		})
	}
}

func benchClients(b *testing.B, cfg socketio.Config, mode, transport string, n int) {
	e := newTestEnv(b, hub.Config{}, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan string, 16)

	var url string
	var stop func()
	base := memInUse()
	goroutines := runtime.NumGoroutine()
	switch transport {
	case "tcp":
		url = e.ts.URL
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLoadClients$", "-test.v=false")
		cmd.Env = append(os.Environ(), envLoadURL+"="+url, envLoadN+"="+strconv.Itoa(n), envLoadMode+"="+mode, "GOMAXPROCS=1")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		stop = func() { stdin.Close(); _ = cmd.Wait() }
	case "pipe":
		ln := &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
		hs := &http.Server{Handler: e.ts.Config.Handler}
		go func() { _ = hs.Serve(ln) }()
		url = "http://pipe"
		pr, pw := io.Pipe()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := loadClients(ctx, ln.dial, url, mode, n, benchAddrs(b), pw); err != nil {
				_, _ = fmt.Fprintln(pw, "error", err)
			}
		})
		go func() {
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		stop = func() { cancel(); wg.Wait(); _ = hs.Close(); pw.Close() }
	}
	defer func() { stop() }()

	wait := func(want string) {
		timeout := time.After(5 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					b.Fatalf("load clients ended before %q", want)
				}
				if strings.HasPrefix(l, "error") {
					b.Fatalf("load clients: %s", l)
				}
				if l == want {
					return
				}
			case <-timeout:
				b.Fatalf("no %q within 5 min (stats %+v)", want, e.hub.Stats())
			}
		}
	}
	start := time.Now()
	wait("ready")
	connectTime := time.Since(start)
	for e.hub.Stats().Conns != n {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	perClient := float64(memInUse()-base) / float64(n)
	perClientG := float64(runtime.NumGoroutine()-goroutines) / float64(n)

	height := int64(2000)
	b.ResetTimer()
	for range b.N {
		height++
		e.block(height)
		wait("block " + strconv.FormatInt(height, 10))
	}
	b.StopTimer()
	b.ReportMetric(perClient, "B/client")
	b.ReportMetric(perClientG, "goroutines/client")
	b.ReportMetric(connectTime.Seconds(), "s-to-connect-all")
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
}
