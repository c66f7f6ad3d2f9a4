package chain

import (
	"errors"
	"fmt"
)

// ErrorKind names what was wrong with an address, so callers can tell the
// faults apart without parsing messages.
type ErrorKind string

// The kinds of address faults. Each compatibility surface maps all of them to
// a 400-class answer; the kind is for logs, metrics and tests.
const (
	KindTooLong                   ErrorKind = "too_long"                    // longer than MaxAddressLen
	KindBadChar                   ErrorKind = "bad_char"                    // a character outside the encoding's alphabet
	KindBadChecksum               ErrorKind = "bad_checksum"                // base58check or bech32 checksum mismatch
	KindBadFormat                 ErrorKind = "bad_format"                  // bech32 structure: separator, length, empty HRP
	KindMixedCase                 ErrorKind = "mixed_case"                  // bech32 with both upper and lower case
	KindUpperCase                 ErrorKind = "upper_case"                  // all-upper bech32 where the coin refuses it
	KindWrongHRP                  ErrorKind = "wrong_hrp"                   // bech32 for another coin or network
	KindEmptyData                 ErrorKind = "empty_data"                  // bech32 with no witness version
	KindWrongEncoding             ErrorKind = "wrong_encoding"              // bech32 where bech32m is required or back
	KindBadProgram                ErrorKind = "bad_program"                 // witness program bits do not regroup to bytes
	KindBadProgramLength          ErrorKind = "bad_program_length"          // witness program of a length the version forbids
	KindUnsupportedWitnessVersion ErrorKind = "unsupported_witness_version" // a witness version this coin cannot pay to here
	KindBadLength                 ErrorKind = "bad_length"                  // base58 payload that is not version + 20 bytes
	KindUnknownVersion            ErrorKind = "unknown_version"             // base58 version byte of another coin or network
)

// AddressError reports why an address was refused. Message is the exact text
// the Bitweb API server returned for the same input, so the REST layer can
// pass it to clients as it is.
type AddressError struct {
	Kind    ErrorKind
	Address string // the input as given
	Message string
}

// Error returns the client-facing message unchanged.
func (e *AddressError) Error() string { return e.Message }

func addrErr(kind ErrorKind, addr, format string, args ...any) *AddressError {
	return &AddressError{Kind: kind, Address: addr, Message: fmt.Sprintf(format, args...)}
}

// AddressErrorKind returns the kind of the first AddressError in err's chain,
// or "" when there is none.
func AddressErrorKind(err error) ErrorKind {
	var ae *AddressError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return ""
}

// Errors of the registry and of Encode; they are wrapped with the input that
// caused them, so test with errors.Is.
var (
	// ErrUnknownCoin: Lookup was asked for a coin the registry does not know.
	ErrUnknownCoin = errors.New("unknown coin")
	// ErrUnknownNetwork: the coin is known but not on that network.
	ErrUnknownNetwork = errors.New("unknown network")
	// ErrNonStandardScript: Encode got a script that has no address form.
	ErrNonStandardScript = errors.New("script has no address form (not P2PKH, P2SH, P2WPKH, P2WSH or P2TR)")
	// ErrNoSegWit: Encode got a witness script for a coin without segwit or taproot.
	ErrNoSegWit = errors.New("coin has no address for this witness version")
	// ErrBadOverride: an operator override (config file) is inconsistent.
	ErrBadOverride = errors.New("invalid coin override")
)
