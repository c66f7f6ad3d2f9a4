package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

func TestGracefulShutdownDrainsInFlightThenCloses(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(log, Options{ShutdownTimeout: 5 * time.Second})
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", Health())
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	s.Listen("main", "127.0.0.1:0", mux)
	var mu sync.Mutex
	var order []string
	s.OnClose("first", closeFunc(func() error { mu.Lock(); order = append(order, "first"); mu.Unlock(); return nil }))
	s.OnClose("second", closeFunc(func() error { mu.Lock(); order = append(order, "second"); mu.Unlock(); return nil }))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr("main")

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "{\"status\":\"ok\"}\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/panic")
	if err != nil {
		t.Fatalf("a panicking handler must not kill the server: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("panic: status %d, want 500", resp.StatusCode)
	}

	slowDone := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slowDone <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowDone <- string(b)
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waitDone := make(chan error, 1)
	go func() { waitDone <- s.Wait(ctx) }()
	cancel()
	// Once shutdown has begun, new connections are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		_, err := c.Get(base + "/healthz")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still accepts new connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-waitDone:
		t.Fatalf("Wait returned before the in-flight request finished: %v", err)
	default:
	}
	close(release)
	if got := <-slowDone; got != "done" {
		t.Fatalf("in-flight request was not drained: %q", got)
	}
	if err := <-waitDone; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if strings.Join(order, ",") != "second,first" {
		t.Fatalf("closers ran %v, want reverse registration order", order)
	}
}

func TestStartReportsBindFailure(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := New(log, Options{})
	a.Listen("a", "127.0.0.1:0", http.NotFoundHandler())
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); a.Wait(ctx) }()
	b := New(log, Options{})
	b.Listen("taken", a.Addr("a"), http.NotFoundHandler())
	err := b.Start()
	if err == nil || !strings.Contains(err.Error(), "listen taken on "+a.Addr("a")) {
		t.Fatalf("want a bind error naming the listener and address, got %v", err)
	}
}
