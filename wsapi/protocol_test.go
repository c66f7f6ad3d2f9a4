package wsapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"method":"getInfo"}`,
		`{"id":"x","method":"getBalance","params":{"address":"web1qxyz"}}`,
		`{"id":null,"method":"subscribeAddresses","params":{"addresses":["a","b"]}}`,
		`{"id":{"a":1}}`, `[1]`, `{"id":1,"method":5}`, `{"id":1,"params":[1]}`, ``, `{`, `{"id":1e999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, e := parseRequest(b)
		if len(req.ID) == 0 {
			t.Fatalf("no id for %q", b)
		}
		// Every answer built from a parse must be valid JSON.
		var out []byte
		if e != nil {
			if e.Code != CodeBadRequest || e.Message == "" {
				t.Fatalf("error %+v for %q", e, b)
			}
			out = encodeError(req.ID, e)
		} else {
			if req.Method == "" {
				t.Fatalf("accepted %q without a method", b)
			}
			var err error
			if out, err = encodeResult(req.ID, true); err != nil {
				t.Fatal(err)
			}
			var p struct{ Address string }
			if e := decodeParams(req.Params, &p); e != nil && e.Code != CodeBadRequest {
				t.Fatalf("params error %+v", e)
			}
		}
		if !json.Valid(out) {
			t.Fatalf("answer %q to %q is not JSON", out, b)
		}
	})
}

func FuzzParseAccountParams(f *testing.F) {
	for _, s := range []string{
		`{"account":"alice","key":"k"}`, `{"account":"alice"}`, `{}`, `null`, ``, `{"account":5}`,
		`{"account":"\u00e9\ud800","key":null}`, `{"account":"a","account":"b"}`, `{"key":["x"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, e := parseAccountParams(b)
		if e != nil {
			if e.Code != CodeBadRequest || !strings.HasPrefix(e.Message, "invalid params: ") {
				t.Fatalf("error %+v for %q", e, b)
			}
			if p != (accountParams{}) {
				t.Fatalf("params %+v returned with an error", p)
			}
			return
		}
		// What was accepted answers as valid JSON, whatever the label.
		out, err := encodeResult(nullID, map[string]string{"subscribed": p.Account})
		if err != nil || !json.Valid(out) {
			t.Fatalf("answer %q for %q: %v", out, b, err)
		}
	})
}
