package chain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

const (
	specHash = "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"                         // h in spec §5
	specX    = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" // secp256k1 G.x
)

func mustLookup(t testing.TB, coin, network string) *Params {
	t.Helper()
	p, err := Lookup(coin, network)
	if err != nil {
		t.Fatalf("Lookup(%q, %q): %v", coin, network, err)
	}
	return p
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

// TestDecodeSpecVectors checks every positive vector of spec bitweb-api.md §5
// (computed with the original address.py) and the acceptance check of the
// issue (the web1q… scripthash).
func TestDecodeSpecVectors(t *testing.T) {
	p := mustLookup(t, "bitweb", "mainnet")
	tests := []struct {
		addr, script, scripthash string
		typ                      AddressType
	}{
		{"ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ", "76a914" + specHash + "88ac", "8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161", P2PKH},
		{"DEA5vGb2NpAwCiCp5yTE16F3DueQUVivQp", "a914" + specHash + "87", "ec35ea972385bf7d2520900c400645c6c22ba04c13b45fa2b7b942e78ea72ed6", P2SH},
		{"TiKoNBKPwJrUeKDvy5ShTc3Mt4vN6f6yBG", "76a914" + specHash + "88ac", "8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161", P2PKH},
		{"tfHCQuoFxVaoMBsJV66TXNv8uLtrEmtMTv", "a914" + specHash + "87", "ec35ea972385bf7d2520900c400645c6c22ba04c13b45fa2b7b942e78ea72ed6", P2SH},
		{"web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse", "0014" + specHash, "45dc3792fc06ee8c3b3e27ae390747f663ef0ac933aa29ade0ed0a390186bdfc", P2WPKH},
		{"WEB1QVT5S0V2UHUNA2SJNN84LDU8M2R4M3RCCDTJCSE", "0014" + specHash, "45dc3792fc06ee8c3b3e27ae390747f663ef0ac933aa29ade0ed0a390186bdfc", P2WPKH},
		{"web1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqe3y88d", "0020" + specX, "f9d3ab35231530b99019f5839a7e631ff4e869ff291dafb9b10d305cdc78c31f", P2WSH},
		{"web1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqnxywl3", "5120" + specX, "a12cf1aa7c74a6e9f54984646526173abed2a9f4a4862dc83eb94e8e8ef5220a", P2TR},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			a, err := p.Decode(tc.addr)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := hex.EncodeToString(a.Script); got != tc.script {
				t.Errorf("script = %s, want %s", got, tc.script)
			}
			if a.Type != tc.typ {
				t.Errorf("type = %s, want %s", a.Type, tc.typ)
			}
			if got := a.ScriptHash(); got != tc.scripthash {
				t.Errorf("scripthash = %s, want %s", got, tc.scripthash)
			}
			if got := ScriptHash(mustHex(t, tc.script)); got != tc.scripthash {
				t.Errorf("ScriptHash(script) = %s, want %s", got, tc.scripthash)
			}
			wantProgram := specHash
			if a.Type == P2WSH || a.Type == P2TR {
				wantProgram = specX
			}
			if got := hex.EncodeToString(a.Program); got != wantProgram {
				t.Errorf("program = %s, want %s", got, wantProgram)
			}
		})
	}
}

