package rpc

import (
	"errors"
	"testing"

	"github.com/walletgate/walletgate"
)

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string // result, or "" when an error is expected
		code   int    // RPC error code expected (0: none)
		kind   error  // sentinel expected
	}{
		{"result", 200, `{"result":5,"error":null,"id":1}`, "5", 0, nil},
		{"null result", 200, `{"result":null,"error":null,"id":1}`, "null", 0, nil},
		{"core 500 error", 500, `{"result":null,"error":{"code":-5,"message":"No such mempool or blockchain transaction"},"id":1}`, "", -5, nil},
		{"string error", 200, `{"result":null,"error":"boom","id":1}`, "", 0, nil},
		{"btcd empty", 200, ``, "", 0, ErrMalformed},
		{"whitespace", 200, " \n", "", 0, ErrMalformed},
		{"401", 401, `401 Unauthorized.`, "", 0, ErrUnauthorized},
		{"html 502", 502, `<html>bad gateway</html>`, "", 0, ErrMalformed},
		{"array", 200, `[1]`, "", 0, ErrMalformed},
		{"error object without code", 200, `{"error":{"message":"x"}}`, "", 0, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReply(tc.status, []byte(tc.body))
			if tc.want != "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("parseReply = %s, %v; want %s", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseReply = %s; want an error", got)
			}
			var re *walletgate.RPCError
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v; want %v", err, tc.kind)
			}
			if tc.kind == nil && (!errors.As(err, &re) || re.Code != tc.code) {
				t.Fatalf("err = %v; want RPCError code %d", err, tc.code)
			}
		})
	}
}

func TestParseBatch(t *testing.T) {
	ids := []uint64{10, 11}
	res, err := parseBatch(200, []byte(`[{"id":11,"result":"b","error":null},{"id":10,"result":"a","error":null}]`), ids)
	if err != nil || string(res[0].Result) != `"a"` || string(res[1].Result) != `"b"` {
		t.Fatalf("parseBatch = %+v, %v; want a, b in request order", res, err)
	}
	for name, body := range map[string]string{
		"missing":   `[{"id":10,"result":1}]`,
		"repeated":  `[{"id":10,"result":1},{"id":10,"result":1}]`,
		"unknown":   `[{"id":10,"result":1},{"id":99,"result":1}]`,
		"bad id":    `[{"id":"x","result":1},{"id":11,"result":1}]`,
		"single ok": `{"id":10,"result":1}`,
	} {
		if _, err := parseBatch(200, []byte(body), ids); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v; want ErrMalformed", name, err)
		}
	}
	_, err = parseBatch(200, []byte(`{"id":null,"result":null,"error":{"code":-32600,"message":"batch not supported"}}`), ids)
	if !IsRPCError(err, -32600) {
		t.Errorf("whole-batch rejection: %v; want the node's RPC error", err)
	}
}

// FuzzParseReply feeds arbitrary bodies to both parsers: they must never
// panic, and a success must carry a result for every call.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{"result":5,"error":null,"id":1}`, `{"result":null,"error":{"code":-5,"message":"x"},"id":1}`,
		``, `[{"id":1,"result":1},{"id":2,"error":{"code":1,"message":"m"}}]`, `{"error":"s"}`, `[`, `{"result":`,
	} {
		f.Add(200, []byte(s))
	}
	f.Add(401, []byte("401 Unauthorized."))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if res, err := parseReply(status, body); err == nil && res == nil {
			t.Fatalf("parseReply(%d, %q): nil result without error", status, body)
		}
		res, err := parseBatch(status, body, []uint64{1, 2})
		if err == nil {
			if len(res) != 2 {
				t.Fatalf("parseBatch(%q): %d results for 2 calls", body, len(res))
			}
			for i, r := range res {
				if (r.Result == nil) == (r.Err == nil) {
					t.Fatalf("parseBatch(%q): result %d has neither or both of Result and Err", body, i)
				}
			}
		}
	})
}
