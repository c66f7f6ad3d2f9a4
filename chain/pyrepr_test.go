package chain

import (
	"testing"
	"unicode/utf8"
)

// The expected values are what CPython 3 prints for repr(s).
func TestPyRepr(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `''`},
		{"plain", "web1qvt5s0", `'web1qvt5s0'`},
		{"single quote switches to double", "it's", `"it's"`},
		{"both quotes keep single and escape it", `it's "x"`, `'it\'s "x"'`},
		{"double quote only", `say "hi"`, `'say "hi"'`},
		{"backslash", `a\b`, `'a\\b'`},
		{"backslash in double-quoted", `a\'b`, `"a\\'b"`},
		{"named escapes", "a\tb\nc\rd", `'a\tb\nc\rd'`},
		{"other control", "\x00\x01\x1b\x7f", `'\x00\x01\x1b\x7f'`},
		{"space kept", "a b", `'a b'`},
		{"latin-1 printable", "café", `'café'`},
		{"C1 control", "\u0085", `'\x85'`},
		{"no-break space", "\u00a0", `'\xa0'`},
		{"soft hyphen", "\u00ad", `'\xad'`},
		{"cjk printable", "地址", `'地址'`},
		{"line separator", "\u2028", `'\u2028'`},
		{"zero width space", "\u200b", `'\u200b'`},
		{"emoji printable", "😀", `'😀'`},
		{"private use plane 15", "\U000f0000", `'\U000f0000'`},
		{"invalid utf-8 becomes U+FFFD", "a\xffb", "'a\uFFFDb'"},
		{"BOM", "\ufeff", `'\ufeff'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PyRepr(tc.in); got != tc.want {
				t.Errorf("PyRepr(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzPyRepr checks that the output is always a well-formed quoted literal:
// valid UTF-8, quoted at both ends, with no raw control characters inside.
func FuzzPyRepr(f *testing.F) {
	for _, s := range []string{"", "it's", `"'`, "\x00\n", "é\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := PyRepr(s)
		if !utf8.ValidString(r) {
			t.Fatalf("PyRepr(%q) = %q is not valid UTF-8", s, r)
		}
		if len(r) < 2 || r[0] != r[len(r)-1] || (r[0] != '\'' && r[0] != '"') {
			t.Fatalf("PyRepr(%q) = %q is not quoted", s, r)
		}
		for _, c := range r {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("PyRepr(%q) = %q holds a raw control character", s, r)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		// A string without quotes, backslashes or escapes comes back
		// unchanged between the quotes.
		plain := true
		for _, c := range s {
			if c == '\'' || c == '"' || c == '\\' || c < 0x20 || c == 0x7f || c >= 0x80 {
				plain = false
			}
		}
		if plain && r != "'"+s+"'" {
			t.Fatalf("PyRepr(%q) = %q, want the text in single quotes", s, r)
		}
	})
}