// TestDecodeErrors checks the refusals: the spec §5 negative vectors and
// messages, the other messages of the original, and walletgate's fixes.
func TestDecodeErrors(t *testing.T) {
	p := mustLookup(t, "bitweb", "mainnet")
	tests := []struct {
		name, addr string
		kind       ErrorKind
		msg        string
	}{
		{"v1 with bech32 checksum", "web1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqx65z6n", KindWrongEncoding,
			"Witness v1 must use bech32m encoding: 'web1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqx65z6n'"},
		{"v0 with bech32m checksum", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccchz54m", KindWrongEncoding,
			"Witness v0 must use bech32 encoding: 'web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccchz54m'"},
		{"bitcoin version byte", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", KindUnknownVersion,
			"Unknown version byte 0x00: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'"},
		{"testnet P2SH byte is uppercase hex", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", KindUnknownVersion,
			"Unknown version byte 0xC4: '2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc'"},
		{"base58 checksum", "ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLR", KindBadChecksum,
			"Invalid base58check address 'ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLR': Invalid checksum"},
		{"bc1 lands in base58", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", KindBadChar,
			"Invalid base58check address 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4': Invalid character '0'"},
		{"first bad character named", "ESAtsbUtWMZZf1d5AETBTUIQ7RREhJUFL0", KindBadChar,
			"Invalid base58check address 'ESAtsbUtWMZZf1d5AETBTUIQ7RREhJUFL0': Invalid character 'I'"},
		{"quote in input switches repr", "ESAt'sb", KindBadChar,
			`Invalid base58check address "ESAt'sb": Invalid character "'"`},
		{"control character escaped", "ESAt\nsb", KindBadChar,
			`Invalid base58check address 'ESAt\nsb': Invalid character '\n'`},
		{"non-ASCII", "ESAtésb", KindBadChar,
			"Invalid base58check address 'ESAtésb': Invalid character 'é'"},
		{"empty", "", KindBadChecksum, "Invalid base58check address '': Invalid checksum"},
		{"too short for a checksum", "Ldp", KindBadChecksum, "Invalid base58check address 'Ldp': Invalid checksum"},
		{"20 decoded bytes", "41qk9JhaqUe1ozMU1V7VmSUtMhMcGJMoK", KindBadLength,
			"Expected 21 decoded bytes, got 20: '41qk9JhaqUe1ozMU1V7VmSUtMhMcGJMoK'"},
		{"22 decoded bytes", "21jAcBqGTR88EER9mnafczpNXefoZjXUgT9a", KindBadLength,
			"Expected 21 decoded bytes, got 22: '21jAcBqGTR88EER9mnafczpNXefoZjXUgT9a'"},
		{"bech32 checksum", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsf", KindBadChecksum,
			"Invalid bech32/bech32m address: 'web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsf'"},
		{"bech32 bad data character", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsb", KindBadChar,
			"Invalid bech32/bech32m address: 'web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsb'"},
		{"bech32 space", "web1qvt5s0v2uhuna2 sjnn84ldu8m2r4m3rccdtjcse", KindBadChar,
			"Invalid bech32/bech32m address: 'web1qvt5s0v2uhuna2 sjnn84ldu8m2r4m3rccdtjcse'"},
		{"bech32 checksum too short", "web1qvt5s", KindBadFormat, "Invalid bech32/bech32m address: 'web1qvt5s'"},
		{"unknown HRP", "web1test1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg33gkxlf", KindWrongHRP,
			"Unknown HRP 'web1test': 'web1test1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg33gkxlf'"},
		{"empty data", "web1ls6jn0", KindEmptyData, "Empty bech32 data: 'web1ls6jn0'"},
		{"more than 4 padding bits", "web1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qur9epe", KindBadProgram,
			"Cannot decode witness program: 'web1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qur9epe'"},
		{"v0 of 16 bytes", "web1qzyg3zyg3zyg3zyg3zyg3zyg3zyfk4m9q", KindBadProgramLength,
			"Witness v0 program must be 20 or 32 bytes, got 16: 'web1qzyg3zyg3zyg3zyg3zyg3zyg3zyfk4m9q'"},
		{"v1 of 20 bytes", "web1pzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg33pf3dk", KindBadProgramLength,
			"Witness v1 (Taproot) program must be 32 bytes, got 20: 'web1pzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg33pf3dk'"},
		{"v1 of 41 bytes (2..40 check)", "web1pqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvqpxe6s", KindBadProgramLength,
			"Witness program must be 2 to 40 bytes, got 41: 'web1pqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcrqvqpxe6s'"},
		{"v2", "web1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qsvmjrv", KindUnsupportedWitnessVersion,
			"Unsupported witness version 2: 'web1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qsvmjrv'"},
		{"v17", "web13yg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qy9clct", KindUnsupportedWitnessVersion,
			"Unsupported witness version 17: 'web13yg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qy9clct'"},
		{"mixed case refused (fix)", "Web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse", KindMixedCase,
			"Mixed-case bech32 address (use all lower or all upper case): 'Web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcse'"},
		{"mixed case in data refused (fix)", "web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsE", KindMixedCase,
			"Mixed-case bech32 address (use all lower or all upper case): 'web1qvt5s0v2uhuna2sjnn84ldu8m2r4m3rccdtjcsE'"},
		{"longer than 90", "web1" + strings.Repeat("q", 87), KindTooLong, "Address too long: 91 characters, at most 90"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := p.Decode(tc.addr)
			if err == nil {
				t.Fatalf("Decode(%q) = %x, want error %q", tc.addr, a.Script, tc.msg)
			}
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("Decode(%q) error %T %v is not *AddressError", tc.addr, err, err)
			}
			if ae.Kind != tc.kind || AddressErrorKind(err) != tc.kind {
				t.Errorf("kind = %s, want %s", ae.Kind, tc.kind)
			}
			if err.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", err.Error(), tc.msg)
			}
			if ae.Address != tc.addr {
				t.Errorf("Address = %q, want the input %q", ae.Address, tc.addr)
			}
		})
	}
}

