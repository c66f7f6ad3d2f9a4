package chain

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// MaxAddressLen is the longest address string Decode looks at. It is the
// BIP173 limit for a whole bech32 string; a base58check address of any coin
// here is at most 35 characters. Longer input is refused before any decoding,
// so a huge string cannot cost big-number work.
const MaxAddressLen = 90

// AddressType is the kind of output an address pays to.
type AddressType uint8

// The address types walletgate decodes and encodes.
const (
	P2PKH  AddressType = iota + 1 // base58check, pay to public key hash
	P2SH                          // base58check, pay to script hash
	P2WPKH                        // bech32, witness v0, 20-byte program
	P2WSH                         // bech32, witness v0, 32-byte program
	P2TR                          // bech32m, witness v1, 32-byte program (Taproot)
)

func (t AddressType) name() string {
	switch t {
	case P2PKH:
		return "p2pkh"
	case P2SH:
		return "p2sh"
	case P2WPKH:
		return "p2wpkh"
	case P2WSH:
		return "p2wsh"
	case P2TR:
		return "p2tr"
	}
	return ""
}

// String returns the lowercase name ("p2pkh"), the same word the config uses.
func (t AddressType) String() string {
	if n := t.name(); n != "" {
		return n
	}
	return fmt.Sprintf("AddressType(%d)", uint8(t))
}

// MarshalText writes the lowercase name, for YAML and JSON.
func (t AddressType) MarshalText() ([]byte, error) {
	n := t.name()
	if n == "" {
		return nil, fmt.Errorf("chain: marshal address type %d: unknown type", uint8(t))
	}
	return []byte(n), nil
}

// UnmarshalText reads a name such as "p2pkh" (any case), for YAML and JSON.
func (t *AddressType) UnmarshalText(b []byte) error {
	name := strings.ToLower(strings.TrimSpace(string(b)))
	for c := P2PKH; c <= P2TR; c++ {
		if c.name() == name {
			*t = c
			return nil
		}
	}
	return fmt.Errorf("chain: unknown address type %q (want p2pkh, p2sh, p2wpkh, p2wsh or p2tr)", string(b))
}

// LegacyVersion is an extra base58 version byte that Decode accepts and maps
// to P2PKH or P2SH. Encode never produces it.
type LegacyVersion struct {
	Version byte        `yaml:"version" json:"version"`
	Type    AddressType `yaml:"type" json:"type"`
}

// Params describes one coin on one network: everything needed to turn an
// address into a script and back. Values come from Lookup or Coins, which
// build a fresh copy on every call, so a caller may change its copy (or use
// WithOverrides) without affecting anybody else.
type Params struct {
	Coin    string // short lowercase name: "bitweb", "btc", "ltc", "doge", "bsv"
	Network string // "mainnet", "testnet", "testnet4", "signet" or "regtest"
	Name    string // for people: "Bitcoin regtest"

	PubKeyHashAddrID byte // base58 version byte of P2PKH addresses
	ScriptHashAddrID byte // base58 version byte of P2SH addresses
	PrivateKeyID     byte // WIF version byte

	Bech32HRP string // segwit human-readable part; "" when the coin has no segwit
	SegWit    bool   // witness v0 addresses (P2WPKH, P2WSH) exist
	Taproot   bool   // witness v1 32-byte addresses (P2TR) exist

	// LegacyVersions are extra base58 version bytes accepted on decode. On by
	// default only for Bitweb mainnet (0x42 -> P2PKH, 0x80 -> P2SH, as the
	// original API server did); the config key legacy_versions replaces them.
	LegacyVersions []LegacyVersion

	// AcceptUpperBech32 lets an all-upper-case bech32 address through, as
	// BIP173 allows (QR codes use it). Mixed case is refused regardless.
	AcceptUpperBech32 bool

	GenesisHash      string  // block 0 hash, display hex; "" where not known
	MessageStart     [4]byte // P2P magic bytes as they appear on the wire
	DefaultPort      int     // P2P port
	DefaultRPCPort   int     // JSON-RPC port of the reference node; 0 where not known
	CoinbaseMaturity int     // blocks before a coinbase output can be spent
}

// Overrides are the per-coin settings an operator may change in the config
// file. A nil field keeps the built-in value; `legacy_versions: []` turns the
// legacy bytes off.
type Overrides struct {
	LegacyVersions    *[]LegacyVersion `yaml:"legacy_versions" json:"legacy_versions"`
	AcceptUpperBech32 *bool            `yaml:"accept_upper_bech32" json:"accept_upper_bech32"`
}

// Key returns "coin/network", the form used in logs and config errors.
func (p *Params) Key() string { return p.Coin + "/" + p.Network }

