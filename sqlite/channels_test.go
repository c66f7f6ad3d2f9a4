package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/sqlite"
)

func openAt(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	return openWith(t, path, sqlite.Options{})
}

func openWith(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func openTemp(t *testing.T) walletgate.ChannelStore {
	s := openAt(t, filepath.Join(t.TempDir(), "data", "walletgate.sqlite"))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestChannelStore(t *testing.T) {
	storetest.RunChannelStore(t, openTemp)
}

func TestReopen(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) (walletgate.ChannelStore, func(t *testing.T) walletgate.ChannelStore) {
		path := filepath.Join(t.TempDir(), "walletgate.sqlite")
		return openAt(t, path), func(t *testing.T) walletgate.ChannelStore {
			s := openAt(t, path)
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}

// TestSharedFile runs two stores on one file, as two processes would: each
// has its own writer, and SQLite's file lock (with the busy timeout)
// serialises their transactions. SQLite's busy handler is not fair, so
// under a loaded test machine one writer can wait long for the other: the
// busy timeout is raised well above the default here.
func TestSharedFile(t *testing.T) {
	storetest.RunSharedDatabase(t, func(t *testing.T) (walletgate.ChannelStore, walletgate.ChannelStore) {
		path := filepath.Join(t.TempDir(), "walletgate.sqlite")
		opts := sqlite.Options{BusyTimeout: time.Minute}
		a, b := openWith(t, path, opts), openWith(t, path, opts)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	})
}
