package index

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/walletgate/walletgate/internal/regtest"
)

// TestZMQTriggersSync: btcd has no ZMQ, so the test plays Core's
// publisher with a real zmq4 PUB socket. With polling set to an hour,
// only the ZMQ message can make the index pick up a new transaction.
func TestZMQTriggersSync(t *testing.T) {
	node := regtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := zmq4.NewPub(ctx)
	defer pub.Close()
	if err := pub.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	rec := &changes{}
	x := openTest(t, node, "", Options{PollInterval: time.Hour, ZMQEndpoints: []string{"tcp://" + pub.Addr().String()}, OnChange: rec.add})
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-x.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("first sync did not finish")
	}
	// Twice: the first round may also be served by the Notify the
	// subscriber makes when it connects; the second only by a message.
	for round := range 2 {
		key := regtest.NewKey(t, regtest.P2WPKH)
		if _, err := node.Fund(ctx, key.Script(), 30_000); err != nil {
			t.Fatal(err)
		}
		if !awaitZMQChange(t, pub, rec, HashScript(key.Script())) {
			t.Fatalf("round %d: no change for the funded script after ZMQ messages", round)
		}
	}
}

func awaitZMQChange(t *testing.T, pub zmq4.Socket, rec *changes, want SH) bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// Core's rawtx message: topic, body, 4-byte sequence. Resent until
		// seen, because a SUB only receives after its subscription reached
		// the PUB (ZeroMQ's slow joiner).
		_ = pub.Send(zmq4.NewMsgFrom([]byte("rawtx"), []byte{0}, []byte{0, 0, 0, 0}))
		for _, ch := range rec.take() {
			if slices.Contains(ch.Scripts, want) {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
