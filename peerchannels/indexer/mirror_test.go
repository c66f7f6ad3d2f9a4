package indexer_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate/peerchannels/indexer"
)

func testTx(seed byte) *wire.MsgTx {
	tx := wire.NewMsgTx(1)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{seed}, Index: uint32(seed)}, []byte{0x51, seed}, nil))
	tx.AddTxOut(wire.NewTxOut(int64(seed)*1000, []byte{0x76, 0xa9, seed}))
	return tx
}

func rawTx(tx *wire.MsgTx) []byte {
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	return b.Bytes()
}

func TestTransaction(t *testing.T) {
	e := newEnv(t)
	tx := testTx(7)
	txid := e.fake.AddTransaction(tx)
	tests := []struct {
		name     string
		path     string
		headers  []string
		status   int
		wantBody []byte
		wantCT   string
		upAccept string // the Accept the indexer must have seen, when called
	}{
		{"binary", "/api/v1/transaction/" + txid.String(), []string{"Accept: " + octet}, 200, rawTx(tx), octet, octet},
		{"accept defaults to binary", "/api/v1/transaction/" + txid.String(), nil, 200, rawTx(tx), octet, octet},
		{"json", "/api/v1/transaction/" + txid.String(), []string{"Accept: " + jsonType}, 200,
			[]byte(`"` + hex.EncodeToString(rawTx(tx)) + `"` + "\n"), "application/json; charset=utf-8", jsonType},
		{"unknown is 404 with empty body", "/api/v1/transaction/" + strings.Repeat("11", 32), nil, 404, []byte{}, "", octet},
		{"bad txid", "/api/v1/transaction/xyz", nil, 400, nil, "", ""},
		{"short txid", "/api/v1/transaction/abcd", nil, 400, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests("/api/v1/transaction/" + txid.String()))
			st, hdr, body := e.call(http.MethodGet, tc.path, nil, tc.headers...)
			if st != tc.status {
				t.Fatalf("status %d (%s), want %d", st, body, tc.status)
			}
			if tc.wantBody != nil && !bytes.Equal(body, tc.wantBody) {
				t.Fatalf("body %q, want %q", body, tc.wantBody)
			}
			if tc.wantCT != "" && hdr.Get("Content-Type") != tc.wantCT {
				t.Fatalf("Content-Type %q, want %q", hdr.Get("Content-Type"), tc.wantCT)
			}
			if tc.upAccept != "" && strings.HasSuffix(tc.path, txid.String()) {
				reqs := e.fake.Requests("/api/v1/transaction/" + txid.String())
				if len(reqs) != before+1 || reqs[len(reqs)-1].Accept != tc.upAccept {
					t.Fatalf("indexer saw %d new requests, last Accept %q", len(reqs)-before, reqs[len(reqs)-1].Accept)
				}
			}
		})
	}
}

