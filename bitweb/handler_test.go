package bitweb

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/chainview/chainviewtest"
)

// Spec §5 vectors: h is the HASH160 both addresses encode.
const (
	addrE  = "ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ"
	addrW  = "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse"
	addrBT = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	h160   = "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"
	spkE   = "76a914" + h160 + "88ac"
	spkW   = "0014" + h160
	shE    = walletgate.ScriptHash("8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161")
	shW    = walletgate.ScriptHash("45dc3792fc06ee8c3b3e27ae390747f663ef0ac933aa29ade0ed0a390186bdfc")
	spkB   = "0014" + "2222222222222222222222222222222222222222"

	txA = "aa00000000000000000000000000000000000000000000000000000000000001"
	txB = "bb00000000000000000000000000000000000000000000000000000000000002"
	txC = "cc00000000000000000000000000000000000000000000000000000000000003"
	txX = "ee00000000000000000000000000000000000000000000000000000000000009"
)

// testDecoder is the real Bitweb mainnet codec from the chain registry.
var testDecoder = func() AddressDecoder {
	p, err := chain.Lookup("bitweb", "mainnet")
	if err != nil {
		panic(err)
	}
	return ChainDecoder(p)
}()

type fixture struct {
	fb  *chainviewtest.Backend
	svc *chainview.Service
	h   http.Handler
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	fb := chainviewtest.New()
	svc := chainview.New(fb, chainview.Config{})
	t.Cleanup(func() { svc.Close() })
	return &fixture{fb: fb, svc: svc, h: New(svc, testDecoder, Config{}, nil)}
}

