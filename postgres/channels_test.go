package postgres_test

import (
	"context"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

func openURL(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func openFresh(t *testing.T) walletgate.ChannelStore {
	s := openURL(t, testenv.PostgresDB(t))
	t.Cleanup(func() { s.Close() })
	return s
}

func TestChannelStore(t *testing.T) {
	storetest.RunChannelStore(t, openFresh)
}

// TestReopen also checks that migrations are idempotent: the second Open
// finds them applied.
func TestReopen(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) (walletgate.ChannelStore, func(t *testing.T) walletgate.ChannelStore) {
		url := testenv.PostgresDB(t)
		return openURL(t, url), func(t *testing.T) walletgate.ChannelStore {
			s := openURL(t, url)
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}

// TestSharedDatabase writes through two pools on one database, as two
// walletgate processes would.
func TestSharedDatabase(t *testing.T) {
	storetest.RunSharedDatabase(t, func(t *testing.T) (walletgate.ChannelStore, walletgate.ChannelStore) {
		url := testenv.PostgresDB(t)
		a, b := openURL(t, url), openURL(t, url)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	})
}

func TestBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://%zz", postgres.Options{})
	if walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("Open with a bad url: %v, want an EInvalid error", err)
	}
}
