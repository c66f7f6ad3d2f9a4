package socketio_test

import (
	"bufio"
	"context"
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

	"github.com/gorilla/websocket"

	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// The load clients speak Engine.IO v4 / Socket.IO v5 text frames over
// gorilla/websocket: one goroutine and small buffers each, so they can run
// by the ten thousand. With transport "tcp" they run in a child process
// (this test binary re-run as TestHelperLoadClients) over loopback, so the
// benchmark process holds only the server and its memory is the server's.
// A process may hold 20,000 descriptors here (a hard limit that cannot be
// raised without privileges), which a server with 20,000 TCP clients
// exceeds; transport "pipe" therefore runs the clients in process over
// net.Pipe, and its memory figure counts both ends.

const (
	envLoadURL = "WALLETGATE_LOADCLIENT_URL"
	envLoadN   = "WALLETGATE_LOADCLIENT_N"
)

// loadClients connects n clients with dial, each subscribing to
// addrs[i%len(addrs)], and reports on out: "ready" once all are connected
// and got their first balance, then "block H" each time all n received
// block H.
func loadClients(ctx context.Context, dial func(ctx context.Context) (net.Conn, error), url string, n int, addrs []string, out io.Writer) error {
	d := websocket.Dialer{
		NetDialContext:   func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		ReadBufferSize:   512,
		WriteBufferSize:  256,
		HandshakeTimeout: 30 * time.Second,
	}
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
	conns := make([]*websocket.Conn, n)
	for i := range n {
		connected.Add(1)
		sem <- struct{}{}
		wg.Go(func() {
			c, err := handshake(ctx, &d, url)
			if err == nil {
				err = c.WriteMessage(websocket.TextMessage, []byte(`42["subscribe",{"address":"`+addrs[i%len(addrs)]+`"}]`))
			}
			if err != nil {
				<-sem
				failed.Store(err)
				connected.Done()
				return
			}
			conns[i] = c
			first := true
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					if first {
						<-sem
						failed.Store(fmt.Errorf("client %d: %w", i, err))
						connected.Done()
					}
					return
				}
				if first && strings.HasPrefix(string(msg), `42["balance_changed",`) {
					first = false
					<-sem
					connected.Done()
				}
				switch {
				case len(msg) == 1 && msg[0] == '2':
					_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
				case strings.HasPrefix(string(msg), `42["block",{"height":`):
					s := string(msg[len(`42["block",{"height":`):])
					if h, err := strconv.ParseInt(strings.TrimSuffix(s, "}]"), 10, 64); err == nil {
						gotBlock(h)
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
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	wg.Wait()
	return nil
}

func handshake(ctx context.Context, d *websocket.Dialer, url string) (*websocket.Conn, error) {
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	_, open, err := c.ReadMessage()
	if err != nil || len(open) == 0 || open[0] != '0' {
		c.Close()
		return nil, fmt.Errorf("open packet %q: %v", open, err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		c.Close()
		return nil, err
	}
	_, connect, err := c.ReadMessage()
	if err != nil || !strings.HasPrefix(string(connect), "40") {
		c.Close()
		return nil, fmt.Errorf("connect packet %q: %v", connect, err)
	}
	return c, nil
}

// TestHelperLoadClients is the child process of the tcp benchmarks; run
// directly it does nothing.
func TestHelperLoadClients(t *testing.T) {
	url, nStr := os.Getenv(envLoadURL), os.Getenv(envLoadN)
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
		return d.DialContext(ctx, "tcp", strings.TrimPrefix(strings.Split(url, "/socket.io")[0], "ws://"))
	}
	if err := loadClients(ctx, dial, url, n, benchAddrs(t), os.Stdout); err != nil {
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

// BenchmarkSocketIOClients holds N websocket clients and measures the
// server memory per client and the time for one block event to reach all
// of them (ns/op).
func BenchmarkSocketIOClients(b *testing.B) {
	for _, tc := range []struct {
		transport string
		n         int
	}{{"tcp", 1000}, {"tcp", 10000}, {"pipe", 10000}, {"pipe", 20000}} {
		for _, lib := range []bool{false, true} {
			path := "direct"
			if lib {
				path = "library"
			}
			b.Run(fmt.Sprintf("%s/%s/clients=%d", path, tc.transport, tc.n), func(b *testing.B) {
				benchClients(b, socketio.Config{LibraryWebSocket: lib}, tc.transport, tc.n)
			})
		}
	}
}

func benchClients(b *testing.B, cfg socketio.Config, transport string, n int) {
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
		url = e.wsURL()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLoadClients$", "-test.v=false")
		cmd.Env = append(os.Environ(), envLoadURL+"="+url, envLoadN+"="+strconv.Itoa(n), "GOMAXPROCS=1")
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
		url = "ws://pipe/socket.io/?EIO=4&transport=websocket"
		pr, pw := io.Pipe()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := loadClients(ctx, ln.dial, url, n, benchAddrs(b), pw); err != nil {
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
