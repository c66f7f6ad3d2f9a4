package bitweb

import (
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"000", 0, true},
		{"12345", 12345, true},
		{"999999999999999", 999999999999999, true},
		{"12\n", 12, true}, // Python's $ matches before a final newline
		{"", 0, false},
		{"\n", 0, false},
		{"1000000000000000", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.0", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"12\n\n", 0, false},
		{"１", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseAmount(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"10", 10, true},
		{"0", 0, true},
		{"-3", -3, true},
		{"+7", 7, true},
		{" 5\t\n", 5, true},
		{"\x1c5\x1f", 5, true},
		{"1_0", 10, true},
		{"007", 7, true},
		{"99999999999999999999999", math.MaxInt32, true},
		{"-99999999999999999999999", -math.MaxInt32, true},
		{"", 0, false},
		{"  ", 0, false},
		{"-", 0, false},
		{"_1", 0, false},
		{"1_", 0, false},
		{"1__0", 0, false},
		{"1.5", 0, false},
		{"ten", 0, false},
		{"0x10", 0, false},
		{"+-1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseLimit(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseLimit(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "12\n", "999999999999999", "-1", "", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseAmount(s)
		if !ok {
			return
		}
		// Accepted text is 1–15 ASCII digits (plus one optional final
		// newline) and round-trips.
		d := strings.TrimSuffix(s, "\n")
		if len(d) == 0 || len(d) > 15 || n < 0 {
			t.Fatalf("parseAmount(%q) accepted = %d", s, n)
		}
		if back, err := strconv.ParseInt(d, 10, 64); err != nil || back != n {
			t.Fatalf("parseAmount(%q) = %d, strconv says %d, %v", s, n, back, err)
		}
	})
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"10", " -3 ", "1_000", "", "x", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseLimit(s)
		if !ok {
			return
		}
		plain := strings.ReplaceAll(pyStrip(s), "_", "")
		v, err := strconv.ParseInt(plain, 10, 64)
		if err == nil && v > -math.MaxInt32 && v < math.MaxInt32 && int64(n) != v {
			t.Fatalf("parseLimit(%q) = %d, want %d", s, n, v)
		}
		if n > math.MaxInt32 || n < -math.MaxInt32 {
			t.Fatalf("parseLimit(%q) = %d escapes the saturation bound", s, n)
		}
	})
}

// FuzzBroadcastInput: whatever the body and content type, the parser never
// panics, never returns more than the limits allow past checkRawHex, and
// only valid even-length hex gets through.
func FuzzBroadcastInput(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "raw=00ab", "")
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"raw\"\r\n\r\nabcd\r\n--X--\r\n", "")
	f.Add("text/plain", " 0011 ", "raw=ff")
	f.Add("", "\xff\xfe", "")
	f.Fuzz(func(t *testing.T, ctype, body, query string) {
		req := httptest.NewRequest("POST", "/broadcast", strings.NewReader(body))
		req.URL.RawQuery = query
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		raw, err := broadcastInput(req, 1000)
		if err != nil {
			if len(body) <= 1000 {
				t.Fatalf("body of %d bytes refused: %v", len(body), err)
			}
			return
		}
		if err := checkRawHex(raw, 500); err != nil {
			return
		}
		if raw == "" || len(raw)%2 != 0 || !isHex(raw) || utf8.RuneCountInString(raw) > 500 {
			t.Fatalf("checkRawHex let %q through", raw)
		}
	})
}
