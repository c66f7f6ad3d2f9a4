package wsapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/wsapi"
)

// bigSubscribeRuns is how often the documented-maximum subscribe is
// repeated: the bug it guards against (initial pushes counted against the
// slow-consumer queue) showed in about 6 runs of 10.
const bigSubscribeRuns = 20

// TestSubscribeMaximumAddresses subscribes the README's maximum (1,000
// addresses, the defaults of wsapi.Config.MaxAddresses and
// hub.Config.MaxWatchesPerConn) on a client that reads at full speed: every
// address must be confirmed, every initial balance_changed must arrive, and
// the connection must stay open (a getInfo after them is answered).
func TestSubscribeMaximumAddresses(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{})
	n := wsapi.DefaultConfig().MaxAddresses
	if m := hub.DefaultConfig().MaxWatchesPerConn; m < n {
		t.Fatalf("hub allows %d watches per connection, below the request maximum %d", m, n)
	}
	addrs := make([]string, n)
	for i := range addrs {
		a, sc := e.addr(t, i)
		addrs[i] = a
		e.be.SetBalance(sc.Hash, int64(i+1), 0)
	}
	req, err := json.Marshal(map[string]any{"id": 1, "method": "subscribeAddresses", "params": map[string]any{"addresses": addrs}})
	if err != nil {
		t.Fatal(err)
	}
	for run := range bigSubscribeRuns {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			overflows := e.hub.Stats().Overflows
			cl := e.dial(t, true)
			cl.send(t, string(req))
			var answer struct {
				ID     int
				Result struct{ Subscribed []string }
				Error  *struct{ Message string }
			}
			pushes := map[string]int64{}
			for answered := false; !answered || len(pushes) < n; {
				m := cl.next(t)
				if strings.HasPrefix(m, `{"event":"balance_changed"`) {
					var p struct {
						Data struct {
							Address   string
							Confirmed int64
						}
					}
					if err := json.Unmarshal([]byte(m), &p); err != nil {
						t.Fatalf("push %s: %v", m, err)
					}
					if _, dup := pushes[p.Data.Address]; dup {
						t.Fatalf("two initial pushes for %s", p.Data.Address)
					}
					pushes[p.Data.Address] = p.Data.Confirmed
					continue
				}
				if err := json.Unmarshal([]byte(m), &answer); err != nil || answer.ID != 1 {
					t.Fatalf("unexpected message %.200s (%v)", m, err)
				}
				if answer.Error != nil {
					t.Fatalf("subscribe failed: %s", answer.Error.Message)
				}
				answered = true
			}
			if len(answer.Result.Subscribed) != n {
				t.Fatalf("subscribed %d addresses, want %d", len(answer.Result.Subscribed), n)
			}
			for i, a := range addrs {
				if answer.Result.Subscribed[i] != a {
					t.Fatalf("subscribed[%d] = %s, want %s", i, answer.Result.Subscribed[i], a)
				}
				if got := pushes[a]; got != int64(i+1) {
					t.Fatalf("initial push of address %d: confirmed %d, want %d", i, got, i+1)
				}
			}
			// Still open: a request after the burst is answered.
			cl.send(t, `{"id":2,"method":"getInfo"}`)
			if got := cl.next(t); got != `{"id":2,"result":{"blocks":1000}}` {
				t.Fatalf("after the burst: %s", got)
			}
			if got := e.hub.Stats().Overflows - overflows; got != 0 {
				t.Fatalf("hub closed %d connections as slow consumers", got)
			}
			cl.c.CloseNow()
		})
	}
}

// TestSubscribeMaximumWithoutReading checks the other side: a client that
// subscribes the maximum and then reads nothing is still disconnected (its
// transport's write timeout ends it once the socket buffers are full), and
// a reading client beside it gets everything.
func TestSubscribeMaximumWithoutReading(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, wsapi.Config{WriteTimeout: 200 * time.Millisecond})
	n := wsapi.DefaultConfig().MaxAddresses
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
	req, err := json.Marshal(map[string]any{"id": 1, "method": "subscribeAddresses", "params": map[string]any{"addresses": addrs}})
	if err != nil {
		t.Fatal(err)
	}
	stalled := e.dial(t, false)
	stalled.send(t, string(req))
	reader := e.dial(t, true)
	reader.send(t, string(req))
	for got := 0; got < n+1; got++ {
		reader.next(t)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.hub.Stats().Conns != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("a client that reads nothing is still connected: %+v", e.hub.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	reader.send(t, `{"id":2,"method":"getInfo"}`)
	if got := reader.next(t); got != `{"id":2,"result":{"blocks":1000}}` {
		t.Fatalf("reading client after the other was dropped: %s", got)
	}
}
