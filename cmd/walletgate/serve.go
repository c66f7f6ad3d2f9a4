package main

import (
	"context"
	"fmt"
	"net/http"

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

	srv := server.New(log, server.Options{
		ShutdownTimeout:   cfg.Server.ShutdownTimeout.D(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		IdleTimeout:       cfg.Server.IdleTimeout.D(),
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
	})
	app, err := buildApp(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(g.stderr, "walletgate: %v\n", err)
		return exitFailure
	}
	for _, c := range app.closers {
		srv.OnClose(c.name, c.c)
	}
	mainAddr := fmt.Sprintf("%s:%d", cfg.Server.Host, cfg.Server.Port)
	srv.Listen("main", mainAddr, app.main)
	for _, l := range app.extra {
		srv.Listen(l.name, l.addr, l.handler)
	}
	if err := srv.Start(); err != nil {
		app.close()
		fmt.Fprintf(g.stderr, "walletgate: %v\n", err)
		return exitFailure
	}
	runCtx, cancel := context.WithCancel(ctx)
	bg := app.startBackground(runCtx, log)
	err = srv.Wait(ctx)
	cancel()
	bg.Wait()
	if err != nil {
		log.Error("shutdown", "err", err)
		return exitFailure
	}
	return exitOK
}

// healthMux is the root mux every configuration starts from.
func healthMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", server.Health())
	return mux
}
