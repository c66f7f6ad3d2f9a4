package indexer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/peerchannels/indexer"
)

func TestSpendNotificationsChecks(t *testing.T) {
	e := newEnv(t)
	other := newAccount(t, e) // has no open socket
	good := []byte(`[["` + strings.Repeat("ab", 32) + `",1]]`)
	tests := []struct {
		name    string
		body    []byte
		headers []string
		status  int
		reason  string
	}{
		{"no body", nil, []string{"Content-Type: " + jsonType, e.bearer()}, 400, "400: no body"},
		{"bad content type before auth", good, []string{"Content-Type: text/plain"}, 400, "400: unknown request body content type"},
		{"json not a list", []byte(`{"a":1}`), []string{"Content-Type: " + jsonType}, 400, "400: payload is not a list"},
		{"json bad entry", []byte(`[["zz",1]]`), []string{"Content-Type: " + jsonType}, 400, "400: one or more payload entries are incorrect"},
		{"json negative index", []byte(`[["` + strings.Repeat("ab", 32) + `",-1]]`), []string{"Content-Type: " + jsonType}, 400, "400: one or more payload entries are incorrect"},
		{"binary wrong length", make([]byte, 35), []string{"Content-Type: " + octet}, 400, "400: binary request body malformed"},
		{"empty list", []byte(`[]`), []string{"Content-Type: " + jsonType}, 400, "400: no outpoints provided"},
		{"then auth: missing", good, []string{"Content-Type: " + jsonType}, 401, ""},
		{"then auth: not bearer", good, []string{"Content-Type: " + jsonType, "Authorization: Basic eHl6"}, 401, ""},
		{"then auth: unknown key", good, []string{"Content-Type: " + jsonType, "Authorization: Bearer nope"}, 401, ""},
		{"then the socket", good, []string{"Content-Type: " + jsonType, "Authorization: Bearer " + other.APIKey}, 400,
			"400: client account not connected to websocket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := e.call(http.MethodPost, "/api/v1/output-spend/notifications", tc.body, tc.headers...)
			if st != tc.status || (tc.reason != "" && string(body) != tc.reason) {
				t.Fatalf("status %d body %q, want %d %q", st, body, tc.status, tc.reason)
			}
		})
	}
	if n := len(e.fake.Requests("/api/v1/output-spend/notifications")); n != 0 {
		t.Fatalf("indexer saw %d refused registrations", n)
	}
}

func TestSpendNotificationsPushes(t *testing.T) {
	e := newEnv(t)
	e.sockets.connect(e.acct.ID)
	known := indexer.OutputSpend{OutTxHash: chainhash.Hash{1}, OutIndex: 0, InTxHash: chainhash.Hash{2}, InIndex: 1}
	e.fake.Spend(known) // already spent when registered
	watched := indexer.Outpoint{TxHash: chainhash.Hash{3}, Index: 2}

	// JSON registration: the reply carries the known spend, double-encoded.
	body := []byte(`[["` + known.OutTxHash.String() + `",0],["` + watched.TxHash.String() + `",2]]`)
	st, _, got := e.call(http.MethodPost, "/api/v1/output-spend/notifications", body,
		"Content-Type: "+jsonType, "Accept: "+jsonType, e.bearer())
	var inner string
	if st != 200 || json.Unmarshal(got, &inner) != nil || !strings.Contains(inner, known.InTxHash.String()) {
		t.Fatalf("status %d body %s", st, got)
	}
	if !e.fake.Watched(watched) {
		t.Fatal("indexer was not asked to watch the outpoint")
	}

	// A spend of an outpoint nobody registered goes nowhere; the watched one
	// arrives as kind 2 with the indexer's 104 bytes.
	e.fake.Spend(indexer.OutputSpend{OutTxHash: chainhash.Hash{9}, OutIndex: 9})
	spend := indexer.OutputSpend{OutTxHash: watched.TxHash, OutIndex: 2, InTxHash: chainhash.Hash{4}, InIndex: 0, BlockHash: chainhash.Hash{5}}
	e.fake.Spend(spend)
	p, ok := e.waitPush(5 * time.Second)
	if !ok {
		t.Fatal("no kind-2 push")
	}
	if p.account != e.acct.ID || p.kind != indexer.KindOutputSpend || !bytes.Equal(p.payload, spend.AppendBinary(nil)) {
		t.Fatalf("push %+v", p)
	}
	if extra, ok := e.waitPush(50 * time.Millisecond); ok {
		t.Fatalf("unexpected push %+v", extra)
	}

	// Binary registration works the same, with a binary reply.
	third := indexer.Outpoint{TxHash: chainhash.Hash{6}, Index: 7}
	st, hdr, got := e.call(http.MethodPost, "/api/v1/output-spend/notifications", third.AppendBinary(nil),
		"Content-Type: "+octet, "Accept: "+octet, e.bearer())
	if st != 200 || hdr.Get("Content-Type") != octet || len(got) != 0 || !e.fake.Watched(third) {
		t.Fatalf("binary registration: status %d body %x", st, got)
	}
	if n := len(e.h.Watched(e.acct.ID)); n != 3 {
		t.Fatalf("%d outpoints watched, want 3", n)
	}

	// Closing the account socket unregisters the outpoints with the indexer.
	e.h.AccountSocketClosed(context.Background(), e.acct.ID)
	if e.fake.Watched(watched) || e.fake.Watched(third) || len(e.h.Watched(e.acct.ID)) != 0 {
		t.Fatal("outpoints still watched after the socket closed")
	}
	e.fake.Spend(indexer.OutputSpend{OutTxHash: third.TxHash, OutIndex: third.Index})
	if extra, ok := e.waitPush(50 * time.Millisecond); ok {
		t.Fatalf("push after close %+v", extra)
	}
}

func TestSpendNotificationsSharedOutpoint(t *testing.T) {
	e := newEnv(t)
	second := newAccount(t, e)
	e.sockets.connect(e.acct.ID)
	e.sockets.connect(second.ID)
	op := indexer.Outpoint{TxHash: chainhash.Hash{8}, Index: 1}
	for _, key := range []string{e.acct.APIKey, second.APIKey} {
		if st, _, b := e.call(http.MethodPost, "/api/v1/output-spend/notifications", op.AppendBinary(nil),
			"Content-Type: "+octet, "Authorization: Bearer "+key); st != 200 {
			t.Fatalf("status %d %s", st, b)
		}
	}
	e.h.AccountSocketClosed(context.Background(), e.acct.ID)
	if !e.fake.Watched(op) {
		t.Fatal("outpoint unregistered while another account still watches it")
	}
	spend := indexer.OutputSpend{OutTxHash: op.TxHash, OutIndex: op.Index, InTxHash: chainhash.Hash{1}}
	e.fake.Spend(spend)
	p, ok := e.waitPush(5 * time.Second)
	if !ok || p.account != second.ID {
		t.Fatalf("push %+v %v, want to account %d", p, ok, second.ID)
	}
	if extra, ok := e.waitPush(50 * time.Millisecond); ok {
		t.Fatalf("closed account got %+v", extra)
	}
}

func TestSpendNotificationsRollback(t *testing.T) {
	e := newEnv(t)
	e.sockets.connect(e.acct.ID)
	e.fake.SetStatus("/api/v1/output-spend/notifications", http.StatusInternalServerError)
	op := indexer.Outpoint{TxHash: chainhash.Hash{7}, Index: 0}
	st, _, body := e.call(http.MethodPost, "/api/v1/output-spend/notifications", op.AppendBinary(nil), "Content-Type: "+octet, e.bearer())
	if st != 500 || len(body) != 0 {
		t.Fatalf("status %d body %q", st, body)
	}
	if n := len(e.h.Watched(e.acct.ID)); n != 0 {
		t.Fatalf("%d registrations kept after the indexer refused", n)
	}
}

// TestSpendAfterReconnect: a spend that happens while the indexer link is
// down is delivered once the link is back.
func TestSpendAfterReconnect(t *testing.T) {
	e := newEnv(t)
	e.sockets.connect(e.acct.ID)
	op := indexer.Outpoint{TxHash: chainhash.Hash{0xaa}, Index: 3}
	if st, _, b := e.call(http.MethodPost, "/api/v1/output-spend/notifications", op.AppendBinary(nil), "Content-Type: "+octet, e.bearer()); st != 200 {
		t.Fatalf("status %d %s", st, b)
	}
	e.fake.SetDown(true)
	e.waitConnected(false)
	spend := indexer.OutputSpend{OutTxHash: op.TxHash, OutIndex: op.Index, InTxHash: chainhash.Hash{0xbb}, InIndex: 4}
	e.fake.Spend(spend) // no socket to push on
	e.fake.SetDown(false)
	p, ok := e.waitPush(10 * time.Second)
	if !ok || p.kind != indexer.KindOutputSpend || !bytes.Equal(p.payload, spend.AppendBinary(nil)) {
		t.Fatalf("push %+v %v", p, ok)
	}
}

// TestMalformedIndexerFrames: frames of the wrong size or type are skipped
// without dropping the link, and later spends still arrive.
func TestMalformedIndexerFrames(t *testing.T) {
	e := newEnv(t)
	e.sockets.connect(e.acct.ID)
	op := indexer.Outpoint{TxHash: chainhash.Hash{0xcc}, Index: 1}
	if st, _, b := e.call(http.MethodPost, "/api/v1/output-spend/notifications", op.AppendBinary(nil), "Content-Type: "+octet, e.bearer()); st != 200 {
		t.Fatalf("status %d %s", st, b)
	}
	spend := indexer.OutputSpend{OutTxHash: op.TxHash, OutIndex: op.Index, InTxHash: chainhash.Hash{0xdd}}
	e.fake.PushRaw(websocket.MessageBinary, spend.AppendBinary(nil)[:100]) // the spec's miscounted size
	e.fake.PushRaw(websocket.MessageBinary, append(spend.AppendBinary(nil), spend.AppendBinary(nil)...))
	e.fake.PushRaw(websocket.MessageText, []byte(`{"msg_type":"test"}`))
	e.fake.Spend(spend)
	p, ok := e.waitPush(5 * time.Second)
	if !ok || !bytes.Equal(p.payload, spend.AppendBinary(nil)) {
		t.Fatalf("push %+v %v", p, ok)
	}
	if extra, ok := e.waitPush(50 * time.Millisecond); ok {
		t.Fatalf("malformed frame delivered: %+v", extra)
	}
	if n := e.fake.WebsocketConnects(); n != 1 {
		t.Fatalf("%d websocket connects: the link was dropped", n)
	}
}
