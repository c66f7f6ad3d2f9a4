package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

func testAccounts(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	key, apiKey := pubKey(t), secret(t)
	a, err := s.CreateAccount(ctx, key, apiKey)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if a.ID == 0 || !bytes.Equal(a.PublicKey, key) || a.APIKey != apiKey || a.Flags != 0 ||
		a.TipFilterCallbackURL != nil || a.TipFilterCallbackToken != nil {
		t.Fatalf("CreateAccount returned %+v", a)
	}
	other := mkAccount(t, s)
	if other.ID == a.ID {
		t.Fatalf("two accounts share id %d", a.ID)
	}

	t.Run("idempotent", func(t *testing.T) {
		again, err := s.CreateAccount(ctx, key, secret(t))
		if err != nil {
			t.Fatalf("CreateAccount again: %v", err)
		}
		if again.ID != a.ID || again.APIKey != apiKey {
			t.Fatalf("re-registering the key gave %+v, want the existing account %+v", again, a)
		}
	})

	lookups := []struct {
		name string
		get  func() (walletgate.Account, error)
		want int64 // 0: ENotFound
	}{
		{"by api key", func() (walletgate.Account, error) { return s.AccountByAPIKey(ctx, apiKey) }, a.ID},
		{"by public key", func() (walletgate.Account, error) { return s.AccountByPublicKey(ctx, key) }, a.ID},
		{"other by api key", func() (walletgate.Account, error) { return s.AccountByAPIKey(ctx, other.APIKey) }, other.ID},
		{"by id", func() (walletgate.Account, error) { return s.AccountByID(ctx, a.ID) }, a.ID},
		{"other by id", func() (walletgate.Account, error) { return s.AccountByID(ctx, other.ID) }, other.ID},
		{"unknown id", func() (walletgate.Account, error) { return s.AccountByID(ctx, other.ID+1_000_000) }, 0},
		{"unknown api key", func() (walletgate.Account, error) { return s.AccountByAPIKey(ctx, secret(t)) }, 0},
		{"unknown public key", func() (walletgate.Account, error) { return s.AccountByPublicKey(ctx, pubKey(t)) }, 0},
		{"key prefix", func() (walletgate.Account, error) { return s.AccountByPublicKey(ctx, key[:32]) }, 0},
	}
	for _, tc := range lookups {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if tc.want == 0 {
				wantErr(t, err, walletgate.ENotFound, "")
				return
			}
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if got.ID != tc.want {
				t.Fatalf("got account %d, want %d", got.ID, tc.want)
			}
		})
	}

	errCases := []struct {
		name string
		err  func() error
		code string
	}{
		{"empty key", func() error { _, err := s.CreateAccount(ctx, nil, secret(t)); return err }, walletgate.EInvalid},
		{"empty api key", func() error { _, err := s.CreateAccount(ctx, pubKey(t), ""); return err }, walletgate.EInvalid},
		{"api key taken", func() error { _, err := s.CreateAccount(ctx, pubKey(t), apiKey); return err }, walletgate.EConflict},
		{"flags of unknown", func() error { return s.SetAccountFlags(ctx, a.ID+1_000_000, 1) }, walletgate.ENotFound},
		{"callback of unknown", func() error { return s.SetTipFilterCallback(ctx, a.ID+1_000_000, nil, nil) }, walletgate.ENotFound},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err(), tc.code, "") })
	}

	t.Run("flags", func(t *testing.T) {
		if err := s.SetAccountFlags(ctx, a.ID, walletgate.AccountDisabled); err != nil {
			t.Fatalf("SetAccountFlags: %v", err)
		}
		got, err := s.AccountByAPIKey(ctx, apiKey)
		if err != nil || !got.Disabled() {
			t.Fatalf("after disabling: %+v, %v", got, err)
		}
		if o, _ := s.AccountByAPIKey(ctx, other.APIKey); o.Disabled() {
			t.Fatalf("disabling one account disabled another")
		}
		if err := s.SetAccountFlags(ctx, a.ID, 0); err != nil {
			t.Fatalf("SetAccountFlags: %v", err)
		}
		if got, _ := s.AccountByPublicKey(ctx, key); got.Disabled() {
			t.Fatalf("account still disabled after clearing flags")
		}
	})

	t.Run("tip filter callback", func(t *testing.T) {
		url, tok := "http://127.0.0.1:1/api/v1/channel/x", "Bearer abcdefgh"
		if err := s.SetTipFilterCallback(ctx, a.ID, &url, &tok); err != nil {
			t.Fatalf("SetTipFilterCallback: %v", err)
		}
		got, err := s.AccountByAPIKey(ctx, apiKey)
		if err != nil || got.TipFilterCallbackURL == nil || *got.TipFilterCallbackURL != url ||
			got.TipFilterCallbackToken == nil || *got.TipFilterCallbackToken != tok {
			t.Fatalf("after set: %+v, %v", got, err)
		}
		if err := s.SetTipFilterCallback(ctx, a.ID, &url, nil); err != nil {
			t.Fatalf("SetTipFilterCallback: %v", err)
		}
		got, _ = s.AccountByAPIKey(ctx, apiKey)
		if got.TipFilterCallbackURL == nil || got.TipFilterCallbackToken != nil {
			t.Fatalf("absent token must become nil: %+v", got)
		}
	})
}

