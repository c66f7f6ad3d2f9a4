package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

var _ walletgate.DepositStore = (*Store)(nil)

// AddWatch implements walletgate.DepositStore.
func (s *Store) AddWatch(ctx context.Context, w walletgate.Watch) (walletgate.Watch, error) {
	if err := w.Validate(); err != nil {
		return walletgate.Watch{}, err
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = time.Now()
	}
	out := w
	err := s.write(ctx, func(x *wtx) error {
		var id, created int64
		var account, ext string
		err := x.queryRow(`SELECT id, account, external_id, created_at FROM deposit_watches WHERE coin = ? AND address = ?`,
			w.Coin, w.Address).Scan(&id, &account, &ext, &created)
		switch {
		case err == nil:
			if account != w.Account {
				return walletgate.Errorf(walletgate.EConflict, "address %s (%s) is already watched for account %q", w.Address, w.Coin, account)
			}
			out.ID, out.ExternalID, out.CreatedAt = id, ext, time.UnixMicro(created)
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: look up watch %s %s: %w", w.Coin, w.Address, err)
		}
		return x.queryRow(`INSERT INTO deposit_watches (coin, address, account, external_id, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, w.Coin, w.Address, w.Account, w.ExternalID, micros(w.CreatedAt)).Scan(&out.ID)
	})
	if err != nil {
		return walletgate.Watch{}, fmt.Errorf("sqlite: add watch %s %s: %w", w.Coin, w.Address, err)
	}
	out.CreatedAt = time.UnixMicro(micros(out.CreatedAt))
	return out, nil
}

// ListWatches implements walletgate.DepositStore.
func (s *Store) ListWatches(ctx context.Context, coin, account string, p walletgate.Page) ([]walletgate.Watch, int64, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, coin, address, account, external_id, created_at FROM deposit_watches
		WHERE coin = ? AND (? = '' OR account = ?) AND id > ? ORDER BY id LIMIT ?`,
		coin, account, account, p.Cursor, p.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list watches of %s: %w", coin, err)
	}
	defer rows.Close()
	var ws []walletgate.Watch
	for rows.Next() {
		var w walletgate.Watch
		var created int64
		if err := rows.Scan(&w.ID, &w.Coin, &w.Address, &w.Account, &w.ExternalID, &created); err != nil {
			return nil, 0, fmt.Errorf("sqlite: scan watch: %w", err)
		}
		w.CreatedAt = time.UnixMicro(created)
		ws = append(ws, w)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list watches of %s: %w", coin, err)
	}
	var next int64
	if len(ws) > p.Limit {
		ws = ws[:p.Limit]
		next = ws[len(ws)-1].ID
	}
	return ws, next, nil
}

const depositCols = `id, ntx_id, coin, txid, address, account, amount, confirmations, credited_at, updated_at`

func scanDeposit(sc interface{ Scan(...any) error }) (walletgate.Deposit, error) {
	var d walletgate.Deposit
	var credited sql.NullInt64
	var updated int64
	if err := sc.Scan(&d.ID, &d.NetworkTxID, &d.Coin, &d.TxID, &d.Address, &d.Account, &d.Amount, &d.Confirmations, &credited, &updated); err != nil {
		return d, err
	}
	if credited.Valid {
		t := time.UnixMicro(credited.Int64)
		d.CreditedAt = &t
	}
	d.UpdatedAt = time.UnixMicro(updated)
	return d, nil
}

// ListDeposits implements walletgate.DepositStore.
func (s *Store) ListDeposits(ctx context.Context, f walletgate.DepositFilter, p walletgate.Page) ([]walletgate.Deposit, int64, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+depositCols+` FROM deposits
		WHERE (?1 = '' OR coin = ?1) AND (?2 = '' OR account = ?2) AND (?3 = '' OR address = ?3) AND id > ?4
		ORDER BY id LIMIT ?5`, f.Coin, f.Account, f.Address, p.Cursor, p.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list deposits %+v: %w", f, err)
	}
	defer rows.Close()
	var ds []walletgate.Deposit
	for rows.Next() {
		d, err := scanDeposit(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: scan deposit: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list deposits %+v: %w", f, err)
	}
	var next int64
	if len(ds) > p.Limit {
		ds = ds[:p.Limit]
		next = ds[len(ds)-1].ID
	}
	return ds, next, nil
}

// Balance implements walletgate.DepositStore.
func (s *Store) Balance(ctx context.Context, coin, account string) (int64, error) {
	var b int64
	err := s.read.QueryRowContext(ctx, `SELECT balance FROM deposit_accounts WHERE coin = ? AND account = ?`, coin, account).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: balance of %s %q: %w", coin, account, err)
	}
	return b, nil
}

// NetworkTx implements walletgate.DepositStore.
func (s *Store) NetworkTx(ctx context.Context, coin, typ, txid string) (walletgate.NetworkTx, error) {
	n := walletgate.NetworkTx{Coin: coin, Type: typ, TxID: txid}
	err := s.read.QueryRowContext(ctx, `SELECT id, confirmations FROM network_txs WHERE coin = ? AND type = ? AND txid = ?`,
		coin, typ, txid).Scan(&n.ID, &n.Confirmations)
	if errors.Is(err, sql.ErrNoRows) {
		return n, walletgate.Errorf(walletgate.ENotFound, "%s transaction %s of %s is not tracked", typ, txid, coin)
	}
	if err != nil {
		return n, fmt.Errorf("sqlite: network tx %s %s %s: %w", coin, typ, txid, err)
	}
	return n, nil
}

// OpenNetworkTxs implements walletgate.DepositStore.
func (s *Store) OpenNetworkTxs(ctx context.Context, coin string, maxConf int64) ([]walletgate.NetworkTx, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, type, txid, confirmations FROM network_txs
		WHERE coin = ? AND confirmations < ? ORDER BY id`, coin, maxConf)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open network txs of %s: %w", coin, err)
	}
	defer rows.Close()
	var out []walletgate.NetworkTx
	for rows.Next() {
		n := walletgate.NetworkTx{Coin: coin}
		if err := rows.Scan(&n.ID, &n.Type, &n.TxID, &n.Confirmations); err != nil {
			return nil, fmt.Errorf("sqlite: scan network tx: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: open network txs of %s: %w", coin, err)
	}
	return out, nil
}

// ApplyTx implements walletgate.DepositStore. The writer goroutine runs
// one operation at a time, so the read-check-write below is serial without
// further locking; its changes and outbox rows commit together.
func (s *Store) ApplyTx(ctx context.Context, coin string, tx walletgate.WalletTx, creditAt, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, creditAt, maxConf); err != nil {
		return nil, err
	}
	var events []walletgate.TxUpdate
	err := s.write(ctx, func(x *wtx) error {
		events = nil
		ev, err := applyTx(x, coin, tx, creditAt, maxConf, micros(now))
		events = ev
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: apply %s tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
}

func applyTx(x *wtx, coin string, tx walletgate.WalletTx, creditAt, maxConf, now int64) ([]walletgate.TxUpdate, error) {
	var ntxID, conf, seen int64
	err := x.queryRow(`SELECT id, confirmations, updated_at FROM network_txs WHERE coin = ? AND type = 'deposit' AND txid = ?`,
		coin, tx.TxID).Scan(&ntxID, &conf, &seen)
	switch {
	case err == nil:
		if conf == tx.Confirmations || conf >= maxConf || seen > now {
			return nil, nil // unchanged, final, or a stale view (walletgate.DepositStore.ApplyTx)
		}
		if _, err := x.exec(`UPDATE network_txs SET confirmations = ?, updated_at = ? WHERE id = ?`, tx.Confirmations, now, ntxID); err != nil {
			return nil, fmt.Errorf("update network tx: %w", err)
		}
	case errors.Is(err, sql.ErrNoRows):
		if err := x.queryRow(`INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
			VALUES (?, 'deposit', ?, ?, ?, ?) RETURNING id`, coin, tx.TxID, tx.Confirmations, now, now).Scan(&ntxID); err != nil {
			return nil, fmt.Errorf("insert network tx: %w", err)
		}
	default:
		return nil, fmt.Errorf("look up network tx: %w", err)
	}

	for _, r := range walletgate.SortedReceived(tx) {
		var account string
		err := x.queryRow(`SELECT account FROM deposit_watches WHERE coin = ? AND address = ?`, coin, r.Address).Scan(&account)
		if errors.Is(err, sql.ErrNoRows) {
			continue // change or a third party's output
		}
		if err != nil {
			return nil, fmt.Errorf("look up watch %s: %w", r.Address, err)
		}
		if _, err := x.exec(`INSERT INTO deposits (ntx_id, coin, txid, address, account, amount, confirmations, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, -1, ?, ?) ON CONFLICT (ntx_id, address) DO NOTHING`,
			ntxID, coin, tx.TxID, r.Address, account, r.Amount, now, now); err != nil {
			return nil, fmt.Errorf("insert deposit to %s: %w", r.Address, err)
		}
	}

	rows, err := x.query(`SELECT `+depositCols+` FROM deposits WHERE ntx_id = ? ORDER BY id`, ntxID)
	if err != nil {
		return nil, fmt.Errorf("list deposits: %w", err)
	}
	var deps []walletgate.Deposit
	for rows.Next() {
		d, err := scanDeposit(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan deposit: %w", err)
		}
		deps = append(deps, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deposits: %w", err)
	}

	var handlers []string
	hrows, err := x.query(`SELECT name FROM outbox_handlers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list handlers: %w", err)
	}
	for hrows.Next() {
		var h string
		if err := hrows.Scan(&h); err != nil {
			hrows.Close()
			return nil, fmt.Errorf("scan handler: %w", err)
		}
		handlers = append(handlers, h)
	}
	hrows.Close()
	if err := hrows.Err(); err != nil {
		return nil, fmt.Errorf("list handlers: %w", err)
	}

	events := make([]walletgate.TxUpdate, 0, len(deps))
	for _, d := range deps {
		credited := d.CreditedAt != nil
		if !credited && tx.Confirmations >= creditAt {
			credited = true
			if _, err := x.exec(`UPDATE deposits SET credited_at = ? WHERE id = ?`, now, d.ID); err != nil {
				return nil, fmt.Errorf("credit deposit %d: %w", d.ID, err)
			}
			if _, err := x.exec(`INSERT INTO deposit_accounts (coin, account, balance) VALUES (?, ?, ?)
				ON CONFLICT (coin, account) DO UPDATE SET balance = balance + excluded.balance`, coin, d.Account, d.Amount); err != nil {
				return nil, fmt.Errorf("credit account %q: %w", d.Account, err)
			}
		}
		if _, err := x.exec(`UPDATE deposits SET confirmations = ?, updated_at = ? WHERE id = ?`, tx.Confirmations, now, d.ID); err != nil {
			return nil, fmt.Errorf("update deposit %d: %w", d.ID, err)
		}
		ev := walletgate.TxUpdate{
			EventID: walletgate.TxUpdateEventID(coin, tx.TxID, d.Address, tx.Confirmations),
			Coin:    coin, TransactionType: walletgate.TxTypeDeposit, TransactionID: d.ID, NetworkTxID: ntxID,
			Account: d.Account, TxID: tx.TxID, Address: d.Address, Amount: d.Amount,
			Credited: credited, Confirmations: tx.Confirmations,
		}
		payload, err := walletgate.MarshalTxUpdate(ev)
		if err != nil {
			return nil, err
		}
		for _, h := range handlers {
			if _, err := x.exec(`INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (handler, event_id) DO NOTHING`,
				h, ev.EventID, coin, d.Address, payload, now, now); err != nil {
				return nil, fmt.Errorf("queue event %s for %s: %w", ev.EventID, h, err)
			}
		}
		events = append(events, ev)
	}
	return events, nil
}

