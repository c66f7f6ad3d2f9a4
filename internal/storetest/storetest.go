// Package storetest is the contract test suite every walletgate.ChannelStore
// implementation runs (sqlite, postgres): one set of table-driven tests, so
// the stores cannot drift apart in behaviour.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// RunChannelStore runs the whole ChannelStore contract against a store made
// by open, which must return a fresh, empty store and arrange for it to be
// closed when t ends. Subtests share the store but never each other's
// accounts, which also checks that accounts do not see each other's data.
func RunChannelStore(t *testing.T, open func(t *testing.T) walletgate.ChannelStore) {
	s := open(t)
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, s) })
	t.Run("Channels", func(t *testing.T) { testChannels(t, s) })
	t.Run("DeleteChannel", func(t *testing.T) { testDeleteChannel(t, s) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, s) })
	t.Run("WriteMessage", func(t *testing.T) { testWriteMessage(t, s) })
	t.Run("WriteRules", func(t *testing.T) { testWriteRules(t, s) })
	t.Run("RevokedTokens", func(t *testing.T) { testRevokedTokens(t, s) })
	t.Run("Backfill", func(t *testing.T) { testBackfill(t, s) })
	t.Run("MarkRead", func(t *testing.T) { testMarkRead(t, s) })
	t.Run("DeleteMessage", func(t *testing.T) { testDeleteMessage(t, s) })
	t.Run("ETags", func(t *testing.T) { testETags(t, s) })
	t.Run("Payloads", func(t *testing.T) { testPayloads(t, s) })
	t.Run("TipFilters", func(t *testing.T) { testTipFilters(t, s) })
	// Pruning is store-wide, so it gets a store of its own.
	t.Run("PruneTipFilters", func(t *testing.T) { testPruneTipFilters(t, open(t)) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, s) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, s, s) })
	t.Run("SequencedRace", func(t *testing.T) { testSequencedRace(t, s, s) })
}

// RunSharedDatabase checks that two stores on one database (as two
// walletgate processes would have) still hand out gap-free sequences and see
// each other's writes. open returns both stores, already arranged to close.
func RunSharedDatabase(t *testing.T, open func(t *testing.T) (a, b walletgate.ChannelStore)) {
	a, b := open(t)
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, a, b) })
	t.Run("SequencedRace", func(t *testing.T) { testSequencedRace(t, a, b) })
}

// --- helpers --------------------------------------------------------------

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// secret is an 88-char id in the reference server's format.
func secret(t testing.TB) string {
	var b [64]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random: %v", err)
	}
	return base64.URLEncoding.EncodeToString(b[:])
}

func pubKey(t testing.TB) []byte {
	b := make([]byte, 33)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	b[0] = 2
	return b
}

func mkAccount(t *testing.T, s walletgate.ChannelStore) walletgate.Account {
	t.Helper()
	a, err := s.CreateAccount(ctxT(t), pubKey(t), secret(t))
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

type chanOpts struct {
	sequenced bool
	locked    bool
	minAge    *int64
}

func mkChannel(t *testing.T, s walletgate.ChannelStore, a walletgate.Account, o chanOpts) walletgate.Channel {
	t.Helper()
	ch, err := s.CreateChannel(ctxT(t), walletgate.Channel{
		ExternalID: secret(t), AccountID: a.ID, PublicRead: true, PublicWrite: true,
		Sequenced: o.sequenced, Locked: o.locked,
		Retention: walletgate.Retention{MinAgeDays: o.minAge, AutoPrune: true},
	}, walletgate.Token{Value: secret(t), Description: "Owner",
		Flags: walletgate.TokenRead | walletgate.TokenWrite | walletgate.TokenOwner})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	return ch
}

func mkToken(t *testing.T, s walletgate.ChannelStore, ch walletgate.Channel, flags uint32) walletgate.Token {
	t.Helper()
	tok, err := s.CreateToken(ctxT(t), walletgate.Token{ChannelID: ch.ID, Value: secret(t), Description: "peer", Flags: flags})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return tok
}

func write(t *testing.T, s walletgate.ChannelStore, ch walletgate.Channel, tok walletgate.Token, at time.Time, payload string) walletgate.Message {
	t.Helper()
	m, err := s.WriteMessage(ctxT(t), walletgate.NewMessage{ChannelID: ch.ID, TokenID: tok.ID,
		ContentType: "application/json", Payload: []byte(payload), Received: at})
	if err != nil {
		t.Fatalf("WriteMessage(channel %d, token %d): %v", ch.ID, tok.ID, err)
	}
	return m
}

// seqs lists the sequences token sees on channel.
func seqs(t *testing.T, s walletgate.ChannelStore, ch walletgate.Channel, tok walletgate.Token, unreadOnly bool) []int64 {
	t.Helper()
	ms, err := s.Messages(ctxT(t), ch.ID, tok.ID, unreadOnly)
	if err != nil {
		t.Fatalf("Messages(channel %d, token %d): %v", ch.ID, tok.ID, err)
	}
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Sequence)
	}
	return out
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wantErr fails t unless err carries code and, when msg is set, exactly
// that client message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", code, msg)
	}
	if got := walletgate.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
	if msg != "" {
		if got := walletgate.ErrorMessage(err); got != msg {
			t.Fatalf("error message %q, want %q", got, msg)
		}
	}
}

func ptr[T any](v T) *T { return &v }
