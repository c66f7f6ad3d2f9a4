// Package migrate is the one schema migration runner of the SQL stores
// (sqlite/, postgres/). Each store embeds numbered .sql files
// (0001_channels.sql, 0002_…) and hands them to Up with a DB adapter for
// its driver and a Dialect for the few queries that differ.
//
// The applied versions are kept in schema_version. Every migration runs in
// a transaction of its own together with its schema_version row, so a
// failure leaves the schema at the last migration that worked, and each
// transaction holds the store's migration lock (SQLite's write lock, a
// PostgreSQL advisory lock), so processes starting together apply each
// migration once. A database whose schema is newer than every migration
// the binary knows is refused: an older walletgate must not write to a
// schema it does not understand.
//
// Databases made before this runner kept their versions in
// schema_migrations (version, name, applied_at), applied in one
// transaction. Up adopts such a database: its rows move to schema_version,
// applied times kept, and the old table is dropped, so the older binary
// that made it refuses to start on the upgraded database instead of
// running against a schema it does not know.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int64
	Name    string // the file name, e.g. "0002_deposits.sql"
	SQL     string // one or more statements, run without arguments
}

// Load reads the migrations in dir of fsys: files named
// NNNN_description.sql, numbered from 1 without gaps or repeats, so a
// missing or doubled file is found at build time by the store's tests
// rather than at an operator's start.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("list migrations in %s: %w", dir, err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := version(e.Name())
		if err != nil {
			return nil, err
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != int64(i+1) {
			return nil, fmt.Errorf("migration %s: migrations in %s must be numbered 1, 2, 3… without gaps or repeats; found %d where %d belongs", m.Name, dir, m.Version, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return ms, nil
}

// version reads the number a migration file name starts with
// ("0001_channels.sql" → 1).
func version(name string) (int64, error) {
	num, _, ok := strings.Cut(name, "_")
	if !ok {
		return 0, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("migration %q: name must start with a positive number", name)
	}
	return v, nil
}

// Tx is one transaction of the database being migrated. Queries use $1,
// $2… placeholders, which both SQLite and PostgreSQL accept.
type Tx interface {
	// Exec runs query; without args it may hold several statements.
	Exec(ctx context.Context, query string, args ...any) error
	// QueryInt runs a query answering one row with one integer column.
	QueryInt(ctx context.Context, query string, args ...any) (int64, error)
}

// DB is the store's side of the runner.
type DB interface {
	// InTx runs fn in a transaction that holds the store's migration lock
	// from its first statement, and commits it when fn returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error
}

// Dialect holds the queries that differ between the stores.
type Dialect struct {
	// TableExists answers 1 when the table named by $1 exists, else 0.
	TableExists string
	// AdoptLegacy copies every schema_migrations row into schema_version,
	// applied_at converted to unix microseconds.
	AdoptLegacy string
}

// ErrNewerSchema is in the chain of the error Up returns for a database
// migrated by a newer binary.
var ErrNewerSchema = errors.New("database schema is newer than this binary")

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_version (
	version    BIGINT PRIMARY KEY,
	name       TEXT   NOT NULL,
	applied_at BIGINT NOT NULL)`

// Up brings db to the last of ms (as returned by Load), one migration per
// transaction, and returns how many it applied; now stamps applied_at.
func Up(ctx context.Context, db DB, d Dialect, ms []Migration, now func() time.Time) (int, error) {
	if len(ms) == 0 {
		return 0, fmt.Errorf("no migrations given")
	}
	latest := ms[len(ms)-1]
	applied := 0
	for {
		var next *Migration
		err := db.InTx(ctx, func(tx Tx) error {
			next = nil
			if err := prepare(ctx, tx, d); err != nil {
				return err
			}
			cur, err := tx.QueryInt(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`)
			if err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if cur > latest.Version {
				return walletgate.WrapError(walletgate.EConflict, ErrNewerSchema,
					"database schema is at version %d, newer than this binary knows (up to %d, %s): run the walletgate that migrated it, or a newer one",
					cur, latest.Version, latest.Name)
			}
			// Under the lock, re-read what is applied: another process
			// may have moved on since the previous transaction.
			for i := range ms {
				n, err := tx.QueryInt(ctx, `SELECT count(*) FROM schema_version WHERE version = $1`, ms[i].Version)
				if err != nil {
					return fmt.Errorf("check migration %s: %w", ms[i].Name, err)
				}
				if n == 0 {
					next = &ms[i]
					break
				}
			}
			if next == nil {
				return nil
			}
			if err := tx.Exec(ctx, next.SQL); err != nil {
				return fmt.Errorf("apply migration %s: %w", next.Name, err)
			}
			if err := tx.Exec(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)`,
				next.Version, next.Name, now().UnixMicro()); err != nil {
				return fmt.Errorf("record migration %s: %w", next.Name, err)
			}
			return nil
		})
		if err != nil {
			return applied, err
		}
		if next == nil {
			return applied, nil
		}
		applied++
	}
}

// prepare makes schema_version and adopts a database made before it.
func prepare(ctx context.Context, tx Tx, d Dialect) error {
	if err := tx.Exec(ctx, createVersionTable); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	legacy, err := tx.QueryInt(ctx, d.TableExists, "schema_migrations")
	if err != nil {
		return fmt.Errorf("look for schema_migrations: %w", err)
	}
	if legacy == 0 {
		return nil
	}
	if err := tx.Exec(ctx, d.AdoptLegacy); err != nil {
		return fmt.Errorf("adopt schema_migrations: %w", err)
	}
	if err := tx.Exec(ctx, `DROP TABLE schema_migrations`); err != nil {
		return fmt.Errorf("drop schema_migrations after adopting it: %w", err)
	}
	return nil
}
