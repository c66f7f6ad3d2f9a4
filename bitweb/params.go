package bitweb

import (
	"math"
	"strings"
	"unicode"
)

// Validation texts of the original, two spaces on each side of the hyphen.
const (
	msgBadAddress = "Invalid address format  -  expected alphanumeric, 25-90 characters"
	msgBadTxid    = "Invalid txid  -  expected 64 hex characters"
	msgBadAmount  = "amount must be a non-negative integer"
	msgNoRaw      = "Missing raw transaction hex"
	msgBadRawHex  = "raw must be a valid hex string"
)

// validAddress is ^[a-zA-Z0-9]{25,90}\z.
func validAddress(s string) bool {
	if len(s) < 25 || len(s) > 90 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// parseAmount applies the original's check ^\d{1,15}$ and int(): ASCII
// digits only, at most 15 of them. Python's $ also matches before one final
// newline, and int() ignores it, so "12\n" is 12 there and here.
func parseAmount(s string) (int64, bool) {
	s = strings.TrimSuffix(s, "\n")
	if len(s) < 1 || len(s) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// parseLimit reads /history's limit like Python's int(): surrounding
// whitespace, an optional sign, ASCII digits with single underscores
// between them. Values beyond the int range saturate, which the clamp to
// 1..50 makes harmless. ok is false when int() would raise.
func parseLimit(s string) (n int, ok bool) {
	s = strings.TrimFunc(s, isPySpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if v < math.MaxInt32 {
			v = v*10 + uint64(c-'0')
		}
	}
	v = min(v, math.MaxInt32)
	if neg {
		return -int(v), true
	}
	return int(v), true
}

// isPySpace is Python's str.isspace for one character: Unicode whitespace
// plus the ASCII separators \x1c–\x1f, which Go does not count.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }
