package bitweb

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// appendJSON writes v the way Python's json.dumps(v, sort_keys=True,
// separators=(",", ":")) does (Flask 3's jsonify): keys sorted at every
// level, no spaces, non-ASCII escaped as \uXXXX (surrogate pairs above the
// BMP), floats in Python repr.
//
// v may hold nil, bool, string, int, int64, uint32, float64, json.Number,
// []any and map[string]any, nested. A json.Number that is an integer keeps
// its text exactly (Python ints are exact); one with a fraction or an
// exponent is written as Python's repr of the float it parses to, which is
// what Flask emits after parsing it, and the identity for text ElectrumX
// itself produced.
func appendJSON(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case string:
		return appendPyString(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case float64:
		return appendPyFloat(dst, v), nil
	case json.Number:
		return appendPyNumber(dst, string(v))
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, comparePyStrings)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendPyString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendJSON(dst, v[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	default:
		return dst, fmt.Errorf("encode JSON: unsupported type %T", v)
	}
}

// comparePyStrings orders strings by code point, as Python sorts str keys.
// Go's byte order of UTF-8 agrees with code point order, so plain string
// comparison is exact.
func comparePyStrings(a, b string) int { return strings.Compare(a, b) }

const hexDigits = "0123456789abcdef"

// appendPyString writes s as a JSON string with Python's ensure_ascii
// escaping: \" \\ \n \r \t \b \f, every other character outside
// printable ASCII (0x20–0x7e) as \u00XX or \uXXXX, lowercase hex. Invalid
// UTF-8 bytes become U+FFFD.
func appendPyString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"':
			dst = append(dst, '\\', '"')
		case r == '\\':
			dst = append(dst, '\\', '\\')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r >= 0x20 && r < 0x7f:
			dst = append(dst, byte(r))
		case r > 0xffff:
			r -= 0x10000
			dst = appendU4(dst, 0xd800|(r>>10)&0x3ff)
			dst = appendU4(dst, 0xdc00|r&0x3ff)
		default:
			dst = appendU4(dst, r)
		}
	}
	return append(dst, '"')
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendPyNumber writes the text of a JSON number as Python re-emits it
// after json.loads: integers verbatim ("-0" as "0"), others as float repr.
func appendPyNumber(dst []byte, text string) ([]byte, error) {
	if !json.Valid([]byte(text)) || text == "" || !isNumberStart(text[0]) {
		return dst, fmt.Errorf("encode JSON: %q is not a number", text)
	}
	if !strings.ContainsAny(text, ".eE") {
		if text == "-0" {
			text = "0"
		}
		return append(dst, text...), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(f, 0) {
		return dst, fmt.Errorf("encode JSON: number %q: %w", text, err)
	}
	return appendPyFloat(dst, f), nil
}

func isNumberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// appendPyFloat writes f as Python's repr: the shortest text that parses
// back to f; positional notation when the decimal exponent is in
// [-4, 16), scientific otherwise ("1e-05", "1.5e+16"); ".0" on integral
// values in positional notation. json.dumps writes infinities as
// Infinity/-Infinity and NaN as NaN.
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
		dst = append(dst, '-')
	}
	ei := strings.IndexByte(string(e), 'e')
	exp, _ := strconv.Atoi(string(e[ei+1:]))
	digits := make([]byte, 0, 17)
	for _, c := range e[:ei] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	if exp >= -4 && exp < 16 {
		if exp < 0 {
			dst = append(dst, "0."...)
			for range -exp - 1 {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		if len(digits) <= exp+1 {
			dst = append(dst, digits...)
			for range exp + 1 - len(digits) {
				dst = append(dst, '0')
			}
			return append(dst, ".0"...)
		}
		dst = append(dst, digits[:exp+1]...)
		dst = append(dst, '.')
		return append(dst, digits[exp+1:]...)
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}
