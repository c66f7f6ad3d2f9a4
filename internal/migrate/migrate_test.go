package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	_ "modernc.org/sqlite"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/migrate"
)

// The runner is tested on SQLite through database/sql; the stores' own
// tests run it on their drivers (and PostgreSQL) with their dialects.

var dialect = migrate.Dialect{
	TableExists: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
	AdoptLegacy: `INSERT INTO schema_version (version, name, applied_at)
		SELECT version, name, applied_at * 1000000 FROM schema_migrations WHERE true ON CONFLICT (version) DO NOTHING`,
}

type sqlDB struct{ db *sql.DB }

func (d sqlDB) InTx(ctx context.Context, fn func(migrate.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(sqlTx{tx}); err != nil {
		return err
	}
	return tx.Commit()
}

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) Exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, q, args...)
	return err
}

func (t sqlTx) QueryInt(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := t.tx.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

var files = fstest.MapFS{
	"m/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);`)},
	"m/0002_b.sql": {Data: []byte(`CREATE TABLE b (y INTEGER);`)},
	"m/0003_c.sql": {Data: []byte(`ALTER TABLE a ADD COLUMN z INTEGER NOT NULL DEFAULT 7;`)},
	"m/README.txt": {Data: []byte("not a migration")},
}

func load(t *testing.T, n int) []migrate.Migration {
	t.Helper()
	ms, err := migrate.Load(files, "m")
	if err != nil {
		t.Fatal(err)
	}
	return ms[:n]
}

var clock = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func up(t *testing.T, db *sql.DB, ms []migrate.Migration) int {
	t.Helper()
	n, err := migrate.Up(context.Background(), sqlDB{db}, dialect, ms, clock)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	return n
}

func versions(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT version, name, applied_at FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_version: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v, at int64
		var name string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, name+"@"+time.UnixMicro(at).UTC().Format(time.RFC3339))
	}
	return strings.Join(out, " ")
}

func TestUpAppliesInOrderOnce(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "m.sqlite"))
	if n := up(t, db, load(t, 2)); n != 2 {
		t.Fatalf("first Up applied %d, want 2", n)
	}
	if n := up(t, db, load(t, 3)); n != 1 {
		t.Fatalf("Up with one more migration applied %d, want 1", n)
	}
	if n := up(t, db, load(t, 3)); n != 0 {
		t.Fatalf("Up on an up-to-date database applied %d, want 0", n)
	}
	const want = "0001_a.sql@2026-01-02T03:04:05Z 0002_b.sql@2026-01-02T03:04:05Z 0003_c.sql@2026-01-02T03:04:05Z"
	if got := versions(t, db); got != want {
		t.Fatalf("schema_version %s\nwant %s", got, want)
	}
	var x, z int
	if err := db.QueryRow(`SELECT x, z FROM a`).Scan(&x, &z); err != nil || x != 1 || z != 7 {
		t.Fatalf("table a: x=%d z=%d, %v; want the row of 0001 with 0003's column", x, z, err)
	}
}

// TestFailedMigrationKeepsEarlierOnes: each migration has its own
// transaction, so a broken one leaves the ones before it applied and
// itself not at all.
func TestFailedMigrationKeepsEarlierOnes(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "m.sqlite"))
	ms := load(t, 3)
	ms[2].SQL = `CREATE TABLE c (q INTEGER); THIS IS NOT SQL;`
	_, err := migrate.Up(context.Background(), sqlDB{db}, dialect, ms, clock)
	if err == nil || !strings.Contains(err.Error(), "apply migration 0003_c.sql") {
		t.Fatalf("Up with a broken 0003: %v, want an error naming 0003_c.sql", err)
	}
	if got := versions(t, db); !strings.HasPrefix(got, "0001_a.sql@") || !strings.Contains(got, "0002_b.sql@") || strings.Contains(got, "0003") {
		t.Fatalf("schema_version after the failure: %s; want 0001 and 0002 only", got)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'c'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed migration's table exists (%d, %v): it was not rolled back", n, err)
	}
}

func TestRefusesNewerDatabase(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "m.sqlite"))
	up(t, db, load(t, 3))
	before := versions(t, db)
	_, err := migrate.Up(context.Background(), sqlDB{db}, dialect, load(t, 2), clock)
	if !errors.Is(err, migrate.ErrNewerSchema) || walletgate.ErrorCode(err) != walletgate.EConflict ||
		!strings.Contains(err.Error(), "version 3, newer than this binary knows (up to 2, 0002_b.sql)") {
		t.Fatalf("an older binary's Up: %v; want ErrNewerSchema naming versions 3 and 2", err)
	}
	if after := versions(t, db); after != before {
		t.Fatalf("refusing changed schema_version: %s, was %s", after, before)
	}
}

// TestAdoptsLegacyTable: a database migrated before schema_version (its
// versions in schema_migrations, applied_at in unix seconds) keeps its
// data, gets its history moved with the times kept, and is then brought
// up to date.
func TestAdoptsLegacyTable(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "m.sqlite"))
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		string(files["m/0001_a.sql"].Data), `INSERT INTO a VALUES (2)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_a.sql', 1700000000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("make legacy database: %s: %v", q, err)
		}
	}
	if n := up(t, db, load(t, 3)); n != 2 {
		t.Fatalf("Up on the legacy database applied %d, want 2 (0002, 0003)", n)
	}
	const want = "0001_a.sql@2023-11-14T22:13:20Z 0002_b.sql@2026-01-02T03:04:05Z 0003_c.sql@2026-01-02T03:04:05Z"
	if got := versions(t, db); got != want {
		t.Fatalf("schema_version %s\nwant %s", got, want)
	}
	var rows, legacy int
	if err := db.QueryRow(`SELECT count(*) FROM a WHERE z = 7`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("rows of a after adoption: %d, %v; want both", rows, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'`).Scan(&legacy); err != nil || legacy != 0 {
		t.Fatalf("schema_migrations still there (%d, %v)", legacy, err)
	}
}

// TestConcurrentUp: processes opening one database together apply each
// migration once (the transactions take the write lock first).
func TestConcurrentUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.sqlite")
	ms := load(t, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		db := openDB(t, path)
		wg.Go(func() {
			n, err := migrate.Up(context.Background(), sqlDB{db}, dialect, ms, clock)
			if err != nil {
				t.Errorf("concurrent Up: %v", err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 3 {
		t.Fatalf("concurrent Ups applied %d migrations in all, want 3 (each once)", total)
	}
}

func TestLoadChecksNumbering(t *testing.T) {
	for _, c := range []struct {
		fs   fstest.MapFS
		want string
	}{
		{fstest.MapFS{"m/0002_b.sql": {}}, "found 2 where 1 belongs"},
		{fstest.MapFS{"m/0001_a.sql": {}, "m/001_b.sql": {}}, "found 1 where 2 belongs"},
		{fstest.MapFS{"m/first.sql": {}}, "name must be NNNN_description.sql"},
		{fstest.MapFS{"m/x_a.sql": {}}, "must start with a positive number"},
		{fstest.MapFS{"m/README": {}}, "no migrations in m"},
	} {
		if _, err := migrate.Load(c.fs, "m"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%v): %v, want an error containing %q", c.fs, err, c.want)
		}
	}
}