func testChannels(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	b := mkAccount(t, s)

	t.Run("empty list", func(t *testing.T) {
		got, err := s.ListChannels(ctx, a.ID)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ListChannels of a new account = %v, %v; want an empty, non-nil slice", got, err)
		}
	})

	from := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	cases := []struct {
		name string
		ch   walletgate.Channel
	}{
		{"defaults", walletgate.Channel{PublicRead: false, PublicWrite: true, Sequenced: true,
			Retention: walletgate.Retention{MinAgeDays: ptr[int64](0), MaxAgeDays: ptr[int64](0), AutoPrune: true}}},
		{"no retention", walletgate.Channel{PublicRead: true, PublicWrite: false, Sequenced: false}},
		{"locked with ages", walletgate.Channel{Locked: true, Sequenced: true,
			Retention: walletgate.Retention{MinAgeDays: ptr[int64](3), MaxAgeDays: ptr[int64](30)}}},
	}
	var made []walletgate.Channel
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.ch
			in.ExternalID, in.AccountID = secret(t), a.ID
			owner := walletgate.Token{Value: secret(t), Description: "Owner", ValidFrom: from,
				Flags: walletgate.TokenRead | walletgate.TokenWrite | walletgate.TokenOwner}
			ch, err := s.CreateChannel(ctx, in, owner)
			if err != nil {
				t.Fatalf("CreateChannel: %v", err)
			}
			if ch.ID == 0 || len(ch.Tokens) != 1 || ch.Tokens[0].ID == 0 || ch.Tokens[0].ChannelID != ch.ID ||
				ch.Tokens[0].AccountID != a.ID || ch.HeadSequence != 0 {
				t.Fatalf("CreateChannel returned %+v", ch)
			}
			got, err := s.ChannelByExternalID(ctx, in.ExternalID)
			if err != nil {
				t.Fatalf("ChannelByExternalID: %v", err)
			}
			checkChannel(t, got, ch)
			if got.Tokens[0].Value != owner.Value || !got.Tokens[0].ValidFrom.Equal(from) || got.Tokens[0].ValidTo != nil ||
				got.Tokens[0].Description != "Owner" || got.Tokens[0].Flags != owner.Flags {
				t.Fatalf("stored owner token %+v, want %+v", got.Tokens[0], owner)
			}
			made = append(made, ch)
		})
	}
	mkChannel(t, s, b, chanOpts{}) // another account's channel must not be listed

	t.Run("list", func(t *testing.T) {
		got, err := s.ListChannels(ctx, a.ID)
		if err != nil {
			t.Fatalf("ListChannels: %v", err)
		}
		if len(got) != len(made) {
			t.Fatalf("ListChannels gave %d channels, want %d", len(got), len(made))
		}
		for i := range got {
			checkChannel(t, got[i], made[i])
		}
	})

	errCases := []struct {
		name string
		err  func() error
		code string
	}{
		{"unknown external id", func() error { _, err := s.ChannelByExternalID(ctx, secret(t)); return err }, walletgate.ENotFound},
		{"unknown account", func() error {
			_, err := s.CreateChannel(ctx, walletgate.Channel{ExternalID: secret(t), AccountID: b.ID + 1_000_000},
				walletgate.Token{Value: secret(t), Flags: 3})
			return err
		}, walletgate.ENotFound},
		{"external id taken", func() error {
			_, err := s.CreateChannel(ctx, walletgate.Channel{ExternalID: made[0].ExternalID, AccountID: a.ID},
				walletgate.Token{Value: secret(t), Flags: 3})
			return err
		}, walletgate.EConflict},
		{"token taken", func() error {
			_, err := s.CreateChannel(ctx, walletgate.Channel{ExternalID: secret(t), AccountID: a.ID},
				walletgate.Token{Value: made[0].Tokens[0].Value, Flags: 3})
			return err
		}, walletgate.EConflict},
		{"empty external id", func() error {
			_, err := s.CreateChannel(ctx, walletgate.Channel{AccountID: a.ID}, walletgate.Token{Value: secret(t), Flags: 3})
			return err
		}, walletgate.EInvalid},
		{"empty token", func() error {
			_, err := s.CreateChannel(ctx, walletgate.Channel{ExternalID: secret(t), AccountID: a.ID}, walletgate.Token{Flags: 3})
			return err
		}, walletgate.EInvalid},
		{"amend unknown", func() error { return s.AmendChannel(ctx, made[2].ID+1_000_000, true, true, true) }, walletgate.ENotFound},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err(), tc.code, "") })
	}
	t.Run("failed create leaves nothing", func(t *testing.T) {
		got, err := s.ListChannels(ctx, a.ID)
		if err != nil || len(got) != len(made) {
			t.Fatalf("after failed creates: %d channels, %v; want %d", len(got), err, len(made))
		}
	})

	t.Run("amend", func(t *testing.T) {
		ch := made[0]
		if err := s.AmendChannel(ctx, ch.ID, true, false, true); err != nil {
			t.Fatalf("AmendChannel: %v", err)
		}
		got, err := s.ChannelByExternalID(ctx, ch.ExternalID)
		if err != nil {
			t.Fatalf("ChannelByExternalID: %v", err)
		}
		want := ch
		want.PublicRead, want.PublicWrite, want.Locked = true, false, true
		checkChannel(t, got, want)
	})
}

