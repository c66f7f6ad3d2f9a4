package chainview

import (
	"testing"

	"github.com/walletgate/walletgate"
)

func TestValueSats(t *testing.T) {
	tests := []struct {
		text  string
		mode  walletgate.Rounding
		want  int64
		isErr bool
	}{
		{"0", walletgate.RoundHalfEven, 0, false},
		{"0.0", walletgate.RoundHalfEven, 0, false},
		{"50.0", walletgate.RoundHalfEven, 5_000_000_000, false},
		{"50.00000000", walletgate.RoundHalfEven, 5_000_000_000, false},
		{"50", walletgate.RoundHalfEven, 5_000_000_000, false},
		{"0.00010000", walletgate.RoundHalfEven, 10_000, false},
		{"1e-05", walletgate.RoundHalfEven, 1_000, false},
		{"1E+2", walletgate.RoundHalfEven, 10_000_000_000, false},
		{"1.5e-08", walletgate.RoundHalfEven, 2, false},     // tie, up to even
		{"2.5e-08", walletgate.RoundHalfEven, 2, false},     // tie, down to even
		{"0.000000005", walletgate.RoundHalfEven, 0, false}, // tie, 0 is even
		{"0.000000015", walletgate.RoundHalfEven, 2, false},
		{"0.000000025", walletgate.RoundHalfEven, 2, false},
		{"0.0000000251", walletgate.RoundHalfEven, 3, false}, // above the tie
		{"0.0000000049999", walletgate.RoundHalfEven, 0, false},
		{"0.123456789", walletgate.RoundHalfEven, 12_345_679, false},
		{"0.123456789", walletgate.RoundDown, 12_345_678, false},
		{"0.999999999", walletgate.RoundDown, 99_999_999, false},
		{"2.5e-08", walletgate.RoundDown, 2, false}, // exponent text is rounded even under RoundDown
		{"3.5e-08", walletgate.RoundDown, 4, false},
		{"21000000.0", walletgate.RoundHalfEven, 2_100_000_000_000_000, false},
		{"-0.5", walletgate.RoundHalfEven, -50_000_000, false},
		{"92233720368.54775807", walletgate.RoundHalfEven, 9_223_372_036_854_775_807, false},
		{"92233720368.54775808", walletgate.RoundHalfEven, 0, true},
		{"1e300", walletgate.RoundHalfEven, 0, true},
		{"", walletgate.RoundHalfEven, 0, true},
		{"abc", walletgate.RoundHalfEven, 0, true},
		{"1e", walletgate.RoundHalfEven, 0, true},
		{"1.", walletgate.RoundHalfEven, 0, true},
		{".5", walletgate.RoundHalfEven, 0, true},
		{"1.2.3", walletgate.RoundHalfEven, 0, true},
		{"0x10", walletgate.RoundHalfEven, 0, true},
		{"1e99999", walletgate.RoundHalfEven, 0, true},
	}
	for _, tt := range tests {
		got, err := valueSats(tt.text, tt.mode)
		if (err != nil) != tt.isErr {
			t.Errorf("valueSats(%q, %d) error = %v, want error %v", tt.text, tt.mode, err, tt.isErr)
			continue
		}
		if got != tt.want {
			t.Errorf("valueSats(%q, %d) = %d, want %d", tt.text, tt.mode, got, tt.want)
		}
	}
}

func FuzzValueSats(f *testing.F) {
	for _, s := range []string{"0", "50.0", "1e-05", "0.000000005", "-1.25", "1E+2", "92233720368.54775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := valueSats(s, walletgate.RoundHalfEven)
		b, errB := valueSats(s, walletgate.RoundDown)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("%q: modes disagree on validity: %v vs %v", s, errA, errB)
		}
		// Rounding can only add one satoshi (away from zero) over truncation.
		if errA == nil && a != b && a != b+1 && a != b-1 {
			t.Fatalf("%q: round %d vs truncate %d", s, a, b)
		}
	})
}

// TestValueSatsWords: the error texts are the ones /tx has always logged.
func TestValueSatsWords(t *testing.T) {
	for in, want := range map[string]string{
		"":        `amount "": not a decimal number`,
		"1.":      `amount "1.": not a decimal number`,
		"1e99999": `amount "1e99999": bad exponent`,
		"1e300":   `amount "1e300": out of range`,
	} {
		if _, err := valueSats(in, walletgate.RoundHalfEven); err == nil || err.Error() != want {
			t.Errorf("valueSats(%q) error %v; want %s", in, err, want)
		}
	}
}