// TestUpperBech32Setting: all-upper bech32 follows AcceptUpperBech32, which
// is on for every coin by default; the config can turn it off.
func TestUpperBech32Setting(t *testing.T) {
	const upper = "WEB1QVT5S0V2UHUNA2SJNN84LDU8M2R4M3RCCDTJCSE"
	for _, c := range Coins() {
		if c.Bech32HRP != "" && !c.AcceptUpperBech32 {
			t.Errorf("%s: AcceptUpperBech32 is off by default", c.Key())
		}
	}
	off := false
	p, err := mustLookup(t, "bitweb", "mainnet").WithOverrides(Overrides{AcceptUpperBech32: &off})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Decode(upper)
	if AddressErrorKind(err) != KindUpperCase {
		t.Fatalf("Decode(upper) with AcceptUpperBech32 off: err = %v, want kind %s", err, KindUpperCase)
	}
	if _, err := p.Decode(strings.ToLower(upper)); err != nil {
		t.Fatalf("lower case must still decode: %v", err)
	}
}

// TestLegacyVersions: 0x42/0x80 are accepted only through LegacyVersions,
// which config can replace.
func TestLegacyVersions(t *testing.T) {
	const legacyP2PKH = "TiKoNBKPwJrUeKDvy5ShTc3Mt4vN6f6yBG" // 0x42
	const legacyP2SH = "tfHCQuoFxVaoMBsJV66TXNv8uLtrEmtMTv"  // 0x80
	web := mustLookup(t, "bitweb", "mainnet")

	none := []LegacyVersion{}
	off, err := web.WithOverrides(Overrides{LegacyVersions: &none})
	if err != nil {
		t.Fatal(err)
	}
	for addr, b := range map[string]string{legacyP2PKH: "0x42", legacyP2SH: "0x80"} {
		_, err := off.Decode(addr)
		if want := "Unknown version byte " + b + ": '" + addr + "'"; err == nil || err.Error() != want {
			t.Errorf("Decode(%s) with legacy off: err = %v, want %q", addr, err, want)
		}
	}
	// The original Params value is untouched by the override.
	if _, err := web.Decode(legacyP2PKH); err != nil {
		t.Errorf("default Bitweb mainnet lost its legacy bytes: %v", err)
	}
	// The legacy address re-encodes to the canonical version byte.
	a, err := web.Decode(legacyP2SH)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := web.Encode(a.Script); got != "DEA5vGb2NpAwCiCp5yTE16F3DueQUVivQp" {
		t.Errorf("canonical form of %s = %s", legacyP2SH, got)
	}

	for _, c := range Coins() {
		if c.Key() != "bitweb/mainnet" && len(c.LegacyVersions) != 0 {
			t.Errorf("%s has legacy versions by default: %v", c.Key(), c.LegacyVersions)
		}
	}
	// Turned on for another coin: Litecoin's old "3…" P2SH addresses.
	ltcLegacy := []LegacyVersion{{Version: 0x05, Type: P2SH}}
	ltc, err := mustLookup(t, "ltc", "mainnet").WithOverrides(Overrides{LegacyVersions: &ltcLegacy})
	if err != nil {
		t.Fatal(err)
	}
	a, err = ltc.Decode("3Ai1JZ8pdJb2ksieUV8FsxSNVJCpoPi8W6") // 0x05, hash 62e907…
	if err != nil {
		t.Fatalf("ltc with legacy 0x05: %v", err)
	}
	if got := hex.EncodeToString(a.Script); got != "a914"+specHash+"87" || a.Type != P2SH {
		t.Errorf("ltc legacy decode = %s %s", a.Type, got)
	}
}

