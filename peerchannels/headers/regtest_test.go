package headers_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/peerchannels/headers"
	"github.com/walletgate/walletgate/peerchannels/headers/headersvtest"
)

// nodeHeader fetches the header at height from btcd: parsed and raw.
func nodeHeader(ctx context.Context, t *testing.T, node *regtest.Node, height int64) (wire.BlockHeader, []byte) {
	t.Helper()
	bh, raw, err := node.Header(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	return bh, raw
}

// follow copies the node's chain from the fake's height+1 to the node's tip
// into the fake HeaderSV, as HeaderSV follows its peers.
func follow(ctx context.Context, t *testing.T, node *regtest.Node, fake *headersvtest.Server) {
	t.Helper()
	tip, err := node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(fake.Height()) + 1; h <= tip; h++ {
		bh, _ := nodeHeader(ctx, t, node, h)
		if err := fake.Append(bh); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRealRegtestChain serves the headers of a real btcd regtest chain and
// checks every byte against the node.
func TestRealRegtestChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := regtest.Start(t)
	e := newEnv(t, 0)
	_, genesisRaw := nodeHeader(ctx, t, node, 0)
	if !bytes.Equal(genesisRaw, rawHeader(t, e.fake.HeaderAt(0))) {
		t.Fatal("the fake's genesis is not btcd's regtest genesis")
	}
	follow(ctx, t, node, e.fake)
	tip := int64(e.fake.Height())
	if tip < 100 {
		t.Fatalf("node tip %d", tip)
	}

	var want []byte
	for h := int64(0); h <= tip; h++ {
		_, raw := nodeHeader(ctx, t, node, h)
		want = append(want, raw...)
	}
	st, _, body := e.get(t, fmt.Sprintf("/api/v1/headers/by-height?height=0&count=%d", tip+1), octet)
	if st != 200 || !bytes.Equal(body, want) {
		t.Fatalf("by-height: status %d, %d bytes, want the node's %d", st, len(body), len(want))
	}
	tipHash, _ := node.BlockHash(ctx, tip)
	st, _, body = e.get(t, "/api/v1/headers/"+tipHash, "")
	var hj headers.Header
	if st != 200 || json.Unmarshal(body, &hj) != nil || hj.Hash != tipHash {
		t.Fatalf("tip JSON: %d %s", st, body)
	}
	if raw, err := hj.Raw(); err != nil || !bytes.Equal(raw[:], want[len(want)-80:]) {
		t.Fatalf("header rebuilt from JSON %x (%v) differs from the node's", raw, err)
	}

	c := dialTips(t, e)
	for e.handler.Subscribers() != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	runHandler(t, e.handler)
	if _, _, err := readFrame(t, c, 5*time.Second); err != nil { // the current tip
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	follow(ctx, t, node, e.fake)
	_, frame, err := readFrame(t, c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, newRaw := nodeHeader(ctx, t, node, tip+1)
	if len(frame) != 84 || !bytes.Equal(frame[:80], newRaw) || int64(binary.LittleEndian.Uint32(frame[80:])) != tip+1 {
		t.Fatalf("tip frame %x, want the node's header at %d", frame, tip+1)
	}
}