// WithOverrides returns a copy of p with o applied, after checking that each
// legacy version byte maps to P2PKH or P2SH, appears once, and does not clash
// with the coin's own P2PKH or P2SH byte.
func (p *Params) WithOverrides(o Overrides) (*Params, error) {
	c := *p
	c.LegacyVersions = slices.Clone(p.LegacyVersions)
	if o.AcceptUpperBech32 != nil {
		c.AcceptUpperBech32 = *o.AcceptUpperBech32
	}
	if o.LegacyVersions != nil {
		seen := make(map[byte]bool)
		for i, lv := range *o.LegacyVersions {
			switch {
			case lv.Type != P2PKH && lv.Type != P2SH:
				return nil, fmt.Errorf("chain: %s legacy_versions[%d]: type %s: %w: a legacy version must map to p2pkh or p2sh", p.Key(), i, lv.Type, ErrBadOverride)
			case lv.Version == p.PubKeyHashAddrID || lv.Version == p.ScriptHashAddrID:
				return nil, fmt.Errorf("chain: %s legacy_versions[%d]: version 0x%02X: %w: it is already the coin's own P2PKH or P2SH byte", p.Key(), i, lv.Version, ErrBadOverride)
			case seen[lv.Version]:
				return nil, fmt.Errorf("chain: %s legacy_versions[%d]: version 0x%02X: %w: listed twice", p.Key(), i, lv.Version, ErrBadOverride)
			}
			seen[lv.Version] = true
		}
		c.LegacyVersions = slices.Clone(*o.LegacyVersions)
		if c.LegacyVersions == nil {
			c.LegacyVersions = []LegacyVersion{}
		}
	}
	return &c, nil
}

// legacyType returns the address type a legacy version byte maps to.
func (p *Params) legacyType(version byte) (AddressType, bool) {
	for _, lv := range p.LegacyVersions {
		if lv.Version == version {
			return lv.Type, true
		}
	}
	return 0, false
}

// ChainParams returns btcd parameters carrying this coin's address bytes,
// HRP, ports, magic, genesis hash and coinbase maturity, for use with btcd's
// address and WIF packages. The consensus fields (PoW limits, deployments,
// checkpoints of Bitcoin) come from the Bitcoin network of the same kind and
// are meaningless for other coins: do not validate blocks with them. For
// coins other than Bitcoin, GenesisBlock, DNS seeds and checkpoints are nil.
func (p *Params) ChainParams() *chaincfg.Params {
	var c chaincfg.Params
	switch p.Network {
	case "mainnet":
		c = chaincfg.MainNetParams
	case "testnet4":
		c = chaincfg.TestNet4Params
	case "signet":
		c = chaincfg.SigNetParams
	case "regtest":
		c = chaincfg.RegressionNetParams
	default:
		c = chaincfg.TestNet3Params
	}
	if p.Coin != "btc" {
		c.GenesisBlock = nil
		c.DNSSeeds = nil
		c.Checkpoints = nil
		c.GenesisHash = nil
		if h, err := chainhash.NewHashFromStr(p.GenesisHash); err == nil && p.GenesisHash != "" {
			c.GenesisHash = h
		}
	}
	c.Name = p.Coin + "-" + p.Network
	c.Net = wire.BitcoinNet(binary.LittleEndian.Uint32(p.MessageStart[:]))
	c.DefaultPort = fmt.Sprint(p.DefaultPort)
	c.Bech32HRPSegwit = p.Bech32HRP
	c.PubKeyHashAddrID = p.PubKeyHashAddrID
	c.ScriptHashAddrID = p.ScriptHashAddrID
	c.PrivateKeyID = p.PrivateKeyID
	c.CoinbaseMaturity = uint16(p.CoinbaseMaturity)
	return &c
}

// Lookup returns the parameters of coin on network. Names are
// case-insensitive; aliases: bitcoin, litecoin, dogecoin, bitcoinsv for the
// coins, main, test, testnet3 for the networks. The error names the unknown
// part and lists what is known.
func Lookup(coin, network string) (*Params, error) {
	c := normalizeCoin(coin)
	n := normalizeNetwork(network)
	all := coinTable()
	var nets []string
	for i := range all {
		if all[i].Coin != c {
			continue
		}
		if all[i].Network == n {
			return &all[i], nil
		}
		nets = append(nets, all[i].Network)
	}
	if nets == nil {
		return nil, fmt.Errorf("chain: %w %q (known: %s)", ErrUnknownCoin, coin, strings.Join(coinNames(all), ", "))
	}
	return nil, fmt.Errorf("chain: %w %q for coin %s (known: %s)", ErrUnknownNetwork, network, c, strings.Join(nets, ", "))
}

// Coins returns every known coin and network in a stable order: by coin
// (bitweb, btc, ltc, doge, bsv), then mainnet, testnet, testnet4, signet,
// regtest. Each call returns fresh copies.
func Coins() []*Params {
	all := coinTable()
	out := make([]*Params, len(all))
	for i := range all {
		out[i] = &all[i]
	}
	return out
}

func coinNames(all []Params) []string {
	var names []string
	for _, p := range all {
		if !slices.Contains(names, p.Coin) {
			names = append(names, p.Coin)
		}
	}
	return names
}

func normalizeCoin(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "bitcoin":
		return "btc"
	case "litecoin":
		return "ltc"
	case "dogecoin":
		return "doge"
	case "bitcoinsv", "bitcoin-sv", "bitcoin_sv":
		return "bsv"
	}
	return s
}

func normalizeNetwork(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "main":
		return "mainnet"
	case "test", "testnet3":
		return "testnet"
	}
	return s
}
