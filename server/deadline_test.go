package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startTest serves h on a loopback listener with opts and returns its
// address; the server shuts down when the test ends.
func startTest(t *testing.T, opts Options, h http.Handler) (*Server, string) {
	t.Helper()
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	s.Listen("main", "127.0.0.1:0", h)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, s.Addr("main")
}

// Clients that send their bodies a byte at a time are cut off at
// BodyReadTimeout: the handler's read fails with a deadline error and the
// server closes every such connection while the clients still have bytes
// to send.
func TestSlowBodiesAreCut(t *testing.T) {
	const conns = 50
	readErrs := make(chan error, conns)
	_, addr := startTest(t, Options{BodyReadTimeout: 300 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErrs <- err
		if err != nil {
			http.Error(w, "request body: "+err.Error(), http.StatusRequestTimeout)
		}
	}))
	closed := make(chan error, conns)
	for i := 0; i < conns; i++ {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				closed <- err
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
			// 1000 bytes at one per 50 ms would take 50 s; the server must
			// close the connection long before the last one.
			for j := 0; j < 1000; j++ {
				if _, err := c.Write([]byte{'a'}); err != nil {
					closed <- nil // the server closed it
					return
				}
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					closed <- nil // the server answered and closed, or reset
					return
				}
			}
			closed <- errors.New("the whole slow body was accepted")
		}()
	}
	for i := 0; i < conns; i++ {
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if err := <-readErrs; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("handler's body read = %v, want a deadline error", err)
		}
	}
}

// Once the body is read, the deadline is gone: a handler may work longer
// than BodyReadTimeout without its context being cancelled, and the next
// request on the same connection is served.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	const bodyTimeout = 100 * time.Millisecond
	_, addr := startTest(t, Options{BodyReadTimeout: bodyTimeout}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		select {
		case <-time.After(4 * bodyTimeout):
		case <-r.Context().Done():
			http.Error(w, "context ended: "+context.Cause(r.Context()).Error(), 500)
			return
		}
		fmt.Fprintf(w, "got %s", b)
	}))
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for i := 0; i < 3; i++ {
		resp, err := client.Post("http://"+addr+"/x", "text/plain", strings.NewReader(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != fmt.Sprintf("got %d", i) {
			t.Fatalf("request %d = %d %q", i, resp.StatusCode, b)
		}
		time.Sleep(2 * bodyTimeout) // idle past the old deadline before the next
	}
}

// A client that never reads its answer holds the connection no longer
// than WriteTimeout: the handler's writes fail and the connection closes.
func TestWriteTimeoutCutsClientsThatDoNotRead(t *testing.T) {
	const conns = 20
	writeErrs := make(chan error, conns)
	chunk := make([]byte, 64<<10)
	_, addr := startTest(t, Options{WriteTimeout: 300 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 1024; i++ { // 64 MiB: far more than socket buffers hold
			if _, err := w.Write(chunk); err != nil {
				writeErrs <- err
				return
			}
		}
		writeErrs <- errors.New("64 MiB written to a client that reads nothing")
	}))
	var cs []net.Conn
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /history HTTP/1.1\r\nHost: x\r\n\r\n")
		cs = append(cs, c)
	}
	for i := 0; i < conns; i++ {
		if err := <-writeErrs; err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("handler write = %v, want a timeout", err)
		}
	}
	// The server has given up on each: reading now ends in EOF or reset
	// after what the buffers held.
	for _, c := range cs {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("connection still open after the write timeout")
		}
	}
}

// Websockets and long polls have neither deadline: a websocket idle for
// several write timeouts still echoes, and a long poll that answers after
// several write and body timeouts is delivered with its context intact.
func TestSocketsHaveNoDeadlines(t *testing.T) {
	const timeout = 100 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			c.Write(context.Background(), typ, msg)
		}
	})
	mux.HandleFunc("/socket.io/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * timeout):
			io.WriteString(w, "6") // an Engine.IO noop
		case <-r.Context().Done():
			http.Error(w, "context ended", 500)
		}
	})
	_, addr := startTest(t, Options{WriteTimeout: timeout, BodyReadTimeout: timeout, StreamPaths: []string{"/socket.io/"}}, mux)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := 0; i < 3; i++ {
		time.Sleep(2 * timeout)
		if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			t.Fatalf("write after %d idle periods: %v", i+1, err)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != "ping" {
			t.Fatalf("echo after %d idle periods = %q, %v", i+1, msg, err)
		}
	}

	resp, err := http.Post("http://"+addr+"/socket.io/?EIO=4&transport=polling", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "6" {
		t.Fatalf("long poll = %d %q, want the late answer", resp.StatusCode, b)
	}
}

// OnShutdown hooks run beside the drain: a long poll that only answers
// when its socket server goes away lets Wait return without waiting for
// ShutdownTimeout (a minute here: the test would time out first).
func TestOnShutdownEndsLongPolls(t *testing.T) {
	goAway := make(chan struct{})
	polling := make(chan struct{})
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), Options{ShutdownTimeout: time.Minute})
	s.Listen("main", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(polling)
		<-goAway
		io.WriteString(w, "1") // the Engine.IO close packet
	}))
	var hookCtxHadDeadline bool
	s.OnShutdown("socket.io", func(ctx context.Context) error {
		_, hookCtxHadDeadline = ctx.Deadline()
		close(goAway)
		return nil
	})
	s.OnShutdown("failing", func(ctx context.Context) error { return errors.New("boom") })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr("main") + "/socket.io/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		got <- b
	}()
	<-polling
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "shut down failing: boom") || strings.Contains(err.Error(), "drain") {
		t.Fatalf("Wait = %v, want only the failing hook's error", err)
	}
	if g := <-got; g != "1" {
		t.Fatalf("long poll got %q, want the close packet", g)
	}
	if !hookCtxHadDeadline {
		t.Fatal("the hook's context has no deadline: it must share the drain's")
	}
}
