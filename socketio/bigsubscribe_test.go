package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// bigSubscribeRuns is how often the maximum list-form subscribe is
// repeated per transport: the bug it guards against (initial pushes counted
// against the slow-consumer queue) dropped the session in 4 runs of 5.
const bigSubscribeRuns = 20

// TestOfficialClientSubscribesMaximum subscribes Config.MaxAddresses
// (1,000) addresses in one list-form subscribe from the official client,
// which reads at full speed: every address must be confirmed, every initial
// balance_changed must arrive, and the socket must stay connected (an
// unsubscribe after the burst is answered, and no slow-consumer close was
// made).
func TestOfficialClientSubscribesMaximum(t *testing.T) {
	for _, tc := range officialModes {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, hub.Config{}, socketio.Config{})
			n := socketio.DefaultConfig().MaxAddresses
			addrs := make([]string, n)
			want := map[string]int64{}
			for i := range addrs {
				a, sc := e.addr(t, i)
				addrs[i] = a
				want[a] = int64(i + 1)
				e.be.SetBalance(sc.Hash, int64(i+1), 0)
			}
			for run := range bigSubscribeRuns {
				t.Run(fmt.Sprint(run), func(t *testing.T) {
					overflows := e.hub.Stats().Overflows
					nc := startNodeClient(t, e.ts.URL, tc.mode)
					awaitConnected(t, nc, tc.mode)
					nc.emit(t, "subscribe", map[string]any{"addresses": addrs})
					subscribed, pushed := map[string]bool{}, map[string]int64{}
					for len(subscribed) < n || len(pushed) < n {
						ev, data := nextLine(t, nc)
						switch ev {
						case "subscribed":
							var d struct{ Address string }
							_ = json.Unmarshal(data, &d)
							if _, ok := want[d.Address]; !ok || subscribed[d.Address] {
								t.Fatalf("subscribed %s: unknown or twice", data)
							}
							subscribed[d.Address] = true
						case "balance_changed":
							var d struct {
								Address   string
								Confirmed int64
							}
							_ = json.Unmarshal(data, &d)
							if !subscribed[d.Address] {
								t.Fatalf("balance_changed of %s before its subscribed", d.Address)
							}
							if _, dup := pushed[d.Address]; dup {
								t.Fatalf("two initial pushes for %s", d.Address)
							}
							if d.Confirmed != want[d.Address] {
								t.Fatalf("initial push of %s: confirmed %d, want %d", d.Address, d.Confirmed, want[d.Address])
							}
							pushed[d.Address] = d.Confirmed
						default:
							t.Fatalf("after %d subscribed and %d balance_changed, driver saw %s %s", len(subscribed), len(pushed), ev, data)
						}
					}
					// Still connected: the socket answers an unsubscribe.
					nc.emit(t, "unsubscribe", map[string]any{"address": addrs[0]})
					if d := string(nc.expect(t, "unsubscribed")["data"]); d != `{"address":"`+addrs[0]+`"}` {
						t.Fatalf("unsubscribed %s", d)
					}
					if got := e.hub.Stats().Overflows - overflows; got != 0 {
						t.Fatalf("hub closed %d connections as slow consumers", got)
					}
				})
			}
		})
	}
}

// nextLine returns the next event the driver printed and its data.
func nextLine(t *testing.T, nc *nodeClient) (string, json.RawMessage) {
	t.Helper()
	select {
	case m := <-nc.lines:
		var ev string
		_ = json.Unmarshal(m["event"], &ev)
		if ev == "disconnect" {
			return ev, m["reason"]
		}
		return ev, m["data"]
	case <-time.After(10 * time.Second):
		t.Fatal("driver saw nothing within 10 s")
		return "", nil
	}
}

// TestSubscribeMaximumWithoutReading checks the other side: a client that
// subscribes the maximum in the list form and then reads nothing is still
// disconnected (a websocket by its write timeout, a polling session that
// stops polling by the ping timeout), with its subscriptions released.
func TestSubscribeMaximumWithoutReading(t *testing.T) {
	for _, mode := range []string{modeWebSocket, modePolling} {
		t.Run(mode, func(t *testing.T) {
			// A websocket is ended by its write timeout; a polling session,
			// which has nothing to write to, by the ping timeout, which must
			// leave it time to post the subscribe.
			ping := map[string]time.Duration{modeWebSocket: 200 * time.Millisecond, modePolling: time.Second}[mode]
			e := newTestEnv(t, hub.Config{}, socketio.Config{
				WriteTimeout: 200 * time.Millisecond, PingInterval: ping, PingTimeout: ping,
			})
			n := socketio.DefaultConfig().MaxAddresses
			var us []walletgate.UTXO
			for i := range 300 { // about 30 kB per push: the buffers fill within the window
				us = append(us, walletgate.UTXO{TxHash: fmt.Sprintf("%064x", i), Height: 10, Value: 1})
			}
			addrs := make([]string, n)
			for i := range addrs {
				a, sc := e.addr(t, i)
				addrs[i] = a
				e.be.SetUnspent(sc.Hash, us)
			}
			if mode == modeWebSocket {
				c := dialStalledList(t, e.wsURL(), addrs)
				defer c.CloseNow()
			} else {
				sub, err := json.Marshal([]any{"subscribe", map[string]any{"addresses": addrs}})
				if err != nil {
					t.Fatal(err)
				}
				pollStalled(t, e.ts.URL, "42"+string(sub))
			}
			deadline := time.Now().Add(20 * time.Second)
			for e.hub.Stats().Conns != 0 || e.hub.Stats().Watched != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("a client that reads nothing is still connected: %+v", e.hub.Stats())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// dialStalledList connects, subscribes addrs in the list form, and then
// never reads again.
func dialStalledList(t *testing.T, url string, addrs []string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil { // open
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil { // connect
		t.Fatal(err)
	}
	sub, err := json.Marshal([]any{"subscribe", map[string]any{"addresses": addrs}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, append([]byte("42"), sub...)); err != nil {
		t.Fatal(err)
	}
	return c
}
