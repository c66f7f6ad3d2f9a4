package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/config"
	"github.com/walletgate/walletgate/electrum"
	"github.com/walletgate/walletgate/index"
	"github.com/walletgate/walletgate/nodebackend"
	"github.com/walletgate/walletgate/nullbackend"
	"github.com/walletgate/walletgate/rpc"
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
func openBackend(ctx context.Context, dataDir string, c config.Coin, sink walletgate.EventSink, log *slog.Logger) (walletgate.Backend, error) {
	b := c.Backend
	switch {
	case b.Type == config.BackendNull:
		return nullbackend.Empty(), nil
	case b.Type == config.BackendBlockIO:
		return nullbackend.Unavailable(fmt.Sprintf("coin %s uses block.io, which serves deposits only: the wallet REST API needs an electrumx or node backend", c.Name)), nil
	case b.Type == config.BackendNode && b.Index != nil && !*b.Index:
		return nullbackend.Unavailable(fmt.Sprintf("coin %s tracks deposits only: its node backend has index: false", c.Name)), nil
	}
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
	case config.BackendNode:
		u, err := url.Parse(b.URL)
		if err != nil {
			return nil, fmt.Errorf("node url: %w", err)
		}
		user, pass := "", ""
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		if err := os.MkdirAll(filepath.Join(dataDir, c.Name), 0o750); err != nil {
			return nil, fmt.Errorf("create index directory: %w", err)
		}
		return nodebackend.New(nodebackend.Config{
			Coin: c.Name,
			RPC:  rpc.Config{URL: b.URL, CookieFile: b.CookieFile, CAFile: b.CAFile, Timeout: b.Timeout.D()},
			Index: index.Options{
				Path:          filepath.Join(dataDir, c.Name, "index.db"),
				StartHeight:   b.StartHeight,
				PollInterval:  b.PollInterval.D(),
				MaxReorgDepth: b.MaxReorgDepth,
				WebsocketURL:  b.Websocket,
				WebsocketUser: user,
				WebsocketPass: pass,
				ZMQEndpoints:  b.ZMQ,
				Logger:        log.With("backend", "node"),
			},
		}, sink)
	}
	return nil, fmt.Errorf("backend type %q is not available in this build yet", b.Type)
}

// checkBackend connects to a coin's backend and returns its tip height.
func checkBackend(ctx context.Context, c config.Coin, log *slog.Logger) (int64, error) {
	var height int64
	switch c.Backend.Type {
	case config.BackendNode:
		// Asking the node is the check; building an index here would sync
		// the chain into a throw-away directory.
		cl, err := rpc.New(rpc.Config{URL: c.Backend.URL, CookieFile: c.Backend.CookieFile, CAFile: c.Backend.CAFile, Timeout: c.Backend.Timeout.D()})
		if err != nil {
			return 0, err
		}
		defer cl.Close()
		if height, err = cl.BlockCount(ctx); err != nil {
			return 0, err
		}
	case config.BackendElectrumX:
		be, err := openBackend(ctx, os.TempDir(), c, walletgate.EventSinkFunc(func(walletgate.Event) {}), log)
		if err != nil {
			return 0, err
		}
		defer be.Close()
		tip, err := be.Tip(ctx)
		if err != nil {
			return 0, err
		}
		height = tip.Height
	}
	if c.TracksDeposits() {
		if err := checkWallet(ctx, c); err != nil {
			return 0, err
		}
	}
	return height, nil
}

// checkWallet asks a coin's deposit wallet for its balance, the one call
// every wallet backend answers.
func checkWallet(ctx context.Context, c config.Coin) error {
	wb, err := buildWallet(c)
	if err != nil {
		return err
	}
	if cl, ok := wb.(interface{ Close() }); ok {
		defer cl.Close()
	}
	if _, err := wb.Balance(ctx, 0); err != nil {
		return fmt.Errorf("wallet balance: %w", err)
	}
	return nil
}
