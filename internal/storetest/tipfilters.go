package storetest

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

const (
	reasonFiltersRegistered    = "10024: some pushdata hashes already registered"
	reasonFiltersNotRegistered = "10025: some pushdata hashes are not registered"
)

func hash(t *testing.T) [32]byte {
	var h [32]byte
	if _, err := rand.Read(h[:]); err != nil {
		t.Fatalf("random: %v", err)
	}
	return h
}

func testTipFilters(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	b := mkAccount(t, s)
	created := time.Now().Truncate(time.Second).Add(-time.Minute)
	h1, h2, h3, h4, unknown := hash(t), hash(t), hash(t), hash(t), hash(t)
	filter := func(h [32]byte) walletgate.TipFilter {
		return walletgate.TipFilter{AccountID: a.ID, PushDataHash: h, DateCreated: created.Add(300 * time.Millisecond), DurationSecs: 3600}
	}
	// list returns hash → flags of a's listed filters, checking their fields.
	list := func(t *testing.T, acct int64) map[[32]byte]uint32 {
		t.Helper()
		fs, err := s.ListTipFilters(ctx, acct)
		if err != nil {
			t.Fatalf("ListTipFilters: %v", err)
		}
		out := map[[32]byte]uint32{}
		for _, f := range fs {
			if f.AccountID != acct || !f.DateCreated.Equal(created) || f.DurationSecs != 3600 {
				t.Fatalf("listed filter %+v: want account %d, created %v (whole seconds), 3600 s", f, acct, created)
			}
			out[f.PushDataHash] = f.Flags
		}
		return out
	}
	const fin, del = walletgate.TipFilterFinalised, walletgate.TipFilterDeleting
	steps := []struct {
		name      string
		run       func() error
		code, msg string
		want      map[[32]byte]uint32 // a's listing afterwards
	}{
		{"add", func() error { return s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{filter(h1), filter(h2)}) },
			"", "", map[[32]byte]uint32{}},
		{"finalise", func() error { return s.FinaliseTipFilters(ctx, a.ID, [][32]byte{h1, h2}) },
			"", "", map[[32]byte]uint32{h1: fin, h2: fin}},
		{"add with one registered", func() error { return s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{filter(h3), filter(h1)}) },
			walletgate.EConflict, reasonFiltersRegistered, map[[32]byte]uint32{h1: fin, h2: fin}},
		{"add repeated in one call", func() error { return s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{filter(h4), filter(h4)}) },
			walletgate.EConflict, reasonFiltersRegistered, map[[32]byte]uint32{h1: fin, h2: fin}},
		{"failed adds left nothing", func() error { return s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{filter(h3), filter(h4)}) },
			"", "", map[[32]byte]uint32{h1: fin, h2: fin}},
		{"finalise with unknown", func() error { return s.FinaliseTipFilters(ctx, a.ID, [][32]byte{h3, unknown}) },
			walletgate.EInvalid, reasonFiltersNotRegistered, map[[32]byte]uint32{h1: fin, h2: fin}},
		{"deleting needs finalised", func() error { return s.MarkTipFiltersDeleting(ctx, a.ID, [][32]byte{h1, h3}, true) },
			walletgate.EInvalid, reasonFiltersNotRegistered, map[[32]byte]uint32{h1: fin, h2: fin}},
		{"mark deleting", func() error { return s.MarkTipFiltersDeleting(ctx, a.ID, [][32]byte{h1}, true) },
			"", "", map[[32]byte]uint32{h1: fin | del, h2: fin}},
		{"already deleting", func() error { return s.MarkTipFiltersDeleting(ctx, a.ID, [][32]byte{h2, h1}, true) },
			walletgate.EInvalid, reasonFiltersNotRegistered, map[[32]byte]uint32{h1: fin | del, h2: fin}},
		{"roll back deleting", func() error { return s.MarkTipFiltersDeleting(ctx, a.ID, [][32]byte{h1}, false) },
			"", "", map[[32]byte]uint32{h1: fin, h2: fin}},
		{"clear unknown", func() error { return s.MarkTipFiltersDeleting(ctx, a.ID, [][32]byte{unknown}, false) },
			walletgate.EInvalid, reasonFiltersNotRegistered, map[[32]byte]uint32{h1: fin, h2: fin}},
		{"delete with unknown", func() error { return s.DeleteTipFilters(ctx, a.ID, [][32]byte{h1, unknown}) },
			walletgate.EInvalid, reasonFiltersNotRegistered, map[[32]byte]uint32{h1: fin, h2: fin}},
		{"delete", func() error { return s.DeleteTipFilters(ctx, a.ID, [][32]byte{h1, h3}) },
			"", "", map[[32]byte]uint32{h2: fin}},
		{"re-add deleted", func() error { return s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{filter(h1)}) },
			"", "", map[[32]byte]uint32{h2: fin}},
		{"other account may use the same hash", func() error {
			f := filter(h2)
			f.AccountID = b.ID
			return s.AddTipFilters(ctx, b.ID, []walletgate.TipFilter{f})
		}, "", "", map[[32]byte]uint32{h2: fin}},
		{"other account's finalise", func() error { return s.FinaliseTipFilters(ctx, b.ID, [][32]byte{h2}) },
			"", "", map[[32]byte]uint32{h2: fin}},
		{"unknown account", func() error {
			return s.AddTipFilters(ctx, b.ID+1_000_000, []walletgate.TipFilter{filter(hash(t))})
		}, walletgate.ENotFound, "", map[[32]byte]uint32{h2: fin}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.run()
			if st.code != "" {
				wantErr(t, err, st.code, st.msg)
			} else if err != nil {
				t.Fatalf("%v", err)
			}
			got := list(t, a.ID)
			if len(got) != len(st.want) {
				t.Fatalf("listing %v, want %v", got, st.want)
			}
			for h, f := range st.want {
				if gf, ok := got[h]; !ok || gf != f {
					t.Fatalf("listing %v, want %v", got, st.want)
				}
			}
		})
	}
	if got := list(t, b.ID); len(got) != 1 || got[h2] != fin {
		t.Fatalf("account b lists %v, want only its own h2, finalised", got)
	}
}

