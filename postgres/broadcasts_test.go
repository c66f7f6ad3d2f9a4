package postgres_test

import (
	"testing"

	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

func TestBroadcastStore(t *testing.T) {
	storetest.RunBroadcastStore(t, func(t *testing.T) storetest.LedgerStore {
		s := openURL(t, testenv.PostgresDB(t))
		t.Cleanup(func() { s.Close() })
		return s.Deposits(postgres.DepositOptions{})
	})
}

// TestSharedBroadcasts races two pools on one database, as two walletgate
// processes would.
func TestSharedBroadcasts(t *testing.T) {
	storetest.RunSharedBroadcasts(t, func(t *testing.T) (storetest.LedgerStore, storetest.LedgerStore) {
		url := testenv.PostgresDB(t)
		a, b := openURL(t, url), openURL(t, url)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a.Deposits(postgres.DepositOptions{}), b.Deposits(postgres.DepositOptions{})
	})
}
