package electrumtest

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ServeNode is the Electrum stand-in over a real node (a btcd regtest
// node from internal/regtest) as tests build it: an Indexer of the node
// and a Server over the Indexer with cfg. When every is positive the
// Indexer re-syncs at that interval in the background; otherwise it
// changes only when the test calls Sync. The Server closes and the
// background sync stops when the test ends; a failure to start fails the
// test.
//
// internal/stacktest builds the rest of the read path (an electrum
// client and a wallet service) on top of it.
func ServeNode(tb testing.TB, node NodeRPC, cfg Config, every time.Duration) (*Indexer, *Server) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })
	idx, err := NewIndexer(ctx, node)
	if err != nil {
		tb.Fatalf("electrumtest: index the node: %v", err)
	}
	if every > 0 {
		wg.Go(func() { idx.Run(ctx, every) })
	}
	srv, err := NewServer(idx, cfg)
	if err != nil {
		tb.Fatalf("electrumtest: start the server: %v", err)
	}
	tb.Cleanup(srv.Close)
	return idx, srv
}

// HostPort returns the listen address split for a client's settings.
func (s *Server) HostPort() (host string, port int) {
	host, p, _ := net.SplitHostPort(s.Addr())
	port, _ = strconv.Atoi(p)
	return host, port
}