// checkChannel compares everything but token values' times.
func checkChannel(t *testing.T, got, want walletgate.Channel) {
	t.Helper()
	if got.ID != want.ID || got.ExternalID != want.ExternalID || got.AccountID != want.AccountID ||
		got.PublicRead != want.PublicRead || got.PublicWrite != want.PublicWrite || got.Sequenced != want.Sequenced ||
		got.Locked != want.Locked || got.HeadSequence != want.HeadSequence ||
		!eqPtr(got.Retention.MinAgeDays, want.Retention.MinAgeDays) ||
		!eqPtr(got.Retention.MaxAgeDays, want.Retention.MaxAgeDays) || got.Retention.AutoPrune != want.Retention.AutoPrune {
		t.Fatalf("channel\n got %+v\nwant %+v", got, want)
	}
	if len(got.Tokens) != len(want.Tokens) {
		t.Fatalf("channel %d has %d tokens, want %d", got.ID, len(got.Tokens), len(want.Tokens))
	}
	for i := range got.Tokens {
		g, w := got.Tokens[i], want.Tokens[i]
		if g.ID != w.ID || g.Value != w.Value || g.Flags != w.Flags || g.ChannelID != w.ChannelID ||
			g.AccountID != w.AccountID || g.Description != w.Description || (g.ValidTo == nil) != (w.ValidTo == nil) {
			t.Fatalf("token %d\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func eqPtr(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func testDeleteChannel(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	gone := mkChannel(t, s, a, chanOpts{})
	kept := mkChannel(t, s, a, chanOpts{})
	peer := mkToken(t, s, gone, walletgate.TokenRead)
	now := time.Now()
	for i := 0; i < 3; i++ {
		write(t, s, gone, gone.Tokens[0], now, `{"gone":true}`)
		write(t, s, kept, kept.Tokens[0], now, `{"kept":true}`)
	}
	if err := s.DeleteChannel(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteChannel: %v", err)
	}
	checks := []struct {
		name string
		err  func() error
	}{
		{"channel", func() error { _, err := s.ChannelByExternalID(ctx, gone.ExternalID); return err }},
		{"owner token by value", func() error { _, err := s.TokenByValue(ctx, gone.Tokens[0].Value); return err }},
		{"peer token by id", func() error { _, err := s.TokenByID(ctx, peer.ID); return err }},
		{"amend", func() error { return s.AmendChannel(ctx, gone.ID, false, false, false) }},
		{"delete again", func() error { return s.DeleteChannel(ctx, gone.ID) }},
		{"write", func() error {
			_, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: gone.ID, TokenID: gone.Tokens[0].ID, Payload: []byte("x")})
			return err
		}},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err(), walletgate.ENotFound, "") })
	}
	if got := seqs(t, s, gone, peer, false); len(got) != 0 {
		t.Fatalf("deleted channel still has messages %v", got)
	}
	if toks, err := s.ActiveTokens(ctx, gone.ID, now); err != nil || len(toks) != 0 {
		t.Fatalf("deleted channel still has tokens %v, %v", toks, err)
	}
	list, err := s.ListChannels(ctx, a.ID)
	if err != nil || len(list) != 1 || list[0].ID != kept.ID || list[0].HeadSequence != 3 {
		t.Fatalf("ListChannels after delete = %+v, %v; want only channel %d with head 3", list, err, kept.ID)
	}
	if got := seqs(t, s, kept, kept.Tokens[0], false); !equalSeqs(got, []int64{1, 2, 3}) {
		t.Fatalf("the other channel lost messages: %v", got)
	}
}

