package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/walletgate/walletgate/server"
)

func runServe(ctx context.Context, g *globals, args []string) int {
	fs := subFlags(g, "serve", "", "Run the server on HOST:PORT until SIGINT or SIGTERM, then drain in-flight requests and stop.")
	if code, ok := parseSub(fs, args); !ok {
		return code
	}
	cfg, code := loadConfig(g)
	if cfg == nil {
		return code
	}
	log := newLogger(g.stderr, cfg.Server.LogFormat, cfg.Server.LogLevel)
	log.Info("starting walletgate", "version", version, "config", cfg.Sources, "coins", len(cfg.Coins), "default_coin", cfg.DefaultCoin)

	app, err := buildApp(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(g.stderr, "walletgate: %v\n", err)
		return exitFailure
	}
	srv := server.New(log, server.Options{
		ShutdownTimeout:   cfg.Server.ShutdownTimeout.D(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		IdleTimeout:       cfg.Server.IdleTimeout.D(),
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		BodyReadTimeout:   cfg.Server.BodyReadTimeout.D(),
		WriteTimeout:      cfg.Server.WriteTimeout.D(),
		StreamPaths:       app.streamPaths,
	})
	for _, s := range app.shutdowns {
		srv.OnShutdown(s.name, s.run)
	}
	for _, c := range app.closers {
		srv.OnClose(c.name, c.c)
	}
	// (the background-task closer is added after Start, so it runs first)
	mainAddr := fmt.Sprintf("%s:%d", cfg.Server.Host, cfg.Server.Port)
	srv.Listen("main", mainAddr, app.main)
	for _, l := range app.extra {
		srv.Listen(l.name, l.addr, l.handler)
	}
	runCtx, cancel := context.WithCancel(ctx)
	// A critical task that dies stops the server: waitCtx ends, srv.Wait
	// drains, and the exit code says so.
	waitCtx, stopWait := context.WithCancel(ctx)
	defer stopWait()
	var deadTask atomic.Value
	bg := app.startBackground(runCtx, log, func(name string, err error) {
		deadTask.Store(fmt.Sprintf("%s: %v", name, err))
		stopWait()
	})
	stopBackground := func() { cancel(); bg.Wait() }
	for _, r := range app.ready {
		select {
		case <-r:
		case <-time.After(cfg.Server.ShutdownTimeout.D()):
			stopBackground()
			app.close()
			fmt.Fprintln(g.stderr, "walletgate: a background service did not become ready in time")
			return exitFailure
		case <-ctx.Done():
			stopBackground()
			app.close()
			return exitOK
		}
	}
	if err := srv.Start(); err != nil {
		stopBackground()
		app.close()
		fmt.Fprintf(g.stderr, "walletgate: %v\n", err)
		return exitFailure
	}
	// Listeners drain first, then background tasks stop, then the closers
	// (stores, backends) run — the order requests depend on them.
	srv.OnClose("background tasks", closerFunc(func() error { stopBackground(); return nil }))
	err = srv.Wait(waitCtx)
	if dead, ok := deadTask.Load().(string); ok {
		fmt.Fprintf(g.stderr, "walletgate: stopped because a critical task died: %s\n", dead)
		return exitDeadTask
	}
	if err != nil {
		log.Error("shutdown", "err", err)
		return exitFailure
	}
	return exitOK
}

// closerFunc adapts a function to io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// healthMux is the root mux every configuration starts from.
func healthMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", server.Health())
	return mux
}
