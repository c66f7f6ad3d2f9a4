package electrum

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want []message
		err  bool
	}{
		{"reply", `{"jsonrpc":"2.0","result":{"confirmed":1,"unconfirmed":-2},"id":7}`,
			[]message{{ID: 7, HasID: true, Result: json.RawMessage(`{"confirmed":1,"unconfirmed":-2}`)}}, false},
		{"padded reply", `{"jsonrpc":"2.0","result":null,"id":3}` + strings.Repeat(" ", 900)[:0] + "",
			[]message{{ID: 3, HasID: true, Result: json.RawMessage(`null`)}}, false},
		{"space before final brace", "{\"jsonrpc\":\"2.0\",\"result\":5,\"id\":1" + strings.Repeat(" ", 1000) + "}\n",
			[]message{{ID: 1, HasID: true, Result: json.RawMessage(`5`)}}, false},
		{"error", `{"jsonrpc":"2.0","error":{"code":2,"message":"daemon error: DaemonError({'code': -5})"},"id":9}`,
			[]message{{ID: 9, HasID: true, Error: &walletgate.RPCError{Code: 2, Message: "daemon error: DaemonError({'code': -5})"}}}, false},
		{"notification", `{"jsonrpc":"2.0","method":"blockchain.scripthash.subscribe","params":["ab",null]}`,
			[]message{{Method: "blockchain.scripthash.subscribe", Params: json.RawMessage(`["ab",null]`)}}, false},
		{"batch reply with per-item error", `[{"jsonrpc":"2.0","result":"00","id":1}, {"jsonrpc":"2.0","error":{"code":1,"message":"bad"},"id":2}` + strings.Repeat(" ", 50) + "]",
			[]message{{ID: 1, HasID: true, Result: json.RawMessage(`"00"`)}, {ID: 2, HasID: true, Error: &walletgate.RPCError{Code: 1, Message: "bad"}}}, false},
		{"null id error", `{"jsonrpc":"2.0","error":{"code":-32700,"message":"invalid JSON"},"id":null}`,
			[]message{{Error: &walletgate.RPCError{Code: -32700, Message: "invalid JSON"}}}, false},
		{"odd error shape kept as text", `{"error":"boom","id":4}`,
			[]message{{ID: 4, HasID: true, Error: &walletgate.RPCError{Message: `"boom"`}}}, false},
		{"blank", "   \n", nil, false},
		{"garbage", `{"id":`, nil, true},
		{"bad batch", `[1,`, nil, true},
		{"batch of non-objects", `[1,2]`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFrame([]byte(tc.line))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestReadLineLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		max   int
		want  string
		err   error
	}{
		{"fits", "abc\n", 10, "abc\n", nil},
		{"exact", "abcdefghij\n", 10, "abcdefghij\n", nil},
		{"too long in buffer", "abcdefghijk\n", 10, "", errLineTooLong},
		{"too long across buffers", strings.Repeat("x", 100) + "\n", 50, "", errLineTooLong},
		{"long but allowed across buffers", strings.Repeat("x", 100) + "\n", 200, strings.Repeat("x", 100) + "\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.input), 16)
			got, err := readLine(br, tc.max)
			if !errors.Is(err, tc.err) || string(got) != tc.want {
				t.Fatalf("readLine = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","result":{"confirmed":1,"unconfirmed":0},"id":1}`,
		`[{"jsonrpc":"2.0","result":"x","id":1}, {"jsonrpc":"2.0","error":{"code":2,"message":"m"},"id":2}   ]`,
		`{"jsonrpc":"2.0","method":"blockchain.headers.subscribe","params":[{"height":1,"hex":"00"}]}`,
		`{"error":{"code":1e3,"message":"x"},"id":18446744073709551615}`,
		`{"id":-1}`, `[]`, `null`, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		msgs, err := parseFrame(line)
		if err != nil {
			return
		}
		// Whatever parsed re-encodes to a frame that parses to the same.
		for _, m := range msgs {
			if m.Params != nil && !json.Valid(m.Params) || m.Result != nil && !json.Valid(m.Result) {
				t.Fatalf("invalid raw JSON kept from %q", line)
			}
			again, err := parseFrame(encodeMessage(m))
			if err != nil {
				t.Fatalf("re-encoded %q does not parse: %v", encodeMessage(m), err)
			}
			if len(again) != 1 || !sameMessage(again[0], m) {
				t.Fatalf("round trip of %q: %+v != %+v", line, again, m)
			}
		}
	})
}

func sameMessage(a, b message) bool {
	eq := func(x, y json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(x), bytes.TrimSpace(y)) }
	if a.ID != b.ID || a.HasID != b.HasID || a.Method != b.Method || !eq(a.Params, b.Params) {
		return false
	}
	if (a.Error == nil) != (b.Error == nil) || a.Error != nil && *a.Error != *b.Error {
		return false
	}
	return a.Error != nil || eq(a.Result, b.Result)
}
