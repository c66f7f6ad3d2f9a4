package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"
)

// The txupdate outbox: one row per (handler, event), holding the payload
// exactly as it is delivered.

// queueEvents appends events to the outbox of every registered handler,
// inside the write operation that made them, so they commit together.
// Repeats of an event id are ignored.
func queueEvents(x *wtx, events []walletgate.TxUpdate, now int64) error {
	if len(events) == 0 {
		return nil
	}
	rows, err := walletgate.NewOutboxEvents(events)
	if err != nil {
		return err
	}
	handlers, err := listHandlers(x)
	if err != nil {
		return err
	}
	for _, e := range rows {
		for _, h := range handlers {
			if _, err := x.exec(`INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (handler, event_id) DO NOTHING`,
				h, e.EventID, e.Coin, e.Address, e.Payload, now, now); err != nil {
				return fmt.Errorf("queue event %s for %s: %w", e.EventID, h, err)
			}
		}
	}
	return nil
}

func listHandlers(x *wtx) ([]string, error) {
	rows, err := x.query(`SELECT name FROM outbox_handlers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list handlers: %w", err)
	}
	defer rows.Close()
	var hs []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("scan handler: %w", err)
		}
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list handlers: %w", err)
	}
	return hs, nil
}

// RegisterHandler implements walletgate.DepositStore.
func (s *Store) RegisterHandler(ctx context.Context, handler string) error {
	if err := walletgate.ValidateHandlerName(handler); err != nil {
		return err
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
	if err := walletgate.ValidateClaim(handler, limit, lease); err != nil {
		return nil, err
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
			if err := rows.Scan(&it.ID, &it.Attempts, &it.Payload); err != nil {
				rows.Close()
				return err
			}
			if it.Event, err = walletgate.UnmarshalTxUpdate(it.Payload); err != nil {
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