func TestWithOverridesRejectsBadLegacy(t *testing.T) {
	web := mustLookup(t, "bitweb", "mainnet")
	tests := []struct {
		name string
		lv   []LegacyVersion
		want string
	}{
		{"segwit type", []LegacyVersion{{Version: 0x42, Type: P2WPKH}}, "must map to p2pkh or p2sh"},
		{"zero type", []LegacyVersion{{Version: 0x42}}, "must map to p2pkh or p2sh"},
		{"own P2PKH byte", []LegacyVersion{{Version: 0x21, Type: P2SH}}, "version 0x21"},
		{"own P2SH byte", []LegacyVersion{{Version: 0x1E, Type: P2PKH}}, "version 0x1E"},
		{"duplicate", []LegacyVersion{{Version: 0x42, Type: P2PKH}, {Version: 0x42, Type: P2SH}}, "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := web.WithOverrides(Overrides{LegacyVersions: &tc.lv})
			if !errors.Is(err, ErrBadOverride) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bitweb/mainnet") {
				t.Errorf("err = %v, want ErrBadOverride naming the coin and %q", err, tc.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	btc := mustLookup(t, "btc", "mainnet")
	doge := mustLookup(t, "doge", "mainnet")
	x := mustHex(t, specX)
	tests := []struct {
		name   string
		p      *Params
		script []byte
		want   error
	}{
		{"empty", btc, nil, ErrNonStandardScript},
		{"OP_RETURN", btc, mustHex(t, "6a0568656c6c6f"), ErrNonStandardScript},
		{"P2PK", btc, append(append([]byte{33}, 2), append(x, 0xac)...), ErrNonStandardScript},
		{"P2PKH with wrong push", btc, mustHex(t, "76a915"+specHash+"0088ac"), ErrNonStandardScript},
		{"witness v2", btc, append([]byte{0x52, 32}, x...), ErrNonStandardScript},
		{"v0 push length lies", btc, append([]byte{0x00, 20}, x...), ErrNonStandardScript},
		{"P2WPKH on dogecoin", doge, mustHex(t, "0014"+specHash), ErrNoSegWit},
		{"P2TR on dogecoin", doge, append([]byte{0x51, 32}, x...), ErrNoSegWit},
		{"huge script", btc, bytes.Repeat([]byte{0xab}, 100000), ErrNonStandardScript},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, err := tc.p.Encode(tc.script)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode = %q, %v; want %v", addr, err, tc.want)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message is %d bytes long; the script must be shortened", len(err.Error()))
			}
		})
	}
}