func (f *fixture) do(method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func ok(result string) string { return `{"error":null,"id":"api-server","result":` + result + "}\n" }

func fail(code, msg string) string {
	return `{"error":{"code":` + code + `,"message":"` + msg + `"},"id":"api-server","result":null}` + "\n"
}

const (
	badAddr     = "Invalid address format  -  expected alphanumeric, 25-90 characters"
	badTxid     = "Invalid txid  -  expected 64 hex characters"
	unknownTxJS = `ElectrumX error: {'code': 2, 'message': \"daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})\"}`
)

// seed gives the fake backend a small chain around addrE.
func seed(fb *chainviewtest.Backend) {
	fb.SetTip(1234)
	fb.SetBalance(shE, 200, -50)
	coinbase := chainviewtest.VerboseTx{Txid: txA, Coinbase: true, Outs: []chainviewtest.Out{{Value: "50.00000000", Script: spkE, Address: addrE, Type: "pubkeyhash"}}, Blockhash: "b1", Blocktime: 1700000000, Confs: 120}
	spend := chainviewtest.VerboseTx{Txid: txB, Ins: []chainviewtest.In{{Txid: txA, Vout: 0}}, Outs: []chainviewtest.Out{
		{Value: "10.0", Script: spkB, Address: "web1other"},
		{Value: "39.9999", Script: spkE, Address: addrE, Type: "pubkeyhash"},
	}, Blockhash: "b2", Blocktime: 1700000300, Confs: 100}
	incoming := chainviewtest.VerboseTx{Txid: txC, Ins: []chainviewtest.In{{Txid: txX, Vout: 0}}, Outs: []chainviewtest.Out{{Value: "0.00001", Script: spkE, Address: addrE, Type: "pubkeyhash"}}}
	fb.AddTx(txA, coinbase.JSON(), "01000000deadbeef")
	fb.AddTx(txB, spend.JSON(), "02000000cafe")
	fb.AddTx(txC, incoming.JSON(), "0200")
	fb.SetUnspent(shE, []walletgate.UTXO{
		{TxHash: txA, TxPos: 0, Height: 1, Value: 5_000_000_000},
		{TxHash: txB, TxPos: 1, Height: 2, Value: 3_999_990_000},
		{TxHash: txC, TxPos: 0, Height: 0, Value: 1_000},
	})
	fb.SetHistory(shE, []walletgate.HistoryEntry{{TxHash: txA, Height: 1}, {TxHash: txB, Height: 2}, {TxHash: txC, Height: -1}})
}

func TestGolden(t *testing.T) {
	utxoA := `{"coinbase":true,"height":1,"index":0,"script":"` + spkE + `","txid":"` + txA + `","value":5000000000}`
	utxoB := `{"coinbase":false,"height":2,"index":1,"script":"` + spkE + `","txid":"` + txB + `","value":3999990000}`
	utxoC := `{"coinbase":false,"height":0,"index":0,"script":"` + spkE + `","txid":"` + txC + `","value":1000}`
	histC := `{"amount":1000,"direction":"in","height":0,"mine_in":0,"mine_out":1000,"timestamp":null,"txid":"` + txC + `"}`
	histB := `{"amount":1000010000,"direction":"out","height":2,"mine_in":5000000000,"mine_out":3999990000,"timestamp":1700000300,"txid":"` + txB + `"}`
	histA := `{"amount":5000000000,"direction":"in","height":1,"mine_in":0,"mine_out":5000000000,"timestamp":1700000000,"txid":"` + txA + `"}`
	tests := []struct {
		name, method, target string
		status               int
		body                 string
	}{
		{"info", "GET", "/info", 200, ok(`{"blocks":1234}`)},
		{"info trailing slash", "GET", "/info/", 200, ok(`{"blocks":1234}`)},
		{"fee", "GET", "/fee", 200, ok(`{"feerate":10000}`)},
		{"balance", "GET", "/balance/" + addrE, 200, ok(`{"balance":150,"confirmed":200,"unconfirmed":-50}`)},
		{"balance unknown script is zero", "GET", "/balance/" + addrW, 200, ok(`{"balance":0,"confirmed":0,"unconfirmed":0}`)},
		{"balance upper-case bech32", "GET", "/balance/" + strings.ToUpper(addrW), 200, ok(`{"balance":0,"confirmed":0,"unconfirmed":0}`)},
		{"balance legacy 0x42", "GET", "/balance/TiKoNBKPwJrUeKDvy5ShTc3Mt4vN6f6yBG", 200, ok(`{"balance":150,"confirmed":200,"unconfirmed":-50}`)},
		{"balance mixed-case bech32", "GET", "/balance/WEB1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse", 400, fail("400", "Mixed-case bech32 address (use all lower or all upper case): 'WEB1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse'")},
		{"balance short", "GET", "/balance/abc", 400, fail("400", badAddr)},
		{"balance 91 chars", "GET", "/balance/" + strings.Repeat("a", 91), 400, fail("400", badAddr)},
		{"balance non-alnum", "GET", "/balance/" + addrE[:30] + "-", 400, fail("400", badAddr)},
		{"balance trailing newline", "GET", "/balance/" + url.PathEscape(addrE+"\n"), 400, fail("400", badAddr)},
		{"balance codec error", "GET", "/balance/" + addrBT, 400, fail("400", "Unknown version byte 0x00: '"+addrBT+"'")},
		{"balance codec plain error", "GET", "/balance/" + addrE[:33] + "x", 400, fail("400", "Invalid base58check address '"+addrE[:33]+"x': Invalid checksum")},
		{"unspent", "GET", "/unspent/" + addrE, 200, ok("[" + utxoA + "," + utxoB + "," + utxoC + "]")},
		{"unspent confirmed", "GET", "/unspent/" + addrE + "?confirmed=TRUE", 200, ok("[" + utxoA + "," + utxoB + "]")},
		{"unspent confirmed other", "GET", "/unspent/" + addrE + "?confirmed=yes", 200, ok("[" + utxoA + "," + utxoB + "," + utxoC + "]")},
		{"unspent amount", "GET", "/unspent/" + addrE + "?amount=4000000000", 200, ok("[" + utxoA + "]")},
		{"unspent amount zero", "GET", "/unspent/" + addrE + "?amount=0", 200, ok("[" + utxoA + "," + utxoB + "," + utxoC + "]")},
		{"unspent none", "GET", "/unspent/" + addrE + "?amount=999999999999999", 200, ok("[]")},
		{"unspent amount empty", "GET", "/unspent/" + addrE + "?amount=", 400, fail("400", "amount must be a non-negative integer")},
		{"unspent amount negative", "GET", "/unspent/" + addrE + "?amount=-1", 400, fail("400", "amount must be a non-negative integer")},
		{"unspent amount decimal", "GET", "/unspent/" + addrE + "?amount=1.5", 400, fail("400", "amount must be a non-negative integer")},
		{"unspent amount 16 digits", "GET", "/unspent/" + addrE + "?amount=1000000000000000", 400, fail("400", "amount must be a non-negative integer")},
		{"unspent address before amount", "GET", "/unspent/abc?amount=x", 400, fail("400", badAddr)},
		{"unspent amount before codec", "GET", "/unspent/" + addrBT + "?amount=x", 400, fail("400", "amount must be a non-negative integer")},
		{"unspent codec", "GET", "/unspent/" + addrBT, 400, fail("400", "Unknown version byte 0x00: '"+addrBT+"'")},
		{"history", "GET", "/history/" + addrE, 200, ok("[" + histC + "," + histB + "," + histA + "]")},
		{"history limit 2", "GET", "/history/" + addrE + "?limit=2", 200, ok("[" + histC + "," + histB + "]")},
		{"history limit 0 clamps to 1", "GET", "/history/" + addrE + "?limit=0", 200, ok("[" + histC + "]")},
		{"history limit -2 clamps to 1", "GET", "/history/" + addrE + "?limit=-2", 200, ok("[" + histC + "]")},
		{"history limit junk uses 10", "GET", "/history/" + addrE + "?limit=ten", 200, ok("[" + histC + "," + histB + "," + histA + "]")},
		{"history limit python int", "GET", "/history/" + addrE + "?limit=+0_1", 200, ok("[" + histC + "]")},
		{"history bad address", "GET", "/history/abc?limit=5", 400, fail("400", badAddr)},
		{"history codec", "GET", "/history/" + addrBT, 400, fail("400", "Unknown version byte 0x00: '"+addrBT+"'")},
		{"rawtx", "GET", "/rawtx/" + txA, 200, ok(`"01000000deadbeef"`)},
		{"rawtx bad", "GET", "/rawtx/" + txA[:63], 400, fail("400", badTxid)},
		{"rawtx non-hex", "GET", "/rawtx/" + txA[:63] + "g", 400, fail("400", badTxid)},
		{"rawtx unknown", "GET", "/rawtx/" + txX, 400, fail("400", unknownTxJS)},
		{"tx bad", "GET", "/tx/xyz", 400, fail("400", badTxid)},
		{"tx unknown", "GET", "/tx/" + txX, 400, fail("400", unknownTxJS)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			seed(f.fb)
			rec := f.do(tt.method, tt.target, "", "")
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("%s %s:\n got %d %s\nwant %d %s", tt.method, tt.target, rec.Code, rec.Body, tt.status, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if ao := rec.Header().Get("Access-Control-Allow-Origin"); ao != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q", ao)
			}
		})
	}
}

