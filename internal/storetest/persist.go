package storetest

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// RunReopen fills a store, closes it, reopens the same database and checks
// that everything is still there and that writing carries on where it
// stopped. open returns the first store and a function that opens the same
// database again (arranging for that store to be closed when t ends); the
// suite closes the first store itself.
func RunReopen(t *testing.T, open func(t *testing.T) (walletgate.ChannelStore, func(t *testing.T) walletgate.ChannelStore)) {
	s, reopen := open(t)
	ctx := ctxT(t)
	a := mkAccount(t, s)
	url, cbTok := "https://example.org/cb", "Bearer 12345678"
	if err := s.SetTipFilterCallback(ctx, a.ID, &url, &cbTok); err != nil {
		t.Fatalf("SetTipFilterCallback: %v", err)
	}
	ch := mkChannel(t, s, a, chanOpts{sequenced: true, minAge: ptr[int64](2)})
	owner := ch.Tokens[0]
	reader := mkToken(t, s, ch, walletgate.TokenRead)
	gone := mkToken(t, s, ch, rw)
	base := time.Now().Truncate(time.Second)
	big := make([]byte, 65536)
	if _, err := rand.Read(big); err != nil {
		t.Fatalf("random: %v", err)
	}
	payloads := [][]byte{[]byte(`{"n":1}`), big, {0, 0, 1, 0}}
	for _, p := range payloads {
		if _, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: owner.ID,
			ContentType: "application/octet-stream", Payload: p, Received: base}); err != nil {
			t.Fatalf("WriteMessage: %v", err)
		}
	}
	if err := s.MarkRead(ctx, ch.ID, reader.ID, 1, true, false); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	if err := s.RevokeToken(ctx, gone.ID, base.Add(-time.Hour)); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	h := hash(t)
	if err := s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{{AccountID: a.ID, PushDataHash: h, DateCreated: base, DurationSecs: 600}}); err != nil {
		t.Fatalf("AddTipFilters: %v", err)
	}
	if err := s.FinaliseTipFilters(ctx, a.ID, [][32]byte{h}); err != nil {
		t.Fatalf("FinaliseTipFilters: %v", err)
	}
	before, err := s.ChannelByExternalID(ctx, ch.ExternalID)
	if err != nil {
		t.Fatalf("ChannelByExternalID: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = reopen(t)
	got, err := s.AccountByPublicKey(ctx, a.PublicKey)
	if err != nil || got.ID != a.ID || got.APIKey != a.APIKey || got.TipFilterCallbackURL == nil || *got.TipFilterCallbackURL != url {
		t.Fatalf("account after reopen %+v, %v; want %+v with callback", got, err, a)
	}
	after, err := s.ChannelByExternalID(ctx, ch.ExternalID)
	if err != nil {
		t.Fatalf("ChannelByExternalID after reopen: %v", err)
	}
	checkChannel(t, after, before)
	if after.Tokens[2].ValidTo == nil || !after.Tokens[2].ValidTo.Equal(base.Add(-time.Hour)) {
		t.Fatalf("revocation lost: %+v", after.Tokens[2])
	}
	ms, err := s.Messages(ctx, ch.ID, reader.ID, false)
	if err != nil || len(ms) != len(payloads) {
		t.Fatalf("Messages after reopen: %d, %v; want %d", len(ms), err, len(payloads))
	}
	for i, m := range ms {
		if m.Sequence != int64(i+1) || !bytes.Equal(m.Payload, payloads[i]) || !m.Received.Equal(base) {
			t.Fatalf("message %d after reopen: seq %d, %d bytes, received %v", i, m.Sequence, len(m.Payload), m.Received)
		}
	}
	if unread := seqs(t, s, ch, reader, true); !equalSeqs(unread, []int64{2, 3}) {
		t.Fatalf("read state lost: unread %v, want [2 3]", unread)
	}
	fs, err := s.ListTipFilters(ctx, a.ID)
	if err != nil || len(fs) != 1 || fs[0].PushDataHash != h || fs[0].Flags != walletgate.TipFilterFinalised {
		t.Fatalf("tip filters after reopen %+v, %v", fs, err)
	}
	// Retention survives too: min age 2 days.
	wantErr(t, s.DeleteMessage(ctx, ch.ID, reader.ID, 1, base.Add(24*time.Hour)), walletgate.EInvalid, reasonRetention)
	if m := write(t, s, ch, owner, base, "{}"); m.Sequence != 4 {
		t.Fatalf("first write after reopen got seq %d, want 4", m.Sequence)
	}
}
