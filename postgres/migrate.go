package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walletgate/walletgate/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations when several processes start at once ("wgmigrat").
const migrationLockKey = 0x77676d6967726174

// dialect is PostgreSQL's side of the shared migration runner. A database
// made before it recorded applied_at as a timestamptz.
var dialect = migrate.Dialect{
	TableExists: `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1`,
	AdoptLegacy: `INSERT INTO schema_version (version, name, applied_at)
		SELECT version, name, (extract(epoch FROM applied_at) * 1000000)::bigint FROM schema_migrations
		ON CONFLICT (version) DO NOTHING`,
}

// migrateDB applies the embedded migrations not yet in schema_version,
// each in its own transaction behind the advisory lock, so that processes
// starting together apply each migration once.
func migrateDB(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if _, err := migrate.Up(ctx, pgDB{pool}, dialect, ms, time.Now); err != nil {
		return err
	}
	return nil
}

// pgDB adapts a pgx pool to migrate.DB.
type pgDB struct{ pool *pgxpool.Pool }

func (d pgDB) InTx(ctx context.Context, fn func(migrate.Tx) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		return fn(pgTx{tx})
	})
}

type pgTx struct{ tx pgx.Tx }

// Exec runs query; without args pgx uses the simple protocol, which runs
// every statement of a migration file.
func (t pgTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.Exec(ctx, query, args...)
	return err
}

func (t pgTx) QueryInt(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := t.tx.QueryRow(ctx, query, args...).Scan(&n)
	return n, err
}
