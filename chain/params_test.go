package chain

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"go.yaml.in/yaml/v3"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		coin, network      string
		wantCoin, wantNet  string
		p2pkh, p2sh, wif   byte
		hrp                string
		port, rpc, matured int
	}{
		{"bitweb", "mainnet", "bitweb", "mainnet", 0x21, 0x1e, 0x80, "web", 26333, 26332, 100},
		{"Bitweb", "MAIN", "bitweb", "mainnet", 0x21, 0x1e, 0x80, "web", 26333, 26332, 100},
		{"bitweb", "testnet", "bitweb", "testnet", 111, 196, 239, "tb", 18333, 0, 100},
		{"bitweb", "regtest", "bitweb", "regtest", 111, 196, 239, "bcrt", 18444, 0, 100},
		{"btc", "mainnet", "btc", "mainnet", 0x00, 0x05, 0x80, "bc", 8333, 8332, 100},
		{"bitcoin", "test", "btc", "testnet", 0x6f, 0xc4, 0xef, "tb", 18333, 18332, 100},
		{"btc", "testnet3", "btc", "testnet", 0x6f, 0xc4, 0xef, "tb", 18333, 18332, 100},
		{"btc", "testnet4", "btc", "testnet4", 0x6f, 0xc4, 0xef, "tb", 48333, 48332, 100},
		{"btc", "signet", "btc", "signet", 0x6f, 0xc4, 0xef, "tb", 38333, 38332, 100},
		{" btc ", "regtest", "btc", "regtest", 0x6f, 0xc4, 0xef, "bcrt", 18444, 18443, 100},
		{"ltc", "mainnet", "ltc", "mainnet", 0x30, 0x32, 0xb0, "ltc", 9333, 9332, 100},
		{"litecoin", "testnet", "ltc", "testnet", 0x6f, 0x3a, 0xef, "tltc", 19335, 19332, 100},
		{"doge", "mainnet", "doge", "mainnet", 0x1e, 0x16, 0x9e, "", 22556, 22555, 240},
		{"dogecoin", "testnet", "doge", "testnet", 0x71, 0xc4, 0xf1, "", 44556, 44555, 240},
		{"bsv", "mainnet", "bsv", "mainnet", 0x00, 0x05, 0x80, "", 8333, 8332, 100},
		{"bitcoinsv", "testnet", "bsv", "testnet", 0x6f, 0xc4, 0xef, "", 18333, 18332, 100},
		{"bsv", "regtest", "bsv", "regtest", 0x6f, 0xc4, 0xef, "", 18444, 18332, 100},
	}
	for _, tc := range tests {
		t.Run(tc.coin+"/"+tc.network, func(t *testing.T) {
			p := mustLookup(t, tc.coin, tc.network)
			if p.Coin != tc.wantCoin || p.Network != tc.wantNet {
				t.Errorf("got %s, want %s/%s", p.Key(), tc.wantCoin, tc.wantNet)
			}
			if p.PubKeyHashAddrID != tc.p2pkh || p.ScriptHashAddrID != tc.p2sh || p.PrivateKeyID != tc.wif {
				t.Errorf("bytes = %#x %#x %#x, want %#x %#x %#x", p.PubKeyHashAddrID, p.ScriptHashAddrID, p.PrivateKeyID, tc.p2pkh, tc.p2sh, tc.wif)
			}
			if p.Bech32HRP != tc.hrp || p.SegWit != (tc.hrp != "") {
				t.Errorf("hrp = %q segwit = %v, want %q", p.Bech32HRP, p.SegWit, tc.hrp)
			}
			if p.DefaultPort != tc.port || p.DefaultRPCPort != tc.rpc || p.CoinbaseMaturity != tc.matured {
				t.Errorf("ports %d/%d maturity %d, want %d/%d %d", p.DefaultPort, p.DefaultRPCPort, p.CoinbaseMaturity, tc.port, tc.rpc, tc.matured)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		coin, network string
		is            error
		want          string
	}{
		{"eth", "mainnet", ErrUnknownCoin, `chain: unknown coin "eth" (known: bitweb, btc, ltc, doge, bsv)`},
		{"", "mainnet", ErrUnknownCoin, `chain: unknown coin ""`},
		{"doge", "signet", ErrUnknownNetwork, `chain: unknown network "signet" for coin doge (known: mainnet, testnet)`},
		{"bitweb", "testnet4", ErrUnknownNetwork, `(known: mainnet, testnet, regtest)`},
		{"btc", "simnet", ErrUnknownNetwork, `(known: mainnet, testnet, testnet4, signet, regtest)`},
	}
	for _, tc := range tests {
		t.Run(tc.coin+"/"+tc.network, func(t *testing.T) {
			p, err := Lookup(tc.coin, tc.network)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Lookup = %v, %v; want %v containing %q", p, err, tc.is, tc.want)
			}
		})
	}
}

// TestCoins checks the registry as a whole: stable order, one entry per
// coin/network, and fields that agree with each other.
func TestCoins(t *testing.T) {
	var keys []string
	for _, p := range Coins() {
		keys = append(keys, p.Key())
		if p.Name == "" || p.DefaultPort <= 0 || p.CoinbaseMaturity <= 0 {
			t.Errorf("%s: incomplete: %+v", p.Key(), *p)
		}
		if p.PubKeyHashAddrID == p.ScriptHashAddrID {
			t.Errorf("%s: P2PKH and P2SH share byte %#x", p.Key(), p.PubKeyHashAddrID)
		}
		if p.SegWit != (p.Bech32HRP != "") || (p.Taproot && !p.SegWit) {
			t.Errorf("%s: segwit %v taproot %v with HRP %q", p.Key(), p.SegWit, p.Taproot, p.Bech32HRP)
		}
		if p.GenesisHash != "" && len(p.GenesisHash) != 64 {
			t.Errorf("%s: genesis hash %q is not 64 hex digits", p.Key(), p.GenesisHash)
		}
		if q := mustLookup(t, p.Coin, p.Network); q.Key() != p.Key() {
			t.Errorf("Lookup(%s) = %s", p.Key(), q.Key())
		}
	}
	want := []string{
		"bitweb/mainnet", "bitweb/testnet", "bitweb/regtest",
		"btc/mainnet", "btc/testnet", "btc/testnet4", "btc/signet", "btc/regtest",
		"ltc/mainnet", "ltc/testnet",
		"doge/mainnet", "doge/testnet",
		"bsv/mainnet", "bsv/testnet", "bsv/regtest",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("Coins() order\n got %v\nwant %v", keys, want)
	}
}

// Each call hands out its own values: changing one must not leak.
func TestLookupReturnsCopies(t *testing.T) {
	p := mustLookup(t, "bitweb", "mainnet")
	p.PubKeyHashAddrID = 0
	p.LegacyVersions[0].Version = 0x99
	p.LegacyVersions = append(p.LegacyVersions, LegacyVersion{Version: 1, Type: P2SH})
	q := mustLookup(t, "bitweb", "mainnet")
	if q.PubKeyHashAddrID != 0x21 || len(q.LegacyVersions) != 2 || q.LegacyVersions[0].Version != 0x42 {
		t.Fatalf("a change to one Lookup result leaked into the next: %+v", *q)
	}
	c := Coins()
	c[0].Bech32HRP = "xx"
	if Coins()[0].Bech32HRP != "web" {
		t.Fatal("a change to a Coins() result leaked into the next call")
	}
}

// The genesis hashes and network magic that Bitcoin shares with btcd's own
// tables must match them (Bitcoin SV shares Bitcoin's genesis blocks).
func TestGenesisMatchesBtcd(t *testing.T) {
	tests := []struct {
		coin, network string
		btcd          *chaincfg.Params
		sameMagic     bool
	}{
		{"btc", "mainnet", &chaincfg.MainNetParams, true},
		{"btc", "testnet", &chaincfg.TestNet3Params, true},
		{"btc", "testnet4", &chaincfg.TestNet4Params, true},
		{"btc", "signet", &chaincfg.SigNetParams, true},
		{"btc", "regtest", &chaincfg.RegressionNetParams, true},
		{"bsv", "mainnet", &chaincfg.MainNetParams, false},
		{"bsv", "testnet", &chaincfg.TestNet3Params, false},
		{"bsv", "regtest", &chaincfg.RegressionNetParams, false},
	}
	for _, tc := range tests {
		t.Run(tc.coin+"/"+tc.network, func(t *testing.T) {
			p := mustLookup(t, tc.coin, tc.network)
			if p.GenesisHash != tc.btcd.GenesisHash.String() {
				t.Errorf("genesis %s, btcd has %s", p.GenesisHash, tc.btcd.GenesisHash)
			}
			cp := p.ChainParams()
			if (cp.Net == tc.btcd.Net) != tc.sameMagic {
				t.Errorf("magic %v vs btcd %v, want same=%v", cp.Net, tc.btcd.Net, tc.sameMagic)
			}
			if cp.DefaultPort != tc.btcd.DefaultPort {
				t.Errorf("port %s, btcd has %s", cp.DefaultPort, tc.btcd.DefaultPort)
			}
		})
	}
}

func TestChainParams(t *testing.T) {
	for _, p := range Coins() {
		t.Run(p.Key(), func(t *testing.T) {
			cp := p.ChainParams()
			if cp.PubKeyHashAddrID != p.PubKeyHashAddrID || cp.ScriptHashAddrID != p.ScriptHashAddrID ||
				cp.PrivateKeyID != p.PrivateKeyID || cp.Bech32HRPSegwit != p.Bech32HRP {
				t.Errorf("address bytes not carried over: %+v", cp)
			}
			if int(cp.CoinbaseMaturity) != p.CoinbaseMaturity || cp.Name != p.Coin+"-"+p.Network {
				t.Errorf("maturity %d name %q", cp.CoinbaseMaturity, cp.Name)
			}
			if p.GenesisHash == "" {
				if cp.GenesisHash != nil {
					t.Errorf("unknown genesis given as %s", cp.GenesisHash)
				}
			} else if cp.GenesisHash == nil || cp.GenesisHash.String() != p.GenesisHash {
				t.Errorf("genesis %v, want %s", cp.GenesisHash, p.GenesisHash)
			}
			if p.Coin != "btc" && (cp.GenesisBlock != nil || cp.Checkpoints != nil || cp.DNSSeeds != nil) {
				t.Error("Bitcoin's genesis block, checkpoints or seeds leaked into another coin")
			}
		})
	}
	// The Bitweb magic feaed5ca read as btcd's little-endian BitcoinNet.
	if got := mustLookup(t, "bitweb", "mainnet").ChainParams().Net; uint32(got) != 0xcad5aefe {
		t.Errorf("bitweb magic = %#x, want 0xcad5aefe", uint32(got))
	}
	// Bitcoin's btcd table is not modified by building ours.
	if chaincfg.MainNetParams.Bech32HRPSegwit != "bc" || chaincfg.MainNetParams.PubKeyHashAddrID != 0 {
		t.Fatal("ChainParams modified btcd's MainNetParams")
	}
}

// The operator sets overrides in YAML; this is the shape the config file uses.
func TestOverridesFromYAML(t *testing.T) {
	tests := []struct {
		name, doc   string
		wantLegacy  []LegacyVersion
		wantUpper   bool
		wantErrPart string
	}{
		{"keep defaults", `{}`, []LegacyVersion{{0x42, P2PKH}, {0x80, P2SH}}, true, ""},
		{"legacy off", "legacy_versions: []\n", []LegacyVersion{}, true, ""},
		{"replace legacy, upper off", "legacy_versions:\n  - {version: 0x42, type: p2pkh}\naccept_upper_bech32: false\n",
			[]LegacyVersion{{0x42, P2PKH}}, false, ""},
		{"decimal byte and upper-case type", "legacy_versions: [{version: 66, type: P2PKH}]\n", []LegacyVersion{{0x42, P2PKH}}, true, ""},
		{"unknown type", "legacy_versions: [{version: 0x42, type: p2x}]\n", nil, false, `unknown address type "p2x"`},
		{"byte out of range", "legacy_versions: [{version: 300, type: p2sh}]\n", nil, false, "300"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o Overrides
			err := yaml.Unmarshal([]byte(tc.doc), &o)
			if tc.wantErrPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrPart) {
					t.Fatalf("yaml error = %v, want one containing %q", err, tc.wantErrPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := mustLookup(t, "bitweb", "mainnet").WithOverrides(o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.LegacyVersions, tc.wantLegacy) || p.AcceptUpperBech32 != tc.wantUpper {
				t.Errorf("got legacy %v upper %v, want %v %v", p.LegacyVersions, p.AcceptUpperBech32, tc.wantLegacy, tc.wantUpper)
			}
		})
	}
	out, err := yaml.Marshal(Overrides{LegacyVersions: &[]LegacyVersion{{0x80, P2SH}}})
	if err != nil || !strings.Contains(string(out), "type: p2sh") {
		t.Errorf("yaml.Marshal = %q, %v", out, err)
	}
}

func TestAddressTypeText(t *testing.T) {
	for typ := P2PKH; typ <= P2TR; typ++ {
		b, err := typ.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back AddressType
		if err := back.UnmarshalText(b); err != nil || back != typ {
			t.Errorf("%s: round trip gave %v, %v", typ, back, err)
		}
	}
	if _, err := AddressType(0).MarshalText(); err == nil {
		t.Error("MarshalText of the zero type succeeded")
	}
	if s := AddressType(9).String(); s != "AddressType(9)" {
		t.Errorf("String of an unknown type = %q", s)
	}
}
