package wallet

import "testing"

func TestCoinsToSats(t *testing.T) {
	tests := []struct {
		text  string
		mode  int
		want  int64
		isErr bool
	}{
		{"0", RoundHalfEven, 0, false},
		{"0.0", RoundHalfEven, 0, false},
		{"50.0", RoundHalfEven, 5_000_000_000, false},
		{"50.00000000", RoundHalfEven, 5_000_000_000, false},
		{"50", RoundHalfEven, 5_000_000_000, false},
		{"0.00010000", RoundHalfEven, 10_000, false},
		{"1e-05", RoundHalfEven, 1_000, false},
		{"1E+2", RoundHalfEven, 10_000_000_000, false},
		{"1.5e-08", RoundHalfEven, 2, false},     // tie, up to even
		{"2.5e-08", RoundHalfEven, 2, false},     // tie, down to even
		{"0.000000005", RoundHalfEven, 0, false}, // tie, 0 is even
		{"0.000000015", RoundHalfEven, 2, false},
		{"0.000000025", RoundHalfEven, 2, false},
		{"0.0000000251", RoundHalfEven, 3, false}, // above the tie
		{"0.0000000049999", RoundHalfEven, 0, false},
		{"0.123456789", RoundHalfEven, 12_345_679, false},
		{"0.123456789", Truncate, 12_345_678, false},
		{"0.999999999", Truncate, 99_999_999, false},
		{"2.5e-08", Truncate, 2, false}, // exponent text is rounded even in Truncate mode
		{"3.5e-08", Truncate, 4, false},
		{"21000000.0", RoundHalfEven, 2_100_000_000_000_000, false},
		{"-0.5", RoundHalfEven, -50_000_000, false},
		{"92233720368.54775807", RoundHalfEven, 9_223_372_036_854_775_807, false},
		{"92233720368.54775808", RoundHalfEven, 0, true},
		{"1e300", RoundHalfEven, 0, true},
		{"", RoundHalfEven, 0, true},
		{"abc", RoundHalfEven, 0, true},
		{"1e", RoundHalfEven, 0, true},
		{"1.", RoundHalfEven, 0, true},
		{".5", RoundHalfEven, 0, true},
		{"1.2.3", RoundHalfEven, 0, true},
		{"0x10", RoundHalfEven, 0, true},
		{"1e99999", RoundHalfEven, 0, true},
	}
	for _, tt := range tests {
		got, err := CoinsToSats(tt.text, tt.mode)
		if (err != nil) != tt.isErr {
			t.Errorf("CoinsToSats(%q, %d) error = %v, want error %v", tt.text, tt.mode, err, tt.isErr)
			continue
		}
		if got != tt.want {
			t.Errorf("CoinsToSats(%q, %d) = %d, want %d", tt.text, tt.mode, got, tt.want)
		}
	}
}

func FuzzCoinsToSats(f *testing.F) {
	for _, s := range []string{"0", "50.0", "1e-05", "0.000000005", "-1.25", "1E+2", "92233720368.54775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := CoinsToSats(s, RoundHalfEven)
		b, errB := CoinsToSats(s, Truncate)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("%q: modes disagree on validity: %v vs %v", s, errA, errB)
		}
		// Rounding can only add one satoshi (away from zero) over truncation.
		if errA == nil && a != b && a != b+1 && a != b-1 {
			t.Fatalf("%q: round %d vs truncate %d", s, a, b)
		}
	})
}
