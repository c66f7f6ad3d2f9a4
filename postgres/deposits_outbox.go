package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// ApplyTx implements walletgate.DepositStore in one SERIALIZABLE
// transaction: of two processes applying the same change, one commits and
// the other re-runs, finds the count unchanged and returns no events.
func (d *Deposits) ApplyTx(ctx context.Context, coin string, tx walletgate.WalletTx, creditAt, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, creditAt, maxConf); err != nil {
		return nil, err
	}
	var events []walletgate.TxUpdate
	err := d.rowLocked(ctx, "apply "+coin+" tx "+tx.TxID, func(t pgx.Tx) error {
		var err error
		events, err = applyTx(ctx, t, coin, tx, creditAt, maxConf, micros(now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: apply %s tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
}

// rowLocked runs fn in a READ COMMITTED transaction, re-running it on a
// deadlock. ApplyTx needs no more: everything it changes hangs off one
// network_txs row, which it locks first (FOR UPDATE), so appliers of one
// txid queue on that row while appliers of different txids never wait for
// or abort each other. SERIALIZABLE gave the same single-credit guarantee
// but aborted unrelated deposits on shared index pages: 16 concurrent
// notifies of distinct txids failed after 10 retries.
func (d *Deposits) rowLocked(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginTxFunc(ctx, d.s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
		if err == nil || pgCode(err) != pgDeadlock {
			return err
		}
		if attempt >= d.opts.SerializationRetries {
			return walletgate.WrapError(walletgate.EConflict, err, "%s: still deadlocking after %d retries", what, attempt)
		}
		pause := time.Duration(rand.Int64N(int64(d.opts.RetryDelay)*int64(attempt+1))) + time.Millisecond
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
	}
}

// unseenConfirmations marks a network tx inserted by the running apply.
const unseenConfirmations = math.MinInt32

func applyTx(ctx context.Context, t pgx.Tx, coin string, tx walletgate.WalletTx, creditAt, maxConf, now int64) ([]walletgate.TxUpdate, error) {
	// A new row starts at a count no wallet reports, so its first apply
	// always proceeds (and overwrites it before commit); a concurrent
	// inserter waits on the unique index and then finds the row. The row
	// lock orders every applier of this txid.
	if _, err := t.Exec(ctx, `INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
		VALUES ($1, 'deposit', $2, $3, $4, $4) ON CONFLICT (coin, type, txid) DO NOTHING`, coin, tx.TxID, unseenConfirmations, now); err != nil {
		return nil, fmt.Errorf("insert network tx: %w", err)
	}
	var ntxID, conf, seen int64
	if err := t.QueryRow(ctx, `SELECT id, confirmations, updated_at FROM network_txs WHERE coin = $1 AND type = 'deposit' AND txid = $2 FOR UPDATE`,
		coin, tx.TxID).Scan(&ntxID, &conf, &seen); err != nil {
		return nil, fmt.Errorf("lock network tx: %w", err)
	}
	if conf != unseenConfirmations && (conf == tx.Confirmations || conf >= maxConf || seen > now) {
		return nil, nil // unchanged, final, or a stale view (walletgate.DepositStore.ApplyTx)
	}
	if _, err := t.Exec(ctx, `UPDATE network_txs SET confirmations = $1, updated_at = $2 WHERE id = $3`, tx.Confirmations, now, ntxID); err != nil {
		return nil, fmt.Errorf("update network tx: %w", err)
	}

	for _, r := range walletgate.SortedReceived(tx) {
		var account string
		err := t.QueryRow(ctx, `SELECT account FROM deposit_watches WHERE coin = $1 AND address = $2`, coin, r.Address).Scan(&account)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // change or a third party's output
		}
		if err != nil {
			return nil, fmt.Errorf("look up watch %s: %w", r.Address, err)
		}
		if _, err := t.Exec(ctx, `INSERT INTO deposits (ntx_id, coin, txid, address, account, amount, confirmations, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, -1, $7, $7) ON CONFLICT (ntx_id, address) DO NOTHING`,
			ntxID, coin, tx.TxID, r.Address, account, r.Amount, now); err != nil {
			return nil, fmt.Errorf("insert deposit to %s: %w", r.Address, err)
		}
	}

	rows, err := t.Query(ctx, `SELECT `+depositCols+` FROM deposits WHERE ntx_id = $1 ORDER BY id`, ntxID)
	if err != nil {
		return nil, fmt.Errorf("list deposits: %w", err)
	}
	deps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.Deposit, error) { return scanDeposit(r) })
	if err != nil {
		return nil, fmt.Errorf("list deposits: %w", err)
	}
	rows, err = t.Query(ctx, `SELECT name FROM outbox_handlers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list handlers: %w", err)
	}
	handlers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list handlers: %w", err)
	}

	events := make([]walletgate.TxUpdate, 0, len(deps))
	for _, dep := range deps {
		credited := dep.CreditedAt != nil
		if !credited && tx.Confirmations >= creditAt {
			credited = true
			if _, err := t.Exec(ctx, `UPDATE deposits SET credited_at = $1 WHERE id = $2`, now, dep.ID); err != nil {
				return nil, fmt.Errorf("credit deposit %d: %w", dep.ID, err)
			}
			if _, err := t.Exec(ctx, `INSERT INTO deposit_accounts (coin, account, balance) VALUES ($1, $2, $3)
				ON CONFLICT (coin, account) DO UPDATE SET balance = deposit_accounts.balance + EXCLUDED.balance`,
				coin, dep.Account, dep.Amount); err != nil {
				return nil, fmt.Errorf("credit account %q: %w", dep.Account, err)
			}
		}
		if _, err := t.Exec(ctx, `UPDATE deposits SET confirmations = $1, updated_at = $2 WHERE id = $3`, tx.Confirmations, now, dep.ID); err != nil {
			return nil, fmt.Errorf("update deposit %d: %w", dep.ID, err)
		}
		ev := walletgate.TxUpdate{
			EventID: walletgate.TxUpdateEventID(coin, tx.TxID, dep.Address, tx.Confirmations),
			Coin:    coin, TransactionType: walletgate.TxTypeDeposit, TransactionID: dep.ID, NetworkTxID: ntxID,
			Account: dep.Account, TxID: tx.TxID, Address: dep.Address, Amount: dep.Amount,
			Credited: credited, Confirmations: tx.Confirmations,
		}
		payload, err := walletgate.MarshalTxUpdate(ev)
		if err != nil {
			return nil, err
		}
		for _, h := range handlers {
			if _, err := t.Exec(ctx, `INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (handler, event_id) DO NOTHING`,
				h, ev.EventID, coin, dep.Address, string(payload), now); err != nil {
				return nil, fmt.Errorf("queue event %s for %s: %w", ev.EventID, h, err)
			}
		}
		events = append(events, ev)
	}
	return events, nil
}

// RegisterHandler implements walletgate.DepositStore.
func (d *Deposits) RegisterHandler(ctx context.Context, handler string) error {
	if strings.TrimSpace(handler) == "" {
		return walletgate.Errorf(walletgate.EInvalid, "handler name is empty")
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
	if limit <= 0 || lease <= 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "claim outbox %q: limit %d and lease %v must be positive", handler, limit, lease)
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
			ev, err := walletgate.UnmarshalTxUpdate([]byte(payload))
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