// TestTxPassThrough: the daemon's object comes back with keys sorted at
// every level, numbers in Python's float repr, value_sat added.
func TestTxPassThrough(t *testing.T) {
	f := newFixture(t)
	f.fb.AddTx(txA, `{"txid":"`+txA+`","hash":"`+txA+`","version":2,"size":100,"vsize":100,"weight":400,"locktime":0,`+
		`"vin":[{"coinbase":"51","sequence":4294967295}],`+
		`"vout":[{"value":50.00000000,"n":0,"scriptPubKey":{"type":"pubkeyhash","hex":"`+spkE+`","desc":"addr(`+addrE+`)#x","asm":"OP_DUP","address":"`+addrE+`"}},`+
		`{"value":0.00001,"n":1,"scriptPubKey":{"type":"nulldata","hex":"6a","desc":"raw(6a)","asm":"OP_RETURN caf\u00e9"}}],`+
		`"hex":"02","blockhash":"b1","confirmations":3,"time":1700000000,"blocktime":1700000000}`, "")
	rec := f.do("GET", "/tx/"+txA, "", "")
	want := ok(`{"blockhash":"b1","blocktime":1700000000,"confirmations":3,"hash":"` + txA + `","hex":"02","locktime":0,"size":100,"time":1700000000,"txid":"` + txA + `",` +
		`"version":2,"vin":[{"coinbase":"51","sequence":4294967295}],"vout":[` +
		`{"n":0,"scriptPubKey":{"address":"` + addrE + `","asm":"OP_DUP","desc":"addr(` + addrE + `)#x","hex":"` + spkE + `","type":"pubkeyhash"},"value":50.0,"value_sat":5000000000},` +
		`{"n":1,"scriptPubKey":{"asm":"OP_RETURN caf\u00e9","desc":"raw(6a)","hex":"6a","type":"nulldata"},"value":1e-05,"value_sat":1000}],` +
		`"vsize":100,"weight":400}`)
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("got %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
	}
}

