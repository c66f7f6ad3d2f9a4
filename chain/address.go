package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/address/v2/bech32"
)

// Script opcodes used by the standard output templates.
const (
	opDup         = 0x76
	opHash160     = 0xa9
	opEqual       = 0x87
	opEqualVerify = 0x88
	opCheckSig    = 0xac
	op0           = 0x00
	op1           = 0x51
)

// Address is a decoded address: what it pays to.
type Address struct {
	Type    AddressType
	Script  []byte // the scriptPubKey
	Program []byte // HASH160 for P2PKH and P2SH, the witness program otherwise
}

// ScriptHash returns the Electrum scripthash of the address's script.
func (a Address) ScriptHash() string { return ScriptHash(a.Script) }

// ScriptHash returns the Electrum protocol's script hash: SHA-256 of the
// scriptPubKey, bytes reversed, as lowercase hex.
func ScriptHash(script []byte) string {
	h := sha256.Sum256(script)
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return hex.EncodeToString(h[:])
}

// Decode turns an address into the script it pays to. A string that starts
// with the coin's HRP and "1" (in any case) is read as bech32/bech32m, all
// else as base58check, as the Bitweb API server did: so a bech32 address of
// another coin fails as base58. Errors are *AddressError with the original's
// message texts; see QUIRKS.md for where walletgate is stricter.
func (p *Params) Decode(addr string) (Address, error) {
	if len(addr) > MaxAddressLen {
		return Address{}, addrErr(KindTooLong, addr, "Address too long: %d characters, at most %d", len(addr), MaxAddressLen)
	}
	if p.Bech32HRP != "" && hasPrefixFold(addr, p.Bech32HRP+"1") {
		return p.decodeBech32(addr)
	}
	return p.decodeBase58(addr)
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case
// only (Unicode folding would let e.g. the Kelvin sign pass for a 'k').
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != lowerASCII(prefix[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// decodeBech32 applies the coin's policy on top of the BIP173/BIP350 rules:
// only P2WPKH, P2WSH and (where the coin has Taproot) P2TR are accepted.
func (p *Params) decodeBech32(addr string) (Address, error) {
	version, program, err := decodeSegWit(addr, p.Bech32HRP, p.AcceptUpperBech32)
	if err != nil {
		return Address{}, err
	}
	switch {
	case version == 0 && len(program) == 20:
		return Address{Type: P2WPKH, Script: witnessScript(0, program), Program: program}, nil
	case version == 0: // decodeSegWit allows only 20 or 32 bytes for v0
		return Address{Type: P2WSH, Script: witnessScript(0, program), Program: program}, nil
	case version == 1 && len(program) != 32:
		return Address{}, addrErr(KindBadProgramLength, addr, "Witness v1 (Taproot) program must be 32 bytes, got %d: %s", len(program), PyRepr(addr))
	case version == 1 && p.Taproot:
		return Address{Type: P2TR, Script: witnessScript(1, program), Program: program}, nil
	}
	return Address{}, addrErr(KindUnsupportedWitnessVersion, addr, "Unsupported witness version %d: %s", version, PyRepr(addr))
}

// decodeBase58 reads a base58check P2PKH or P2SH address.
func (p *Params) decodeBase58(addr string) (Address, error) {
	// btcd's decoder only says "invalid format" for a bad character, and the
	// original named the first one, so find it here.
	for _, r := range addr {
		if r >= 0x80 || strings.IndexByte(base58Alphabet, byte(r)) < 0 {
			return Address{}, addrErr(KindBadChar, addr, "Invalid base58check address %s: Invalid character %s", PyRepr(addr), PyRepr(string(r)))
		}
	}
	payload, version, err := base58.CheckDecode(addr)
	if err != nil {
		// Checksum mismatch, or fewer than 5 bytes: the original reported
		// both as a bad checksum.
		return Address{}, addrErr(KindBadChecksum, addr, "Invalid base58check address %s: Invalid checksum", PyRepr(addr))
	}
	if len(payload) != 20 {
		return Address{}, addrErr(KindBadLength, addr, "Expected 21 decoded bytes, got %d: %s", len(payload)+1, PyRepr(addr))
	}
	typ := AddressType(0)
	switch version {
	case p.PubKeyHashAddrID:
		typ = P2PKH
	case p.ScriptHashAddrID:
		typ = P2SH
	default:
		if t, ok := p.legacyType(version); ok {
			typ = t
		}
	}
	switch typ {
	case P2PKH:
		return Address{Type: P2PKH, Script: p2pkhScript(payload), Program: payload}, nil
	case P2SH:
		return Address{Type: P2SH, Script: p2shScript(payload), Program: payload}, nil
	}
	return Address{}, addrErr(KindUnknownVersion, addr, "Unknown version byte 0x%02X: %s", version, PyRepr(addr))
}

// base58Alphabet is the Bitcoin base58 alphabet (no 0, O, I, l).
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func p2pkhScript(hash []byte) []byte {
	s := make([]byte, 0, 25)
	s = append(s, opDup, opHash160, 20)
	s = append(s, hash...)
	return append(s, opEqualVerify, opCheckSig)
}

func p2shScript(hash []byte) []byte {
	s := make([]byte, 0, 23)
	s = append(s, opHash160, 20)
	s = append(s, hash...)
	return append(s, opEqual)
}

// witnessScript is the scriptPubKey of a segwit output: the version opcode
// (OP_0 or OP_1..OP_16), then a push of the program.
func witnessScript(version byte, program []byte) []byte {
	s := make([]byte, 0, 2+len(program))
	if version == 0 {
		s = append(s, op0)
	} else {
		s = append(s, op1-1+version)
	}
	s = append(s, byte(len(program)))
	return append(s, program...)
}

// Encode returns the canonical address for a P2PKH, P2SH, P2WPKH, P2WSH or
// P2TR script: the coin's own version byte (never a legacy one) and lowercase
// bech32. Other scripts wrap ErrNonStandardScript; witness scripts on a coin
// without segwit (or Taproot) wrap ErrNoSegWit.
func (p *Params) Encode(script []byte) (string, error) {
	n := len(script)
	switch {
	case n == 25 && script[0] == opDup && script[1] == opHash160 && script[2] == 20 && script[23] == opEqualVerify && script[24] == opCheckSig:
		return base58.CheckEncode(script[3:23], p.PubKeyHashAddrID), nil
	case n == 23 && script[0] == opHash160 && script[1] == 20 && script[22] == opEqual:
		return base58.CheckEncode(script[2:22], p.ScriptHashAddrID), nil
	case (n == 22 || n == 34) && script[0] == op0 && int(script[1]) == n-2:
		if !p.SegWit {
			return "", fmt.Errorf("chain: encode %s address for script %s: %w", p.Key(), shortHex(script), ErrNoSegWit)
		}
		return encodeSegWit(p.Bech32HRP, 0, script[2:])
	case n == 34 && script[0] == op1 && script[1] == 32:
		if !p.Taproot {
			return "", fmt.Errorf("chain: encode %s address for script %s: %w", p.Key(), shortHex(script), ErrNoSegWit)
		}
		return encodeSegWit(p.Bech32HRP, 1, script[2:])
	}
	return "", fmt.Errorf("chain: encode %s address for script %s: %w", p.Key(), shortHex(script), ErrNonStandardScript)
}

// shortHex keeps error messages readable when a caller passes a huge script.
func shortHex(b []byte) string {
	const max = 48
	if len(b) > max {
		return fmt.Sprintf("%x… (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%x", b)
}

func encodeSegWit(hrp string, version byte, program []byte) (string, error) {
	data, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		return "", fmt.Errorf("chain: regroup witness v%d program %x: %w", version, program, err)
	}
	data = append([]byte{version}, data...)
	if version == 0 {
		return bech32.Encode(hrp, data)
	}
	return bech32.EncodeM(hrp, data)
}
