package walletgate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SatsPerCoin is how many satoshis make one whole coin: amounts in whole
// coins carry 8 decimal places.
const SatsPerCoin = 100_000_000

// Rounding says what ParseCoins does with digits below one satoshi.
type Rounding int

// Rounding modes of an AmountFormat.
const (
	// RoundExact refuses non-zero digits below one satoshi (AmountPrecision).
	RoundExact Rounding = iota
	// RoundDown drops them (toward zero): the Bitweb /history rule for
	// plain decimal text.
	RoundDown
	// RoundHalfEven rounds to the nearest satoshi, ties to even: Python's
	// round(value*1e8), the Bitweb value_sat rule.
	RoundHalfEven
)

// AmountFormat is how one source spells an amount of whole coins, and what
// ParseCoins does with the value. The zero value is plain decimal text
// ("12", "0.5", "-1.25000000"), exact, within the int64 range.
//
// The source formats differ in small ways that clients or upstreams rely
// on, so each is named where it is used: DecimalAmount (walletgate's own
// payloads and send API), block.io's replies (blockio), node wallet and
// ElectrumX JSON numbers (nodewallet, wallet).
type AmountFormat struct {
	// JSON makes the text a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?
	// ([eE][+-]?[0-9]+)?, as Go's and Python's encoders write floats
	// ("1e-05"). The decimal options below do not apply to it.
	JSON bool
	// MaxExponent bounds the absolute exponent of JSON text, so hostile
	// text cannot make the parser walk a huge power of ten; a larger one
	// is AmountExponent.
	MaxExponent int

	// Plus admits a leading '+' in decimal text.
	Plus bool
	// BareFraction admits decimal text with no digit before the point (".5").
	BareFraction bool
	// TrailingPoint admits decimal text with no digit after the point ("5.").
	TrailingPoint bool
	// WholeDigits, when positive, limits the digits before the point,
	// leading zeros included (AmountSyntax).
	WholeDigits int
	// Places, when positive, limits the digits after the point, trailing
	// zeros included (AmountPrecision). Without it any number of places
	// is read and Rounding decides about those below one satoshi.
	Places int

	// Rounding applies to digits below one satoshi.
	Rounding Rounding
	// Max, when positive, bounds the magnitude of the result in satoshis
	// (AmountRange); 0 means whatever fits int64.
	Max int64
}

// DecimalAmount is walletgate's own amount text, used by txupdate payloads
// and the send API: an optional '-', 1 to 11 digits, and optionally a
// point followed by at most 8 digits ("0.00021", "1.5", "-2", "3."), read
// exactly. FormatSats writes it.
var DecimalAmount = AmountFormat{TrailingPoint: true, WholeDigits: 11, Places: 8}

// AmountReason says what is wrong with an amount's text.
type AmountReason int

// Reasons of an AmountError.
const (
	// AmountSyntax: the text is not of the format's grammar (or has more
	// whole digits than its WholeDigits).
	AmountSyntax AmountReason = iota + 1
	// AmountNoDigits: decimal text with no digit at all ("", "-", ".").
	AmountNoDigits
	// AmountNoFraction: decimal text ending in a point the format refuses ("5.").
	AmountNoFraction
	// AmountNotDigit: decimal text with a character that is not a digit
	// (AmountError.Char).
	AmountNotDigit
	// AmountExponent: a JSON exponent beyond the format's MaxExponent.
	AmountExponent
	// AmountPrecision: non-zero digits below one satoshi under RoundExact,
	// or more places than the format's Places.
	AmountPrecision
	// AmountRange: the value is beyond the format's Max or int64.
	AmountRange
)

// String is the reason's wording in AmountError's default text.
func (r AmountReason) String() string {
	switch r {
	case AmountSyntax:
		return "not a decimal number"
	case AmountNoDigits:
		return "no digits"
	case AmountNoFraction:
		return "no digits after the point"
	case AmountNotDigit:
		return "not a digit"
	case AmountExponent:
		return "exponent out of range"
	case AmountPrecision:
		return "more than 8 decimal places"
	case AmountRange:
		return "too large"
	}
	return "AmountReason(" + strconv.Itoa(int(r)) + ")"
}

// AmountError is the error of ParseCoins. Surfaces that always had their
// own words for a bad amount keep them with Reword; the reason and the
// input stay available through errors.As.
type AmountError struct {
	Text   string       // the input, as given
	Reason AmountReason // what is wrong with it
	Char   byte         // AmountNotDigit: the first character that is not a digit
	words  string       // set by Reword
}

// Error implements error: `amount "<text>": <reason>`, the text clipped to
// 40 bytes, unless Reword gave other words.
func (e *AmountError) Error() string {
	if e.words != "" {
		return e.words
	}
	if e.Reason == AmountNotDigit {
		return fmt.Sprintf("amount %q: %q is not a digit", clipAmount(e.Text), e.Char)
	}
	return fmt.Sprintf("amount %q: %s", clipAmount(e.Text), e.Reason)
}

