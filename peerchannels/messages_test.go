package peerchannels

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Checklist 11, 12, 13: content types, empty and oversized payloads,
// gap-free sequences, lock and sequencing rules, the message JSON.
func e2eWriteMessage(t *testing.T, be backend) {
	clk := newClock()
	e := newEnvWith(t, be, func(c *Config) { c.Now = clk.Now })
	key, _ := e.account()
	ch := e.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":null,"max_age_days":null,"auto_prune":true}}`)
	owner := ch.AccessTokens[0].Token
	path := "/api/v1/channel/" + ch.ID

	r := e.req("POST", path, `{"a":1}`, append(auth(owner), "Content-Type", "application/json; charset=utf-8")...)
	want(t, "write json", r, 200, "")
	var raw map[string]any
	r.json(t, &raw)
	if len(raw) != 4 {
		t.Fatalf("message object %s: want exactly sequence, received, content_type, payload", r.body)
	}
	var m messageJSON
	r.json(t, &m)
	if m.Sequence != 1 || m.Received != "2026-11-21T12:00:00Z" || m.ContentType != "application/json" ||
		m.Payload != base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)) {
		t.Fatalf("message %+v", m)
	}
	r = e.req("POST", path, "\x00\x01binary", auth(owner)...) // no Content-Type: octet-stream
	want(t, "write without content type", r, 200, "")
	r.json(t, &m)
	if m.Sequence != 2 || m.ContentType != "application/octet-stream" || m.Payload != base64.StdEncoding.EncodeToString([]byte("\x00\x01binary")) {
		t.Fatalf("octet message %+v", m)
	}
	r = e.req("POST", path, "x", append(auth(owner), "Content-Type", "application/octet-stream")...)
	r.json(t, &m)
	if m.Sequence != 3 {
		t.Fatalf("third sequence %d", m.Sequence)
	}

	max := strings.Repeat("x", DefaultMaxMessageContentLength)
	want(t, "write at the limit", e.req("POST", path, max, auth(owner)...), 200, "")
	for _, tc := range []struct {
		name   string
		body   string
		hdr    []string
		status int
		reason string
	}{
		{"text/plain", "x", []string{"Content-Type", "text/plain"}, 400, "400: 10020: content-type header must be either 'application/octet-stream' or 'application/json'"},
		{"bad media type", "x", []string{"Content-Type", ";;"}, 400, ""},
		{"empty", "", []string{"Content-Type", "application/json"}, 400, "400: Payload is empty"},
		{"over the limit", max + "x", nil, 413, "Maximum request body size 65536 exceeded, actual body size 65537"},
	} {
		want(t, tc.name, e.req("POST", path, tc.body, append(auth(owner), tc.hdr...)...), tc.status, tc.reason)
	}
	// Chunked (no Content-Length) counts as empty.
	rq, _ := http.NewRequest("POST", e.srv.URL+path, io.MultiReader(strings.NewReader("chunk")))
	rq.Header.Set("Authorization", "Bearer "+owner)
	resp, err := e.srv.Client().Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(b) != "400: Payload is empty" {
		t.Fatalf("chunked write: %d %q", resp.StatusCode, b)
	}
	// None of the refused writes took a sequence number.
	if got := seqs(e.messages(owner, ch.ID, "")); len(got) != 4 || got[3] != 4 {
		t.Fatalf("sequences after refused writes %v, want 1..4", got)
	}

	want(t, "lock", e.req("POST", "/api/v1/channel/manage/"+ch.ID, `{"public_read":true,"public_write":true,"locked":true}`, auth(key)...), 200, "")
	want(t, "write locked", e.write(owner, ch.ID, `{}`), 400, "400: 10001: Channel is locked. Write failed.")
}

// Checklist 12: a sequenced channel refuses a writer that has unread
// messages; the other writer's messages are unread for it.
func e2eSequencedWrite(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	peer := e.token(key, ch.ID, true, true).Token

	want(t, "owner 1", e.write(owner, ch.ID, `1`), 200, "")
	want(t, "owner 2 (own messages are read)", e.write(owner, ch.ID, `2`), 200, "")
	want(t, "peer with unread", e.write(peer, ch.ID, `3`), 400, "400: 10002: Sequencing failure. This channel still has unread messages. Write failed.")
	want(t, "peer marks all read", e.req("POST", "/api/v1/channel/"+ch.ID+"/2?older=true", `{"read":true}`, auth(peer)...), 200, "200: OK")
	r := e.write(peer, ch.ID, `3`)
	want(t, "peer after marking", r, 200, "")
	var m messageJSON
	r.json(t, &m)
	if m.Sequence != 3 {
		t.Fatalf("peer's message sequence %d, want 3 (shared, gap-free)", m.Sequence)
	}
	want(t, "owner now has unread", e.write(owner, ch.ID, `4`), 400, "")
}

