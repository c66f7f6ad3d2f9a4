package chain

import (
	"bytes"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/address/v2/bech32"
)

// standardScripts returns one script of each type for a program pattern.
func standardScripts(fill byte) map[AddressType][]byte {
	h := bytes.Repeat([]byte{fill}, 20)
	x := bytes.Repeat([]byte{fill}, 32)
	h[0], x[0] = 0x01, 0x02 // not all one byte, so byte order matters
	return map[AddressType][]byte{
		P2PKH:  p2pkhScript(h),
		P2SH:   p2shScript(h),
		P2WPKH: witnessScript(0, h),
		P2WSH:  witnessScript(0, x),
		P2TR:   witnessScript(1, x),
	}
}

func supports(p *Params, typ AddressType) bool {
	switch typ {
	case P2WPKH, P2WSH:
		return p.SegWit
	case P2TR:
		return p.Taproot
	}
	return true
}

// TestRoundTrip: for every coin, network and type, script -> address ->
// script gives the script back, the all-upper form of a bech32 address
// decodes to the same script, and btcd's own address code, given
// ChainParams, writes the same address.
func TestRoundTrip(t *testing.T) {
	for _, p := range Coins() {
		for _, fill := range []byte{0x00, 0x5a, 0xff} {
			for typ, script := range standardScripts(fill) {
				t.Run(p.Key()+"/"+typ.String(), func(t *testing.T) {
					addr, err := p.Encode(script)
					if !supports(p, typ) {
						if err == nil {
							t.Fatalf("Encode gave %s for a type the coin lacks", addr)
						}
						return
					}
					if err != nil {
						t.Fatalf("Encode(%x): %v", script, err)
					}
					a, err := p.Decode(addr)
					if err != nil {
						t.Fatalf("Decode(%s): %v", addr, err)
					}
					if a.Type != typ || !bytes.Equal(a.Script, script) {
						t.Fatalf("Decode(%s) = %s %x, want %s %x", addr, a.Type, a.Script, typ, script)
					}
					if typ >= P2WPKH {
						up, err := p.Decode(strings.ToUpper(addr))
						if err != nil || !bytes.Equal(up.Script, script) {
							t.Fatalf("upper-case %s: %x, %v", addr, up.Script, err)
						}
					}
					if want := btcdEncode(t, p, typ, a.Program); addr != want {
						t.Fatalf("Encode = %s, btcd writes %s", addr, want)
					}
				})
			}
		}
	}
}

// bech32Of builds a segwit address with btcd's encoder, for inputs no coin
// would produce.
func bech32Of(t *testing.T, hrp string, version byte, program []byte) string {
	t.Helper()
	data, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bech32.Encode(hrp, append([]byte{version}, data...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// btcdEncode writes the address with btcd's address package.
func btcdEncode(t *testing.T, p *Params, typ AddressType, program []byte) string {
	t.Helper()
	net := p.ChainParams()
	var (
		a   address.Address
		err error
	)
	switch typ {
	case P2PKH:
		a, err = address.NewAddressPubKeyHash(program, net)
	case P2SH:
		a, err = address.NewAddressScriptHashFromHash(program, net)
	case P2WPKH:
		a, err = address.NewAddressWitnessPubKeyHash(program, net)
	case P2WSH:
		a, err = address.NewAddressWitnessScriptHash(program, net)
	case P2TR:
		a, err = address.NewAddressTaproot(program, net)
	}
	if err != nil {
		t.Fatalf("btcd %s: %v", typ, err)
	}
	return a.EncodeAddress()
}

// TestAddressPrefixes checks the version bytes against the first characters
// every user of these coins knows (and a known real address per coin).
func TestAddressPrefixes(t *testing.T) {
	tests := []struct {
		coin, network string
		p2pkh, p2sh   string // allowed first characters
	}{
		{"bitweb", "mainnet", "E", "D"},
		{"bitweb", "testnet", "mn", "2"},
		{"btc", "mainnet", "1", "3"},
		{"btc", "regtest", "mn", "2"},
		{"ltc", "mainnet", "L", "M"},
		{"ltc", "testnet", "mn", "Q"},
		{"doge", "mainnet", "D", "9A"},
		{"doge", "testnet", "n", "2"},
		{"bsv", "mainnet", "1", "3"},
		{"bsv", "testnet", "mn", "2"},
	}
	for _, tc := range tests {
		p := mustLookup(t, tc.coin, tc.network)
		for _, fill := range []byte{0x00, 0x80, 0xff} {
			s := standardScripts(fill)
			a1, _ := p.Encode(s[P2PKH])
			a2, _ := p.Encode(s[P2SH])
			if !strings.ContainsRune(tc.p2pkh, rune(a1[0])) || !strings.ContainsRune(tc.p2sh, rune(a2[0])) {
				t.Errorf("%s: P2PKH %s (want %q…), P2SH %s (want %q…)", p.Key(), a1, tc.p2pkh, a2, tc.p2sh)
			}
		}
	}
	known := []struct{ coin, network, addr string }{
		{"btc", "mainnet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}, // genesis coinbase
		{"bsv", "mainnet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{"btc", "mainnet", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"btc", "regtest", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"},
	}
	for _, k := range known {
		p := mustLookup(t, k.coin, k.network)
		a, err := p.Decode(k.addr)
		if err != nil {
			t.Errorf("%s %s: %v", p.Key(), k.addr, err)
			continue
		}
		if back, _ := p.Encode(a.Script); back != k.addr {
			t.Errorf("%s: %s re-encodes to %s", p.Key(), k.addr, back)
		}
	}
}

// An address of one network is refused by another with the original's
// messages.
func TestCrossNetwork(t *testing.T) {
	btc := mustLookup(t, "btc", "mainnet")
	tests := []struct {
		p    *Params
		addr string
		kind ErrorKind
	}{
		{mustLookup(t, "btc", "testnet"), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", KindUnknownVersion},
		{mustLookup(t, "ltc", "mainnet"), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", KindUnknownVersion},
		{mustLookup(t, "doge", "mainnet"), "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", KindBadChar},
		{mustLookup(t, "btc", "testnet"), "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", KindBadChar},
		{mustLookup(t, "btc", "mainnet"), "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", KindBadChar},
		{mustLookup(t, "btc", "mainnet"), "ESAtsbUtWMZZf1d5AETBTU4Q7RREhJUFLQ", KindUnknownVersion},
		// Starts with "bc1", so it is read as bech32, but its HRP is "bc1test".
		{btc, bech32Of(t, "bc1test", 0, bytes.Repeat([]byte{1}, 20)), KindWrongHRP},
		{btc, bech32Of(t, "bc1test", 0, bytes.Repeat([]byte{1}, 20)) + "b", KindBadChar},
	}
	for _, tc := range tests {
		if _, err := tc.p.Decode(tc.addr); AddressErrorKind(err) != tc.kind {
			t.Errorf("%s Decode(%s): err = %v, want kind %s", tc.p.Key(), tc.addr, err, tc.kind)
		}
	}
	// Taproot off for a coin: v1 is then an unsupported witness version.
	noTR := *mustLookup(t, "ltc", "mainnet")
	noTR.Taproot = false
	ltc := mustLookup(t, "ltc", "mainnet")
	addr, err := ltc.Encode(standardScripts(7)[P2TR])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noTR.Decode(addr); AddressErrorKind(err) != KindUnsupportedWitnessVersion {
		t.Errorf("P2TR without Taproot: err = %v", err)
	}
}