func testTokens(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	owner := ch.Tokens[0]
	r := mkToken(t, s, ch, walletgate.TokenRead)
	w := mkToken(t, s, ch, walletgate.TokenWrite)
	if !(owner.ID < r.ID && r.ID < w.ID) || r.AccountID != a.ID || r.ChannelID != ch.ID || r.ValidFrom.IsZero() {
		t.Fatalf("tokens owner %+v, r %+v, w %+v: want increasing ids, account and channel filled in", owner, r, w)
	}
	if !r.CanRead() || r.CanWrite() || w.CanRead() || !w.CanWrite() {
		t.Fatalf("flags not kept: r %+v, w %+v", r, w)
	}

	lookups := []struct {
		name string
		get  func() (walletgate.Token, error)
		want walletgate.Token // zero: ENotFound
	}{
		{"by value", func() (walletgate.Token, error) { return s.TokenByValue(ctx, r.Value) }, r},
		{"by id", func() (walletgate.Token, error) { return s.TokenByID(ctx, w.ID) }, w},
		{"owner by id", func() (walletgate.Token, error) { return s.TokenByID(ctx, owner.ID) }, owner},
		{"unknown value", func() (walletgate.Token, error) { return s.TokenByValue(ctx, secret(t)) }, walletgate.Token{}},
		{"unknown id", func() (walletgate.Token, error) { return s.TokenByID(ctx, w.ID+1_000_000) }, walletgate.Token{}},
	}
	for _, tc := range lookups {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if tc.want.ID == 0 {
				wantErr(t, err, walletgate.ENotFound, "")
				return
			}
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if got.ID != tc.want.ID || got.Value != tc.want.Value || got.Flags != tc.want.Flags ||
				got.ChannelID != ch.ID || got.AccountID != a.ID || got.Description != tc.want.Description ||
				!got.ValidFrom.Equal(tc.want.ValidFrom.Truncate(time.Microsecond)) || got.ValidTo != nil {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}

	errCases := []struct {
		name string
		err  func() error
		code string
	}{
		{"unknown channel", func() error {
			_, err := s.CreateToken(ctx, walletgate.Token{ChannelID: ch.ID + 1_000_000, Value: secret(t), Flags: 1})
			return err
		}, walletgate.ENotFound},
		{"value taken", func() error {
			_, err := s.CreateToken(ctx, walletgate.Token{ChannelID: ch.ID, Value: r.Value, Flags: 1})
			return err
		}, walletgate.EConflict},
		{"revoke unknown", func() error { return s.RevokeToken(ctx, w.ID+1_000_000, time.Now()) }, walletgate.ENotFound},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err(), tc.code, "") })
	}

	t.Run("revoke", func(t *testing.T) {
		// Revoked at S.5: still active during S, gone from S+1 (Token.ActiveAt).
		sec := time.Now().Truncate(time.Second)
		at := sec.Add(500 * time.Millisecond)
		if err := s.RevokeToken(ctx, r.ID, at); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		if err := s.RevokeToken(ctx, r.ID, at.Add(time.Hour)); err != nil {
			t.Fatalf("RevokeToken again: %v", err)
		}
		got, err := s.TokenByValue(ctx, r.Value)
		if err != nil || got.ValidTo == nil || !got.ValidTo.Equal(at) {
			t.Fatalf("revoked token %+v, %v; want ValidTo %v (the first revocation)", got, err, at)
		}
		active := []struct {
			now  time.Time
			want []int64
		}{
			{sec, []int64{owner.ID, r.ID, w.ID}},
			{sec.Add(999 * time.Millisecond), []int64{owner.ID, r.ID, w.ID}},
			{sec.Add(time.Second), []int64{owner.ID, w.ID}},
			{sec.Add(time.Hour), []int64{owner.ID, w.ID}},
		}
		for _, tc := range active {
			toks, err := s.ActiveTokens(ctx, ch.ID, tc.now)
			if err != nil {
				t.Fatalf("ActiveTokens: %v", err)
			}
			var ids []int64
			for _, tok := range toks {
				if !tok.ActiveAt(tc.now) {
					t.Fatalf("ActiveTokens(%v) returned %+v, which is not ActiveAt that time", tc.now, tok)
				}
				ids = append(ids, tok.ID)
			}
			if !equalSeqs(ids, tc.want) {
				t.Fatalf("ActiveTokens(%v) = %v, want %v", tc.now, ids, tc.want)
			}
		}
		// The channel lists revoked tokens too.
		c, err := s.ChannelByExternalID(ctx, ch.ExternalID)
		if err != nil || len(c.Tokens) != 3 || c.Tokens[1].ID != r.ID || c.Tokens[1].ValidTo == nil {
			t.Fatalf("channel tokens after revoke = %+v, %v; want all 3 with token %d revoked", c.Tokens, err, r.ID)
		}
	})
}
