package peerchannels

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

// Checklist 4: registration with a real signed message, both key
// encodings, idempotent per key bytes, exactly two keys in the reply.
func e2eRegister(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	k := newKey(t)
	for _, compressed := range []bool{true, false} {
		body := keyProof(t, k, compressed, "http://127.0.0.1:55666/api/v1/account/register 2026-11-21T12:00:00")
		r := e.req("POST", "/api/v1/account/register", body)
		want(t, "register", r, 200, "")
		var raw map[string]string
		r.json(t, &raw)
		var sent map[string]string
		json.Unmarshal([]byte(body), &sent)
		if len(raw) != 2 || raw["public_key_hex"] != sent["public_key_hex"] || len(raw["api_key"]) != 88 {
			t.Fatalf("register reply %v: want exactly public_key_hex (echoed) and an 88-char api_key", raw)
		}
		// Same key bytes again, through the /account/key alias, with a
		// different message: the same account and key come back.
		r2 := e.req("POST", "/api/v1/account/key", keyProof(t, k, compressed, "another message"))
		want(t, "register again", r2, 200, "")
		var again map[string]string
		r2.json(t, &again)
		if again["api_key"] != raw["api_key"] {
			t.Fatalf("registration not idempotent: %s then %s", raw["api_key"], again["api_key"])
		}
	}
	// The two encodings are different key bytes, so two accounts.
	c, _ := e.store.AccountByPublicKey(context.Background(), k.PubKey().SerializeCompressed())
	u, _ := e.store.AccountByPublicKey(context.Background(), k.PubKey().SerializeUncompressed())
	if c.ID == 0 || u.ID == 0 || c.ID == u.ID {
		t.Fatalf("compressed account %d and uncompressed account %d: want two distinct accounts", c.ID, u.ID)
	}
}

func e2eRegisterErrors(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	k, other := newKey(t), newKey(t)
	good := keyProof(t, k, true, "msg")
	var fields map[string]string
	json.Unmarshal([]byte(good), &fields)
	with := func(key, val string) string {
		m := map[string]string{}
		for k, v := range fields {
			m[k] = v
		}
		if val == "<delete>" {
			delete(m, key)
		} else {
			m[key] = val
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	// A signature by another key over the same message.
	forged := keyProof(t, other, true, "msg")
	var ff map[string]string
	json.Unmarshal([]byte(forged), &ff)
	sigOfOther := ff["signature_hex"]
	badHeader, _ := hex.DecodeString(fields["signature_hex"])
	badHeader[0] = 26
	tests := []struct {
		name, body string
		status     int
		reason     string
	}{
		{"no body", "", 400, "400: Body required"},
		{"not json", "{", 400, "400: Body is invalid JSON"},
		{"array", "[]", 400, "400: Body is not a JSON object"},
		{"missing key", with("signature_hex", "<delete>"), 400, "400: Missing property 'signature_hex' in JSON body"},
		{"pubkey not hex", with("public_key_hex", "zz"), 400, ""},
		{"pubkey not a key", with("public_key_hex", strings.Repeat("05", 33)), 400, ""},
		{"sig wrong length", with("signature_hex", "1f00"), 400, ""},
		{"message not hex", with("message_hex", "xyz"), 400, ""},
		{"other key's signature", with("signature_hex", sigOfOther), 401, ""},
		{"other message", with("message_hex", hex.EncodeToString([]byte("msg2"))), 401, ""},
		{"header byte out of range", with("signature_hex", hex.EncodeToString(badHeader)), 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.req("POST", "/api/v1/account/register", tc.body)
			want(t, tc.name, r, tc.status, tc.reason)
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Fatalf("error Content-Type %q", ct)
			}
		})
	}
	// Nothing was stored by any failed attempt.
	if _, err := e.store.AccountByPublicKey(context.Background(), k.PubKey().SerializeCompressed()); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("failed registrations stored an account: %v", err)
	}
}

// Checklist 1 (api key part) and 5: GET /api/v1/account by token and by
// signed body; disabled accounts are refused everywhere.
func e2eGetAccountAndDisabled(t *testing.T, be backend) {
	e := newEnvWith(t, be)
	k := newKey(t)
	r := e.req("POST", "/api/v1/account/register", keyProof(t, k, true, "m"))
	want(t, "register", r, 200, "")
	var a accountReply
	r.json(t, &a)
	if b, err := base64.URLEncoding.DecodeString(a.APIKey); err != nil || len(b) != 64 {
		t.Fatalf("api key %q: want base64url of 64 bytes (%v)", a.APIKey, err)
	}
	pubHex := hex.EncodeToString(k.PubKey().SerializeCompressed())

	r = e.req("GET", "/api/v1/account", "null", auth(a.APIKey)...)
	want(t, "get by token", r, 200, "")
	var got accountReply
	r.json(t, &got)
	if got != (accountReply{pubHex, a.APIKey}) {
		t.Fatalf("get by token: %+v", got)
	}
	r = e.req("GET", "/api/v1/account", keyProof(t, k, true, "later"))
	want(t, "get by signed body", r, 200, "")
	r.json(t, &got)
	if got != (accountReply{pubHex, a.APIKey}) {
		t.Fatalf("get by body: %+v", got)
	}
	want(t, "basic auth", e.req("GET", "/api/v1/account", "", "Authorization", "Basic xyz"), 400, "400: Invalid API key")
	want(t, "unknown token", e.req("GET", "/api/v1/account", "", auth("nope")...), 401, "")
	want(t, "no auth no body", e.req("GET", "/api/v1/account", ""), 400, "400: Body required")
	want(t, "unregistered key", e.req("GET", "/api/v1/account", keyProof(t, newKey(t), true, "m")), 401, "")

	acct, err := e.store.AccountByAPIKey(context.Background(), a.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	ch := e.channel(a.APIKey, "")
	if err := e.store.SetAccountFlags(context.Background(), acct.ID, walletgate.AccountDisabled); err != nil {
		t.Fatal(err)
	}
	want(t, "disabled: get by token", e.req("GET", "/api/v1/account", "", auth(a.APIKey)...), 401, "")
	want(t, "disabled: get by body", e.req("GET", "/api/v1/account", keyProof(t, k, true, "m")), 401, "")
	want(t, "disabled: register", e.req("POST", "/api/v1/account/register", keyProof(t, k, true, "m")), 401, "")
	want(t, "disabled: list", e.req("GET", "/api/v1/channel/manage/list", "", auth(a.APIKey)...), 401, "")
	want(t, "disabled: get channel", e.req("GET", "/api/v1/channel/manage/"+ch.ID, "", auth(a.APIKey)...), 401, "")
}