// RegisterHandler implements walletgate.DepositStore.
func (s *Store) RegisterHandler(ctx context.Context, handler string) error {
	if strings.TrimSpace(handler) == "" {
		return walletgate.Errorf(walletgate.EInvalid, "handler name is empty")
	}
	err := s.write(ctx, func(x *wtx) error {
		_, err := x.exec(`INSERT INTO outbox_handlers (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			handler, micros(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: register handler %q: %w", handler, err)
	}
	return nil
}

// ClaimOutbox implements walletgate.DepositStore. Only the head of each
// address's queue is eligible: a later event waits while an earlier one
// is leased or backing off.
func (s *Store) ClaimOutbox(ctx context.Context, handler string, limit int, lease time.Duration, now time.Time) ([]walletgate.OutboxItem, error) {
	if limit <= 0 || lease <= 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "claim outbox %q: limit %d and lease %v must be positive", handler, limit, lease)
	}
	var items []walletgate.OutboxItem
	err := s.write(ctx, func(x *wtx) error {
		items = nil
		n := micros(now)
		rows, err := x.query(`SELECT id, attempts, payload FROM outbox o
			WHERE handler = ?1 AND next_attempt <= ?2 AND lease_until <= ?2
			AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.handler = o.handler AND p.coin = o.coin AND p.address = o.address AND p.id < o.id)
			ORDER BY id LIMIT ?3`, handler, n, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			it := walletgate.OutboxItem{Handler: handler}
			var payload string
			if err := rows.Scan(&it.ID, &it.Attempts, &payload); err != nil {
				rows.Close()
				return err
			}
			if it.Event, err = walletgate.UnmarshalTxUpdate([]byte(payload)); err != nil {
				rows.Close()
				return fmt.Errorf("outbox row %d: %w", it.ID, err)
			}
			it.Attempts++
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := micros(now.Add(lease))
		for _, it := range items {
			if _, err := x.exec(`UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?`, until, it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox of %q: %w", handler, err)
	}
	return items, nil
}

// AckOutbox implements walletgate.DepositStore. Acking twice (after a
// lease ran out and the event went out again) is not an error.
func (s *Store) AckOutbox(ctx context.Context, handler string, id int64) error {
	err := s.write(ctx, func(x *wtx) error {
		_, err := x.exec(`DELETE FROM outbox WHERE handler = ? AND id = ?`, handler, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: ack outbox %q row %d: %w", handler, id, err)
	}
	return nil
}

// RetryOutbox implements walletgate.DepositStore.
func (s *Store) RetryOutbox(ctx context.Context, handler string, id int64, nextAttempt time.Time, lastErr string) error {
	err := s.write(ctx, func(x *wtx) error {
		_, err := x.exec(`UPDATE outbox SET lease_until = 0, next_attempt = ?, last_error = ? WHERE handler = ? AND id = ?`,
			micros(nextAttempt), lastErr, handler, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: retry outbox %q row %d: %w", handler, id, err)
	}
	return nil
}

// PendingOutbox implements walletgate.DepositStore.
func (s *Store) PendingOutbox(ctx context.Context, handler string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE handler = ?`, handler).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count outbox of %q: %w", handler, err)
	}
	return n, nil
}
