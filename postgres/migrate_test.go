package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate/internal/migrate"
	"github.com/walletgate/walletgate/internal/storetest"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

// legacyMigrations are the files the schema_migrations runner shipped with.
var legacyMigrations = []string{"0001_channels.sql", "0002_deposits.sql", "0003_broadcasts.sql"}

// legacyMigrate is the migration code before schema_version, kept as it
// was but for reading the three files it shipped with from disk, to make
// databases as it left them: schema_migrations with a timestamptz
// applied_at, every migration in one transaction behind the advisory lock.
func legacyMigrate(ctx context.Context, conn *pgx.Conn) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x77676d6967726174)); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for i, name := range legacyMigrations {
			version := int64(i + 1)
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&applied); err != nil {
				return fmt.Errorf("check migration %s: %w", name, err)
			}
			if applied {
				continue
			}
			body, err := os.ReadFile(filepath.Join("migrations", name))
			if err != nil {
				return fmt.Errorf("read migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("apply migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, version, name); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// TestAdoptLegacyDatabase makes a database with the old migration code,
// fills it, and checks that Open adopts it without losing anything, with
// the applied times of its migrations kept.
func TestAdoptLegacyDatabase(t *testing.T) {
	url := testenv.PostgresDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := legacyMigrate(ctx, conn); err != nil {
		t.Fatalf("legacy migrate: %v", err)
	}
	var legacyAt int64
	if err := conn.QueryRow(ctx, `SELECT (extract(epoch FROM applied_at) * 1000000)::bigint FROM schema_migrations WHERE version = 2`).Scan(&legacyAt); err != nil {
		t.Fatal(err)
	}
	storetest.RunAdoptLegacy(t, storetest.LegacyDatabase{
		Exec: func(t *testing.T, q string, args ...any) {
			t.Helper()
			if _, err := conn.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		QueryInt: func(t *testing.T, q string, args ...any) (int64, error) {
			var n int64
			err := conn.QueryRow(ctx, q, args...).Scan(&n)
			return n, err
		},
		Open: func(t *testing.T) storetest.LedgerStore {
			s := openURL(t, url)
			t.Cleanup(func() { s.Close() })
			return s.Deposits(postgres.DepositOptions{})
		},
	})
	var at int64
	if err := conn.QueryRow(ctx, `SELECT applied_at FROM schema_version WHERE version = 2`).Scan(&at); err != nil || at != legacyAt {
		t.Fatalf("0002's applied_at after adoption %d µs (%v); want the legacy %d µs", at, err, legacyAt)
	}
}

// TestRefusesNewerSchema: a database migrated by a newer walletgate (a
// version this binary has no migration for) is not opened, so this binary
// never writes to a schema it does not know.
func TestRefusesNewerSchema(t *testing.T) {
	url := testenv.PostgresDB(t)
	openURL(t, url).Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES (99, '0099_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database at schema version 99 succeeded")
	}
	if !errors.Is(err, migrate.ErrNewerSchema) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Open of a newer database: %v; want ErrNewerSchema naming version 99", err)
	}
}
