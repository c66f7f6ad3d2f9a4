package electrum

import (
	"bytes"
	"context"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/electrum/electrumtest"
)

// script returns a distinct P2WPKH-shaped scriptPubKey for n.
func script(n byte) []byte {
	s := make([]byte, 22)
	s[0], s[1] = 0x00, 0x14
	for i := 2; i < 22; i++ {
		s[i] = n
	}
	return s
}

func shOf(n byte) walletgate.ScriptHash {
	return walletgate.ScriptHash(electrumtest.ScriptHashOf(script(n)))
}

func startServer(t testing.TB, chain electrumtest.ChainState, cfg electrumtest.Config) *electrumtest.Server {
	t.Helper()
	srv, err := electrumtest.NewServer(chain, cfg)
	if err != nil {
		t.Fatalf("start electrumtest server: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// clientConfig points a Config at srv with test-friendly timeouts.
func clientConfig(t testing.TB, srv *electrumtest.Server) Config {
	t.Helper()
	host, port := srv.HostPort()
	return Config{Host: host, Port: port, Timeout: 5 * time.Second, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
}

func newClient(t testing.TB, cfg Config, sink walletgate.EventSink) *Client {
	t.Helper()
	cl, err := New(context.Background(), cfg, "BTC", sink, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// recorder collects published events.
type recorder struct {
	mu  sync.Mutex
	evs []walletgate.Event
	ch  chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1)} }

func (r *recorder) Publish(ev walletgate.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *recorder) events() []walletgate.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]walletgate.Event(nil), r.evs...)
}

// waitFor waits until an event satisfying ok was published, or fails t.
func (r *recorder) waitFor(t testing.TB, what string, ok func(walletgate.Event) bool) walletgate.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, ev := range r.events() {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("no %s event; got %+v", what, r.events())
		}
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := walletgate.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func txHexOf(tx *wire.MsgTx) string {
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	return hex.EncodeToString(b.Bytes())
}

// testTx returns a transaction paying value to pkScript from an invented input.
func testTx(pkScript []byte, value int64) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 9}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(value, pkScript))
	return tx
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }
