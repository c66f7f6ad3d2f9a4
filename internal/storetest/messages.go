package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

const (
	reasonLocked      = "10001: Channel is locked. Write failed."
	reasonSequencing  = "10002: Sequencing failure. This channel still has unread messages. Write failed."
	reasonSeqNotFound = "10014: Sequence number not found."
	reasonNoMetadata  = "10015: Message metadata not found."
	reasonRetention   = "10017: Retention period has not yet expired."
)

const rw = walletgate.TokenRead | walletgate.TokenWrite

func testWriteMessage(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	owner := ch.Tokens[0]
	reader := mkToken(t, s, ch, walletgate.TokenRead)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i := int64(1); i <= 3; i++ {
		// Sub-second parts are dropped: message times are whole seconds.
		m, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: owner.ID,
			ContentType: "application/octet-stream", Payload: []byte{byte(i)}, Received: base.Add(700 * time.Millisecond)})
		if err != nil {
			t.Fatalf("WriteMessage %d: %v", i, err)
		}
		want := walletgate.Message{ChannelID: ch.ID, Sequence: i, Received: base, ContentType: "application/octet-stream",
			Payload: []byte{byte(i)}, FromToken: owner.ID}
		if m.ChannelID != want.ChannelID || m.Sequence != want.Sequence || !m.Received.Equal(want.Received) ||
			m.ContentType != want.ContentType || !bytes.Equal(m.Payload, want.Payload) || m.FromToken != want.FromToken {
			t.Fatalf("WriteMessage returned %+v, want %+v", m, want)
		}
	}
	got, err := s.Messages(ctx, ch.ID, reader.ID, false)
	if err != nil || len(got) != 3 {
		t.Fatalf("Messages(reader) = %+v, %v; want 3", got, err)
	}
	for i, m := range got {
		if m.Sequence != int64(i+1) || !m.Received.Equal(base) || m.Received.Location() != time.UTC ||
			m.FromToken != owner.ID || m.ChannelID != ch.ID || !bytes.Equal(m.Payload, []byte{byte(i + 1)}) {
			t.Fatalf("stored message %d = %+v", i, m)
		}
	}
	cases := []struct {
		name       string
		tok        walletgate.Token
		unreadOnly bool
		want       []int64
	}{
		{"reader all", reader, false, []int64{1, 2, 3}},
		{"reader unread", reader, true, []int64{1, 2, 3}},
		{"writer all", owner, false, []int64{1, 2, 3}},
		{"writer's own are read", owner, true, []int64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := seqs(t, s, ch, tc.tok, tc.unreadOnly); !equalSeqs(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	c, err := s.ChannelByExternalID(ctx, ch.ExternalID)
	if err != nil || c.HeadSequence != 3 {
		t.Fatalf("HeadSequence = %d, %v; want 3", c.HeadSequence, err)
	}
	t.Run("zero time is now", func(t *testing.T) {
		before := time.Now().Truncate(time.Second)
		m, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: owner.ID, Payload: []byte("x")})
		after := time.Now()
		if err != nil || m.Sequence != 4 || m.Received.Before(before) || m.Received.After(after) || m.Received.Nanosecond() != 0 {
			t.Fatalf("WriteMessage without time = %+v, %v; want seq 4 received in [%v, %v], whole seconds", m, err, before, after)
		}
	})
}

