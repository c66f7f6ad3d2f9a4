package walletgate_test

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

// Formats as the surfaces use them (each package names its own; these are
// copies for the codec's tests).
var (
	decimalFmt = walletgate.DecimalAmount
	blockioFmt = walletgate.AmountFormat{Plus: true, BareFraction: true, Max: math.MaxInt64 / 100}
	nodeFmt    = walletgate.AmountFormat{JSON: true, MaxExponent: 30, Max: 21_000_000 * walletgate.SatsPerCoin}
	valueFmt   = walletgate.AmountFormat{JSON: true, MaxExponent: 1000, Max: math.MaxInt64, Rounding: walletgate.RoundHalfEven}
	truncFmt   = walletgate.AmountFormat{JSON: true, MaxExponent: 1000, Max: math.MaxInt64, Rounding: walletgate.RoundDown}
)

func TestParseCoins(t *testing.T) {
	tests := []struct {
		name string
		f    walletgate.AmountFormat
		in   string
		want int64
		why  walletgate.AmountReason // 0: no error
	}{
		// walletgate's own decimal text.
		{"decimal", decimalFmt, "0.00021", 21_000, 0},
		{"decimal", decimalFmt, "1.5", 150_000_000, 0},
		{"decimal", decimalFmt, "-2", -200_000_000, 0},
		{"decimal", decimalFmt, "3.", 300_000_000, 0},
		{"decimal", decimalFmt, "-0", 0, 0},
		{"decimal", decimalFmt, "92233720368.54775807", math.MaxInt64, 0},
		{"decimal", decimalFmt, "-92233720368.54775808", math.MinInt64, 0},
		{"decimal", decimalFmt, "92233720368.54775808", 0, walletgate.AmountRange},
		{"decimal", decimalFmt, "99999999999", 0, walletgate.AmountRange},
		{"decimal", decimalFmt, "000000000001", 0, walletgate.AmountSyntax}, // 12 whole digits
		{"decimal", decimalFmt, "1.000000000", 0, walletgate.AmountPrecision},
		{"decimal", decimalFmt, ".5", 0, walletgate.AmountSyntax},
		{"decimal", decimalFmt, "+1", 0, walletgate.AmountNotDigit},
		{"decimal", decimalFmt, "--1", 0, walletgate.AmountNotDigit},
		{"decimal", decimalFmt, "1e8", 0, walletgate.AmountNotDigit},
		{"decimal", decimalFmt, "", 0, walletgate.AmountNoDigits},
		{"decimal", decimalFmt, ".", 0, walletgate.AmountNoDigits},
		// block.io: a sign either way, a bare fraction, any trailing zeros.
		{"blockio", blockioFmt, "+0.00000001", 1, 0},
		{"blockio", blockioFmt, ".5", 50_000_000, 0},
		{"blockio", blockioFmt, "0.000000010000", 1, 0},
		{"blockio", blockioFmt, "1.", 0, walletgate.AmountNoFraction},
		{"blockio", blockioFmt, "-", 0, walletgate.AmountNoDigits},
		{"blockio", blockioFmt, "0.123456789", 0, walletgate.AmountPrecision},
		{"blockio", blockioFmt, "x.123456789", 0, walletgate.AmountPrecision}, // places are checked before digits
		{"blockio", blockioFmt, "1,5", 0, walletgate.AmountNotDigit},
		{"blockio", blockioFmt, "99999999999999999999", 0, walletgate.AmountRange},
		{"blockio", blockioFmt, "99999999999999999999x", 0, walletgate.AmountRange}, // range is met before the bad digit
		// Node wallets: JSON numbers, exact, at most 21 million coins.
		{"node", nodeFmt, "1e-07", 10, 0},
		{"node", nodeFmt, "1E-08", 1, 0},
		{"node", nodeFmt, "2.1e+07", 2_100_000_000_000_000, 0},
		{"node", nodeFmt, "-0.00001234", -1_234, 0},
		{"node", nodeFmt, "1e-09", 0, walletgate.AmountPrecision},
		{"node", nodeFmt, "21000000.00000001", 0, walletgate.AmountRange},
		{"node", nodeFmt, "1e31", 0, walletgate.AmountExponent},
		{"node", nodeFmt, "1e99999999999999999999", 0, walletgate.AmountExponent},
		{"node", nodeFmt, "100000000000000000.000000001", 0, walletgate.AmountPrecision}, // precision before range
		{"node", nodeFmt, "01", 0, walletgate.AmountSyntax},
		{"node", nodeFmt, "1.", 0, walletgate.AmountSyntax},
		{"node", nodeFmt, "+1", 0, walletgate.AmountSyntax},
		{"node", nodeFmt, "Inf", 0, walletgate.AmountSyntax},
		{"node", nodeFmt, "", 0, walletgate.AmountSyntax},
		// ElectrumX values: rounded half-even, or truncated.
		{"value", valueFmt, "50", 5_000_000_000, 0},
		{"value", valueFmt, "1e-05", 1_000, 0},
		{"value", valueFmt, "1.5e-08", 2, 0}, // a tie, up to even
		{"value", valueFmt, "2.5e-08", 2, 0}, // a tie, down to even
		{"value", valueFmt, "0.000000005", 0, 0},
		{"value", valueFmt, "0.0000000251", 3, 0},
		{"value", valueFmt, "-0.000000015", -2, 0},
		{"value", valueFmt, "0e1000", 0, 0},
		{"value", valueFmt, "1e-1000", 0, 0},
		{"value", valueFmt, "92233720368.547758065", math.MaxInt64 - 1, 0},
		{"value", valueFmt, "92233720368.547758075", 0, walletgate.AmountRange}, // rounds past int64
		{"value", valueFmt, "-92233720368.54775808", 0, walletgate.AmountRange}, // Max is symmetric
		{"value", valueFmt, "1e300", 0, walletgate.AmountRange},
		{"value", valueFmt, "1e1001", 0, walletgate.AmountExponent},
		{"trunc", truncFmt, "0.999999999", 99_999_999, 0},
		{"trunc", truncFmt, "-0.123456789", -12_345_678, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.in, func(t *testing.T) {
			got, err := walletgate.ParseCoins(tt.in, tt.f)
			if tt.why == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("ParseCoins(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
				}
				return
			}
			var ae *walletgate.AmountError
			if !errors.As(err, &ae) || ae.Reason != tt.why || ae.Text != tt.in || got != 0 {
				t.Fatalf("ParseCoins(%q) = %d, %v; want reason %v", tt.in, got, err, tt.why)
			}
		})
	}
}