func testPruneTipFilters(t *testing.T, s walletgate.ChannelStore) {
	ctx := ctxT(t)
	a := mkAccount(t, s)
	now := time.Now().Truncate(time.Second)
	live, expired, unfinalised, boundary := hash(t), hash(t), hash(t), hash(t)
	add := func(h [32]byte, created time.Time, dur uint32, finalise bool) {
		t.Helper()
		if err := s.AddTipFilters(ctx, a.ID, []walletgate.TipFilter{{AccountID: a.ID, PushDataHash: h, DateCreated: created, DurationSecs: dur}}); err != nil {
			t.Fatalf("AddTipFilters: %v", err)
		}
		if finalise {
			if err := s.FinaliseTipFilters(ctx, a.ID, [][32]byte{h}); err != nil {
				t.Fatalf("FinaliseTipFilters: %v", err)
			}
		}
	}
	add(live, now.Add(-time.Minute), 3600, true)
	add(expired, now.Add(-2*time.Hour), 3600, true)
	add(unfinalised, now, 3600, false)
	add(boundary, now.Add(-time.Hour), 3600, true) // expires exactly now: kept
	n, err := s.PruneTipFilters(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("PruneTipFilters = %d, %v; want 2 removed", n, err)
	}
	fs, err := s.ListTipFilters(ctx, a.ID)
	if err != nil || len(fs) != 2 || fs[0].PushDataHash != live || fs[1].PushDataHash != boundary {
		t.Fatalf("after pruning: %+v, %v; want the live and boundary filters in registration order", fs, err)
	}
	// The unfinalised one is gone for good, so it can be registered again.
	add(unfinalised, now, 3600, true)
}
