package peerchannels

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Checklist 1, 6: channel create returns 200 with the full object, 88-char
// ids, head_sequence 0 and one rw Owner token; token ids are global ints.
func e2eCreateChannel(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	r := e.req("POST", "/api/v1/channel/manage",
		`{"public_read":true,"public_write":false,"sequenced":false,"retention":{"min_age_days":1,"max_age_days":null,"auto_prune":false}}`, auth(key)...)
	want(t, "create", r, 200, "")
	var raw map[string]json.RawMessage
	r.json(t, &raw)
	for _, k := range []string{"id", "href", "public_read", "public_write", "sequenced", "locked", "head_sequence", "retention", "access_tokens"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("channel object lacks %q: %s", k, r.body)
		}
	}
	var ch channelJSON
	r.json(t, &ch)
	for what, v := range map[string]string{"channel id": ch.ID, "owner token": ch.AccessTokens[0].Token} {
		if b, err := base64.URLEncoding.DecodeString(v); err != nil || len(b) != 64 || len(v) != 88 {
			t.Fatalf("%s %q: want 88-char base64url of 64 bytes", what, v)
		}
	}
	if !ch.PublicRead || ch.PublicWrite || ch.Sequenced || ch.Locked || ch.HeadSequence != 0 ||
		ch.Retention.MinAgeDays == nil || *ch.Retention.MinAgeDays != 1 || ch.Retention.MaxAgeDays != nil || ch.Retention.AutoPrune {
		t.Fatalf("channel settings not kept: %s", r.body)
	}
	if ch.Href != "http://127.0.0.1:55666/api/v1/channel/"+ch.ID {
		t.Fatalf("href %q", ch.Href)
	}
	if len(ch.AccessTokens) != 1 {
		t.Fatalf("want one owner token, got %+v", ch.AccessTokens)
	}
	owner := ch.AccessTokens[0]
	if owner.Description != "Owner" || !owner.CanRead || !owner.CanWrite || owner.ID < 1 {
		t.Fatalf("owner token %+v", owner)
	}
	next := e.token(key, ch.ID, true, false)
	ch2 := e.channel(key, "")
	if next.ID <= owner.ID || ch2.AccessTokens[0].ID <= next.ID {
		t.Fatalf("token ids %d, %d, %d: want a global increasing sequence", owner.ID, next.ID, ch2.AccessTokens[0].ID)
	}
}

func e2eCreateChannelErrors(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	tests := []struct{ name, body, reason string }{
		{"invalid json", `{`, "400: bad request body, invalid JSON"},
		{"null", `null`, "400: bad request body, invalid JSON"},
		{"missing key", `{"public_read":true,"public_write":true,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`, "400: Missing property 'sequenced' in JSON body"},
		{"wrong type", `{"public_read":"yes","public_write":true,"sequenced":true,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`, "400: Property 'public_read' must be true or false"},
		{"no retention", `{"public_read":true,"public_write":true,"sequenced":true}`, "400: Missing property 'retention' in JSON body"},
		{"retention extra key", `{"public_read":true,"public_write":true,"sequenced":true,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true,"x":1}}`, ""},
		{"retention missing key", `{"public_read":true,"public_write":true,"sequenced":true,"retention":{"min_age_days":0,"max_age_days":0,"x":1}}`, "400: Missing property 'auto_prune' in JSON body"},
		{"negative age", `{"public_read":true,"public_write":true,"sequenced":true,"retention":{"min_age_days":-1,"max_age_days":0,"auto_prune":true}}`, ""},
		{"min over max", `{"public_read":true,"public_write":true,"sequenced":true,"retention":{"min_age_days":5,"max_age_days":2,"auto_prune":true}}`, "400: 10007: Invalid retention minimum or maximum."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want(t, tc.name, e.req("POST", "/api/v1/channel/manage", tc.body, auth(key)...), 400, tc.reason)
		})
	}
	// A trailing slash is another path (no redirect).
	want(t, "trailing slash", e.req("POST", "/api/v1/channel/manage/", defaultChannelBody, auth(key)...), 404, "404: Not Found")
	// Over the body cap.
	small := newEnvWith(t, be, func(c *Config) { c.MaxRequestBodyBytes = 64 })
	k2, _ := small.account2(t)
	want(t, "body over cap", small.req("POST", "/api/v1/channel/manage", defaultChannelBody, auth(k2)...), 413, "")
	r := e.req("GET", "/api/v1/channel/manage/list", "", auth(key)...)
	if r.body != "[]" {
		t.Fatalf("failed creates stored channels: %s", r.body)
	}
}

