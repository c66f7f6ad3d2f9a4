package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/migrate"
	"github.com/walletgate/walletgate/sqlite"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.sqlite")
	if err := os.WriteFile(garbage, []byte("this is not an SQLite database, just text long enough to have a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		path string
		opts sqlite.Options
		code string // "" means any error
	}{
		{"empty path", "", sqlite.Options{}, walletgate.EInvalid},
		{"question mark", filepath.Join(dir, "a?b.sqlite"), sqlite.Options{}, walletgate.EInvalid},
		{"bad synchronous", filepath.Join(dir, "x.sqlite"), sqlite.Options{Synchronous: "OFF"}, walletgate.EInvalid},
		{"not a database", garbage, sqlite.Options{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), tc.path, tc.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
			if tc.code != "" && walletgate.ErrorCode(err) != tc.code {
				t.Fatalf("Open(%q): %v, want code %s", tc.path, err, tc.code)
			}
		})
	}
}

// TestMigrationsOnce opens a file three times and checks that each
// migration is recorded exactly once in schema_version and the schema is
// in WAL mode.
func TestMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.sqlite")
	for i := 0; i < 3; i++ {
		s := openAt(t, path)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, distinct int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_version`).Scan(&n, &distinct); err != nil {
		t.Fatalf("read schema_version: %v", err)
	}
	if n != len(entries) || distinct != n {
		t.Fatalf("schema_version has %d rows (%d distinct), want %d", n, distinct, len(entries))
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// TestRefusesNewerSchema: a file migrated by a newer walletgate (a version
// this binary has no migration for) is not opened, so this binary never
// writes to a schema it does not know.
func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.sqlite")
	if err := openAt(t, path).Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (99, '0099_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database at schema version 99 succeeded")
	}
	if !errors.Is(err, migrate.ErrNewerSchema) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Open of a newer database: %v; want ErrNewerSchema naming version 99", err)
	}
}
