package chain

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2/base58"
)

// FuzzDecode: Decode never panics; a refusal is an *AddressError that quotes
// the input; an acceptance re-encodes to the canonical form, which decodes to
// the same script and differs from the input only by case or a legacy
// version byte.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "1", "web1", "WEB1", "web1ls6jn0",
		"ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ", "DEA5vGb2NpAwCiCp5yTE16F3DueQUVivQp",
		"TiKoNBKPwJrUeKDvy5ShTc3Mt4vN6f6yBG", "tfHCQuoFxVaoMBsJV66TXNv8uLtrEmtMTv",
		"web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse", "WEB1QVT5S0V2UHUNA2SJNN84LDU8M2R4M3RCCDTJCSE",
		"web1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqe3y88d",
		"web1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqnxywl3",
		"web1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqx65z6n",
		"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
		"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
		"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "BC1SW50QGDZ25J",
		"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
		"E'\"\\\x00é\xff", strings.Repeat("1", 91),
	} {
		f.Add(s)
	}
	// Every coin as shipped, plus Bitweb with both config switches flipped.
	coins := Coins()
	off, none := false, []LegacyVersion{}
	strict, err := coins[0].WithOverrides(Overrides{AcceptUpperBech32: &off, LegacyVersions: &none})
	if err != nil {
		f.Fatal(err)
	}
	coins = append(coins, strict)
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range coins {
			a, err := p.Decode(s)
			if err != nil {
				var ae *AddressError
				if !errors.As(err, &ae) || ae.Kind == "" || ae.Message == "" || ae.Address != s {
					t.Fatalf("%s Decode(%q): bad error %#v", p.Key(), s, err)
				}
				if ae.Kind != KindTooLong && !strings.Contains(ae.Message, PyRepr(s)) {
					t.Fatalf("%s Decode(%q): message %q does not quote the input", p.Key(), s, ae.Message)
				}
				continue
			}
			if !bytes.HasSuffix(a.Script, a.Program) && !bytes.Contains(a.Script, a.Program) {
				t.Fatalf("%s Decode(%q): program %x not in script %x", p.Key(), s, a.Program, a.Script)
			}
			canon, err := p.Encode(a.Script)
			if err != nil {
				t.Fatalf("%s: Decode(%q) = %x but Encode fails: %v", p.Key(), s, a.Script, err)
			}
			b, err := p.Decode(canon)
			if err != nil || b.Type != a.Type || !bytes.Equal(b.Script, a.Script) {
				t.Fatalf("%s: canonical %q of %q decodes to %x, %v; want %x", p.Key(), canon, s, b.Script, err, a.Script)
			}
			if canon == s || (a.Type >= P2WPKH && canon == strings.ToLower(s)) {
				continue
			}
			if _, version, err := base58.CheckDecode(s); err == nil && a.Type <= P2SH {
				if _, legacy := p.legacyType(version); legacy {
					continue
				}
			}
			t.Fatalf("%s: %q decodes but its canonical form is %q", p.Key(), s, canon)
		}
	})
}

// fuzzScript builds a script of the given kind from arbitrary bytes: the
// five standard templates (program padded or cut to size) or the raw bytes.
func fuzzScript(kind uint8, data []byte) (AddressType, []byte) {
	fit := func(n int) []byte {
		b := make([]byte, n)
		copy(b, data)
		return b
	}
	switch kind % 6 {
	case 0:
		return P2PKH, p2pkhScript(fit(20))
	case 1:
		return P2SH, p2shScript(fit(20))
	case 2:
		return P2WPKH, witnessScript(0, fit(20))
	case 3:
		return P2WSH, witnessScript(0, fit(32))
	case 4:
		return P2TR, witnessScript(1, fit(32))
	}
	return 0, data
}

// FuzzScriptRoundTrip: script -> address -> script gives the script back on
// every coin, every standard script encodes where the coin has its type, and
// no script makes Encode panic.
func FuzzScriptRoundTrip(f *testing.F) {
	for k := uint8(0); k < 6; k++ {
		f.Add(k, []byte{})
		f.Add(k, bytes.Repeat([]byte{0xff}, 32))
	}
	f.Add(uint8(5), []byte{0x76, 0xa9, 0x14})
	f.Add(uint8(5), append([]byte{0x00, 0x14}, make([]byte, 20)...))
	f.Add(uint8(5), append([]byte{0x52, 0x20}, make([]byte, 32)...))
	f.Add(uint8(5), append([]byte{0x51, 0x20}, make([]byte, 31)...))
	coins := Coins()
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		typ, script := fuzzScript(kind, data)
		for _, p := range coins {
			addr, err := p.Encode(script)
			if err != nil {
				if typ != 0 && supports(p, typ) {
					t.Fatalf("%s: Encode(%s %x): %v", p.Key(), typ, script, err)
				}
				continue
			}
			a, err := p.Decode(addr)
			if err != nil {
				t.Fatalf("%s: Encode(%x) = %q, which does not decode: %v", p.Key(), script, addr, err)
			}
			if !bytes.Equal(a.Script, script) || (typ != 0 && a.Type != typ) {
				t.Fatalf("%s: %x -> %q -> %s %x", p.Key(), script, addr, a.Type, a.Script)
			}
		}
	})
}
