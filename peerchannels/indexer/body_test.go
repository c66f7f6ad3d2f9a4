package indexer

import (
	"strings"
	"testing"
)

// Fuzz the client-body parsers of the public routes: they must never panic
// and must hand on only well-formed values.
func FuzzParseOutpointBody(f *testing.F) {
	f.Add(true, []byte(`[["`+strings.Repeat("ab", 32)+`",1]]`))
	f.Add(false, make([]byte, 36))
	f.Fuzz(func(t *testing.T, isJSON bool, body []byte) {
		ct := octetStream
		if isJSON {
			ct = appJSON
		}
		ops, err := parseOutpointBody(ct, body)
		if err == nil && !isJSON && len(ops)*OutpointSize != len(body) {
			t.Fatalf("%d outpoints from %d bytes", len(ops), len(body))
		}
	})
}

func FuzzParseRegistrations(f *testing.F) {
	f.Add(true, []byte(`[["`+strings.Repeat("ab", 32)+`",3600]]`))
	f.Add(false, make([]byte, 36))
	f.Fuzz(func(t *testing.T, isJSON bool, body []byte) {
		ct := octetStream
		if isJSON {
			ct = appJSON
		}
		regs, err := parseRegistrations(ct, body)
		if err == nil && !isJSON && len(regs)*TipFilterRegistrationSize != len(body) {
			t.Fatalf("%d registrations from %d bytes", len(regs), len(body))
		}
	})
}

func FuzzParseHashList(f *testing.F) {
	f.Add(true, []byte(`["`+strings.Repeat("ab", 32)+`"]`))
	f.Add(false, make([]byte, 64))
	f.Fuzz(func(t *testing.T, isJSON bool, body []byte) {
		ct := octetStream
		if isJSON {
			ct = appJSON
		}
		hs, err := parseHashList(ct, body)
		seen := map[[32]byte]bool{}
		for _, h := range hs {
			if seen[h] {
				t.Fatalf("repeated hash %x kept", h)
			}
			seen[h] = true
		}
		_ = err
	})
}

func FuzzValidateCallbackURL(f *testing.F) {
	f.Add("http://example.com/x")
	f.Add("https://user:pw@localhost:1/")
	f.Fuzz(func(t *testing.T, s string) {
		if validateCallbackURL(s) == nil && len(s) > MaxCallbackURLLength {
			t.Fatalf("accepted %d-char URL", len(s))
		}
	})
}
