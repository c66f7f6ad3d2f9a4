package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"

	"github.com/walletgate/walletgate/config"
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

// checkBackend connects to a coin's backend and returns its tip height.
func checkBackend(ctx context.Context, c config.Coin, log *slog.Logger) (int64, error) {
	return 0, fmt.Errorf("backend type %q is not available in this build yet", c.Backend.Type)
}