// Reword returns a copy of e whose Error text is the formatted words, for
// a surface whose error texts predate the shared codec.
func (e *AmountError) Reword(format string, args ...any) *AmountError {
	c := *e
	c.words = fmt.Sprintf(format, args...)
	return &c
}

func clipAmount(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ParseCoins reads text, an amount of whole coins spelled as f says, into
// satoshis, without float arithmetic: the digits are shifted by 8 places
// and those below one satoshi handled by f.Rounding. It fails with an
// *AmountError. Checks run in a fixed order: grammar, exponent, places and
// precision, then digits and range from the most significant digit on.
func ParseCoins(text string, f AmountFormat) (int64, error) {
	fail := func(r AmountReason) (int64, error) {
		return 0, &AmountError{Text: text, Reason: r}
	}
	var (
		neg    bool
		digits string // the digits of the whole and fractional parts, not yet checked in decimal text
		point  int    // digits[:point] are whole coins
	)
	if f.JSON {
		if !isJSONNumber(text) {
			return fail(AmountSyntax)
		}
		s := text
		neg = strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		mant, exp := s, 0
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			e, err := strconv.Atoi(s[i+1:])
			if err != nil || e > f.MaxExponent || e < -f.MaxExponent {
				return fail(AmountExponent)
			}
			mant, exp = s[:i], e
		}
		whole, frac, _ := strings.Cut(mant, ".")
		digits, point = whole+frac, len(whole)+exp
	} else {
		s := text
		if strings.HasPrefix(s, "-") {
			neg, s = true, s[1:]
		} else if f.Plus && strings.HasPrefix(s, "+") {
			s = s[1:]
		}
		whole, frac, hasPoint := strings.Cut(s, ".")
		switch {
		case whole == "" && (!hasPoint || frac == ""):
			return fail(AmountNoDigits)
		case whole == "" && !f.BareFraction:
			return fail(AmountSyntax)
		case hasPoint && frac == "" && !f.TrailingPoint:
			return fail(AmountNoFraction)
		case f.WholeDigits > 0 && len(whole) > f.WholeDigits:
			return fail(AmountSyntax)
		case f.Places > 0 && len(frac) > f.Places:
			return fail(AmountPrecision)
		}
		digits, point = whole+frac, len(whole)
	}
	// digits[:cut] are whole satoshis; from cut on, fractions of one.
	cut := point + 8
	rest := digits[max(0, min(cut, len(digits))):]
	if f.Rounding == RoundExact && strings.TrimLeft(rest, "0") != "" {
		return fail(AmountPrecision)
	}
	limit := uint64(math.MaxInt64)
	switch {
	case f.Max > 0:
		limit = uint64(f.Max)
	case neg:
		limit = 1 << 63 // math.MinInt64 fits
	}
	var v uint64
	for i := 0; i < cut; i++ {
		c := byte('0')
		if i < len(digits) {
			c = digits[i]
		} else if v == 0 {
			break // only zeros are left
		}
		if c < '0' || c > '9' {
			return 0, &AmountError{Text: text, Reason: AmountNotDigit, Char: c}
		}
		d := uint64(c - '0')
		if v > (limit-d)/10 {
			return fail(AmountRange)
		}
		v = v*10 + d
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c < '0' || c > '9' {
			return 0, &AmountError{Text: text, Reason: AmountNotDigit, Char: c}
		}
	}
	if f.Rounding == RoundHalfEven && cut >= 0 && roundsUp(rest, v) {
		if v == limit {
			return fail(AmountRange)
		}
		v++
	}
	if neg {
		return int64(-v), nil // two's complement: also right for 1<<63
	}
	return int64(v), nil
}

// roundsUp reports whether the digits below one satoshi, rest, round the
// satoshis v up, ties to even.
func roundsUp(rest string, v uint64) bool {
	switch {
	case rest == "" || rest[0] < '5':
		return false
	case rest[0] > '5' || strings.TrimRight(rest[1:], "0") != "":
		return true
	}
	return v%2 == 1
}

// isJSONNumber checks the JSON number grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// FormatSats writes satoshis as whole coins with exactly 8 decimals
// (21000 → "0.00021000"), never through a float.
func FormatSats(sats int64) string {
	neg := sats < 0
	u := uint64(sats)
	if neg {
		u = uint64(-(sats + 1)) + 1 // also right for math.MinInt64
	}
	s := fmt.Sprintf("%d.%08d", u/1e8, u%1e8)
	if neg {
		return "-" + s
	}
	return s
}

// ParseSats reads DecimalAmount text ("0.00021", "1.5", "-2") into
// satoshis, refusing anything inexact, with the message walletgate's own
// APIs give.
func ParseSats(s string) (int64, error) {
	v, err := ParseCoins(s, DecimalAmount)
	if err != nil {
		return 0, WrapError(EInvalid, err, "amount %q is not a decimal with at most 8 decimals", s)
	}
	return v, nil
}
