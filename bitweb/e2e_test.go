package bitweb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/electrum/electrumtest"
	"github.com/walletgate/walletgate/internal/regtest"
	"github.com/walletgate/walletgate/internal/stacktest"
)

// stack is the whole read path over real parts: HTTP server → bitweb →
// wallet → electrum client → electrumtest server → indexer → btcd regtest.
type stack struct {
	node    *regtest.Node
	idx     *electrumtest.Indexer
	srv     *electrumtest.Server
	svc     *chainview.Service
	http    *httptest.Server
	changes chan walletgate.ScriptHash
}

func startStack(t *testing.T) *stack {
	t.Helper()
	st := stacktest.Start(t, stacktest.Options{})
	svc := st.Wallet
	changes := make(chan walletgate.ScriptHash, 64)
	svc.OnChange(func(sh walletgate.ScriptHash) {
		select {
		case changes <- sh:
		default:
		}
	})

	params, err := chain.Lookup("bitweb", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	h := New(svc, ChainDecoder(params), Config{RequestTimeout: 3 * time.Second}, nil)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &stack{node: st.Node, idx: st.Indexer, srv: st.Server, svc: svc, http: hs, changes: changes}
}

func (s *stack) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *stack) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(s.http.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *stack) expect(t *testing.T, path string, status int, body string) {
	t.Helper()
	gotStatus, got := s.get(t, path)
	if gotStatus != status || got != body {
		t.Fatalf("GET %s:\n got %d %s\nwant %d %s", path, gotStatus, got, status, body)
	}
}

// sync indexes the node's new state and, when sh is set, waits for the
// change event of sh to reach the service.
func (s *stack) sync(t *testing.T, sh walletgate.ScriptHash) {
	t.Helper()
	if err := s.idx.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sh == "" {
		return
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-s.changes:
			if got == sh {
				return
			}
		case <-deadline:
			t.Fatalf("no change event for %s", sh)
		}
	}
}

func (s *stack) blocktime(t *testing.T, txid string) int64 {
	t.Helper()
	var v struct {
		Blocktime int64 `json:"blocktime"`
	}
	if err := s.node.CallInto(context.Background(), &v, "getrawtransaction", txid, 1); err != nil {
		t.Fatal(err)
	}
	return v.Blocktime
}

