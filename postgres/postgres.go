// Package postgres stores walletgate's data in PostgreSQL (pgx/v5 pool), the
// store for several walletgate instances sharing one database, and carries
// channel notices between them with LISTEN/NOTIFY.
//
// Consistency across processes comes from row locks, never from the
// application: a message write locks its channel row (FOR NO KEY UPDATE),
// checks the lock and sequencing rules and advances the channel's head
// sequence in one transaction, so sequences stay gap-free however many
// processes write.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walletgate/walletgate"
)

// ListenerApplicationName is the application_name of the notice listeners'
// dedicated connections, as seen in pg_stat_activity.
const ListenerApplicationName = "walletgate notice listener"

// Options tunes a Store. Zero fields take the defaults named on each.
type Options struct {
	// MaxConns is the pool size (default 16). Each message write holds a
	// connection until its commit is flushed, so write throughput grows with
	// it while the server keeps up.
	MaxConns int32
	// ConnectTimeout bounds each new connection (default 10s).
	ConnectTimeout time.Duration
	// StatementTimeout is the server-side statement_timeout of every pooled
	// connection, so no query can hang a request forever (default 30s).
	StatementTimeout time.Duration
	// ListenPingInterval is how long the notice listener waits for a
	// notification before it pings its connection to prove it alive
	// (default 30s).
	ListenPingInterval time.Duration
	// ReconnectMin and ReconnectMax bound the listener's reconnect backoff,
	// which doubles from min to max (defaults 100ms and 10s).
	ReconnectMin, ReconnectMax time.Duration
	// Logger receives listener reconnect warnings (default: discarded).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.ListenPingInterval <= 0 {
		o.ListenPingInterval = 30 * time.Second
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 100 * time.Millisecond
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = max(10*time.Second, o.ReconnectMin)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a walletgate.ChannelStore on PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	// listenConfig is the connection config for LISTEN connections, which
	// live outside the pool.
	listenConfig *pgx.ConnConfig
}

var _ walletgate.ChannelStore = (*Store)(nil)

// Open connects to the database at url, applies pending migrations and
// returns the store.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "postgres: bad database url")
	}
	cfg.MaxConns = opts.MaxConns
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	listenConfig := cfg.ConnConfig.Copy()
	delete(listenConfig.RuntimeParams, "statement_timeout")
	// Named so operators (and tests) can tell the listeners apart.
	listenConfig.RuntimeParams["application_name"] = ListenerApplicationName

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EUnavailable, err, "postgres: connect")
	}
	if err := migrateDB(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{pool: pool, opts: opts, listenConfig: listenConfig}, nil
}

// Close closes the pool, waiting for connections in use to be returned.
// Notice subscriptions have connections of their own and end with their
// contexts, not with Close.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// PostgreSQL error codes the store maps to application errors.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// inTx runs fn in a transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
