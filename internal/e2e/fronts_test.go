package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/peerchannels/headers/headersvtest"
)

// stack is the system under test for the client-facing scenarios: a btcd
// regtest node, a fake HeaderSV that follows it, and one walletgate process
// serving two coins on node backends over that btcd (bitweb, the default
// coin at / and Socket.IO namespace "/", and btc at /v1/btc/ and "/btc"),
// the peer-channel API on the main listener and the headers API exposed.
type stack struct {
	node *regtest.Node
	hsv  *headersvtest.Server
	wg   *walletgate
}

// coin is one served coin as a client addresses it.
type coin struct {
	name      string
	namespace string // Socket.IO namespace
	rest      string // REST path prefix
	ws        string // plain WebSocket path
}

var coins = []coin{
	{name: "bitweb", namespace: "/", rest: "", ws: "/ws"},
	{name: "btc", namespace: "/btc", rest: "/v1/btc", ws: "/v1/btc/ws"},
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node := regtest.Start(t)
	hsv := headersvtest.New(t)
	s := &stack{node: node, hsv: hsv}
	s.followHeaders(ctx, t)

	dir := t.TempDir()
	port := freePort(t)
	backend := fmt.Sprintf("{type: node, url: %q, websocket: %q, poll_interval: 100ms}", node.RPCURL(), node.WebsocketURL())
	cfg := fmt.Sprintf(`server:
  host: 127.0.0.1
  port: %d
  log_level: debug
data_dir: %q
default_coin: bitweb
coins:
  bitweb:
    network: regtest
    backend: %s
  btc:
    network: regtest
    backend: %s
`, port, filepath.Join(dir, "data"), backend, backend)
	s.wg = startWalletgate(t, dir, port, cfg, "EXPOSE_HEADER_SV_APIS=1", "HEADER_SV_URL="+hsv.URL)
	s.waitSynced(t)
	return s
}

// waitSynced waits until both coins' indexes serve the node's tip: /info
// says its height and script reads answer (they are 503 until the first
// sync is done).
func (s *stack) waitSynced(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := s.node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	probe := regtest.NewKey(t, regtest.P2WPKH).Address()
	for _, c := range coins {
		for {
			code, _, body, err := httpDo(ctx, "GET", s.wg.base+c.rest+"/info", nil)
			var info struct {
				Result struct {
					Blocks int64 `json:"blocks"`
				} `json:"result"`
			}
			if err == nil && code == 200 && json.Unmarshal(body, &info) == nil && info.Result.Blocks == h {
				if code, _, _, err := httpDo(ctx, "GET", s.wg.base+c.rest+"/balance/"+probe, nil); err == nil && code == 200 {
					break
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("%s did not reach the node's tip %d: last /info %d %s %v", c.name, h, code, body, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// followHeaders copies the node's new headers into the fake HeaderSV, as
// HeaderSV follows its peers.
func (s *stack) followHeaders(ctx context.Context, t *testing.T) {
	t.Helper()
	tip, err := s.node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(s.hsv.Height()) + 1; h <= tip; h++ {
		bh, _ := nodeHeader(ctx, t, s.node, h)
		if err := s.hsv.Append(bh); err != nil {
			t.Fatal(err)
		}
	}
}

// front is how a client reaches walletgate.
type front struct {
	name  string
	base  string      // http://host:port
	nginx *nginxFront // nil when direct
}

// forEachFront runs scenario as subtests "direct" and "nginx"; the nginx
// front is started for the subtest with the shipped site config.
func (s *stack) forEachFront(t *testing.T, scenario func(t *testing.T, f front)) {
	t.Run("direct", func(t *testing.T) {
		scenario(t, front{name: "direct", base: s.wg.base})
	})
	t.Run("nginx", func(t *testing.T) {
		ng := startNginx(t, s.wg.addr)
		t.Cleanup(func() {
			if t.Failed() {
				if l := ng.rateLimited(); l != "" {
					t.Logf("nginx limited requests:\n%s", l)
				}
			}
		})
		scenario(t, front{name: "nginx", base: ng.base, nginx: ng})
	})
}

// TestFronts runs every client-facing scenario against the built binary,
// directly and through nginx with the shipped site config.
func TestFronts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd, walletgate and nginx")
	}
	walletgateBinary(t) // a build failure first, before anything starts
	s := startStack(t)
	t.Run("rest", func(t *testing.T) { s.forEachFront(t, s.testREST) })
	t.Run("socketio", func(t *testing.T) { s.forEachFront(t, s.testSocketIO) })
	t.Run("ws", func(t *testing.T) { s.forEachFront(t, s.testWebSocketAPI) })
	t.Run("peerchannels", func(t *testing.T) { s.forEachFront(t, s.testPeerChannels) })
	t.Run("headers_tips", func(t *testing.T) { s.forEachFront(t, s.testHeadersTips) })
	t.Run("private_paths", func(t *testing.T) { s.forEachFront(t, s.testPrivatePaths) })
	t.Run("broadcast_limit", func(t *testing.T) { s.forEachFront(t, s.testBroadcastLimit) })
}
