package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/storetest"
)

func TestDepositStore(t *testing.T) {
	storetest.RunDepositStore(t, func(t *testing.T) walletgate.DepositStore {
		s := openAt(t, filepath.Join(t.TempDir(), "walletgate.sqlite"))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
