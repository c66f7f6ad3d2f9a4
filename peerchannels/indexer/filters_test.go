package indexer_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/walletgate/walletgate/peerchannels/indexer"
)

func hash32(b byte) [32]byte {
	var h [32]byte
	for i := range h {
		h[i] = b + byte(i)
	}
	return h
}

func regJSON(entries ...any) []byte {
	b, _ := json.Marshal(entries)
	return b
}

// listed returns the account's finalised filters through the binary GET.
func listed(t *testing.T, e *env) map[[32]byte]indexer.TipFilterEntry {
	t.Helper()
	st, _, body := e.call(http.MethodGet, "/api/v1/transaction/filter", nil, "Accept: "+octet, e.bearer())
	entries, err := indexer.ParseTipFilterEntries(body)
	if st != 200 || err != nil {
		t.Fatalf("list: status %d %v", st, err)
	}
	out := map[[32]byte]indexer.TipFilterEntry{}
	for _, en := range entries {
		out[en.PushDataHash] = en
	}
	return out
}

func TestTipFilterRegistration(t *testing.T) {
	e := newEnv(t)
	a, b, c := hash32(1), hash32(50), hash32(100)
	before := time.Now().Unix()

	// JSON registration (hash hex in internal order), then the listing.
	st, _, body := e.call(http.MethodPost, "/api/v1/transaction/filter",
		regJSON([]any{hex.EncodeToString(a[:]), 3600}, []any{hex.EncodeToString(b[:]), 600}),
		"Content-Type: "+jsonType, "Accept: "+jsonType, e.bearer())
	var created struct {
		DateCreated string `json:"dateCreated"`
	}
	if st != 200 || json.Unmarshal(body, &created) != nil {
		t.Fatalf("register: status %d %s", st, body)
	}
	when, err := time.Parse("2006-01-02T15:04:05", created.DateCreated)
	if err != nil || when.Unix() < before-1 || when.Unix() > time.Now().Unix()+1 {
		t.Fatalf("dateCreated %q", created.DateCreated)
	}
	req := e.fake.Requests("/api/v1/transaction/filter")[0]
	if req.ContentType != octet || req.Accept != jsonType || req.Query.Get("account_id") != strconv.FormatInt(e.acct.ID, 10) ||
		req.Query.Get("date_created") != strconv.FormatInt(when.Unix(), 10) {
		t.Fatalf("indexer request %+v", req)
	}
	if got := e.fake.Filters(e.acct.ID); got[a] != 3600 || got[b] != 600 || len(got) != 2 {
		t.Fatalf("indexer filters %v", got)
	}
	l := listed(t, e)
	if len(l) != 2 || l[a].DurationSecs != 3600 || l[b].DurationSecs != 600 || int64(l[a].DateCreated) != when.Unix() {
		t.Fatalf("listing %+v", l)
	}

	// The JSON listing is a JSON string holding rows with byte-reversed hex.
	st, _, body = e.call(http.MethodGet, "/api/v1/transaction/filter", nil, e.bearer())
	var inner string
	var rows [][]any
	if st != 200 || json.Unmarshal(body, &inner) != nil || json.Unmarshal([]byte(inner), &rows) != nil || len(rows) != 2 {
		t.Fatalf("json listing: status %d %s", st, body)
	}
	if rows[0][0] != chainhash.Hash(a).String() || rows[0][2] != float64(3600) {
		t.Fatalf("row %v, want reversed hex %s", rows[0], chainhash.Hash(a))
	}

	// All-or-nothing: one already registered hash refuses the whole batch.
	var bin []byte
	bin = indexer.TipFilterRegistration{PushDataHash: c, DurationSecs: 900}.AppendBinary(bin)
	bin = indexer.TipFilterRegistration{PushDataHash: a, DurationSecs: 900}.AppendBinary(bin)
	st, _, body = e.call(http.MethodPost, "/api/v1/transaction/filter", bin, "Content-Type: "+octet, e.bearer())
	if st != 400 || string(body) != "400: 10024: some pushdata hashes already registered" {
		t.Fatalf("duplicate: status %d %q", st, body)
	}
	if l := listed(t, e); len(l) != 2 {
		t.Fatalf("after refused batch: %d filters", len(l))
	}
	if len(e.fake.Requests("/api/v1/transaction/filter")) != 1 {
		t.Fatal("refused batch reached the indexer")
	}

	// The indexer refuses a too-short duration: its 400 passes through and
	// the local rows are removed, so the hash can be registered again.
	bin = indexer.TipFilterRegistration{PushDataHash: c, DurationSecs: 10}.AppendBinary(nil)
	st, _, body = e.call(http.MethodPost, "/api/v1/transaction/filter", bin, "Content-Type: "+octet, e.bearer())
	if st != 400 || len(body) != 0 {
		t.Fatalf("short duration: status %d %q", st, body)
	}
	e.fake.SetStatus("/api/v1/transaction/filter", 500)
	bin = indexer.TipFilterRegistration{PushDataHash: c, DurationSecs: 300}.AppendBinary(nil)
	if st, _, _ = e.call(http.MethodPost, "/api/v1/transaction/filter", bin, "Content-Type: "+octet, e.bearer()); st != 500 {
		t.Fatalf("indexer 500: status %d", st)
	}
	e.fake.SetStatus("/api/v1/transaction/filter", 0)
	if l := listed(t, e); len(l) != 2 {
		t.Fatalf("after indexer refusals: %d filters", len(l))
	}
	if st, _, body = e.call(http.MethodPost, "/api/v1/transaction/filter", bin, "Content-Type: "+octet, e.bearer()); st != 200 {
		t.Fatalf("re-register after rollback: status %d %s", st, body)
	}
	if l := listed(t, e); len(l) != 3 || l[c].DurationSecs != 300 {
		t.Fatalf("listing %+v", l)
	}
}