// Checklist 10, 14, 15, 16: new tokens see the history unread; the
// writer's copy is read; GET lists all or unread, in order, marks nothing;
// Accept rules; the ETag of GET.
func e2eReadMessages(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	for i := range 3 {
		want(t, "write", e.write(owner, ch.ID, `{"i":`+itoa(int64(i))+`}`), 200, "")
	}
	reader := e.token(key, ch.ID, true, false).Token
	if got := seqs(e.messages(reader, ch.ID, "?unread=true")); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("backfilled unread for a new token: %v, want [1 2 3]", got)
	}
	if got := seqs(e.messages(reader, ch.ID, "?unread=true")); len(got) != 3 {
		t.Fatalf("reading marked messages read: %v", got)
	}
	if got := e.messages(owner, ch.ID, "?unread=true"); len(got) != 0 {
		t.Fatalf("the writer's own copies should be read, got %v", seqs(got))
	}
	if got := seqs(e.messages(owner, ch.ID, "")); len(got) != 3 {
		t.Fatalf("default GET lists all, got %v", got)
	}
	if got := seqs(e.messages(owner, ch.ID, "?unread=1")); len(got) != 3 {
		t.Fatalf("only exactly unread=true filters, got %v", got)
	}

	r := e.req("GET", "/api/v1/channel/"+ch.ID, "null", auth(reader)...)
	if r.header.Get("ETag") != "3" || r.header.Get("Access-Control-Expose-Headers") != "authorization,etag" ||
		r.header.Get("User-Agent") != "ElectrumSV-server" {
		t.Fatalf("GET headers %v", r.header)
	}
	for _, acc := range []string{"application/json", "*/*"} {
		want(t, "accept "+acc, e.req("GET", "/api/v1/channel/"+ch.ID, "", append(auth(reader), "Accept", acc)...), 200, "")
	}
	want(t, "accept octet", e.req("GET", "/api/v1/channel/"+ch.ID, "", append(auth(reader), "Accept", "application/octet-stream")...),
		400, "400: Unsupported 'accept' header mime type 'application/octet-stream'")

	// ETag: the caller's max undeleted; empty when none.
	for _, s := range []string{"3", "2", "1"} {
		want(t, "delete "+s, e.req("DELETE", "/api/v1/channel/"+ch.ID+"/"+s, "", auth(reader)...), 200, "200: OK")
	}
	r = e.req("GET", "/api/v1/channel/"+ch.ID, "", auth(reader)...)
	if v, ok := r.header["Etag"]; !ok || v[0] != "" || r.body != "[]" {
		t.Fatalf("GET with nothing left: ETag %v present=%v body %s", v, ok, r.body)
	}
	// Unsequenced channel: empty ETag even with messages.
	u := e.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	e.write(u.AccessTokens[0].Token, u.ID, `1`)
	r = e.req("GET", "/api/v1/channel/"+u.ID, "", auth(u.AccessTokens[0].Token)...)
	if v := r.header.Values("ETag"); len(v) != 1 || v[0] != "" {
		t.Fatalf("unsequenced ETag %v", v)
	}
}

// Checklist 14: status rows go only to active tokens.
func e2eRevokedTokenGetsNoCopies(t *testing.T, be backend) {
	clk := newClock()
	e := newEnvWith(t, be, func(c *Config) { c.Now = clk.Now })
	key, _ := e.account()
	ch := e.channel(key, "")
	owner := ch.AccessTokens[0]
	rd := e.token(key, ch.ID, true, false)
	want(t, "revoke", e.req("DELETE", "/api/v1/channel/manage/"+ch.ID+"/api-token/"+itoa(rd.ID), "", auth(key)...), 204, "")
	clk.add(2 * time.Second)
	want(t, "write", e.write(owner.Token, ch.ID, `1`), 200, "")
	want(t, "revoked reader", e.req("GET", "/api/v1/channel/"+ch.ID, "", auth(rd.Token)...), 401, "401: 10005: Peer channel token expired.")
	tok, err := e.store.TokenByValue(t.Context(), rd.Token)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := e.store.Messages(t.Context(), tok.ChannelID, tok.ID, false)
	if err != nil || len(ms) != 0 {
		t.Fatalf("revoked token got copies: %v %v", ms, err)
	}
}

// Checklist 17: HEAD.
func e2eHeadMessages(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	rd := e.token(key, ch.ID, true, false).Token
	head := func(tok string) reply { return e.req("HEAD", "/api/v1/channel/"+ch.ID, "null", auth(tok)...) }

	r := head(owner)
	if r.status != 200 || r.body != "" || r.header.Get("ETag") != "0" || r.header.Get("Channel-Flags") != "rw" {
		t.Fatalf("HEAD empty channel: %d %q %v", r.status, r.body, r.header)
	}
	e.write(owner, ch.ID, `1`)
	if r = head(rd); r.header.Get("ETag") != "1" || r.header.Get("Channel-Flags") != "r" ||
		r.header.Get("Access-Control-Expose-Headers") != "authorization,etag,channel-flags" {
		t.Fatalf("HEAD by reader after owner's write: %v", r.header)
	}
	if r = head(owner); r.header.Get("ETag") != "0" {
		t.Fatalf("HEAD by the writer counts its own write: ETag %q", r.header.Get("ETag"))
	}
	u := e.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	ur := e.token(key, u.ID, true, true).Token
	e.write(u.AccessTokens[0].Token, u.ID, `1`)
	if r = e.req("HEAD", "/api/v1/channel/"+u.ID, "", auth(ur)...); r.header.Get("ETag") != "0" || r.header.Get("Channel-Flags") != "rw" {
		t.Fatalf("HEAD unsequenced: %v", r.header)
	}
}

// Checklist 18: permissions by operation, and foreign-channel tokens.
func e2eMessagePermissions(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, "")
	other := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	ro := e.token(key, ch.ID, true, false).Token
	wo := e.token(key, ch.ID, false, true).Token
	foreign := other.AccessTokens[0].Token
	want(t, "owner writes", e.write(owner, ch.ID, `1`), 200, "")
	p := "/api/v1/channel/" + ch.ID
	for _, tc := range []struct {
		name, method, path, body, token string
		status                          int
	}{
		{"read-only writes", "POST", p, `2`, ro, 401},
		{"write-only reads", "GET", p, "", wo, 401},
		{"write-only heads", "HEAD", p, "", wo, 401},
		{"write-only marks", "POST", p + "/1", `{"read":true}`, wo, 401},
		{"write-only deletes", "DELETE", p + "/1", "", wo, 200},
		{"read-only deletes", "DELETE", p + "/1", "", ro, 200},
		{"read-only marks", "POST", p + "/1", `{"read":true}`, ro, 200},
		{"foreign token reads", "GET", p, "", foreign, 401},
		{"foreign token writes", "POST", p, `3`, foreign, 401},
		{"foreign token marks", "POST", p + "/1", `{"read":true}`, foreign, 401},
		{"foreign token deletes", "DELETE", p + "/1", "", foreign, 401},
		{"token on unknown channel", "GET", "/api/v1/channel/nope", "", owner, 401},
	} {
		r := e.req(tc.method, tc.path, tc.body, append(auth(tc.token), "Content-Type", "application/json")...)
		if r.status != tc.status {
			t.Errorf("%s: got %d %q, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	if n := len(e.messages(owner, ch.ID, "")); n != 1 {
		t.Fatalf("refused writes stored messages: %d", n)
	}
}

// Checklist 19: mark read/unread, older=true, 404 and 400s.
func e2eMarkMessages(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	owner := ch.AccessTokens[0].Token
	rd := e.token(key, ch.ID, true, false).Token
	for range 4 {
		e.write(owner, ch.ID, `1`)
	}
	p := "/api/v1/channel/" + ch.ID + "/"
	want(t, "mark 2", e.req("POST", p+"2", `{"read":true}`, auth(rd)...), 200, "200: OK")
	if got := seqs(e.messages(rd, ch.ID, "?unread=true")); len(got) != 3 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("after marking 2: unread %v", got)
	}
	want(t, "mark 3 and older", e.req("POST", p+"3?older=true", `{"read":true}`, auth(rd)...), 200, "200: OK")
	if got := seqs(e.messages(rd, ch.ID, "?unread=true")); len(got) != 1 || got[0] != 4 {
		t.Fatalf("after older=true: unread %v", got)
	}
	want(t, "mark 1 unread", e.req("POST", p+"1", `{"read":false}`, auth(rd)...), 200, "")
	if got := seqs(e.messages(rd, ch.ID, "?unread=true")); len(got) != 2 || got[0] != 1 {
		t.Fatalf("after unmarking 1: unread %v", got)
	}
	for _, tc := range []struct {
		name, seq, body string
		status          int
		reason          string
	}{
		{"unknown seq", "99", `{"read":true}`, 404, "404: 10014: Sequence number not found."},
		{"non-numeric seq", "abc", `{"read":true}`, 400, `400: sequence "abc" is not a number`},
		{"negative seq", "-1", `{"read":true}`, 400, ""},
		{"huge seq", "99999999999999999999", `{"read":true}`, 400, ""},
		{"missing read", "1", `{}`, 400, "400: Missing property 'read' in JSON body"},
		{"read not bool", "1", `{"read":"yes"}`, 400, ""},
		{"invalid json", "1", `{`, 400, "400: Body is invalid JSON"},
	} {
		want(t, tc.name, e.req("POST", p+tc.seq, tc.body, auth(rd)...), tc.status, tc.reason)
	}
}

// Checklist 20: per-token soft delete, 200, 404, retention minimum.
func e2eDeleteMessages(t *testing.T, be backend) {
	clk := newClock()
	e := newEnvWith(t, be, func(c *Config) { c.Now = clk.Now })
	key, _ := e.account()
	ch := e.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":1,"max_age_days":2,"auto_prune":true}}`)
	owner := ch.AccessTokens[0].Token
	rd := e.token(key, ch.ID, true, false).Token
	e.write(owner, ch.ID, `1`)
	e.write(owner, ch.ID, `2`)
	p := "/api/v1/channel/" + ch.ID + "/"
	want(t, "too young", e.req("DELETE", p+"1", "", auth(rd)...), 400, "400: 10017: Retention period has not yet expired.")
	clk.add(24*time.Hour + time.Second)
	want(t, "delete", e.req("DELETE", p+"1", "null", auth(rd)...), 200, "200: OK")
	if got := seqs(e.messages(rd, ch.ID, "")); len(got) != 1 || got[0] != 2 {
		t.Fatalf("reader after delete: %v", got)
	}
	if got := seqs(e.messages(owner, ch.ID, "")); len(got) != 2 {
		t.Fatalf("the owner's copy must survive another token's delete: %v", got)
	}
	want(t, "unknown seq", e.req("DELETE", p+"7", "", auth(rd)...), 404, "404: 10014: Sequence number not found.")
	want(t, "non-numeric", e.req("DELETE", p+"x", "", auth(rd)...), 400, "")
}

// Checklist 30: bodies are JSON whatever the Content-Type, and GET, HEAD
// and DELETE tolerate a body.
func e2eBodiesAnyContentType(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	r := e.req("POST", "/api/v1/channel/manage", defaultChannelBody, append(auth(key), "Content-Type", "text/plain")...)
	want(t, "create with text/plain", r, 200, "")
	var ch channelJSON
	r.json(t, &ch)
	big := bytes.Repeat([]byte("n"), 100)
	for _, m := range []string{"GET", "HEAD", "DELETE"} {
		path := "/api/v1/channel/manage/" + ch.ID
		if m == "HEAD" {
			path = "/api/v1/channel/" + ch.ID
		}
		tok := key
		if m == "HEAD" {
			tok = ch.AccessTokens[0].Token
		}
		rq, _ := http.NewRequest(m, e.srv.URL+path, bytes.NewReader(big))
		rq.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.srv.Client().Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s with a body: %d", m, resp.StatusCode)
		}
	}
	var x []any
	if json.Unmarshal([]byte(e.req("GET", "/api/v1/channel/manage/list", "", auth(key)...).body), &x) != nil || len(x) != 0 {
		t.Fatalf("the DELETE with a body did not delete")
	}
}