func TestBackendErrors(t *testing.T) {
	down := walletgate.Errorf(walletgate.EUnavailable, "Server closed the connection")
	rpc := &walletgate.RPCError{Code: 1, Message: "8b01 is not a valid script hash"}
	tests := []struct {
		name, method string
		fail         error
		target       string
		status       int
		body         string
	}{
		{"info down", chainviewtest.MTip, down, "/info", 503, fail("503", "Server closed the connection")},
		{"balance down", chainviewtest.MBalance, down, "/balance/" + addrE, 503, fail("503", "Server closed the connection")},
		{"balance rpc", chainviewtest.MBalance, rpc, "/balance/" + addrE, 500, fail("500", "ElectrumX error: {'code': 1, 'message': '8b01 is not a valid script hash'}")},
		{"unspent rpc", chainviewtest.MUnspent, rpc, "/unspent/" + addrE, 500, fail("500", "ElectrumX error: {'code': 1, 'message': '8b01 is not a valid script hash'}")},
		{"history rpc", chainviewtest.MHistory, &walletgate.RPCError{Code: 10001, Message: "history too large"}, "/history/" + addrE, 500, fail("500", "ElectrumX error: {'code': 10001, 'message': 'history too large'}")},
		{"history batch down", chainviewtest.MTransaction, walletgate.Errorf(walletgate.ETimeout, "timed out"), "/history/" + addrE, 503, fail("503", "timed out")},
		{"tx down", chainviewtest.MTransaction, down, "/tx/" + txA, 503, fail("503", "Server closed the connection")},
		{"rawtx down", chainviewtest.MRaw, down, "/rawtx/" + txA, 503, fail("503", "Server closed the connection")},
		{"rawtx rpc", chainviewtest.MRaw, &walletgate.RPCError{Code: -32603, Message: "internal server error"}, "/rawtx/" + txA, 400, fail("400", "ElectrumX error: {'code': -32603, 'message': 'internal server error'}")},
		{"unexpected error hidden", chainviewtest.MBalance, errors.New("secret detail"), "/balance/" + addrE, 500, fail("500", "internal error")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			seed(f.fb)
			f.fb.Fail(tt.method, tt.fail)
			rec := f.do("GET", tt.target, "", "")
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("got %d %s\nwant %d %s", rec.Code, rec.Body, tt.status, tt.body)
			}
		})
	}
}

func TestBroadcast(t *testing.T) {
	const good = "0200000001ab"
	const form = "application/x-www-form-urlencoded"
	rejected := fail("400", `ElectrumX error: {'code': 1, 'message': 'the transaction was rejected by network rules.\\n\\nTX decode failed\\n[`+good+`]'}`)
	tests := []struct {
		name, target, ctype, body string
		status                    int
		want                      string
	}{
		{"form raw", "/broadcast", form, "raw=" + good, 200, ok(`"` + txA + `"`)},
		{"form raw padded", "/broadcast", form, "raw=+" + good + "%0A", 200, ok(`"` + txA + `"`)},
		{"query raw", "/broadcast?raw=" + good, "", "", 200, ok(`"` + txA + `"`)},
		{"query wins over body", "/broadcast?raw=" + good, "text/plain", "zz", 200, ok(`"` + txA + `"`)},
		{"plain body", "/broadcast", "text/plain", "\n " + good + " \r\n", 200, ok(`"` + txA + `"`)},
		{"no content type body", "/broadcast", "", good, 200, ok(`"` + txA + `"`)},
		{"multipart", "/broadcast", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"raw\"\r\n\r\n" + good + "\r\n--XX--\r\n", 200, ok(`"` + txA + `"`)},
		{"trailing slash", "/broadcast/", form, "raw=" + good, 200, ok(`"` + txA + `"`)},
		{"empty", "/broadcast", "", "", 400, fail("400", "Missing raw transaction hex")},
		{"whitespace only", "/broadcast", "text/plain", " \n\t", 400, fail("400", "Missing raw transaction hex")},
		{"form without raw", "/broadcast", form, "hex=" + good, 400, fail("400", "Missing raw transaction hex")},
		{"odd length", "/broadcast", form, "raw=abc", 400, fail("400", "raw must be a valid hex string")},
		{"non-hex", "/broadcast", form, "raw=zz", 400, fail("400", "raw must be a valid hex string")},
		{"json body", "/broadcast", "application/json", `{"raw":"` + good + `"}`, 400, fail("400", "raw must be a valid hex string")},
		{"body too large", "/broadcast", "text/plain", strings.Repeat("a", 100_001), 400, fail("400", "Request body too large (max 100 KB)")},
		{"body at limit", "/broadcast", "text/plain", strings.Repeat("z", 100_000), 400, fail("400", "raw must be a valid hex string")},
		{"hex too large", "/broadcast?raw=" + strings.Repeat("ab", 50_001), "", "", 400, fail("400", "Transaction hex too large (max 100 KB)")},
		{"size before hex check", "/broadcast?raw=" + strings.Repeat("z", 100_001), "", "", 400, fail("400", "Transaction hex too large (max 100 KB)")},
		{"rejected", "/broadcast", form, "raw=" + good + "&ok=0", 400, rejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fb.OnBroadcast(func(raw string) (string, error) {
				if raw != good {
					return "", errors.New("unexpected raw " + raw)
				}
				if tt.name == "rejected" {
					return "", &walletgate.RPCError{Code: 1, Message: "the transaction was rejected by network rules.\n\nTX decode failed\n[" + raw + "]"}
				}
				return txA, nil
			})
			rec := f.do("POST", tt.target, tt.ctype, tt.body)
			if rec.Code != tt.status || rec.Body.String() != tt.want {
				t.Fatalf("got %d %s\nwant %d %s", rec.Code, rec.Body, tt.status, tt.want)
			}
		})
	}

	// A chunked body (no Content-Length) over the limit is refused too.
	f := newFixture(t)
	req := httptest.NewRequest("POST", "/broadcast", strings.NewReader(strings.Repeat("a", 100_001)))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Request body too large") {
		t.Fatalf("chunked oversize body: %d %s", rec.Code, rec.Body)
	}
	if n := f.fb.Calls(chainviewtest.MBroadcast); n != 0 {
		t.Fatalf("refused bodies reached the backend %d times", n)
	}
}

