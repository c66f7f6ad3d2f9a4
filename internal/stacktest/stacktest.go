// Package stacktest builds, for tests, the read path of walletgate over
// real parts: a btcd regtest node (internal/regtest), the Electrum
// stand-in over it (electrum/electrumtest), an electrum client and the
// wallet service on top. Surface tests (bitweb, socketio, wsapi) put their
// handler in front of Stack.Wallet.
//
// Tests that need only the Electrum stand-in over a node (to point a
// built binary or a bare client at it) call electrumtest.ServeNode.
package stacktest

import (
	"context"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/electrum"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
)

// Stack is one started read path. Everything in it stops when the test
// ends: the wallet service, then the client, then the server and the
// indexer's background sync, then the node.
type Stack struct {
	Node    *regtest.Node
	Indexer *electrumtest.Indexer
	Server  *electrumtest.Server
	Client  *electrum.Client
	Wallet  *chainview.Service
}

// Options of Start; the zero value is a plain stack for the "bitweb" coin
// whose index changes only when the test calls Indexer.Sync.
type Options struct {
	// Coin tags the client's events; "bitweb" when empty.
	Coin string
	// Electrum configures the stand-in server (FlushRule, versions, ...).
	Electrum electrumtest.Config
	// SyncEvery, when positive, re-syncs the index from the node at this
	// interval, so mined blocks and sent transactions show up unasked.
	SyncEvery time.Duration
	// Wallet configures the service.
	Wallet chainview.Config
}

// Start starts a regtest node and builds the stack on it; a failure to
// start fails the test. The client has test-friendly timings: a 3 s call
// timeout and reconnects after 20-200 ms.
func Start(tb testing.TB, o Options) *Stack {
	tb.Helper()
	if o.Coin == "" {
		o.Coin = "bitweb"
	}
	node := regtest.Start(tb)
	idx, srv := electrumtest.ServeNode(tb, node, o.Electrum, o.SyncEvery)
	host, port := srv.HostPort()
	// The client publishes to the service, which needs the client first.
	sink := &walletgate.EventRelay{}
	cl, err := electrum.New(context.Background(), electrum.Config{Host: host, Port: port, Timeout: 3 * time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}, o.Coin, sink, nil)
	if err != nil {
		tb.Fatalf("stacktest: electrum client: %v", err)
	}
	tb.Cleanup(func() { cl.Close() })
	svc := chainview.New(cl, o.Wallet)
	sink.SetTarget(svc)
	tb.Cleanup(func() { svc.Close() })
	return &Stack{Node: node, Indexer: idx, Server: srv, Client: cl, Wallet: svc}
}