func testWriteRules(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	now := time.Now()
	type env struct {
		ch    walletgate.Channel
		owner walletgate.Token
		peer  walletgate.Token
	}
	setup := func(t *testing.T, o chanOpts) env {
		ch := mkChannel(t, s, a, o)
		return env{ch: ch, owner: ch.Tokens[0], peer: mkToken(t, s, ch, rw)}
	}
	writeErr := func(e env, tok walletgate.Token) error {
		_, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: e.ch.ID, TokenID: tok.ID, Payload: []byte("{}"), Received: now})
		return err
	}
	head := func(t *testing.T, e env) int64 {
		c, err := s.ChannelByExternalID(ctx, e.ch.ExternalID)
		if err != nil {
			t.Fatalf("ChannelByExternalID: %v", err)
		}
		return c.HeadSequence
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"locked", func(t *testing.T) {
			e := setup(t, chanOpts{locked: true})
			wantErr(t, writeErr(e, e.owner), walletgate.EConflict, reasonLocked)
			if h := head(t, e); h != 0 {
				t.Fatalf("refused write moved head to %d", h)
			}
			if err := s.AmendChannel(ctx, e.ch.ID, true, true, false); err != nil {
				t.Fatalf("unlock: %v", err)
			}
			if m := write(t, s, e.ch, e.owner, now, "{}"); m.Sequence != 1 {
				t.Fatalf("first write after unlock got seq %d, want 1", m.Sequence)
			}
		}},
		{"lock is checked before sequencing", func(t *testing.T) {
			e := setup(t, chanOpts{sequenced: true})
			write(t, s, e.ch, e.owner, now, "{}") // peer now holds an unread message
			if err := s.AmendChannel(ctx, e.ch.ID, true, true, true); err != nil {
				t.Fatalf("lock: %v", err)
			}
			wantErr(t, writeErr(e, e.peer), walletgate.EConflict, reasonLocked)
		}},
		{"sequenced with unread", func(t *testing.T) {
			e := setup(t, chanOpts{sequenced: true})
			write(t, s, e.ch, e.owner, now, "{}")
			wantErr(t, writeErr(e, e.peer), walletgate.EConflict, reasonSequencing)
			if h := head(t, e); h != 1 {
				t.Fatalf("refused write moved head to %d", h)
			}
			if err := s.MarkRead(ctx, e.ch.ID, e.peer.ID, 1, true, false); err != nil {
				t.Fatalf("MarkRead: %v", err)
			}
			if m := write(t, s, e.ch, e.peer, now, "{}"); m.Sequence != 2 {
				t.Fatalf("write after reading got seq %d, want 2 (no gap from the refused write)", m.Sequence)
			}
			wantErr(t, writeErr(e, e.owner), walletgate.EConflict, reasonSequencing)
		}},
		{"own messages do not block", func(t *testing.T) {
			e := setup(t, chanOpts{sequenced: true})
			for i := int64(1); i <= 5; i++ {
				if m := write(t, s, e.ch, e.owner, now, "{}"); m.Sequence != i {
					t.Fatalf("seq %d, want %d", m.Sequence, i)
				}
			}
		}},
		{"deleted unread does not block", func(t *testing.T) {
			e := setup(t, chanOpts{sequenced: true})
			write(t, s, e.ch, e.owner, now, "{}")
			if err := s.DeleteMessage(ctx, e.ch.ID, e.peer.ID, 1, now); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
			if m := write(t, s, e.ch, e.peer, now, "{}"); m.Sequence != 2 {
				t.Fatalf("seq %d, want 2", m.Sequence)
			}
		}},
		{"unsequenced ignores unread", func(t *testing.T) {
			e := setup(t, chanOpts{})
			write(t, s, e.ch, e.owner, now, "{}")
			if m := write(t, s, e.ch, e.peer, now, "{}"); m.Sequence != 2 {
				t.Fatalf("seq %d, want 2", m.Sequence)
			}
		}},
		{"unknown channel", func(t *testing.T) {
			e := setup(t, chanOpts{})
			e.ch.ID += 1_000_000
			wantErr(t, writeErr(e, e.owner), walletgate.ENotFound, "")
		}},
		{"token of another channel", func(t *testing.T) {
			e := setup(t, chanOpts{})
			other := setup(t, chanOpts{})
			wantErr(t, writeErr(e, other.owner), walletgate.ENotFound, "")
			if h := head(t, e); h != 0 {
				t.Fatalf("refused write moved head to %d", h)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func testRevokedTokens(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	owner := ch.Tokens[0]
	revoked := mkToken(t, s, ch, walletgate.TokenRead)
	kept := mkToken(t, s, ch, walletgate.TokenRead)
	base := time.Now().Truncate(time.Second)
	if err := s.RevokeToken(ctx, revoked.ID, base.Add(500*time.Millisecond)); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	write(t, s, ch, owner, base, "{}")                  // during the revocation second: still active
	write(t, s, ch, owner, base.Add(time.Second), "{}") // after: no state row for the revoked token
	if got := seqs(t, s, ch, revoked, false); !equalSeqs(got, []int64{1}) {
		t.Fatalf("revoked token sees %v, want [1]", got)
	}
	if got := seqs(t, s, ch, kept, false); !equalSeqs(got, []int64{1, 2}) {
		t.Fatalf("active token sees %v, want [1 2]", got)
	}
	wantErr(t, s.MarkRead(ctx, ch.ID, revoked.ID, 2, true, false), walletgate.ENotFound, reasonSeqNotFound)
	wantErr(t, s.DeleteMessage(ctx, ch.ID, revoked.ID, 2, base), walletgate.ENotFound, reasonSeqNotFound)
}

func testBackfill(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{sequenced: true})
	owner := ch.Tokens[0]
	early := mkToken(t, s, ch, walletgate.TokenRead)
	now := time.Now()
	for i := 0; i < 3; i++ {
		write(t, s, ch, owner, now, "{}")
	}
	if err := s.MarkRead(ctx, ch.ID, early.ID, 2, true, true); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	if err := s.DeleteMessage(ctx, ch.ID, early.ID, 3, now); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	late := mkToken(t, s, ch, rw)
	// The new token sees the whole history unread, whatever others did.
	if got := seqs(t, s, ch, late, true); !equalSeqs(got, []int64{1, 2, 3}) {
		t.Fatalf("backfilled token sees unread %v, want [1 2 3]", got)
	}
	// ...and so is held by the sequencing rule until it reads them.
	_, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: late.ID, Payload: []byte("x"), Received: now})
	wantErr(t, err, walletgate.EConflict, reasonSequencing)
	write(t, s, ch, owner, now, "{}")
	if got := seqs(t, s, ch, late, false); !equalSeqs(got, []int64{1, 2, 3, 4}) {
		t.Fatalf("backfilled token sees %v after a new write, want [1 2 3 4]", got)
	}
	if got := seqs(t, s, ch, early, true); !equalSeqs(got, []int64{4}) {
		t.Fatalf("backfill changed another token's state: it sees unread %v, want [4]", got)
	}
}

