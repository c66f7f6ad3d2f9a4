package wallet

import (
	"fmt"
	"strconv"
	"strings"
)

// Rounding modes of CoinsToSats.
const (
	// RoundHalfEven rounds to the nearest satoshi, ties to even: the /tx
	// value_sat rule (Python's round() of value*1e8).
	RoundHalfEven = iota
	// Truncate drops digits below one satoshi: the /history rule for plain
	// decimal text. Exponent text is still rounded half-even there, as the
	// original rounds v*1e8 for it.
	Truncate
)

// CoinsToSats converts the text of a JSON number in coins ("0.5",
// "50.00000000", "1e-05") to satoshis exactly, without float arithmetic:
// the digits are shifted by eight decimal places and the rest rounded by
// mode. It fails on text that is not a JSON number or does not fit int64.
func CoinsToSats(text string, mode int) (int64, error) {
	s := text
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	mant, exp := s, 0
	hasExp := false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		hasExp = true
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || s[i+1:] == "" || e > 1000 || e < -1000 {
			return 0, fmt.Errorf("amount %q: bad exponent", text)
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) || (strings.Contains(mant, ".") && frac == "") {
		return 0, fmt.Errorf("amount %q: not a decimal number", text)
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	// value = digits × 10^(exp - len(frac)); satoshis = value × 10^8.
	shift := exp - len(frac) + 8
	if digits == "" {
		return 0, nil
	}
	var whole string
	roundUp := false
	if shift >= 0 {
		if len(digits)+shift > 19 {
			return 0, fmt.Errorf("amount %q: out of range", text)
		}
		whole = digits + strings.Repeat("0", shift)
	} else {
		k := -shift
		if k > len(digits) {
			digits = strings.Repeat("0", k-len(digits)) + digits
		}
		whole, rest := digits[:len(digits)-k], digits[len(digits)-k:]
		if whole == "" {
			whole = "0"
		}
		if mode == RoundHalfEven || hasExp {
			switch {
			case rest[0] > '5':
				roundUp = true
			case rest[0] == '5':
				if strings.TrimRight(rest[1:], "0") != "" {
					roundUp = true
				} else {
					roundUp = (whole[len(whole)-1]-'0')%2 == 1 // a tie: to even
				}
			}
		}
		return finishSats(text, whole, roundUp, neg)
	}
	return finishSats(text, whole, roundUp, neg)
}

func finishSats(text, whole string, roundUp, neg bool) (int64, error) {
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: out of range", text)
	}
	if roundUp {
		if n == 1<<63-1 {
			return 0, fmt.Errorf("amount %q: out of range", text)
		}
		n++
	}
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
