package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletgate/walletgate/internal/storetest"
)

// legacyMigrations are the files the schema_migrations runner shipped with.
var legacyMigrations = []string{"0001_channels.sql", "0002_deposits.sql", "0003_broadcasts.sql"}

// legacyMigrate is the migration code before schema_version, kept as it
// was but for reading the three files it shipped with from disk, to make
// databases as it left them:
// schema_migrations with applied_at in unix seconds, every migration in one
// transaction.
func legacyMigrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for i, name := range legacyMigrations {
		version := i + 1
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("check migration %s: %w", name, err)
		}
		if n > 0 {
			continue
		}
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			version, name, time.Now().Unix()); err != nil {
			return fmt.Errorf("record migration %s: %w", name, err)
		}
	}
	return tx.Commit()
}

// TestAdoptLegacyDatabase makes a database with the old migration code,
// fills it, and checks that Open adopts it without losing anything, with
// the applied times of its migrations kept.
func TestAdoptLegacyDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "legacy.sqlite")
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := legacyMigrate(ctx, db); err != nil {
		t.Fatalf("legacy migrate: %v", err)
	}
	var legacyAt int64
	if err := db.QueryRow(`SELECT applied_at FROM schema_migrations WHERE version = 2`).Scan(&legacyAt); err != nil {
		t.Fatal(err)
	}
	storetest.RunAdoptLegacy(t, storetest.LegacyDatabase{
		Exec: func(t *testing.T, q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		QueryInt: func(t *testing.T, q string, args ...any) (int64, error) {
			var n int64
			err := db.QueryRow(q, args...).Scan(&n)
			return n, err
		},
		Open: func(t *testing.T) storetest.LedgerStore {
			s := openAt(t, path)
			t.Cleanup(func() { s.Close() })
			return s
		},
	})
	var at int64
	if err := db.QueryRow(`SELECT applied_at FROM schema_version WHERE version = 2`).Scan(&at); err != nil || at != legacyAt*1e6 {
		t.Fatalf("0002's applied_at after adoption %d µs (%v); want the legacy %d s", at, err, legacyAt)
	}
}