func testMarkRead(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	other := mkChannel(t, s, a, chanOpts{})
	owner := ch.Tokens[0]
	r := mkToken(t, s, ch, walletgate.TokenRead)
	r2 := mkToken(t, s, ch, walletgate.TokenRead)
	now := time.Now()
	for i := 0; i < 5; i++ {
		write(t, s, ch, owner, now, "{}")
	}
	write(t, s, other, other.Tokens[0], now, "{}")
	steps := []struct {
		name       string
		seq        int64
		read       bool
		older      bool
		wantUnread []int64
		wantErr    bool
	}{
		{"one", 3, true, false, []int64{1, 2, 4, 5}, false},
		{"older", 4, true, true, []int64{5}, false},
		{"unread again", 2, false, false, []int64{2, 5}, false},
		{"older unread", 3, false, true, []int64{1, 2, 3, 5}, false},
		{"unknown seq", 99, true, false, []int64{1, 2, 3, 5}, true},
		{"seq zero", 0, true, true, []int64{1, 2, 3, 5}, true},
		{"all", 5, true, true, []int64{}, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := s.MarkRead(ctx, ch.ID, r.ID, st.seq, st.read, st.older)
			if st.wantErr {
				wantErr(t, err, walletgate.ENotFound, reasonSeqNotFound)
			} else if err != nil {
				t.Fatalf("MarkRead: %v", err)
			}
			if got := seqs(t, s, ch, r, true); !equalSeqs(got, st.wantUnread) {
				t.Fatalf("unread %v, want %v", got, st.wantUnread)
			}
		})
	}
	if got := seqs(t, s, ch, r2, true); !equalSeqs(got, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("marking one token's rows touched another's: %v unread", got)
	}
	t.Run("other channel's token", func(t *testing.T) {
		wantErr(t, s.MarkRead(ctx, ch.ID, other.Tokens[0].ID, 1, true, false), walletgate.ENotFound, reasonSeqNotFound)
		if got := seqs(t, s, ch, r2, true); len(got) != 5 {
			t.Fatalf("foreign token changed state: %v", got)
		}
	})
	t.Run("deleted row still found", func(t *testing.T) {
		if err := s.DeleteMessage(ctx, ch.ID, r2.ID, 5, now); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		if err := s.MarkRead(ctx, ch.ID, r2.ID, 5, true, false); err != nil {
			t.Fatalf("MarkRead on own deleted row: %v", err)
		}
	})
}