func TestMerkleProof(t *testing.T) {
	e := newEnv(t)
	txs := []*wire.MsgTx{testTx(1), testTx(2), testTx(3)} // odd count: the last proof has a duplicate node
	hdr := e.fake.AddBlock(chaincfg.RegressionNetParams.GenesisBlock.Header, txs)
	blockHash := hdr.BlockHash()
	var hdrRaw bytes.Buffer
	_ = hdr.Serialize(&hdrRaw)
	tests := []struct {
		name      string
		tx        int
		query     string
		wantQuery string // what the indexer must receive
		flags     byte
		target    []byte
	}{
		{"defaults", 0, "", "targetType=hash", 0, blockHash[:]},
		{"full tx and header", 2, "?includeFullTx=1&targetType=header", "includeFullTx=1&targetType=header",
			indexer.TSCFullTx | indexer.TSCTargetHeader, hdrRaw.Bytes()},
		{"includeFullTx other than 1 is dropped", 1, "?includeFullTx=true&targetType=merkleroot", "targetType=merkleroot",
			indexer.TSCTargetMerkleRoot, hdr.MerkleRoot[:]},
		{"unknown client params are not forwarded", 1, "?foo=bar", "targetType=hash", 0, blockHash[:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			txid := txs[tc.tx].TxHash()
			path := "/api/v1/merkle-proof/" + txid.String()
			st, hdrs, body := e.call(http.MethodGet, path+tc.query, nil, "Accept: "+octet)
			if st != 200 || hdrs.Get("Content-Type") != octet {
				t.Fatalf("status %d %q (%s)", st, hdrs.Get("Content-Type"), body)
			}
			reqs := e.fake.Requests(path)
			if got := reqs[len(reqs)-1].Query.Encode(); got != tc.wantQuery {
				t.Fatalf("indexer query %q, want %q", got, tc.wantQuery)
			}
			p, err := indexer.ParseTSCProof(body, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if p.Flags != tc.flags || p.Index != uint64(tc.tx) || !bytes.Equal(p.Target, tc.target) {
				t.Fatalf("proof flags %#x index %d target %x", p.Flags, p.Index, p.Target)
			}
			if tc.flags&indexer.TSCFullTx != 0 && !bytes.Equal(p.TxOrID, rawTx(txs[tc.tx])) {
				t.Fatalf("full tx %x", p.TxOrID)
			}
			root, err := p.MerkleRoot()
			if err != nil || root != hdr.MerkleRoot {
				t.Fatalf("proof leads to %s (%v), block root %s", root, err, hdr.MerkleRoot)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		txid := txs[2].TxHash()
		st, _, body := e.call(http.MethodGet, "/api/v1/merkle-proof/"+txid.String(), nil, "Accept: "+jsonType)
		var got struct {
			Index  int      `json:"index"`
			TxOrID string   `json:"txOrId"`
			Target string   `json:"target"`
			Nodes  []string `json:"nodes"`
		}
		if st != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("status %d body %s", st, body)
		}
		if got.Index != 2 || got.TxOrID != txid.String() || got.Target != blockHash.String() || len(got.Nodes) != 2 || got.Nodes[0] != "*" {
			t.Fatalf("proof %+v", got)
		}
	})
	t.Run("not mined", func(t *testing.T) {
		if st, _, body := e.call(http.MethodGet, "/api/v1/merkle-proof/"+strings.Repeat("22", 32), nil); st != 404 || len(body) != 0 {
			t.Fatalf("status %d body %q", st, body)
		}
	})
	t.Run("bad target type passes the indexer's 400", func(t *testing.T) {
		txid := txs[0].TxHash()
		if st, _, _ := e.call(http.MethodGet, "/api/v1/merkle-proof/"+txid.String()+"?targetType=bogus", nil); st != 400 {
			t.Fatalf("status %d", st)
		}
	})
}

func TestRestorationSearch(t *testing.T) {
	e := newEnv(t)
	m := indexer.RestorationMatch{Flags: indexer.RestorationOutputMatch, PushDataHash: [32]byte{9, 9},
		LockingTxHash: chainhash.Hash{1}, LockingIndex: 3, UnlockingIndex: 0xFFFFFFFF}
	e.fake.AddRestorationMatch(m)
	req := []byte(`{"filterKeys":["` + hex.EncodeToString(m.PushDataHash[:]) + `","` + strings.Repeat("00", 32) + `"]}`)
	t.Run("binary", func(t *testing.T) {
		st, hdr, body := e.call(http.MethodPost, "/api/v1/restoration/search", req, "Accept: "+octet, "Content-Type: "+jsonType, e.bearer())
		if st != 200 || hdr.Get("Content-Type") != octet {
			t.Fatalf("status %d (%s)", st, body)
		}
		got, err := indexer.ParseRestorationMatches(body)
		if err != nil || len(got) != 1 || got[0] != m {
			t.Fatalf("matches %+v: %v", got, err)
		}
		if ct := e.fake.Requests("/api/v1/restoration/search")[0].ContentType; ct != jsonType {
			t.Fatalf("indexer saw Content-Type %q", ct)
		}
	})
	t.Run("json lines", func(t *testing.T) {
		st, _, body := e.call(http.MethodPost, "/api/v1/restoration/search", req, "Accept: "+jsonType)
		lines := strings.Split(string(body), "\n")
		if st != 200 || len(lines) != 2 || lines[1] != "{}" || !strings.Contains(lines[0], `"lockingTransactionIndex":3`) {
			t.Fatalf("status %d body %q", st, body)
		}
	})
	t.Run("no body", func(t *testing.T) {
		st, _, body := e.call(http.MethodPost, "/api/v1/restoration/search", nil)
		if st != 400 || string(body) != "400: no body provided" {
			t.Fatalf("status %d body %q", st, body)
		}
	})
}

func TestOutputSpend(t *testing.T) {
	e := newEnv(t)
	sp := indexer.OutputSpend{OutTxHash: chainhash.Hash{5}, OutIndex: 1, InTxHash: chainhash.Hash{6}, InIndex: 0, BlockHash: chainhash.Hash{7}}
	e.fake.Spend(sp)
	body := []byte(`[["` + sp.OutTxHash.String() + `",1],["` + strings.Repeat("33", 32) + `",0]]`)
	t.Run("binary answer", func(t *testing.T) {
		st, _, got := e.call(http.MethodPost, "/api/v1/output-spend", body, "Accept: "+octet, "Content-Type: "+jsonType)
		spends, err := indexer.ParseOutputSpends(got)
		if st != 200 || err != nil || len(spends) != 1 || spends[0] != sp {
			t.Fatalf("status %d spends %+v %v: %q", st, spends, err, got)
		}
	})
	t.Run("json answer", func(t *testing.T) {
		st, _, got := e.call(http.MethodPost, "/api/v1/output-spend", body, "Accept: "+jsonType, "Content-Type: "+jsonType)
		var rows [][]any
		if st != 200 || json.Unmarshal(got, &rows) != nil || len(rows) != 1 || rows[0][0] != sp.OutTxHash.String() {
			t.Fatalf("status %d body %s", st, got)
		}
	})
	t.Run("indexer 400 passes through empty", func(t *testing.T) {
		st, _, got := e.call(http.MethodPost, "/api/v1/output-spend", make([]byte, 36), "Content-Type: "+octet)
		if st != 400 || len(got) != 0 {
			t.Fatalf("status %d body %q", st, got)
		}
	})
}

// TestIndexerDown covers the 503 on every route while the indexer socket is
// down, and recovery once the indexer is back.
func TestIndexerDown(t *testing.T) {
	e := newEnv(t)
	e.sockets.connect(e.acct.ID)
	txid := e.fake.AddTransaction(testTx(4))
	op := `[["` + strings.Repeat("44", 32) + `",0]]`
	calls := []struct {
		method, path string
		body         []byte
		headers      []string
	}{
		{http.MethodGet, "/api/v1/transaction/" + txid.String(), nil, nil},
		{http.MethodGet, "/api/v1/merkle-proof/" + txid.String(), nil, nil},
		{http.MethodPost, "/api/v1/restoration/search", []byte(`{"filterKeys":[]}`), nil},
		{http.MethodPost, "/api/v1/output-spend", []byte(op), []string{"Content-Type: " + jsonType}},
		{http.MethodPost, "/api/v1/output-spend/notifications", []byte(op), []string{"Content-Type: " + jsonType, e.bearer()}},
		{http.MethodPost, "/api/v1/transaction/filter", []byte(`[["` + strings.Repeat("55", 32) + `",3600]]`), []string{"Content-Type: " + jsonType, e.bearer()}},
		{http.MethodPost, "/api/v1/transaction/filter:delete", []byte(`["` + strings.Repeat("55", 32) + `"]`), []string{"Content-Type: " + jsonType, e.bearer()}},
	}
	e.fake.SetDown(true)
	e.waitConnected(false)
	for _, c := range calls {
		t.Run("down "+c.path, func(t *testing.T) {
			st, _, body := e.call(c.method, c.path, c.body, c.headers...)
			if st != 503 || string(body) != "503: 10026: This functionality is temporarily unavailable" {
				t.Fatalf("status %d body %q", st, body)
			}
		})
	}
	if n := len(e.fake.Requests("/api/v1/output-spend/notifications")); n != 0 {
		t.Fatalf("indexer saw %d registrations while down", n)
	}
	if ws := e.h.Watched(e.acct.ID); len(ws) != 0 {
		t.Fatalf("registrations kept after a 503: %v", ws)
	}
	e.fake.SetDown(false)
	e.waitConnected(true)
	if st, _, body := e.call(http.MethodGet, "/api/v1/transaction/"+txid.String(), nil); st != 200 || len(body) == 0 {
		t.Fatalf("after recovery: status %d", st)
	}
	if e.fake.WebsocketConnects() < 2 {
		t.Fatalf("websocket connects %d, want a reconnect", e.fake.WebsocketConnects())
	}
}