func TestEndToEndRegtest(t *testing.T) {
	ctx := context.Background()
	s := startStack(t)
	height, err := s.node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.expect(t, "/info", 200, ok(fmt.Sprintf(`{"blocks":%d}`, height)))
	s.expect(t, "/fee", 200, ok(`{"feerate":10000}`))

	me := regtest.NewKey(t, regtest.P2WPKH)
	other := regtest.NewKey(t, regtest.P2TR)
	mine := chainview.NewScript(me.Script())
	addr := me.Address()

	// Watched: balances come from cache and only the change events of the
	// real subscription can make them move.
	if err := s.svc.Watch(ctx, mine.Hash); err != nil {
		t.Fatal(err)
	}
	s.expect(t, "/balance/"+addr, 200, ok(`{"balance":0,"confirmed":0,"unconfirmed":0}`))
	s.expect(t, "/history/"+addr, 200, ok(`[]`))

	fund, err := s.node.Fund(ctx, me.Script(), 100_000)
	if err != nil {
		t.Fatal(err)
	}
	s.sync(t, mine.Hash)
	s.expect(t, "/balance/"+addr, 200, ok(`{"balance":100000,"confirmed":0,"unconfirmed":100000}`))

	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.sync(t, mine.Hash)
	h1 := height + 1
	s.expect(t, "/info", 200, ok(fmt.Sprintf(`{"blocks":%d}`, h1)))
	s.expect(t, "/balance/"+addr, 200, ok(`{"balance":100000,"confirmed":100000,"unconfirmed":0}`))
	utxo := func(txid string, index uint32, height, value int64) string {
		return fmt.Sprintf(`{"coinbase":false,"height":%d,"index":%d,"script":"%s","txid":"%s","value":%d}`, height, index, mine.Hex, txid, value)
	}
	s.expect(t, "/unspent/"+addr, 200, ok("["+utxo(fund.TxID, fund.Vout, h1, 100_000)+"]"))
	s.expect(t, "/unspent/"+addr+"?amount=100001", 200, ok(`[]`))

	// Spend 30,000 to the other key; the change comes back to us.
	sent, err := s.node.Spend(ctx, []regtest.Input{{Outpoint: fund, Key: me}}, []regtest.Output{{Script: other.Script(), Value: 30_000}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	change := 100_000 - 30_000 - sent.Fee
	s.sync(t, mine.Hash)
	s.expect(t, "/balance/"+addr, 200, ok(fmt.Sprintf(`{"balance":%d,"confirmed":100000,"unconfirmed":%d}`, change, change-100_000)))
	s.expect(t, "/unspent/"+addr+"?confirmed=true", 200, ok(`[]`))
	s.expect(t, "/unspent/"+addr, 200, ok("["+utxo(sent.TxID, 1, 0, change)+"]"))
	fundTime := s.blocktime(t, fund.TxID)
	inItem := fmt.Sprintf(`{"amount":100000,"direction":"in","height":%d,"mine_in":0,"mine_out":100000,"timestamp":%d,"txid":"%s"}`, h1, fundTime, fund.TxID)
	s.expect(t, "/history/"+addr+"?limit=10", 200, ok(fmt.Sprintf(
		`[{"amount":%d,"direction":"out","height":0,"mine_in":100000,"mine_out":%d,"timestamp":null,"txid":"%s"},%s]`,
		100_000-change, change, sent.TxID, inItem)))

	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.sync(t, mine.Hash)
	h2 := h1 + 1
	s.expect(t, "/history/"+addr+"?limit=10", 200, ok(fmt.Sprintf(
		`[{"amount":%d,"direction":"out","height":%d,"mine_in":100000,"mine_out":%d,"timestamp":%d,"txid":"%s"},%s]`,
		100_000-change, h2, change, s.blocktime(t, sent.TxID), sent.TxID, inItem)))
	s.expect(t, "/history/"+addr+"?limit=1", 200, ok(fmt.Sprintf(
		`[{"amount":%d,"direction":"out","height":%d,"mine_in":100000,"mine_out":%d,"timestamp":%d,"txid":"%s"}]`,
		100_000-change, h2, change, s.blocktime(t, sent.TxID), sent.TxID)))
	// The other key is not watched: its history is fetched fresh.
	s.expect(t, "/history/"+other.Address(), 200, ok(fmt.Sprintf(
		`[{"amount":30000,"direction":"in","height":%d,"mine_in":0,"mine_out":30000,"timestamp":%d,"txid":"%s"}]`,
		h2, s.blocktime(t, sent.TxID), sent.TxID)))

	// /rawtx is the node's serialization; /tx its verbose object with
	// sorted keys and value_sat.
	s.expect(t, "/rawtx/"+sent.TxID, 200, ok(`"`+hex.EncodeToString(sent.Raw)+`"`))
	checkTx(t, s, sent.TxID, []int64{30_000, change})

	noSuch := `ElectrumX error: {'code': 2, 'message': \"daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})\"}`
	s.expect(t, "/tx/"+strings.Repeat("ab", 32), 400, fail("400", noSuch))
	s.expect(t, "/rawtx/"+strings.Repeat("ab", 32), 400, fail("400", noSuch))

	// Coinbase flags come from the real verbose transactions.
	_, body := s.get(t, "/unspent/"+s.node.MiningAddress()+"?confirmed=true")
	if n := strings.Count(body, `"coinbase":true,`); n < 50 {
		t.Fatalf("mining address's unspent list shows %d coinbase outputs, want its ~100 mature block rewards: %.300s", n, body)
	}

	// An address of another network is refused with the codec's text.
	s.expect(t, "/balance/ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ", 400, fail("400", "Unknown version byte 0x21: 'ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ'"))
}

// checkTx compares /tx with the node's own verbose transaction: same
// values, keys sorted at every level, value_sat added to every vout.
func checkTx(t *testing.T, s *stack, txid string, wantSats []int64) {
	t.Helper()
	status, body := s.get(t, "/tx/"+txid)
	if status != 200 {
		t.Fatalf("/tx: %d %s", status, body)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	assertSortedKeys(t, env.Result)
	var got struct {
		Txid string `json:"txid"`
		Vout []struct {
			ValueSat int64 `json:"value_sat"`
		} `json:"vout"`
	}
	if err := json.Unmarshal(env.Result, &got); err != nil {
		t.Fatal(err)
	}
	if got.Txid != txid || len(got.Vout) != len(wantSats) {
		t.Fatalf("/tx: txid %s with %d outputs, want %s with %d", got.Txid, len(got.Vout), txid, len(wantSats))
	}
	for i, o := range got.Vout {
		if o.ValueSat != wantSats[i] {
			t.Errorf("vout %d value_sat = %d, want %d", i, o.ValueSat, wantSats[i])
		}
	}
	// Every field of the node's answer is there with the same value.
	raw, err := s.node.Call(context.Background(), "getrawtransaction", txid, 1)
	if err != nil {
		t.Fatal(err)
	}
	var node, ours map[string]any
	json.Unmarshal(raw, &node)
	json.Unmarshal(env.Result, &ours)
	for k, v := range node {
		if k == "confirmations" {
			continue // may move between the two reads
		}
		if a, b := fmt.Sprint(v), fmt.Sprint(ours[k]); k != "vout" && a != b {
			t.Errorf("/tx field %s = %s, node says %s", k, b, a)
		}
	}
}

// assertSortedKeys walks raw JSON and fails on any object whose keys are
// not in ascending order.
func assertSortedKeys(t *testing.T, raw json.RawMessage) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj  bool
		keys []string
		key  bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: v == '{', key: v == '{'})
			case '}', ']':
				if top.obj && !slices.IsSorted(top.keys) {
					t.Fatalf("keys not sorted: %v", top.keys)
				}
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.obj && top.key {
				top.keys = append(top.keys, v)
				top.key = false
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

// TestEndToEndBroadcast sends a transaction it built itself (spending a
// P2WSH OP_TRUE output, so no key is needed) through POST /broadcast, and a
// malformed one that the node refuses.
func TestEndToEndBroadcast(t *testing.T) {
	ctx := context.Background()
	s := startStack(t)
	ws := []byte{0x51} // OP_TRUE
	sum := sha256.Sum256(ws)
	pkScript := append([]byte{0x00, 0x20}, sum[:]...)
	op, err := s.node.Fund(ctx, pkScript, 50_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.sync(t, "")
	dest := regtest.NewKey(t, regtest.P2WPKH)
	prev, err := chainhash.NewHashFromStr(op.TxID)
	if err != nil {
		t.Fatal(err)
	}
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(prev, op.Vout), nil, [][]byte{ws}))
	tx.AddTxOut(wire.NewTxOut(40_000, dest.Script()))
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	rawHex := hex.EncodeToString(buf.Bytes())
	txid := tx.TxHash().String()

	status, body := s.post(t, "/broadcast", url.Values{"raw": {rawHex}})
	if status != 200 || body != ok(`"`+txid+`"`) {
		t.Fatalf("broadcast: %d %s, want txid %s", status, body, txid)
	}
	s.sync(t, "")
	s.expect(t, "/balance/"+dest.Address(), 200, ok(`{"balance":40000,"confirmed":0,"unconfirmed":40000}`))

	status, body = s.post(t, "/broadcast", url.Values{"raw": {"00"}})
	want := `{"error":{"code":400,"message":"ElectrumX error: {'code': 1, 'message': 'the transaction was rejected by network rules.\\n\\n`
	if status != 400 || !strings.HasPrefix(body, want) || !strings.HasSuffix(body, `\\n[00]'}"},"id":"api-server","result":null}`+"\n") {
		t.Fatalf("malformed broadcast: %d %s", status, body)
	}
}

// TestEndToEndBackendDown: with the Electrum server gone, calls fail with
// a 503 within the configured timeout instead of hanging.
func TestEndToEndBackendDown(t *testing.T) {
	s := startStack(t)
	key := regtest.NewKey(t, regtest.P2WPKH)
	s.expect(t, "/balance/"+key.Address(), 200, ok(`{"balance":0,"confirmed":0,"unconfirmed":0}`))
	if err := s.srv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	s.srv.DropAll()
	status, body := s.get(t, "/balance/"+key.Address())
	if status != 503 || !strings.HasPrefix(body, `{"error":{"code":503,"message":"`) {
		t.Fatalf("backend down: %d %s", status, body)
	}
	t.Logf("backend down answer: %s", strings.TrimSpace(body))
}
