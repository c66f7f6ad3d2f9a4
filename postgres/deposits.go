package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// DepositOptions tunes the deposit store. Zero fields take the defaults
// named on each.
type DepositOptions struct {
	// SerializationRetries is how many times ApplyTx re-runs after a
	// deadlock (SQLSTATE 40P01) before giving up with EConflict (default
	// 10; cryptoassets' database.transaction_retries, which used 3).
	SerializationRetries int
	// RetryDelay is the base of the jittered pause before each re-run,
	// growing linearly with the attempt (default 5ms).
	RetryDelay time.Duration
}

func (o DepositOptions) withDefaults() DepositOptions {
	if o.SerializationRetries <= 0 {
		o.SerializationRetries = 10
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 5 * time.Millisecond
	}
	return o
}

// Deposits is the walletgate.DepositStore on a Store's database. ApplyTx
// locks its network transaction's row before reading it, so processes
// sharing the database never credit a deposit twice; outbox claims take FOR UPDATE SKIP LOCKED row locks and a
// lease, so no row is delivered by two processes at once.
type Deposits struct {
	s    *Store
	opts DepositOptions
}

var _ walletgate.DepositStore = (*Deposits)(nil)

// Deposits returns the deposit store on s's pool.
func (s *Store) Deposits(opts DepositOptions) *Deposits {
	return &Deposits{s: s, opts: opts.withDefaults()}
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// pgDeadlock is the SQLSTATE of a deadlock, the one failure ApplyTx
// re-runs (see rowLocked).
const pgDeadlock = "40P01"

// AddWatch implements walletgate.DepositStore.
func (d *Deposits) AddWatch(ctx context.Context, w walletgate.Watch) (walletgate.Watch, error) {
	if err := w.Validate(); err != nil {
		return walletgate.Watch{}, err
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = time.Now()
	}
	// DO UPDATE with a no-op assignment returns the existing row too, in
	// one statement that concurrent adders agree on.
	existing := walletgate.Watch{Coin: w.Coin, Address: w.Address}
	var created int64
	err := d.s.pool.QueryRow(ctx, `INSERT INTO deposit_watches (coin, address, account, external_id, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (coin, address) DO UPDATE SET coin = EXCLUDED.coin
		RETURNING id, account, external_id, created_at`,
		w.Coin, w.Address, w.Account, w.ExternalID, micros(w.CreatedAt)).Scan(&existing.ID, &existing.Account, &existing.ExternalID, &created)
	if err != nil {
		return walletgate.Watch{}, fmt.Errorf("postgres: add watch %s %s: %w", w.Coin, w.Address, err)
	}
	existing.CreatedAt = time.UnixMicro(created)
	return w.Rewatch(existing)
}

// ListWatches implements walletgate.DepositStore.
func (d *Deposits) ListWatches(ctx context.Context, coin, account string, p walletgate.Page) ([]walletgate.Watch, int64, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	rows, err := d.s.pool.Query(ctx, `SELECT id, coin, address, account, external_id, created_at FROM deposit_watches
		WHERE coin = $1 AND ($2 = '' OR account = $2) AND id > $3 ORDER BY id LIMIT $4`,
		coin, account, p.Cursor, p.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list watches of %s: %w", coin, err)
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.Watch, error) {
		var w walletgate.Watch
		var created int64
		err := r.Scan(&w.ID, &w.Coin, &w.Address, &w.Account, &w.ExternalID, &created)
		w.CreatedAt = time.UnixMicro(created)
		return w, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list watches of %s: %w", coin, err)
	}
	var next int64
	if len(ws) > p.Limit {
		ws = ws[:p.Limit]
		next = ws[len(ws)-1].ID
	}
	return ws, next, nil
}

const depositCols = `id, ntx_id, coin, txid, address, account, amount, confirmations, credited_at, updated_at`

func scanDeposit(r pgx.Row) (walletgate.Deposit, error) {
	var d walletgate.Deposit
	var credited *int64
	var updated int64
	if err := r.Scan(&d.ID, &d.NetworkTxID, &d.Coin, &d.TxID, &d.Address, &d.Account, &d.Amount, &d.Confirmations, &credited, &updated); err != nil {
		return d, err
	}
	if credited != nil {
		t := time.UnixMicro(*credited)
		d.CreditedAt = &t
	}
	d.UpdatedAt = time.UnixMicro(updated)
	return d, nil
}

// ListDeposits implements walletgate.DepositStore.
func (d *Deposits) ListDeposits(ctx context.Context, f walletgate.DepositFilter, p walletgate.Page) ([]walletgate.Deposit, int64, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	rows, err := d.s.pool.Query(ctx, `SELECT `+depositCols+` FROM deposits
		WHERE ($1 = '' OR coin = $1) AND ($2 = '' OR account = $2) AND ($3 = '' OR address = $3) AND id > $4
		ORDER BY id LIMIT $5`, f.Coin, f.Account, f.Address, p.Cursor, p.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list deposits %+v: %w", f, err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.Deposit, error) { return scanDeposit(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list deposits %+v: %w", f, err)
	}
	var next int64
	if len(ds) > p.Limit {
		ds = ds[:p.Limit]
		next = ds[len(ds)-1].ID
	}
	return ds, next, nil
}

// Balance implements walletgate.DepositStore.
func (d *Deposits) Balance(ctx context.Context, coin, account string) (int64, error) {
	var b int64
	err := d.s.pool.QueryRow(ctx, `SELECT balance FROM deposit_accounts WHERE coin = $1 AND account = $2`, coin, account).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: balance of %s %q: %w", coin, account, err)
	}
	return b, nil
}

// NetworkTx implements walletgate.DepositStore.
func (d *Deposits) NetworkTx(ctx context.Context, coin, typ, txid string) (walletgate.NetworkTx, error) {
	n := walletgate.NetworkTx{Coin: coin, Type: typ, TxID: txid}
	err := d.s.pool.QueryRow(ctx, `SELECT id, confirmations FROM network_txs WHERE coin = $1 AND type = $2 AND txid = $3`,
		coin, typ, txid).Scan(&n.ID, &n.Confirmations)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, walletgate.Errorf(walletgate.ENotFound, "%s transaction %s of %s is not tracked", typ, txid, coin)
	}
	if err != nil {
		return n, fmt.Errorf("postgres: network tx %s %s %s: %w", coin, typ, txid, err)
	}
	return n, nil
}

// OpenNetworkTxs implements walletgate.DepositStore.
func (d *Deposits) OpenNetworkTxs(ctx context.Context, coin string, maxConf int64) ([]walletgate.NetworkTx, error) {
	rows, err := d.s.pool.Query(ctx, `SELECT id, type, txid, confirmations FROM network_txs
		WHERE coin = $1 AND confirmations < $2 ORDER BY id`, coin, maxConf)
	if err != nil {
		return nil, fmt.Errorf("postgres: open network txs of %s: %w", coin, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.NetworkTx, error) {
		n := walletgate.NetworkTx{Coin: coin}
		err := r.Scan(&n.ID, &n.Type, &n.TxID, &n.Confirmations)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: open network txs of %s: %w", coin, err)
	}
	return out, nil
}