func TestAmountErrorText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", `amount "": no digits`},
		{"1.", `amount "1.": no digits after the point`},
		{"0.123456789", `amount "0.123456789": more than 8 decimal places`},
		{"1,5", `amount "1,5": ',' is not a digit`},
		{"99999999999999999999", `amount "99999999999999999999": too large`},
		{strings.Repeat("1", 50) + "x", `amount "` + strings.Repeat("1", 40) + `...": too large`},
	} {
		_, err := walletgate.ParseCoins(tt.in, blockioFmt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseCoins(%q) error %v; want %s", tt.in, err, tt.want)
		}
	}
	_, err := walletgate.ParseCoins("01", nodeFmt)
	var ae *walletgate.AmountError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *AmountError", err)
	}
	re := ae.Reword("amount %q is not a JSON number", ae.Text)
	if re.Error() != `amount "01" is not a JSON number` || re.Reason != walletgate.AmountSyntax || ae.Error() != `amount "01": not a decimal number` {
		t.Errorf("Reword: %q (%v), original %q", re.Error(), re.Reason, ae.Error())
	}
}

// TestDecimalAmountIsParseSats: DecimalAmount reads what ParseSats reads,
// to the satoshi, and refuses what it refuses; beyond int64 (where
// ParseSats overflows) it reports AmountRange.
func TestDecimalAmountIsParseSats(t *testing.T) {
	for _, s := range []string{"0.00021", "1.5", "-2", "3.", "-0", "00000000001", "0.12345678", "21000000",
		"", "-", ".", ".5", "1.123456789", "1e8", "0x10", "1,5", "--1", "+1", "99999999999999.0", " 1", "000000000001"} {
		a, errA := walletgate.ParseSats(s)
		b, errB := walletgate.ParseCoins(s, walletgate.DecimalAmount)
		if (errA == nil) != (errB == nil) || a != b {
			t.Errorf("%q: ParseSats %d, %v; ParseCoins %d, %v", s, a, errA, b, errB)
		}
	}
}

