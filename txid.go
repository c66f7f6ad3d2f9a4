package walletgate

import "fmt"

// HashHexLen is the length of a 32-byte hash written in hex: a txid, a
// block hash or an Electrum script hash.
const HashHexLen = 64

// HashError is the error of CheckHash: the text, and where it goes wrong.
type HashError struct {
	Text string // the input, as given
	// Pos is the index of the first character that is not a hex digit,
	// or -1 when the text is not HashHexLen characters long.
	Pos int
}

// Error implements error, naming the input (clipped to 80 bytes).
func (e *HashError) Error() string {
	if e.Pos < 0 {
		return fmt.Sprintf("%.80q is not %d hex digits: it has %d characters", e.Text, HashHexLen, len(e.Text))
	}
	return fmt.Sprintf("%.80q is not %d hex digits: character %d (%q) is not hex", e.Text, HashHexLen, e.Pos, e.Text[e.Pos])
}

// CheckHash checks that s is a txid as every supported coin writes it:
// exactly 64 hex digits in either case (^[0-9a-fA-F]{64}\z). Block
// hashes and Electrum script hashes have the same form and are checked
// with it too. It returns a *HashError, from which each surface words its
// own message; it never changes the case of s.
func CheckHash(s string) error {
	if len(s) != HashHexLen {
		return &HashError{Text: s, Pos: -1}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return &HashError{Text: s, Pos: i}
		}
	}
	return nil
}

// ValidTxID reports whether txid is 64 hex digits, the txid form of every
// supported coin.
func ValidTxID(txid string) bool { return CheckHash(txid) == nil }