// account2 registers on a service whose body cap is too small for the
// proof: it goes through the store instead.
func (e *env) account2(t *testing.T) (string, int64) {
	k := newKey(t)
	key, err := newSecret()
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.store.CreateAccount(t.Context(), k.PubKey().SerializeCompressed(), key)
	if err != nil {
		t.Fatal(err)
	}
	return a.APIKey, a.ID
}

// Checklist 7: href from HREF_HOST/PORT.
func e2eHref(t *testing.T, be backend) {
	for _, tc := range []struct {
		port int
		want string
	}{
		{80, "http://h.example/api/v1/channel/X"},
		{443, "https://h.example/api/v1/channel/X"},
		{8080, "http://h.example:8080/api/v1/channel/X"},
	} {
		c := Config{HrefHost: "h.example", HrefPort: tc.port}.WithDefaults()
		if got := c.href(httptest.NewRequest("GET", "http://other.example/", nil), "X"); got != tc.want {
			t.Errorf("port %d: href %q, want %q", tc.port, got, tc.want)
		}
	}
	e := newEnvWith(t, be, func(c *Config) { c.HrefHost, c.HrefPort = "proxy.example", 443 })
	key, _ := e.account()
	if ch := e.channel(key, ""); ch.Href != "https://proxy.example/api/v1/channel/"+ch.ID {
		t.Fatalf("served href %q", ch.Href)
	}
}

// Checklist 8, 9: list is a bare array of the caller's channels; get and
// amend answer 404 for unknown or foreign channels; delete is 204 always
// and leaves foreign channels alone.
func e2eManageChannels(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	other, _ := e.account()
	a, b := e.channel(key, ""), e.channel(key, "")
	foreign := e.channel(other, "")

	r := e.req("GET", "/api/v1/channel/manage/list", "null", auth(key)...)
	want(t, "list", r, 200, "")
	var list []channelJSON
	r.json(t, &list)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list %s: want exactly the caller's two channels", r.body)
	}
	want(t, "HEAD list is not routed", e.req("HEAD", "/api/v1/channel/manage/list", "", auth(key)...), 404, "")

	r = e.req("GET", "/api/v1/channel/manage/"+a.ID, "", auth(key)...)
	want(t, "get", r, 200, "")
	var got channelJSON
	r.json(t, &got)
	if got.ID != a.ID || len(got.AccessTokens) != 1 {
		t.Fatalf("get: %s", r.body)
	}
	want(t, "get unknown", e.req("GET", "/api/v1/channel/manage/nope", "", auth(key)...), 404, "")
	want(t, "get foreign", e.req("GET", "/api/v1/channel/manage/"+foreign.ID, "", auth(key)...), 404, "")

	amend := `{"public_read":true,"public_write":false,"locked":true}`
	r = e.req("POST", "/api/v1/channel/manage/"+a.ID, amend, auth(key)...)
	want(t, "amend", r, 200, amend)
	r = e.req("GET", "/api/v1/channel/manage/"+a.ID, "", auth(key)...)
	r.json(t, &got)
	if !got.PublicRead || got.PublicWrite || !got.Locked {
		t.Fatalf("amend not stored: %s", r.body)
	}
	want(t, "amend unknown", e.req("POST", "/api/v1/channel/manage/nope", amend, auth(key)...), 404, "")
	want(t, "amend foreign", e.req("POST", "/api/v1/channel/manage/"+foreign.ID, amend, auth(key)...), 404, "")
	want(t, "amend missing key", e.req("POST", "/api/v1/channel/manage/"+a.ID, `{"public_read":true,"public_write":false}`, auth(key)...), 400, "400: Missing property 'locked' in JSON body")
	want(t, "amend bad json", e.req("POST", "/api/v1/channel/manage/"+a.ID, `nope`, auth(key)...), 400, "400: bad request body, invalid JSON")

	want(t, "delete foreign", e.req("DELETE", "/api/v1/channel/manage/"+foreign.ID, "null", auth(key)...), 204, "")
	want(t, "foreign survives", e.req("GET", "/api/v1/channel/manage/"+foreign.ID, "", auth(other)...), 200, "")
	want(t, "delete", e.req("DELETE", "/api/v1/channel/manage/"+a.ID, "", auth(key)...), 204, "")
	want(t, "delete again", e.req("DELETE", "/api/v1/channel/manage/"+a.ID, "", auth(key)...), 204, "")
	want(t, "deleted is gone", e.req("GET", "/api/v1/channel/manage/"+a.ID, "", auth(key)...), 404, "")
	want(t, "owner token of deleted channel", e.req("GET", "/api/v1/channel/"+a.ID, "", auth(a.AccessTokens[0].Token)...), 401, "")
	r = e.req("GET", "/api/v1/channel/manage/list", "", auth(key)...)
	r.json(t, &list)
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("list after delete: %s", r.body)
	}
}

