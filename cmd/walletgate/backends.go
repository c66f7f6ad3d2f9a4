package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/config"
	"github.com/walletgate/walletgate/electrum"
)

// describeBackend names a backend for logs without its secrets.
func describeBackend(b config.Backend) string {
	switch b.Type {
	case config.BackendElectrumX:
		scheme := "tcp"
		if b.TLS != nil && *b.TLS {
			scheme = "ssl"
		}
		return fmt.Sprintf("electrumx %s://%s", scheme, net.JoinHostPort(b.Host, strconv.Itoa(b.Port)))
	case config.BackendNode:
		if u, err := url.Parse(b.URL); err == nil {
			u.User = nil
			return "node " + u.String()
		}
		return "node"
	}
	return b.Type
}

// openBackend builds a coin's backend. It does not wait for the backend to
// answer: a server whose node is down still starts, serves what it can, and
// answers 503 for the rest until the backend is back.
func openBackend(ctx context.Context, c config.Coin, sink walletgate.EventSink, log *slog.Logger) (walletgate.Backend, error) {
	b := c.Backend
	switch b.Type {
	case config.BackendElectrumX:
		return electrum.New(ctx, electrum.Config{
			Host:        b.Host,
			Port:        b.Port,
			TLS:         b.TLS != nil && *b.TLS,
			SkipVerify:  b.VerifyTLS != nil && !*b.VerifyTLS,
			Timeout:     b.Timeout.D(),
			PoolSize:    b.PoolSize,
			ProtocolMin: b.ProtocolMin,
			ProtocolMax: b.ProtocolMax,
		}, c.Name, sink, log.With("backend", "electrumx"))
	}
	return nil, fmt.Errorf("backend type %q is not available in this build yet", b.Type)
}

// checkBackend connects to a coin's backend and returns its tip height.
func checkBackend(ctx context.Context, c config.Coin, log *slog.Logger) (int64, error) {
	be, err := openBackend(ctx, c, walletgate.EventSinkFunc(func(walletgate.Event) {}), log)
	if err != nil {
		return 0, err
	}
	defer be.Close()
	tip, err := be.Tip(ctx)
	if err != nil {
		return 0, err
	}
	return tip.Height, nil
}
