package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/walletgate/walletgate"
)

// TestGroupCommitIsolation runs one batch by hand: operations that fail,
// panic or were cancelled leave no trace, while the others in the same
// transaction commit.
func TestGroupCommitIsolation(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.sqlite"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	insert := func(key string) func(*wtx) error {
		return func(w *wtx) error {
			_, err := w.exec(`INSERT INTO accounts (public_key_bytes, api_key) VALUES (?, ?)`, []byte(key), key)
			return err
		}
	}
	errRule := errors.New("rule says no")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	cases := []struct {
		key     string
		ctx     context.Context
		fn      func(*wtx) error
		wantErr bool
		stored  bool
	}{
		{"a", bg, insert("a"), false, true},
		{"b", bg, func(w *wtx) error {
			if err := insert("b")(w); err != nil {
				return err
			}
			return errRule
		}, true, false},
		{"c", bg, func(w *wtx) error {
			if err := insert("c")(w); err != nil {
				return err
			}
			panic("bug")
		}, true, false},
		{"dup", bg, insert("a"), true, false}, // unique violation mid-batch
		{"e", cancelled, insert("e"), true, false},
		{"f", bg, insert("f"), false, true},
	}
	batch := make([]*writeReq, len(cases))
	for i, c := range cases {
		batch[i] = &writeReq{ctx: c.ctx, fn: c.fn, done: make(chan error, 1)}
	}
	errs := s.runBatch(batch, nil)
	if len(errs) != len(cases) {
		t.Fatalf("runBatch returned %d results for %d operations", len(errs), len(cases))
	}
	for i, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			if (errs[i] != nil) != c.wantErr {
				t.Fatalf("error %v, want error: %v", errs[i], c.wantErr)
			}
			if c.key == "c" && walletgate.ErrorCode(errs[i]) != walletgate.EInternal {
				t.Fatalf("panic became %v, want an EInternal error", errs[i])
			}
			if c.key == "dup" {
				return
			}
			_, err := s.AccountByAPIKey(context.Background(), c.key)
			if stored := err == nil; stored != c.stored {
				t.Fatalf("account %q stored: %v (%v), want %v", c.key, stored, err, c.stored)
			}
		})
	}
}
