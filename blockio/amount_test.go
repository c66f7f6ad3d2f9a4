package blockio

import (
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"0.00100000", 100_000, ""},
		{"1", 100_000_000, ""},
		{"12.5", 1_250_000_000, ""},
		{"-0.5", -50_000_000, ""},
		{"+0.00000001", 1, ""},
		{".5", 50_000_000, ""},
		{"0.000000010000", 1, ""}, // trailing zeros beyond 8 places are exact
		{"20999999.97690000", 2_099_999_997_690_000, ""},
		{"0.123456789", 0, "more than 8 decimal places"},
		{"", 0, "no digits"},
		{"-", 0, "no digits"},
		{"1.", 0, "no digits after the point"},
		{"1e8", 0, "not a digit"},
		{" 1", 0, "not a digit"},
		{"1,5", 0, "not a digit"},
		{"0x10", 0, "not a digit"},
		{"99999999999999999999", 0, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAmount(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseAmount(%q) = %d, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseAmount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzParseAmount: never panics, and every accepted amount survives a
// round trip through walletgate.FormatSats (block.io's form) exactly.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0.00100000", "-1.5", "1e8", ".", "-.", "21000000.00000000", "0.000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			return
		}
		back, err := ParseAmount(walletgate.FormatSats(v))
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, walletgate.FormatSats(v), back, err)
		}
	})
}

// FuzzDecodeReply: any body and status give data or an error, never a
// panic, and never both.
func FuzzDecodeReply(f *testing.F) {
	f.Add(200, []byte(`{"status":"success","data":{"address":"x"}}`))
	f.Add(200, []byte(`{"status":"fail","data":{"error_message":"nope"}}`))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`{"status":"success"}`))
	f.Add(200, []byte(`{"status":"fail","data":"x"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		data, err := decodeReply("m", status, body)
		if (err == nil) == (data == nil) {
			t.Fatalf("data %q err %v: want exactly one", data, err)
		}
	})
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Customer 42":   "customer-42",
		"  a//b__c--d ": "a-b__c--d",
		"Ünïcode!":      "n-code",
		"":              "",
		"!!!":           "",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
