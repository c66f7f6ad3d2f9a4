package peerchannels

import (
	"encoding/json"
	"testing"

	"github.com/walletgate/walletgate"
)

func TestParseCreateTokenTruthiness(t *testing.T) {
	for _, tc := range []struct {
		body        string
		read, write bool
	}{
		{`{"description":"","can_read":true,"can_write":false}`, true, false},
		{`{"description":"","can_read":1,"can_write":0}`, true, false},
		{`{"description":"","can_read":"x","can_write":""}`, true, false},
		{`{"description":"","can_read":[0],"can_write":[]}`, true, false},
		{`{"description":"","can_read":{"a":1},"can_write":{}}`, true, false},
		{`{"description":"","can_read":0.5,"can_write":null}`, true, false},
	} {
		req, err := parseCreateToken([]byte(tc.body), 10)
		if err != nil || req.CanRead != tc.read || req.CanWrite != tc.write {
			t.Errorf("%s: got %+v %v", tc.body, req, err)
		}
	}
	if _, err := parseCreateToken([]byte(`{"description":"elevenchars","can_read":1,"can_write":1}`), 10); err == nil {
		t.Error("description over the limit accepted")
	}
}

// requireInvalid fails unless err is nil or a client-facing EInvalid with
// a message: parsers of outside input never report internal errors.
func requireInvalid(t *testing.T, err error) {
	t.Helper()
	if err != nil && (walletgate.ErrorCode(err) != walletgate.EInvalid || walletgate.ErrorMessage(err) == "") {
		t.Fatalf("parse error %v: want an EInvalid with a message", err)
	}
}

func FuzzParseCreateChannel(f *testing.F) {
	f.Add([]byte(defaultChannelBody))
	f.Add([]byte(`{"public_read":true,"public_write":true,"sequenced":true,"retention":{"min_age_days":null,"max_age_days":3,"auto_prune":false}}`))
	f.Add([]byte(`{"retention":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCreateChannel(body)
		requireInvalid(t, err)
		if err != nil {
			return
		}
		mn, mx := req.Retention.MinAgeDays, req.Retention.MaxAgeDays
		if (mn != nil && *mn < 0) || (mx != nil && *mx < 0) || (mn != nil && mx != nil && *mn > *mx) {
			t.Fatalf("accepted bad retention %v %v", mn, mx)
		}
	})
}

func FuzzParseAmendChannel(f *testing.F) {
	f.Add([]byte(`{"public_read":true,"public_write":false,"locked":true}`))
	f.Add([]byte(`{"public_read":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseAmendChannel(body)
		requireInvalid(t, err)
		if err == nil {
			// Accepted bodies hold the three booleans exactly.
			var m map[string]any
			if json.Unmarshal(body, &m) != nil || m["public_read"] != req.PublicRead || m["public_write"] != req.PublicWrite || m["locked"] != req.Locked {
				t.Fatalf("accepted %q as %+v", body, req)
			}
		}
	})
}

func FuzzParseCreateToken(f *testing.F) {
	f.Add([]byte(`{"description":"d","can_read":true,"can_write":false}`))
	f.Add([]byte(`{"description":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCreateToken(body, 64)
		requireInvalid(t, err)
		if err == nil && len(req.Description) > 64 {
			t.Fatalf("description of %d bytes accepted", len(req.Description))
		}
	})
}

func FuzzParseMark(f *testing.F) {
	f.Add([]byte(`{"read":true}`))
	f.Add([]byte(`{"read":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		read, err := parseMark(body)
		requireInvalid(t, err)
		if err == nil {
			var m map[string]any
			if json.Unmarshal(body, &m) != nil || m["read"] != read {
				t.Fatalf("accepted %q as %v", body, read)
			}
		}
	})
}

func FuzzParseKeyData(f *testing.F) {
	f.Add([]byte(`{"public_key_hex":"02","signature_hex":"00","message_hex":""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		kd, err := parseKeyData(body)
		requireInvalid(t, err)
		if err == nil {
			_ = kd.verify() // must not panic on any parsed input
			if len(kd.Signature) != 65 {
				t.Fatalf("signature of %d bytes accepted", len(kd.Signature))
			}
		}
	})
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "+1", "9223372036854775807", "9223372036854775808", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseID("sequence", s)
		requireInvalid(t, err)
		if err == nil && (n < 0 || itoa(n) != trimZeros(s)) {
			t.Fatalf("parsed %q as %d", s, n)
		}
	})
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