func TestTipFilterRegistrationChecks(t *testing.T) {
	e := newEnv(t)
	good := regJSON([]any{strings.Repeat("ab", 32), 3600})
	tests := []struct {
		name    string
		body    []byte
		headers []string
		status  int
		reason  string
	}{
		{"accept */*", good, []string{"Accept: */*", "Content-Type: " + jsonType, e.bearer()}, 400, "400: unknown response/Accept mimetype"},
		{"accept binary", good, []string{"Accept: " + octet, "Content-Type: " + jsonType, e.bearer()}, 400, ""},
		{"no auth", good, []string{"Content-Type: " + jsonType}, 401, ""},
		{"empty body", nil, []string{"Content-Type: " + jsonType, e.bearer()}, 400, "400: no body"},
		{"other content type", good, []string{"Content-Type: text/plain", e.bearer()}, 400, "400: unknown request body content type"},
		{"no content type", good, []string{e.bearer()}, 400, "400: unknown request body content type"},
		{"empty list", []byte(`[]`), []string{"Content-Type: " + jsonType, e.bearer()}, 400, "400: no registration entries provided"},
		{"short hash", regJSON([]any{"abcd", 3600}), []string{"Content-Type: " + jsonType, e.bearer()}, 400, "400: one or more payload entries are incorrect"},
		{"duration not int", regJSON([]any{strings.Repeat("ab", 32), "x"}), []string{"Content-Type: " + jsonType, e.bearer()}, 400, ""},
		{"binary not 36n", make([]byte, 37), []string{"Content-Type: " + octet, e.bearer()}, 400, "400: binary request body malformed"},
		{"repeat in one batch", regJSON([]any{strings.Repeat("cd", 32), 3600}, []any{strings.Repeat("cd", 32), 600}),
			[]string{"Content-Type: " + jsonType, e.bearer()}, 400, "400: 10024: some pushdata hashes already registered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := e.call(http.MethodPost, "/api/v1/transaction/filter", tc.body, tc.headers...)
			if st != tc.status || (tc.reason != "" && string(body) != tc.reason) {
				t.Fatalf("status %d %q, want %d %q", st, body, tc.status, tc.reason)
			}
		})
	}
	if n := len(e.fake.Requests("/api/v1/transaction/filter")); n != 0 {
		t.Fatalf("indexer saw %d refused registrations", n)
	}
	if st, _, body := e.call(http.MethodGet, "/api/v1/transaction/filter", nil, "Accept: text/html", e.bearer()); st != 400 {
		t.Fatalf("GET with bad Accept: %d %s", st, body)
	}
	if st, _, _ := e.call(http.MethodGet, "/api/v1/transaction/filter", nil); st != 401 {
		t.Fatalf("GET without auth: %d", st)
	}
}

