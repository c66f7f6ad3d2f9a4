package chain

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2/bech32"
)

// The generic string vectors of BIP173 (bech32) and BIP350 (bech32m). A
// valid string must get past the checksum in decodeSegWit (it may still fail
// as a segwit address); an invalid one must fail with the given kind.
func TestBIPStringVectors(t *testing.T) {
	valid := []struct {
		s       string
		bech32m bool
	}{
		{"A12UEL5L", false},
		{"a12uel5l", false},
		{"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs", false},
		{"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", false},
		{"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j", false},
		{"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", false},
		{"?1ezyfcl", false},
		{"A1LQFN3A", true},
		{"a1lqfn3a", true},
		{"an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6", true},
		{"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", true},
		{"11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8", true},
		{"split1checkupstagehandshakeupstreamerranterredcaperredlc445v", true},
		{"?1v759aa", true},
	}
	structural := map[ErrorKind]bool{KindBadChar: true, KindBadFormat: true, KindBadChecksum: true, KindMixedCase: true, KindWrongHRP: true}
	for _, tc := range valid {
		t.Run("valid/"+tc.s, func(t *testing.T) {
			hrp := strings.ToLower(tc.s[:strings.LastIndexByte(tc.s, '1')])
			_, _, err := decodeSegWit(tc.s, hrp, true)
			if err != nil && structural[err.Kind] {
				t.Fatalf("valid string refused at the bech32 layer: %s (%s)", err, err.Kind)
			}
			// No string is valid as both bech32 and bech32m.
			_, _, enc, derr := bech32.DecodeGeneric(tc.s)
			want := bech32.Version0
			if tc.bech32m {
				want = bech32.VersionM
			}
			if derr != nil || enc != want {
				t.Fatalf("checksum variant = %v, %v; want %v", enc, derr, want)
			}
		})
	}

	invalid := []struct {
		s    string
		kind ErrorKind
	}{
		// BIP173
		{"\x201nwldj5", KindBadChar},
		{"\x7f1axkwrx", KindBadChar},
		{"\x801eym55h", KindBadChar},
		{"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", KindBadFormat},
		{"pzry9x0s0muk", KindBadFormat},
		{"1pzry9x0s0muk", KindBadFormat},
		{"x1b4n0q5v", KindBadChar},
		{"li1dgmt3", KindBadFormat},
		{"de1lg7wt\xff", KindBadChar},
		{"A1G7SGD8", KindBadChecksum},
		{"10a06t8", KindBadFormat},
		{"1qzzfhee", KindBadFormat},
		// BIP350
		{"\x201xj0phk", KindBadChar},
		{"\x7f1g6xzxy", KindBadChar},
		{"\x801vctc34", KindBadChar},
		{"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", KindBadFormat},
		{"qyrz8wqd2c9m", KindBadFormat},
		{"1qyrz8wqd2c9m", KindBadFormat},
		{"y1b0jsk6g", KindBadChar},
		{"lt1igcx5c0", KindBadChar},
		{"in1muywd", KindBadFormat},
		{"mm1crxm3i", KindBadChar},
		{"au1s5cgom", KindBadChar},
		{"M1VUXWEZ", KindBadChecksum},
		{"16plkw9", KindBadFormat},
		{"1p2gdwpf", KindBadFormat},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.s, func(t *testing.T) {
			hrp := ""
			if i := strings.LastIndexByte(tc.s, '1'); i > 0 {
				hrp = strings.ToLower(tc.s[:i])
			}
			_, _, err := decodeSegWit(tc.s, hrp, true)
			if err == nil {
				t.Fatal("invalid string accepted")
			}
			if err.Kind != tc.kind {
				t.Errorf("kind = %s (%s), want %s", err.Kind, err, tc.kind)
			}
		})
	}
}