// oracle computes what f should make of text with exact rationals, or ok
// false where the text is outside the format's grammar.
func oracle(text string, f walletgate.AmountFormat) (*big.Rat, bool) {
	s := text
	if !f.JSON {
		if strings.HasPrefix(s, "+") && f.Plus {
			s = s[1:]
		}
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		whole, frac, hasPoint := strings.Cut(s, ".")
		if strings.Trim(whole+frac, "0123456789") != "" || whole+frac == "" ||
			whole == "" && !f.BareFraction || hasPoint && frac == "" && !f.TrailingPoint ||
			f.WholeDigits > 0 && len(whole) > f.WholeDigits || f.Places > 0 && len(frac) > f.Places {
			return nil, false
		}
		s = "0" + whole + "." + frac + "0"
		if neg {
			s = "-" + s
		}
	} else if strings.ContainsAny(s, "eE") {
		_, e, _ := strings.Cut(strings.ToLower(s), "e")
		if len(strings.TrimLeft(e, "+-0")) > 6 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// FuzzParseCoins: never a panic; every error is an *AmountError naming the
// input; every accepted value is within the format's bound and is what
// exact rational arithmetic makes of the text; and every value survives
// FormatSats and DecimalAmount unchanged.
func FuzzParseCoins(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "0.00021", "3.", ".5", "+1", "1e-07", "2.5e-08", "1E+2", "0.000000015",
		"92233720368.54775807", "-92233720368.54775808", "1e1000", "0e1000", "01", "1.000000000", "x.123456789", "0E0000000"} {
		f.Add(s)
	}
	formats := []walletgate.AmountFormat{decimalFmt, blockioFmt, nodeFmt, valueFmt, truncFmt,
		{Rounding: walletgate.RoundHalfEven}, {Rounding: walletgate.RoundDown, Plus: true}}
	sat := big.NewRat(walletgate.SatsPerCoin, 1)
	f.Fuzz(func(t *testing.T, s string) {
		for i, fm := range formats {
			v, err := walletgate.ParseCoins(s, fm)
			if err != nil {
				var ae *walletgate.AmountError
				if !errors.As(err, &ae) || ae.Text != s || v != 0 {
					t.Fatalf("format %d: ParseCoins(%q) = %d, %v", i, s, v, err)
				}
				continue
			}
			if fm.Max > 0 && (v > fm.Max || v < -fm.Max) {
				t.Fatalf("format %d: ParseCoins(%q) = %d beyond %d", i, s, v, fm.Max)
			}
			r, ok := oracle(s, fm)
			if !ok {
				t.Fatalf("format %d: ParseCoins(%q) = %d, outside the grammar", i, s, v)
			}
			r.Mul(r, sat)
			diff := new(big.Rat).Sub(r, new(big.Rat).SetInt64(v))
			half := big.NewRat(1, 2)
			switch fm.Rounding {
			case walletgate.RoundExact:
				if diff.Sign() != 0 {
					t.Fatalf("format %d: ParseCoins(%q) = %d, exactly %s", i, s, v, r.FloatString(3))
				}
			case walletgate.RoundDown:
				if new(big.Rat).Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 || diff.Sign()*r.Sign() < 0 {
					t.Fatalf("format %d: ParseCoins(%q) = %d, exactly %s", i, s, v, r.FloatString(3))
				}
			case walletgate.RoundHalfEven:
				c := new(big.Rat).Abs(diff).Cmp(half)
				if c > 0 || c == 0 && v%2 != 0 {
					t.Fatalf("format %d: ParseCoins(%q) = %d, exactly %s", i, s, v, r.FloatString(3))
				}
			}
			back, err := walletgate.ParseCoins(walletgate.FormatSats(v), walletgate.DecimalAmount)
			if err != nil || back != v {
				t.Fatalf("%d → %q → %d, %v", v, walletgate.FormatSats(v), back, err)
			}
		}
	})
}
