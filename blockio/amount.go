package blockio

import (
	"fmt"
	"math"
	"strings"
)

// maxAmount bounds parsed amounts well inside int64 (92 billion coins),
// so sums of many amounts cannot overflow either.
const maxAmount = math.MaxInt64 / 100

// ParseAmount parses a decimal amount of whole coins, as block.io sends it
// ("0.00100000", "-1.5", "12"), into satoshis exactly. At most 8 decimal
// places may be non-zero; exponents, spaces and empty parts are errors.
func ParseAmount(s string) (int64, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("amount %q: no digits", clipAmount(orig))
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("amount %q: no digits after the point", clipAmount(orig))
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 8 {
		return 0, fmt.Errorf("amount %q: more than 8 decimal places", clipAmount(orig))
	}
	var v int64
	for _, part := range []string{whole, frac + strings.Repeat("0", 8-len(frac))} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("amount %q: %q is not a digit", clipAmount(orig), c)
			}
			if v > (maxAmount-int64(c-'0'))/10 {
				return 0, fmt.Errorf("amount %q: too large", clipAmount(orig))
			}
			v = v*10 + int64(c-'0')
		}
	}
	if neg {
		v = -v
	}
	return v, nil
}

// FormatAmount writes satoshis as a whole-coin decimal with 8 places, the
// form block.io uses.
func FormatAmount(sats int64) string {
	sign := ""
	u := uint64(sats)
	if sats < 0 {
		sign, u = "-", uint64(-sats)
	}
	return fmt.Sprintf("%s%d.%08d", sign, u/1e8, u%1e8)
}

func clipAmount(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
