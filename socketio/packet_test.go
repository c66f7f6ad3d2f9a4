package socketio

import (
	"bytes"
	"strings"
	"testing"
)

func TestParsePacket(t *testing.T) {
	tests := []struct {
		in        string
		ok        bool
		typ       byte
		nsp, body string
	}{
		{"0", true, '0', "/", ""},
		{`0{"token":"x"}`, true, '0', "/", `{"token":"x"}`},
		{"0/btc,", true, '0', "/btc", ""},
		{`2["subscribe",{"address":"a"}]`, true, '2', "/", `["subscribe",{"address":"a"}]`},
		{`212["subscribe",{}]`, true, '2', "/", `["subscribe",{}]`},
		{`2/btc,7["x"]`, true, '2', "/btc", `["x"]`},
		{"1", true, '1', "/", ""},
		{"1/btc", true, '1', "/btc", ""},
		{"", false, 0, "", ""},
		{"9", false, 0, "", ""},
		{"x", false, 0, "", ""},
	}
	for _, tc := range tests {
		pk, ok := parsePacket([]byte(tc.in))
		if ok != tc.ok || (ok && (pk.typ != tc.typ || pk.nsp != tc.nsp || string(pk.body) != tc.body)) {
			t.Errorf("parsePacket(%q) = %c %q %q %v", tc.in, pk.typ, pk.nsp, pk.body, ok)
		}
	}
	for _, tc := range []struct{ in, ack, body string }{
		{`212["subscribe",{}]`, "12", `["subscribe",{}]`},
		{`2/btc,7["x"]`, "7", `["x"]`},
		{`2["x"]`, "", `["x"]`},
		{`2` + strings.Repeat("9", 20) + `["x"]`, strings.Repeat("9", 20), `["x"]`},
		{`2` + strings.Repeat("9", 21) + `["x"]`, "", `["x"]`}, // too long: no ack
	} {
		pk, ok := parsePacket([]byte(tc.in))
		if !ok || pk.ack != tc.ack || string(pk.body) != tc.body {
			t.Errorf("parsePacket(%q) ack %q body %q, want %q %q", tc.in, pk.ack, pk.body, tc.ack, tc.body)
		}
	}
	for _, tc := range []struct {
		in, name string
		nargs    int
		ok       bool
	}{
		{`["subscribe",{"address":"a"}]`, "subscribe", 1, true},
		{`["subscribe"]`, "subscribe", 0, true},
		{`[1,2]`, "", 0, false},
		{`[]`, "", 0, false},
		{`{"a":1}`, "", 0, false},
		{`["x",`, "", 0, false},
	} {
		name, args, ok := eventArgs([]byte(tc.in))
		if ok != tc.ok || name != tc.name || len(args) != tc.nargs {
			t.Errorf("eventArgs(%q) = %q %v %v", tc.in, name, args, ok)
		}
	}
}

func FuzzParsePacket(f *testing.F) {
	for _, s := range []string{"0", "0/btc,{}", `2["subscribe",{"address":"web1q"}]`, `23["a"]`, "1/x", "", "2/", "2/,",
		`51-["subscribe",{"_placeholder":true,"num":0}]`, `5/btc,2-7["x",{"_placeholder":true,"num":1}]`, `61-[{"_placeholder":true,"num":0}]`, `4/x,{"message":"m"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, ok := parsePacket(b)
		if !ok {
			return
		}
		if len(pk.ack) > maxAckDigits || strings.Trim(pk.ack, "0123456789") != "" {
			t.Fatalf("parsePacket(%q) ack %q", b, pk.ack)
		}
		if !strings.HasPrefix(pk.nsp, "/") || len(pk.body) > len(b) || pk.typ != b[0] {
			t.Fatalf("parsePacket(%q) = %+v", b, pk)
		}
		if _, args, ok := eventArgs(pk.body); !ok && args != nil {
			t.Fatalf("eventArgs(%q) refused but returned %v", pk.body, args)
		}
	})
}

func FuzzPyStr(f *testing.F) {
	f.Add(`{"address":" web1qxyz "}`)
	f.Add(`{"address":12345678901234567890123456}`)
	f.Add(`{"address":[1,2]}`)
	f.Fuzz(func(t *testing.T, s string) {
		_, args, ok := eventArgs([]byte(`["subscribe",` + s + `]`))
		if !ok || len(args) == 0 {
			return
		}
		if m, ok := firstObject(args); ok {
			_ = pyStr(m["address"]) // must not panic on any JSON value
			_, _ = stringList(m["addresses"])
		}
	})
}

func FuzzAccountArgs(f *testing.F) {
	for _, s := range []string{`{"account":"alice","key":"k"}`, `{"account":5}`, `"alice"`, `{}`, `{"account":null,"key":null}`, `{"key":[1]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, args, ok := eventArgs([]byte(`["subscribe_account",` + s + `]`))
		if !ok {
			return
		}
		account, key, ok := accountArgs(args)
		if !ok && (account != "" || key != "") {
			t.Fatalf("refused %s but returned %q %q", s, account, key)
		}
		if ok {
			m, _ := firstObject(args)
			if a, isStr := m["account"].(string); isStr && a != account {
				t.Fatalf("account %q, want %q", account, a)
			}
		}
	})
}

func TestSplitPayload(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"40", []string{"40"}},
		{"40\x1e42[\"a\"]", []string{"40", `42["a"]`}},
		{"\x1e\x1e6\x1e", []string{"6"}},
		{"2\x1e\x1e3", []string{"2", "3"}},
		{"bAQID\x1e4", []string{"bAQID", "4"}},
	} {
		var got []string
		for _, r := range splitPayload([]byte(tc.in)) {
			got = append(got, string(r))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("splitPayload(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(appendPayload([]byte("x"), []byte("40"), []byte("2"), []byte("6"))); got != "x40\x1e2\x1e6" {
		t.Errorf("appendPayload = %q", got)
	}
}

// FuzzSplitPayload: the records of any payload are non-empty, free of the
// separator and in order, and joining them back gives the payload with
// its empty records dropped.
func FuzzSplitPayload(f *testing.F) {
	for _, s := range []string{"", "40", "40\x1e42[\"subscribe\",{}]", "\x1e", "\x1e\x1e6\x1e", "bAQID\x1e451-[{\"_placeholder\":true,\"num\":0}]", "2\x1e3probe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs := splitPayload(b)
		var parts []string
		for _, r := range recs {
			if len(r) == 0 || bytes.IndexByte(r, recordSeparator) >= 0 {
				t.Fatalf("splitPayload(%q) record %q", b, r)
			}
			parts = append(parts, string(r))
		}
		var want []string
		for _, p := range strings.Split(string(b), "\x1e") {
			if p != "" {
				want = append(want, p)
			}
		}
		if strings.Join(parts, "\x1e") != strings.Join(want, "\x1e") {
			t.Fatalf("splitPayload(%q) = %q", b, parts)
		}
		if got := appendPayload(nil, recs...); !bytes.Equal(got, []byte(strings.Join(want, "\x1e"))) {
			t.Fatalf("appendPayload(splitPayload(%q)) = %q", b, got)
		}
		if again := splitPayload(appendPayload(nil, recs...)); len(again) != len(recs) {
			t.Fatalf("round trip of %q: %d records, then %d", b, len(recs), len(again))
		}
	})
}
