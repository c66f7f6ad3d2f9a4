package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// queueEvents appends events to the outbox of every registered handler,
// in t, so they commit with the change that made them. The payload is
// stored as the bytes every handler delivers. Repeats of an event id are
// ignored.
func queueEvents(ctx context.Context, t pgx.Tx, events []walletgate.TxUpdate, now int64) error {
	if len(events) == 0 {
		return nil
	}
	out, err := walletgate.NewOutboxEvents(events)
	if err != nil {
		return err
	}
	rows, err := t.Query(ctx, `SELECT name FROM outbox_handlers ORDER BY name`)
	if err != nil {
		return fmt.Errorf("list handlers: %w", err)
	}
	handlers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list handlers: %w", err)
	}
	for _, e := range out {
		for _, h := range handlers {
			if _, err := t.Exec(ctx, `INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (handler, event_id) DO NOTHING`,
				h, e.EventID, e.Coin, e.Address, string(e.Payload), now); err != nil {
				return fmt.Errorf("queue event %s for %s: %w", e.EventID, h, err)
			}
		}
	}
	return nil
}

// RegisterHandler implements walletgate.DepositStore.
func (d *Deposits) RegisterHandler(ctx context.Context, handler string) error {
	if err := walletgate.ValidateHandlerName(handler); err != nil {
		return err
	}
	if _, err := d.s.pool.Exec(ctx, `INSERT INTO outbox_handlers (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		handler, micros(time.Now())); err != nil {
		return fmt.Errorf("postgres: register handler %q: %w", handler, err)
	}
	return nil
}

// ClaimOutbox implements walletgate.DepositStore. SKIP LOCKED lets
// claimers in other processes pass rows being claimed right now; a row
// whose lease a concurrent claimer just committed is re-checked by
// PostgreSQL after the lock and dropped, and a later event of an address
// stays blocked while any earlier one exists.
func (d *Deposits) ClaimOutbox(ctx context.Context, handler string, limit int, lease time.Duration, now time.Time) ([]walletgate.OutboxItem, error) {
	if err := walletgate.ValidateClaim(handler, limit, lease); err != nil {
		return nil, err
	}
	var items []walletgate.OutboxItem
	err := d.s.inTx(ctx, func(t pgx.Tx) error {
		rows, err := t.Query(ctx, `UPDATE outbox SET lease_until = $4, attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM outbox o
				WHERE handler = $1 AND next_attempt <= $2 AND lease_until <= $2
				AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.handler = o.handler AND p.coin = o.coin AND p.address = o.address AND p.id < o.id)
				ORDER BY id LIMIT $3
				FOR UPDATE SKIP LOCKED)
			AND lease_until <= $2
			RETURNING id, attempts, payload`, handler, micros(now), limit, micros(now.Add(lease)))
		if err != nil {
			return err
		}
		items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.OutboxItem, error) {
			it := walletgate.OutboxItem{Handler: handler}
			var payload string
			if err := r.Scan(&it.ID, &it.Attempts, &payload); err != nil {
				return it, err
			}
			it.Payload = []byte(payload)
			ev, err := walletgate.UnmarshalTxUpdate(it.Payload)
			if err != nil {
				return it, fmt.Errorf("outbox row %d: %w", it.ID, err)
			}
			it.Event = ev
			return it, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim outbox of %q: %w", handler, err)
	}
	// RETURNING does not keep the subquery's order.
	slices.SortFunc(items, func(a, b walletgate.OutboxItem) int { return cmp.Compare(a.ID, b.ID) })
	return items, nil
}

// AckOutbox implements walletgate.DepositStore; acking twice is harmless.
func (d *Deposits) AckOutbox(ctx context.Context, handler string, id int64) error {
	if _, err := d.s.pool.Exec(ctx, `DELETE FROM outbox WHERE handler = $1 AND id = $2`, handler, id); err != nil {
		return fmt.Errorf("postgres: ack outbox %q row %d: %w", handler, id, err)
	}
	return nil
}

// RetryOutbox implements walletgate.DepositStore.
func (d *Deposits) RetryOutbox(ctx context.Context, handler string, id int64, nextAttempt time.Time, lastErr string) error {
	if _, err := d.s.pool.Exec(ctx, `UPDATE outbox SET lease_until = 0, next_attempt = $1, last_error = $2 WHERE handler = $3 AND id = $4`,
		micros(nextAttempt), lastErr, handler, id); err != nil {
		return fmt.Errorf("postgres: retry outbox %q row %d: %w", handler, id, err)
	}
	return nil
}

// PendingOutbox implements walletgate.DepositStore.
func (d *Deposits) PendingOutbox(ctx context.Context, handler string) (int, error) {
	var n int
	if err := d.s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE handler = $1`, handler).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count outbox of %q: %w", handler, err)
	}
	return n, nil
}
