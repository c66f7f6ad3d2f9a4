package chain

import (
	"fmt"
	"strings"
	"unicode"
)

// PyRepr returns s quoted the way Python 3's repr() quotes a str. The Bitweb
// API server put repr() of the client's input into its error messages, and
// clients see those texts verbatim, so walletgate reproduces them byte for
// byte (the ElectrumX error dicts of the REST layer use the same rules).
//
// The rules: single quotes, unless s contains a single quote and no double
// quote; backslash and the chosen quote escaped; \t, \n, \r by name; other
// control and non-printable characters as \xNN, \uNNNN or \UNNNNNNNN;
// printable non-ASCII characters as they are. Bytes that are not valid UTF-8
// become U+FFFD, which is what the original's WSGI stack made of them.
func PyRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			// Go's IsPrint is Python's isprintable: categories L, M, N, P, S
			// and the ASCII space.
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteRune(quote)
	return b.String()
}
