package walletgate_test

import (
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

const txidA = "ba539ec00c63d2b07a792537d1c1202a5a977b994cdef55d7f064070c16f8d36"

func TestCheckHash(t *testing.T) {
	tests := []struct {
		in   string
		pos  int // -2: valid
		text string
	}{
		{txidA, -2, ""},
		{strings.ToUpper(txidA), -2, ""},
		{"", -1, `"" is not 64 hex digits: it has 0 characters`},
		{txidA[:63], -1, `"` + txidA[:63] + `" is not 64 hex digits: it has 63 characters`},
		{txidA + "\n", -1, `"` + txidA + `\n" is not 64 hex digits: it has 65 characters`},
		{"g" + txidA[1:], 0, `"g` + txidA[1:] + `" is not 64 hex digits: character 0 ('g') is not hex`},
		{txidA[:10] + " " + txidA[11:], 10, `"` + txidA[:10] + " " + txidA[11:] + `" is not 64 hex digits: character 10 (' ') is not hex`},
		{strings.Repeat("é", 32), 0, ""},
	}
	for _, tt := range tests {
		err := walletgate.CheckHash(tt.in)
		if tt.pos == -2 {
			if err != nil {
				t.Errorf("CheckHash(%q) = %v", tt.in, err)
			}
			continue
		}
		var he *walletgate.HashError
		if !errors.As(err, &he) || he.Pos != tt.pos || he.Text != tt.in {
			t.Errorf("CheckHash(%q) = %#v; want Pos %d", tt.in, err, tt.pos)
			continue
		}
		if tt.text != "" && err.Error() != tt.text {
			t.Errorf("CheckHash(%q) text %s; want %s", tt.in, err, tt.text)
		}
	}
}

var hashRE = regexp.MustCompile(`^[0-9a-fA-F]{64}\z`)

// FuzzCheckHash: CheckHash agrees with the Bitweb regex and with
// hex.DecodeString, and its Pos names the first bad character.
func FuzzCheckHash(f *testing.F) {
	f.Add(txidA)
	f.Add(strings.ToUpper(txidA))
	f.Add(txidA[:63] + "z")
	f.Add(txidA + "\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		err := walletgate.CheckHash(s)
		b, decErr := hex.DecodeString(s)
		if (err == nil) != hashRE.MatchString(s) || (err == nil) != (decErr == nil && len(b) == 32) {
			t.Fatalf("CheckHash(%q) = %v; regex %v, decode %v", s, err, hashRE.MatchString(s), decErr)
		}
		if err == nil {
			return
		}
		var he *walletgate.HashError
		if !errors.As(err, &he) || he.Text != s {
			t.Fatalf("CheckHash(%q) = %#v", s, err)
		}
		if he.Pos >= 0 && (len(s) != 64 || hashRE.MatchString(s[:he.Pos]+strings.Repeat("0", 64-he.Pos)) == false ||
			strings.ContainsAny(s[he.Pos:he.Pos+1], "0123456789abcdefABCDEF")) {
			t.Fatalf("CheckHash(%q): Pos %d", s, he.Pos)
		}
		if he.Pos < 0 && len(s) == 64 {
			t.Fatalf("CheckHash(%q): length error for 64 characters", s)
		}
	})
}
