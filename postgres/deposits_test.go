package postgres_test

import (
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

func TestDepositStore(t *testing.T) {
	storetest.RunDepositStore(t, func(t *testing.T) walletgate.DepositStore {
		s := openURL(t, testenv.PostgresDB(t))
		t.Cleanup(func() { s.Close() })
		return s.Deposits(postgres.DepositOptions{})
	})
}

// TestSharedDeposits races two pools on one database, as two walletgate
// processes would.
func TestSharedDeposits(t *testing.T) {
	storetest.RunSharedDeposits(t, func(t *testing.T) (walletgate.DepositStore, walletgate.DepositStore) {
		url := testenv.PostgresDB(t)
		a, b := openURL(t, url), openURL(t, url)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a.Deposits(postgres.DepositOptions{}), b.Deposits(postgres.DepositOptions{})
	})
}
