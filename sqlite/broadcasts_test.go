package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/walletgate/walletgate/internal/storetest"
)

func TestBroadcastStore(t *testing.T) {
	storetest.RunBroadcastStore(t, func(t *testing.T) storetest.LedgerStore {
		s := openAt(t, filepath.Join(t.TempDir(), "walletgate.sqlite"))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestSharedBroadcasts opens one file twice, as two processes would: the
// writers take turns through SQLite's write lock.
func TestSharedBroadcasts(t *testing.T) {
	storetest.RunSharedBroadcasts(t, func(t *testing.T) (storetest.LedgerStore, storetest.LedgerStore) {
		path := filepath.Join(t.TempDir(), "walletgate.sqlite")
		a, b := openAt(t, path), openAt(t, path)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	})
}
