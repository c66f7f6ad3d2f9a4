package chain

import (
	"errors"
	"strings"

	"github.com/btcsuite/btcd/address/v2/bech32"
)

// decodeSegWit checks addr against BIP173 and BIP350 for the given HRP and
// returns the witness version and program. It accepts every version 0..16
// with a 2..40 byte program (20 or 32 for v0); the caller decides which of
// those the coin pays to. The messages are the Bitweb API server's where it
// had one.
func decodeSegWit(addr, hrp string, acceptUpper bool) (byte, []byte, *AddressError) {
	var hasLower, hasUpper bool
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if c < 33 || c > 126 {
			return 0, nil, addrErr(KindBadChar, addr, "Invalid bech32/bech32m address: %s", PyRepr(addr))
		}
		hasLower = hasLower || ('a' <= c && c <= 'z')
		hasUpper = hasUpper || ('A' <= c && c <= 'Z')
	}
	switch {
	case hasLower && hasUpper:
		return 0, nil, addrErr(KindMixedCase, addr, "Mixed-case bech32 address (use all lower or all upper case): %s", PyRepr(addr))
	case hasUpper && !acceptUpper:
		return 0, nil, addrErr(KindUpperCase, addr, "Upper-case bech32 address not accepted (use lower case): %s", PyRepr(addr))
	}
	gotHRP, data, encoding, err := bech32.DecodeGeneric(strings.ToLower(addr))
	if err != nil {
		kind := KindBadFormat
		var (
			badChar     bech32.ErrNonCharsetChar
			badChecksum bech32.ErrInvalidChecksum
		)
		switch {
		case errors.As(err, &badChar):
			kind = KindBadChar
		case errors.As(err, &badChecksum):
			kind = KindBadChecksum
		}
		return 0, nil, addrErr(kind, addr, "Invalid bech32/bech32m address: %s", PyRepr(addr))
	}
	if gotHRP != hrp {
		return 0, nil, addrErr(KindWrongHRP, addr, "Unknown HRP %s: %s", PyRepr(gotHRP), PyRepr(addr))
	}
	if len(data) == 0 {
		return 0, nil, addrErr(KindEmptyData, addr, "Empty bech32 data: %s", PyRepr(addr))
	}
	version := data[0]
	if version > 16 {
		return 0, nil, addrErr(KindUnsupportedWitnessVersion, addr, "Unsupported witness version %d: %s", version, PyRepr(addr))
	}
	switch {
	case version == 0 && encoding != bech32.Version0:
		return 0, nil, addrErr(KindWrongEncoding, addr, "Witness v0 must use bech32 encoding: %s", PyRepr(addr))
	case version != 0 && encoding != bech32.VersionM:
		return 0, nil, addrErr(KindWrongEncoding, addr, "Witness v%d must use bech32m encoding: %s", version, PyRepr(addr))
	}
	program, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		return 0, nil, addrErr(KindBadProgram, addr, "Cannot decode witness program: %s", PyRepr(addr))
	}
	if version == 0 && len(program) != 20 && len(program) != 32 {
		return 0, nil, addrErr(KindBadProgramLength, addr, "Witness v0 program must be 20 or 32 bytes, got %d: %s", len(program), PyRepr(addr))
	}
	if len(program) < 2 || len(program) > 40 {
		return 0, nil, addrErr(KindBadProgramLength, addr, "Witness program must be 2 to 40 bytes, got %d: %s", len(program), PyRepr(addr))
	}
	return version, program, nil
}