func TestTipFilterDeletion(t *testing.T) {
	e := newEnv(t)
	a, b, unknown := hash32(1), hash32(2), hash32(3)
	var bin []byte
	for _, h := range [][32]byte{a, b} {
		bin = indexer.TipFilterRegistration{PushDataHash: h, DurationSecs: 3600}.AppendBinary(bin)
	}
	if st, _, body := e.call(http.MethodPost, "/api/v1/transaction/filter", bin, "Content-Type: "+octet, e.bearer()); st != 200 {
		t.Fatalf("register: %d %s", st, body)
	}
	del := func(body []byte, ct string) (int, []byte) {
		st, _, got := e.call(http.MethodPost, "/api/v1/transaction/filter:delete", body, "Content-Type: "+ct, e.bearer())
		return st, got
	}

	// A batch with an unregistered hash changes nothing.
	if st, body := del(append(a[:], unknown[:]...), octet); st != 400 || string(body) != "400: 10025: some pushdata hashes are not registered" {
		t.Fatalf("unknown hash: %d %q", st, body)
	}
	if l := listed(t, e); len(l) != 2 || len(e.fake.Filters(e.acct.ID)) != 2 {
		t.Fatal("partial deletion")
	}

	// The indexer refuses: DELETING is cleared, so a later delete works.
	e.fake.SetStatus("/api/v1/transaction/filter:delete", 500)
	if st, _ := del(a[:], octet); st != 500 {
		t.Fatalf("indexer 500: %d", st)
	}
	e.fake.SetStatus("/api/v1/transaction/filter:delete", 0)
	if l := listed(t, e); len(l) != 2 {
		t.Fatalf("after refused delete: %d", len(l))
	}

	// JSON delete of a (repeated): an empty 200, forwarded as binary.
	if st, body := del(regJSON(hex.EncodeToString(a[:]), hex.EncodeToString(a[:])), jsonType); st != 200 || len(body) != 0 {
		t.Fatalf("delete: %d %q", st, body)
	}
	reqs := e.fake.Requests("/api/v1/transaction/filter:delete")
	last := reqs[len(reqs)-1]
	if last.ContentType != octet || !bytes.Equal(last.Body, a[:]) || last.Query.Get("account_id") != strconv.FormatInt(e.acct.ID, 10) {
		t.Fatalf("indexer request %+v", last)
	}
	if l := listed(t, e); len(l) != 1 || l[b].DurationSecs != 3600 {
		t.Fatalf("after delete: %+v", l)
	}
	if _, still := e.fake.Filters(e.acct.ID)[a]; still {
		t.Fatal("indexer still has the deleted filter")
	}
	// Deleting it again is refused: it is gone.
	if st, _ := del(a[:], octet); st != 400 {
		t.Fatalf("second delete: %d", st)
	}

	checks := []struct {
		name    string
		body    []byte
		headers []string
		status  int
	}{
		{"no auth", b[:], []string{"Content-Type: " + octet}, 401},
		{"bad accept", b[:], []string{"Accept: text/plain", "Content-Type: " + octet, e.bearer()}, 400},
		{"empty", nil, []string{"Content-Type: " + octet, e.bearer()}, 400},
		{"not 32n", make([]byte, 33), []string{"Content-Type: " + octet, e.bearer()}, 400},
		{"bad json", []byte(`[1]`), []string{"Content-Type: " + jsonType, e.bearer()}, 400},
		{"other content type", b[:], []string{"Content-Type: text/plain", e.bearer()}, 400},
		{"empty list", []byte(`[]`), []string{"Content-Type: " + jsonType, e.bearer()}, 400},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if st, _, body := e.call(http.MethodPost, "/api/v1/transaction/filter:delete", tc.body, tc.headers...); st != tc.status {
				t.Fatalf("status %d %q, want %d", st, body, tc.status)
			}
		})
	}
	if l := listed(t, e); len(l) != 1 {
		t.Fatal("refused deletes changed the filters")
	}
}