func TestHTTPBehaviour(t *testing.T) {
	f := newFixture(t)
	seed(f.fb)
	tests := []struct {
		name, method, target string
		header               map[string]string
		status               int
		body                 string
		wantHeader           map[string]string
	}{
		{"unknown route", "GET", "/nope", nil, 404, notFoundPage, map[string]string{"Content-Type": "text/html; charset=utf-8", "Access-Control-Allow-Origin": "*"}},
		{"root", "GET", "/", nil, 404, notFoundPage, nil},
		{"empty address segment", "GET", "/balance/", nil, 404, notFoundPage, nil},
		{"extra segment", "GET", "/balance/" + addrE + "/x", nil, 404, notFoundPage, nil},
		{"address route without address", "GET", "/tx", nil, 404, notFoundPage, nil},
		{"post to get route", "POST", "/info", nil, 405, methodNotAllowedPage, map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"get broadcast", "GET", "/broadcast", nil, 405, methodNotAllowedPage, map[string]string{"Allow": "OPTIONS, POST"}},
		{"delete", "DELETE", "/balance/" + addrE, nil, 405, methodNotAllowedPage, nil},
		{"head", "HEAD", "/info", nil, 200, "", map[string]string{"Content-Length": "58", "Content-Type": "application/json"}},
		{"options", "OPTIONS", "/info", nil, 200, "", map[string]string{"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Origin": "*"}},
		{"preflight", "OPTIONS", "/broadcast", map[string]string{"Origin": "https://wallet.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, 200, "",
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT", "Access-Control-Allow-Headers": "content-type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			for k, v := range tt.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestMountedUnderPrefix: the handler serves the same API under /v1/{coin}/.
func TestMountedUnderPrefix(t *testing.T) {
	f := newFixture(t)
	seed(f.fb)
	mux := http.NewServeMux()
	mux.Handle("/v1/bitweb/", http.StripPrefix("/v1/bitweb", f.h))
	for _, target := range []string{"/v1/bitweb/info", "/v1/bitweb/info/"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 200 || rec.Body.String() != ok(`{"blocks":1234}`) {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
	}
}

// TestStalledBackendTimesOut: a backend that never answers costs the client
// RequestTimeout and a 503, not a hang.
func TestStalledBackendTimesOut(t *testing.T) {
	fb := chainviewtest.New()
	svc := chainview.New(fb, chainview.Config{})
	defer svc.Close()
	h := New(svc, testDecoder, Config{RequestTimeout: 30 * time.Millisecond}, nil)
	release := fb.Hold()
	defer release()
	for _, target := range []string{"/info", "/balance/" + addrE, "/history/" + addrE, "/tx/" + txA} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 503 || rec.Body.String() != fail("503", "timed out") {
			t.Errorf("%s on a stalled backend: %d %s", target, rec.Code, rec.Body)
		}
	}
}