func testDeleteMessage(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	owner := ch.Tokens[0]
	r1 := mkToken(t, s, ch, walletgate.TokenRead)
	r2 := mkToken(t, s, ch, walletgate.TokenRead)
	now := time.Now()
	write(t, s, ch, owner, now, "{}")
	write(t, s, ch, owner, now, "{}")
	steps := []struct {
		name       string
		tok        walletgate.Token
		seq        int64
		code, msg  string
		wantR1     []int64
		wantR2     []int64
		wantOwner  []int64
		wantETagR1 int64
	}{
		{"own view only", r1, 1, "", "", []int64{2}, []int64{1, 2}, []int64{1, 2}, 2},
		{"again while others keep it", r1, 1, "", "", []int64{2}, []int64{1, 2}, []int64{1, 2}, 2},
		{"unknown seq", r1, 7, walletgate.ENotFound, reasonSeqNotFound, []int64{2}, []int64{1, 2}, []int64{1, 2}, 2},
		{"second token", r2, 1, "", "", []int64{2}, []int64{2}, []int64{1, 2}, 2},
		{"last holder", owner, 1, "", "", []int64{2}, []int64{2}, []int64{2}, 2},
		{"no undeleted state left", r1, 1, walletgate.ENotFound, reasonNoMetadata, []int64{2}, []int64{2}, []int64{2}, 2},
		{"latest by all", owner, 2, "", "", []int64{2}, []int64{2}, []int64{}, 2},
		{"latest by r1", r1, 2, "", "", []int64{}, []int64{2}, []int64{}, 2},
		{"latest by r2", r2, 2, "", "", []int64{}, []int64{}, []int64{}, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := s.DeleteMessage(ctx, ch.ID, st.tok.ID, st.seq, now)
			if st.code != "" {
				wantErr(t, err, st.code, st.msg)
			} else if err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
			for _, v := range []struct {
				tok  walletgate.Token
				want []int64
			}{{r1, st.wantR1}, {r2, st.wantR2}, {owner, st.wantOwner}} {
				if got := seqs(t, s, ch, v.tok, false); !equalSeqs(got, v.want) {
					t.Fatalf("token %d sees %v, want %v", v.tok.ID, got, v.want)
				}
			}
			// Messages written by the owner count for r1's HEAD ETag while any
			// token still holds them undeleted.
			if got, err := s.UnreadETag(ctx, ch.ID, r1.ID); err != nil || got != st.wantETagR1 {
				t.Fatalf("UnreadETag(r1) = %d, %v; want %d", got, err, st.wantETagR1)
			}
		})
	}

	t.Run("retention", func(t *testing.T) {
		base := time.Now().Truncate(time.Second)
		cases := []struct {
			name    string
			minAge  *int64
			at      time.Time
			wantErr bool
		}{
			{"no minimum", nil, base, false},
			{"zero minimum", ptr[int64](0), base, false},
			{"one day, too early", ptr[int64](1), base.Add(24*time.Hour - time.Second), true},
			{"one day, elapsed", ptr[int64](1), base.Add(24 * time.Hour), false},
			{"huge minimum", ptr[int64](1 << 60), base.Add(1000 * 24 * time.Hour), true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := mkChannel(t, s, a, chanOpts{minAge: tc.minAge})
				write(t, s, c, c.Tokens[0], base, "{}")
				err := s.DeleteMessage(ctx, c.ID, c.Tokens[0].ID, 1, tc.at)
				if tc.wantErr {
					wantErr(t, err, walletgate.EInvalid, reasonRetention)
					if got := seqs(t, s, c, c.Tokens[0], false); len(got) != 1 {
						t.Fatalf("refused delete removed the message: %v", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("DeleteMessage: %v", err)
				}
				if got := seqs(t, s, c, c.Tokens[0], false); len(got) != 0 {
					t.Fatalf("message still listed after delete: %v", got)
				}
			})
		}
	})
}

