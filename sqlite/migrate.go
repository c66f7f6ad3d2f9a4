package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/walletgate/walletgate/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// dialect is SQLite's side of the shared migration runner. A database made
// before it recorded applied_at in unix seconds.
var dialect = migrate.Dialect{
	TableExists: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
	AdoptLegacy: `INSERT INTO schema_version (version, name, applied_at)
		SELECT version, name, applied_at * 1000000 FROM schema_migrations WHERE true
		ON CONFLICT (version) DO NOTHING`,
}

// migrateDB applies the embedded migrations not yet in schema_version,
// each in its own transaction. db must open transactions with BEGIN
// IMMEDIATE (see Open's _txlock), which takes SQLite's write lock at once:
// that is the migration lock, so processes opening one file together take
// turns.
func migrateDB(ctx context.Context, db *sql.DB) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if _, err := migrate.Up(ctx, sqlDB{db}, dialect, ms, time.Now); err != nil {
		return err
	}
	return nil
}

// sqlDB adapts database/sql to migrate.DB.
type sqlDB struct{ db *sql.DB }

func (d sqlDB) InTx(ctx context.Context, fn func(migrate.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(sqlTx{tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, query, args...)
	return err
}

func (t sqlTx) QueryInt(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := t.tx.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}