// Checklist 9: token create, list, get and revoke, with their 404s, 400s
// and scoping.
func e2eManageTokens(t *testing.T, be backend) {
	clk := newClock()
	e := newEnvWith(t, be, func(c *Config) { c.Now = clk.Now })
	key, _ := e.account()
	other, _ := e.account()
	ch := e.channel(key, "")
	foreign := e.channel(other, "")
	base := "/api/v1/channel/manage/" + ch.ID + "/api-token"

	r := e.req("POST", base, `{"description":"reader","can_read":1,"can_write":""}`, auth(key)...)
	want(t, "create token (truthy values)", r, 200, "")
	var rd tokenJSON
	r.json(t, &rd)
	if rd.Description != "reader" || !rd.CanRead || rd.CanWrite || len(rd.Token) != 88 {
		t.Fatalf("token %s", r.body)
	}
	for _, tc := range []struct{ name, body, reason string }{
		{"invalid json", `{`, "400: Body is invalid JSON"},
		{"not object", `[1]`, "400: Body is not a JSON object"},
		{"missing description", `{"can_read":true,"can_write":true}`, "400: Missing property 'description' in JSON body"},
		{"missing can_write", `{"description":"x","can_read":true}`, "400: Missing property 'can_write' in JSON body"},
		{"description not string", `{"description":5,"can_read":true,"can_write":true}`, "400: Property 'description' must be a string"},
	} {
		want(t, tc.name, e.req("POST", base, tc.body, auth(key)...), 400, tc.reason)
	}
	want(t, "create on foreign channel", e.req("POST", "/api/v1/channel/manage/"+foreign.ID+"/api-token", `{"description":"x","can_read":true,"can_write":true}`, auth(key)...), 404, "")

	r = e.req("GET", base, "", auth(key)...)
	want(t, "list tokens", r, 200, "")
	var toks []tokenJSON
	r.json(t, &toks)
	if len(toks) != 2 || toks[0].ID != ch.AccessTokens[0].ID || toks[1].ID != rd.ID {
		t.Fatalf("token list %s", r.body)
	}
	r = e.req("GET", base+"?token="+rd.Token, "", auth(key)...)
	r.json(t, &toks)
	if len(toks) != 1 || toks[0].ID != rd.ID {
		t.Fatalf("filtered list %s", r.body)
	}
	want(t, "filter no match", e.req("GET", base+"?token=nope", "", auth(key)...), 404, "")
	want(t, "list foreign", e.req("GET", "/api/v1/channel/manage/"+foreign.ID+"/api-token", "", auth(key)...), 404, "")

	id := func(n int64) string { return base + "/" + itoa(n) }
	r = e.req("GET", id(rd.ID), "", auth(key)...)
	want(t, "get token", r, 200, "")
	var one tokenJSON
	r.json(t, &one)
	if one != rd {
		t.Fatalf("get token %+v, want %+v", one, rd)
	}
	want(t, "get token non-numeric", e.req("GET", base+"/abc", "", auth(key)...), 400, "")
	want(t, "get token unknown", e.req("GET", id(999999), "", auth(key)...), 404, "")
	want(t, "get token of another channel", e.req("GET", id(foreign.AccessTokens[0].ID), "", auth(key)...), 404, "")

	// Revoke a foreign token through our own channel path: 204, no effect.
	want(t, "revoke foreign", e.req("DELETE", id(foreign.AccessTokens[0].ID), "", auth(key)...), 204, "")
	want(t, "foreign token still works", e.req("GET", "/api/v1/channel/"+foreign.ID, "", auth(foreign.AccessTokens[0].Token)...), 200, "")
	want(t, "revoke non-numeric", e.req("DELETE", base+"/x1", "", auth(key)...), 400, "")
	want(t, "revoke", e.req("DELETE", id(rd.ID), "null", auth(key)...), 204, "")
	want(t, "revoke unknown", e.req("DELETE", id(999999), "", auth(key)...), 204, "")
	// As in the reference, a revoked token lives to the end of its second.
	want(t, "revoked token, same second", e.req("GET", id(rd.ID), "", auth(key)...), 200, "")
	clk.add(time.Second)
	want(t, "get revoked", e.req("GET", id(rd.ID), "", auth(key)...), 404, "")
	// Revoked tokens drop from the list but stay in the channel object.
	r = e.req("GET", base, "", auth(key)...)
	r.json(t, &toks)
	if len(toks) != 1 || toks[0].ID != ch.AccessTokens[0].ID {
		t.Fatalf("list after revoke %s", r.body)
	}
	r = e.req("GET", "/api/v1/channel/manage/"+ch.ID, "", auth(key)...)
	var got channelJSON
	r.json(t, &got)
	if len(got.AccessTokens) != 2 {
		t.Fatalf("channel object should keep revoked tokens: %s", r.body)
	}
	// Revoke the owner too: the list is empty, which is a 404.
	want(t, "revoke owner", e.req("DELETE", id(ch.AccessTokens[0].ID), "", auth(key)...), 204, "")
	clk.add(time.Second)
	want(t, "empty list", e.req("GET", base, "", auth(key)...), 404, "")
}