// testETags covers the HEAD ETag (UnreadETag) and the GET ETag, which the
// HTTP layer takes as the last sequence of Messages.
func testETags(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{sequenced: true})
	owner := ch.Tokens[0]
	peer := mkToken(t, s, ch, rw)
	reader := mkToken(t, s, ch, walletgate.TokenRead)
	now := time.Now()
	etag := func(tok walletgate.Token) int64 {
		t.Helper()
		v, err := s.UnreadETag(ctx, ch.ID, tok.ID)
		if err != nil {
			t.Fatalf("UnreadETag: %v", err)
		}
		return v
	}
	getETag := func(tok walletgate.Token) int64 {
		t.Helper()
		ss := seqs(t, s, ch, tok, false)
		if len(ss) == 0 {
			return 0
		}
		return ss[len(ss)-1]
	}
	if etag(owner) != 0 || etag(reader) != 0 || getETag(reader) != 0 {
		t.Fatalf("empty channel has non-zero etags")
	}
	write(t, s, ch, owner, now, "{}")
	if etag(owner) != 0 || etag(reader) != 1 || etag(peer) != 1 {
		t.Fatalf("after owner's write: owner %d, reader %d, peer %d; want 0, 1, 1", etag(owner), etag(reader), etag(peer))
	}
	if err := s.MarkRead(ctx, ch.ID, peer.ID, 1, true, false); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	write(t, s, ch, peer, now, "{}")
	if etag(owner) != 2 || etag(peer) != 1 || etag(reader) != 2 {
		t.Fatalf("after peer's write: owner %d, peer %d, reader %d; want 2, 1, 2", etag(owner), etag(peer), etag(reader))
	}
	if getETag(reader) != 2 || getETag(owner) != 2 {
		t.Fatalf("GET etags reader %d owner %d, want 2", getETag(reader), getETag(owner))
	}
	for _, tok := range []walletgate.Token{owner, peer, reader} {
		if err := s.DeleteMessage(ctx, ch.ID, tok.ID, 2, now); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
	}
	// Seq 2 has no undeleted state left; seq 1 is the owner's own.
	if etag(owner) != 0 || etag(reader) != 1 || getETag(reader) != 1 {
		t.Fatalf("after deleting 2 everywhere: owner %d, reader %d, reader GET %d; want 0, 1, 1", etag(owner), etag(reader), getETag(reader))
	}
}

func testPayloads(t *testing.T, s walletgate.ChannelStore) {
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	owner := ch.Tokens[0]
	reader := mkToken(t, s, ch, walletgate.TokenRead)
	big := make([]byte, 65536)
	if _, err := rand.Read(big); err != nil {
		t.Fatalf("random: %v", err)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := []struct {
		name        string
		contentType string
		payload     []byte
	}{
		{"json", "application/json", []byte(`{"a":[1,2,"ü"]}`)},
		{"empty", "application/octet-stream", []byte{}},
		{"one NUL", "application/octet-stream", []byte{0}},
		{"NULs inside", "application/octet-stream", []byte("a\x00b\x00\x00c")},
		{"every byte", "application/octet-stream", all},
		{"invalid utf-8", "application/octet-stream", []byte{0xff, 0xfe, 0xc0, 0x80}},
		{"trailing NUL", "application/json; charset=utf-8", []byte("{}\x00")},
		{"65536 random bytes", "application/octet-stream", big},
	}
	now := time.Now()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := s.WriteMessage(ctxT(t), walletgate.NewMessage{ChannelID: ch.ID, TokenID: owner.ID,
				ContentType: tc.contentType, Payload: append([]byte(nil), tc.payload...), Received: now})
			if err != nil {
				t.Fatalf("WriteMessage: %v", err)
			}
			if m.Sequence != int64(i+1) || !bytes.Equal(m.Payload, tc.payload) {
				t.Fatalf("WriteMessage returned seq %d payload %d bytes, want seq %d, %d bytes", m.Sequence, len(m.Payload), i+1, len(tc.payload))
			}
			ms, err := s.Messages(ctxT(t), ch.ID, reader.ID, false)
			if err != nil || len(ms) != i+1 {
				t.Fatalf("Messages: %d, %v; want %d", len(ms), err, i+1)
			}
			got := ms[i]
			if !bytes.Equal(got.Payload, tc.payload) || got.ContentType != tc.contentType || got.Payload == nil {
				t.Fatalf("stored payload %q (%d bytes, type %q), want %d bytes of type %q",
					truncate(got.Payload), len(got.Payload), got.ContentType, len(tc.payload), tc.contentType)
			}
		})
	}
}

func truncate(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

func testCancelled(t *testing.T, s walletgate.ChannelStore) {
	a := mkAccount(t, s)
	ch := mkChannel(t, s, a, chanOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 20; i++ {
		if _, err := s.WriteMessage(ctx, walletgate.NewMessage{ChannelID: ch.ID, TokenID: ch.Tokens[0].ID, Payload: []byte("x")}); err == nil {
			t.Fatalf("WriteMessage with a cancelled context succeeded")
		}
	}
	c, err := s.ChannelByExternalID(ctxT(t), ch.ExternalID)
	if err != nil || c.HeadSequence != 0 {
		t.Fatalf("after cancelled writes head is %d, %v; want 0", c.HeadSequence, err)
	}
	if m := write(t, s, ch, ch.Tokens[0], time.Now(), "{}"); m.Sequence != 1 {
		t.Fatalf("first real write got seq %d, want 1", m.Sequence)
	}
}
