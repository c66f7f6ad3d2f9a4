package bitweb

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestAppendPyFloat(t *testing.T) {
	tenth := 0.1
	tests := []struct {
		f    float64
		want string
	}{
		{50, "50.0"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1e-05, "1e-05"},
		{0.0001, "0.0001"},
		{0.00012345, "0.00012345"},
		{0.1, "0.1"},
		{-2.5, "-2.5"},
		{1e16, "1e+16"},
		{1.5e16, "1.5e+16"},
		{9999999999999998.0, "9999999999999998.0"},
		{123456789012345.6, "123456789012345.6"},
		{1e22, "1e+22"},
		{1e-300, "1e-300"},
		{5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{21000000, "21000000.0"},
		{0.3, "0.3"},
		{tenth + 0.2, "0.30000000000000004"}, // at run time, not folded
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := string(appendPyFloat(nil, tt.f)); got != tt.want {
			t.Errorf("pyFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestAppendPyNumber(t *testing.T) {
	tests := []struct{ text, want string }{
		{"50.00000000", "50.0"},
		{"0.00001", "1e-05"},
		{"1e-05", "1e-05"},
		{"1.0e2", "100.0"},
		{"12345678901234567890", "12345678901234567890"},
		{"-0", "0"},
		{"-7", "-7"},
		{"1E400", "Infinity"},
		{"0.000000005", "5e-09"},
	}
	for _, tt := range tests {
		got, err := appendPyNumber(nil, tt.text)
		if err != nil || string(got) != tt.want {
			t.Errorf("pyNumber(%q) = %s, %v; want %s", tt.text, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "1e", "0x1", "+1", "NaN"} {
		if _, err := appendPyNumber(nil, bad); err == nil {
			t.Errorf("pyNumber(%q): no error", bad)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"null", nil, `null`},
		{"bools", []any{true, false}, `[true,false]`},
		{"ints", []any{1, int64(-2), uint32(3)}, `[1,-2,3]`},
		{"sorted by code point", map[string]any{"a": 1, "B": 2, "_": 3, "é": 4, "aa": 5}, `{"B":2,"_":3,"a":1,"aa":5,"\u00e9":4}`},
		{"nested sorted", map[string]any{"z": []any{map[string]any{"y": nil, "x": "1"}}, "a": map[string]any{"d": 1, "c": 2}}, `{"a":{"c":2,"d":1},"z":[{"x":"1","y":null}]}`},
		{"ascii escapes", "\"\\\n\r\t\b\f\x00\x1f\x7f", `"\"\\\n\r\t\b\f\u0000\u001f\u007f"`},
		{"no html escaping", "</script>&", `"</script>&"`},
		{"non-ascii", "é€", `"\u00e9\u20ac"`},
		{"astral", "😀", `"\ud83d\ude00"`},
		{"invalid utf-8", "a\xffb", `"a\ufffdb"`},
		{"numbers", map[string]any{"v": json.Number("50.00000000"), "n": json.Number("7")}, `{"n":7,"v":50.0}`},
		{"empty", map[string]any{"l": []any{}, "m": map[string]any{}}, `{"l":[],"m":{}}`},
	}
	for _, tt := range tests {
		got, err := appendJSON(nil, tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: appendJSON = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	if _, err := appendJSON(nil, struct{}{}); err == nil {
		t.Error("appendJSON(struct{}{}): no error")
	}
}

func TestElectrumErrorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", `'abc'`},
		{"", `''`},
		{"it's", `"it's"`},
		{`say "hi"`, `'say "hi"'`},
		{`both ' and "`, `'both \' and "'`},
		{"a\nb\tc\rd", `'a\nb\tc\rd'`},
		{`back\slash`, `'back\\slash'`},
		{"\x00\x1b\x7f", `'\x00\x1b\x7f'`},
		{"é", `'é'`},
		{"\u00a0\u00ad", `'\xa0\xad'`},
		{"\u200b\u2028", `'\u200b\u2028'`},
		{"😀", `'😀'`},
		{"\U000e0001", `'\U000e0001'`},
	}
	for _, tt := range tests {
		if got := electrumErrorText(1, tt.in); got != "ElectrumX error: {'code': 1, 'message': "+tt.want+"}" {
			t.Errorf("electrumErrorText(1, %q) = %s, want message %s", tt.in, got, tt.want)
		}
	}
	const daemon = "daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})"
	want := `ElectrumX error: {'code': 2, 'message': "daemon error: DaemonError({'code': -5, 'message': 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'})"}`
	if got := electrumErrorText(2, daemon); got != want {
		t.Errorf("electrumErrorText:\n got %s\nwant %s", got, want)
	}
}

// FuzzAppendJSON: any JSON the backend could send re-encodes to valid,
// pure-ASCII JSON whose keys are sorted, without error.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.5,"é",null,true]}`, `"😀\u0000"`, `1e400`, `[{"z":{"y":-0}}]`, `0.00001`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		out, err := appendJSON(nil, v)
		if err != nil {
			t.Fatalf("appendJSON(%s): %v", in, err)
		}
		for _, c := range out {
			if c >= 0x80 {
				t.Fatalf("non-ASCII byte in %q", out)
			}
		}
		// Python writes out-of-range floats as Infinity, which is not JSON;
		// everything else must parse back.
		if !bytes.Contains(out, []byte("Infinity")) && !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, in)
		}
	})
}
