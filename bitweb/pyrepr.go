package bitweb

import (
	"strconv"
	"strings"
	"unicode"
)

// pyRepr returns Python's repr() of a str: single quotes, or double quotes
// when s contains ' and no "; backslash, the chosen quote, \t \n \r
// escaped; other non-printable characters as \xNN, \uNNNN or \UNNNNNNNN;
// printable non-ASCII kept as is.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, q)
	for _, r := range s {
		switch {
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == rune(q):
			b = append(b, '\\', q)
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		case r >= 0x7f && isPyPrintable(r):
			b = append(b, string(r)...)
		case r < 0x100:
			b = append(b, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
		case r < 0x10000:
			b = append(b, '\\', 'u')
			b = appendHexPad(b, r, 4)
		default:
			b = append(b, '\\', 'U')
			b = appendHexPad(b, r, 8)
		}
	}
	return string(append(b, q))
}

func appendHexPad(b []byte, r rune, width int) []byte {
	h := strconv.FormatInt(int64(r), 16)
	for range width - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}

// isPyPrintable approximates Python's str.isprintable for one character:
// everything but the categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (except
// the ASCII space), which is what unicode.IsPrint tests.
func isPyPrintable(r rune) bool { return unicode.IsPrint(r) }

// electrumErrorText is how the original shows a JSON-RPC error from
// ElectrumX: "ElectrumX error: " and the Python repr of the error dict.
func electrumErrorText(code int, message string) string {
	return "ElectrumX error: {'code': " + strconv.Itoa(code) + ", 'message': " + pyRepr(message) + "}"
}