// Checklist 2 and 3: the Bearer prefix is exact; a channel token is not a
// master token and the other way round.
func e2eBearerAndTokenClasses(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	key, _ := e.account()
	ch := e.channel(key, "")
	owner := ch.AccessTokens[0].Token
	e.write(owner, ch.ID, `{"n":1}`)
	type call struct{ method, path, body string }
	master := []call{
		{"POST", "/api/v1/channel/manage", defaultChannelBody},
		{"GET", "/api/v1/channel/manage/list", ""},
		{"GET", "/api/v1/channel/manage/" + ch.ID, ""},
		{"POST", "/api/v1/channel/manage/" + ch.ID, `{"public_read":true,"public_write":true,"locked":false}`},
		{"DELETE", "/api/v1/channel/manage/" + ch.ID, ""},
		{"POST", "/api/v1/channel/manage/" + ch.ID + "/api-token", `{"description":"x","can_read":true,"can_write":true}`},
		{"GET", "/api/v1/channel/manage/" + ch.ID + "/api-token", ""},
		{"GET", "/api/v1/channel/manage/" + ch.ID + "/api-token/1", ""},
		{"DELETE", "/api/v1/channel/manage/" + ch.ID + "/api-token/1", ""},
	}
	message := []call{
		{"GET", "/api/v1/channel/" + ch.ID, ""},
		{"HEAD", "/api/v1/channel/" + ch.ID, ""},
		{"POST", "/api/v1/channel/" + ch.ID, `{"n":2}`},
		{"POST", "/api/v1/channel/" + ch.ID + "/1", `{"read":true}`},
		{"DELETE", "/api/v1/channel/" + ch.ID + "/1", ""},
	}
	headers := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"no header", nil, 400},
		{"basic", []string{"Authorization", "Basic xyz"}, 400},
		{"lowercase bearer", []string{"Authorization", "bearer " + key}, 400},
		{"unknown", auth("unknown-token"), 401},
	}
	for _, c := range append(master, message...) {
		for _, h := range headers {
			r := e.req(c.method, c.path, c.body, append(h.hdr, "Content-Type", "application/json")...)
			if r.status != h.status {
				t.Errorf("%s %s with %s: got %d %q, want %d", c.method, c.path, h.name, r.status, r.body, h.status)
			}
		}
	}
	for _, c := range master {
		if r := e.req(c.method, c.path, c.body, auth(owner)...); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s with a channel token: got %d, want 401", c.method, c.path, r.status)
		}
	}
	for _, c := range message {
		if r := e.req(c.method, c.path, c.body, append(auth(key), "Content-Type", "application/json")...); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s with the master token: got %d, want 401", c.method, c.path, r.status)
		}
	}
}
