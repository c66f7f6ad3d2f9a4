package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/regtest"
)

// TestMaxSizeSubscribeThroughTheBinary: a subscribe of the documented
// maximum (1,000 addresses) on a backend that answers at once (null) always
// succeeds for a client that reads at full speed — on /ws 20 times, and on
// Socket.IO's list form with the official client. The initial pushes used
// to count against the slow-consumer queue and close such clients with
// 1013 in about 6 runs of 10.
func TestMaxSizeSubscribeThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	wg := startWalletgate(t, dir, port, fmt.Sprintf(`server: {host: 127.0.0.1, port: %d}
data_dir: %s/data
peer_channels: {enabled: false}
coins:
  btc:
    network: regtest
    backend: {type: 'null'}
`, port, dir))
	const n = 1000
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = regtest.NewKey(t, regtest.P2WPKH).Address()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for run := 0; run < 20; run++ {
		c := dialWS(t, ctx, wsURL(wg.base)+"/ws", nil)
		m := c.call(t, "subscribeAddresses", map[string]any{"addresses": addrs})
		var res struct {
			Subscribed []string `json:"subscribed"`
		}
		if err := json.Unmarshal(m.Result, &res); err != nil || len(res.Subscribed) != n {
			t.Fatalf("run %d: subscribe answered %.200s", run, m.raw)
		}
		seen := map[string]bool{}
		for len(seen) < n {
			p := c.push(t, fmt.Sprintf("run %d: initial balance %d", run, len(seen)+1))
			var d struct {
				Address string `json:"address"`
			}
			json.Unmarshal(p.Data, &d)
			if p.Event != "balance_changed" || d.Address == "" {
				t.Fatalf("run %d: push %.200s", run, p.raw)
			}
			seen[d.Address] = true
		}
		if m := c.call(t, "getInfo", nil); len(m.Result) == 0 {
			t.Fatalf("run %d: the connection no longer answers: %s", run, m.raw)
		}
	}

	for _, mode := range []string{"websocket", "polling"} {
		c := startSIOClient(t, wg.base, mode)
		c.until(t, mode+" connect", func(ev sioEvent) bool { return ev.Event == "connect" })
		c.emit(t, "subscribe", map[string]any{"addresses": addrs})
		subscribed, balances := map[string]bool{}, map[string]bool{}
		for len(subscribed) < n || len(balances) < n {
			ev := c.next(t, fmt.Sprintf("%s: subscribed %d, balances %d of %d", mode, len(subscribed), len(balances), n))
			var d struct {
				Address string `json:"address"`
			}
			json.Unmarshal(ev.Data, &d)
			switch ev.Event {
			case "subscribed":
				subscribed[d.Address] = true
			case "balance_changed":
				balances[d.Address] = true
			}
		}
	}
}
