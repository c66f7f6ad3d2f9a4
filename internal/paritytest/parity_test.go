package paritytest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/bitweb"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/electrum"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/index"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/nodebackend"
	"github.com/walletgate/walletgate/rpc"
)

// restOver serves the Bitweb REST API over backend (with a wallet service
// fed by its events) and returns the server's base URL.
func restOver(t *testing.T, build func(sink walletgate.EventSink) walletgate.Backend) string {
	t.Helper()
	relay := &walletgate.EventRelay{}
	be := build(relay)
	t.Cleanup(func() { be.Close() })
	svc := chainview.New(be, chainview.Config{})
	relay.SetTarget(svc)
	t.Cleanup(func() { svc.Close() })
	params, err := chain.Lookup("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(bitweb.New(svc, bitweb.ChainDecoder(params), bitweb.Config{}, nil))
	t.Cleanup(hs.Close)
	return hs.URL
}

func post(t *testing.T, u, rawHex string) string {
	t.Helper()
	resp, err := http.PostForm(u, url.Values{"raw": {rawHex}})
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// TestRESTParityElectrumVersusNodeIndex builds a chain with every output
// kind, spends of each and an unconfirmed chain in the mempool, then asks
// both backends every endpoint for every address and transaction.
func TestRESTParityElectrumVersusNodeIndex(t *testing.T) {
	node := regtest.Start(t, regtest.WithBlocks(150))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Funding and spends of each kind, confirmed.
	var keys []*regtest.Key
	var txids []string
	for _, kind := range regtest.KeyKinds() {
		from, to := regtest.NewKey(t, kind), regtest.NewKey(t, kind)
		keys = append(keys, from, to)
		op, err := node.Fund(ctx, from.Script(), 3_0000_0000)
		if err != nil {
			t.Fatalf("fund %s: %v", kind, err)
		}
		txids = append(txids, op.TxID)
		if _, err := node.Generate(ctx, 1); err != nil {
			t.Fatal(err)
		}
		sent, err := node.Spend(ctx, []regtest.Input{{Outpoint: op, Key: from}},
			[]regtest.Output{{Script: to.Script(), Value: 1_0000_0000}}, 2)
		if err != nil {
			t.Fatalf("spend %s: %v", kind, err)
		}
		txids = append(txids, sent.TxID)
	}
	if _, err := node.Generate(ctx, 100); err != nil {
		t.Fatal(err)
	}
	// A mempool chain: a parent paying a key, and a child spending it
	// (height 0 for the parent, -1 for the child in Electrum terms).
	a, b := regtest.NewKey(t, regtest.P2WPKH), regtest.NewKey(t, regtest.P2TR)
	keys = append(keys, a, b)
	op, err := node.Fund(ctx, a.Script(), 7654_3210)
	if err != nil {
		t.Fatal(err)
	}
	child, err := node.Spend(ctx, []regtest.Input{{Outpoint: op, Key: a}}, []regtest.Output{{Script: b.Script(), Value: regtest.Rest}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	txids = append(txids, op.TxID, child.TxID)

	// The ElectrumX path.
	idx, esrv := electrumtest.ServeNode(t, node, electrumtest.Config{}, 0)
	host, p := esrv.HostPort()
	electrumURL := restOver(t, func(sink walletgate.EventSink) walletgate.Backend {
		cl, err := electrum.New(ctx, electrum.Config{Host: host, Port: p, Timeout: 5 * time.Second}, "btc", sink, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	})

	// walletgate's own index over the node.
	var nb *nodebackend.Backend
	nodeURL := restOver(t, func(sink walletgate.EventSink) walletgate.Backend {
		nb, err = nodebackend.New(nodebackend.Config{
			Coin:  "btc",
			RPC:   rpc.Config{URL: node.RPCURL(), Timeout: 10 * time.Second},
			Index: index.Options{Path: t.TempDir() + "/index.db", PollInterval: 100 * time.Millisecond},
		}, sink)
		if err != nil {
			t.Fatal(err)
		}
		return nb
	})
	if err := nb.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if err := idx.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	var paths []string
	paths = append(paths, "/info", "/fee")
	for _, k := range keys {
		a := k.Address()
		paths = append(paths, "/balance/"+a, "/unspent/"+a, "/unspent/"+a+"?confirmed=true",
			"/unspent/"+a+"?amount=150000000", "/history/"+a+"?limit=50", "/history/"+a+"?limit=1")
	}
	for _, id := range txids {
		paths = append(paths, "/tx/"+id, "/rawtx/"+id)
	}
	paths = append(paths, "/tx/"+fmt.Sprintf("%064x", 1), "/balance/bcrt1qinvalid")

	// The two indexes catch up with the mempool on their own schedules;
	// give them a moment, then every body must match.
	deadline := time.Now().Add(30 * time.Second)
	for _, path := range paths {
		for {
			e, n := get(t, electrumURL+path), get(t, nodeURL+path)
			if e == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s differs:\nelectrum: %s\nnode:     %s", path, e, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Rebroadcasting a mined transaction is refused by the node; both
	// backends must word the refusal as ElectrumX does.
	raw := get(t, nodeURL+"/rawtx/"+txids[0])
	hexTx := raw[len(`200 {"error":null,"id":"api-server","result":"`) : len(raw)-len("\"}\n")]
	e, n := post(t, electrumURL+"/broadcast", hexTx), post(t, nodeURL+"/broadcast", hexTx)
	if e != n || !strings.Contains(e, "the transaction was rejected by network rules.") {
		t.Fatalf("/broadcast of a mined tx differs or is not a rejection:\nelectrum: %s\nnode:     %s", e, n)
	}
	// The comparison is only worth something if the bodies hold data.
	for _, k := range keys[:2] {
		if body := get(t, nodeURL+"/history/"+k.Address()+"?limit=50"); len(body) < 100 {
			t.Fatalf("history of a funded key is nearly empty: %s", body)
		}
	}
	t.Logf("%d endpoints identical over %d addresses and %d transactions", len(paths), len(keys), len(txids))
}