// The segwit address vectors of BIP350 (and the v0 ones of BIP173). Valid
// ones decode to the listed scriptPubKey; through Params.Decode, the v0 and
// 32-byte v1 ones are accepted and re-encode to themselves in lower case,
// the others are refused as walletgate (like the original) pays to them not.
func TestBIPSegWitValid(t *testing.T) {
	tests := []struct {
		addr, hrp, script string
		decodes           bool // accepted by Params.Decode
		kind              ErrorKind
	}{
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc", "0014751e76e8199196d454941c45d1b3a323f1433bd6", true, ""},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "tb", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", true, ""},
		{"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "bc", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6", false, KindBadProgramLength},
		{"BC1SW50QGDZ25J", "bc", "6002751e", false, KindUnsupportedWitnessVersion},
		{"bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bc", "5210751e76e8199196d454941c45d1b3a323", false, KindUnsupportedWitnessVersion},
		{"tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "tb", "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433", true, ""},
		{"tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "tb", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433", true, ""},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bc", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", true, ""},
	}
	nets := map[string]*Params{"bc": mustLookup(t, "btc", "mainnet"), "tb": mustLookup(t, "btc", "testnet")}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			version, program, err := decodeSegWit(tc.addr, tc.hrp, true)
			if err != nil {
				t.Fatalf("decodeSegWit: %v", err)
			}
			if got := hex.EncodeToString(witnessScript(version, program)); got != tc.script {
				t.Fatalf("script = %s, want %s", got, tc.script)
			}
			p := nets[tc.hrp]
			a, derr := p.Decode(tc.addr)
			if !tc.decodes {
				if AddressErrorKind(derr) != tc.kind {
					t.Fatalf("Params.Decode err = %v, want kind %s", derr, tc.kind)
				}
				return
			}
			if derr != nil {
				t.Fatalf("Params.Decode: %v", derr)
			}
			if got := hex.EncodeToString(a.Script); got != tc.script {
				t.Fatalf("Params.Decode script = %s, want %s", got, tc.script)
			}
			enc, eerr := p.Encode(a.Script)
			if eerr != nil || enc != strings.ToLower(tc.addr) {
				t.Fatalf("Encode = %q, %v; want %q", enc, eerr, strings.ToLower(tc.addr))
			}
		})
	}
}

func TestBIPSegWitInvalid(t *testing.T) {
	tests := []struct {
		addr, hrp string
		kind      ErrorKind
	}{
		// BIP350
		{"tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "bc", KindWrongHRP},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "bc", KindWrongEncoding},
		{"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "tb", KindWrongEncoding},
		{"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "bc", KindWrongEncoding},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "bc", KindWrongEncoding},
		{"tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "tb", KindWrongEncoding},
		{"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "bc", KindBadChar},
		{"BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "bc", KindUnsupportedWitnessVersion},
		{"bc1pw5dgrnzv", "bc", KindBadProgramLength},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "bc", KindBadProgramLength},
		{"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "bc", KindBadProgramLength},
		{"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "tb", KindMixedCase},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "bc", KindBadProgram},
		{"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "tb", KindBadProgram},
		{"bc1gmk9yu", "bc", KindEmptyData},
		// BIP173. Where BIP350 made an older vector fail earlier (v1+ with a
		// bech32 checksum), the kind is the BIP350 one.
		{"tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "bc", KindWrongHRP},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bc", KindBadChecksum},
		{"BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "bc", KindUnsupportedWitnessVersion},
		{"bc1rw5uspcuh", "bc", KindWrongEncoding},
		{"bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90", "bc", KindWrongEncoding},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "tb", KindMixedCase},
		{"bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "bc", KindWrongEncoding},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "tb", KindBadProgram},
		// BIP173 valid v1+ vectors, invalid since BIP350 (bech32, not bech32m).
		{"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx", "bc", KindWrongEncoding},
		{"BC1SW50QA3JX3S", "bc", KindWrongEncoding},
		{"bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", "bc", KindWrongEncoding},
	}
	nets := map[string]*Params{"bc": mustLookup(t, "btc", "mainnet"), "tb": mustLookup(t, "btc", "testnet")}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			_, _, err := decodeSegWit(tc.addr, tc.hrp, true)
			if err == nil {
				t.Fatal("decodeSegWit accepted it")
			}
			if err.Kind != tc.kind {
				t.Errorf("kind = %s (%s), want %s", err.Kind, err, tc.kind)
			}
			if a, derr := nets[tc.hrp].Decode(tc.addr); derr == nil {
				t.Errorf("Params.Decode accepted it: %x", a.Script)
			}
		})
	}
}
