package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/walletgate/walletgate/config"
)

// app is everything serve builds from the config.
type app struct {
	main    http.Handler
	extra   []listener
	closers []closer
	// background tasks run for the life of the server (subscription loops,
	// ping loops); each returns when its context ends.
	background []func(ctx context.Context) error
}

type listener struct {
	name, addr string
	handler    http.Handler
}

type closer struct {
	name string
	c    io.Closer
}

// buildApp wires stores, backends and handlers from cfg.
func buildApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{}
	mux := healthMux()
	a.main = mux
	return a, nil
}

// startBackground runs the app's background tasks; the returned group's
// Wait returns when all have stopped after ctx ends.
func (a *app) startBackground(ctx context.Context, log *slog.Logger) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, f := range a.background {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.Error("background task stopped", "err", err)
			}
		}()
	}
	return &wg
}

// close closes what buildApp opened, for start-up failures.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i].c.Close()
	}
}
