package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// The broadcast store lives on Deposits because it shares its balances,
// network transactions and outbox: one value serves both interfaces.
//
// Concurrency, like ApplyTx: READ COMMITTED with the row that orders the
// work locked first (FOR UPDATE), re-run only on deadlock. QueueSend locks
// the account's balance row, so sends of one account queue on it and
// those of different accounts never wait for or abort each other (under
// SERIALIZABLE, unrelated sends aborted each other on shared index pages);
// CollectBroadcast locks the sends it takes and skips those another
// collector holds; CloseBroadcast and ReleaseBroadcast lock the broadcast
// row; ApplyBroadcastTx locks the network_txs row. Every re-run re-checks
// its conditions in its own transaction, so none can debit, collect, book
// or release twice. OpenBroadcast is one conditional UPDATE committed on
// its own and never re-run, so a failure or lost reply leaves the
// broadcast either pending (sent later) or open (left to an operator),
// never sent twice.
var _ walletgate.BroadcastStore = (*Deposits)(nil)

// querier is a pgx.Tx or the pool.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const outgoingSelect = `SELECT o.id, o.coin, o.type, o.account, o.address, o.amount, o.external_id, o.state,
	COALESCE(o.broadcast_id, 0), COALESCE(b.txid, ''), o.confirmations, o.created_at, o.processed_at
	FROM outgoing_txs o LEFT JOIN broadcasts b ON b.id = o.broadcast_id`

func scanOutgoing(r pgx.Row) (walletgate.OutgoingTx, error) {
	var o walletgate.OutgoingTx
	var created int64
	var processed *int64
	if err := r.Scan(&o.ID, &o.Coin, &o.Type, &o.Account, &o.Address, &o.Amount, &o.ExternalID, &o.State,
		&o.BroadcastID, &o.TxID, &o.Confirmations, &created, &processed); err != nil {
		return o, err
	}
	o.CreatedAt = time.UnixMicro(created)
	if processed != nil {
		t := time.UnixMicro(*processed)
		o.ProcessedAt = &t
	}
	return o, nil
}

// QueueSend implements walletgate.BroadcastStore. Two requests with one
// external id and account queue on the account row; the second then sees
// the first's send. With one external id and different accounts, the
// second hits the unique index, runs again and finds the first.
func (d *Deposits) QueueSend(ctx context.Context, r walletgate.SendRequest, now time.Time) (walletgate.OutgoingTx, error) {
	if err := r.Validate(); err != nil {
		return walletgate.OutgoingTx{}, err
	}
	var out walletgate.OutgoingTx
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		out, err = d.queueSend(ctx, r, now)
		if pgCode(err) != pgUniqueViolation {
			break
		}
	}
	if err != nil {
		return walletgate.OutgoingTx{}, fmt.Errorf("postgres: queue %s send %q: %w", r.Coin, r.ExternalID, err)
	}
	return out, nil
}

func (d *Deposits) queueSend(ctx context.Context, r walletgate.SendRequest, now time.Time) (walletgate.OutgoingTx, error) {
	var out walletgate.OutgoingTx
	err := d.rowLocked(ctx, "queue "+r.Coin+" send "+r.ExternalID, func(t pgx.Tx) error {
		var bal int64
		err := t.QueryRow(ctx, `SELECT balance FROM deposit_accounts WHERE coin = $1 AND account = $2 FOR UPDATE`, r.Coin, r.Account).Scan(&bal)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("lock account: %w", err)
		}
		prev, err := scanOutgoing(t.QueryRow(ctx, outgoingSelect+` WHERE o.coin = $1 AND o.type = 'send' AND o.external_id = $2`, r.Coin, r.ExternalID))
		switch {
		case err == nil:
			if prev.Account != r.Account || prev.Address != r.Address || prev.Amount != r.Amount {
				return walletgate.Errorf(walletgate.EConflict, "external_id %q was already used for a send of %s from %q to %s",
					r.ExternalID, walletgate.FormatSats(prev.Amount), prev.Account, prev.Address)
			}
			out = prev
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("look up external id: %w", err)
		}
		// The conditional debit also holds without the lock: it never
		// takes a balance below zero.
		tag, err := t.Exec(ctx, `UPDATE deposit_accounts SET balance = balance - $1 WHERE coin = $2 AND account = $3 AND balance >= $1`,
			r.Amount, r.Coin, r.Account)
		if err != nil {
			return fmt.Errorf("debit account: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return walletgate.InsufficientBalance(r.Coin, r.Account, bal, r.Amount)
		}
		n := micros(now)
		var id int64
		if err := t.QueryRow(ctx, `INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, created_at, updated_at)
			VALUES ($1, 'send', $2, $3, $4, $5, 'pending', $6, $6) RETURNING id`,
			r.Coin, r.Account, r.Address, r.Amount, r.ExternalID, n).Scan(&id); err != nil {
			return fmt.Errorf("insert send: %w", err)
		}
		out = walletgate.OutgoingTx{ID: id, Coin: r.Coin, Type: walletgate.OutgoingSend, Account: r.Account, Address: r.Address,
			Amount: r.Amount, ExternalID: r.ExternalID, State: walletgate.SendPending, Confirmations: -1, CreatedAt: time.UnixMicro(n)}
		return nil
	})
	return out, err
}

// OutgoingTx implements walletgate.BroadcastStore.
func (d *Deposits) OutgoingTx(ctx context.Context, coin, externalID string) (walletgate.OutgoingTx, error) {
	o, err := scanOutgoing(d.s.pool.QueryRow(ctx, outgoingSelect+` WHERE o.coin = $1 AND o.type = 'send' AND o.external_id = $2`, coin, externalID))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, walletgate.Errorf(walletgate.ENotFound, "no %s send with external_id %q", coin, externalID)
	}
	if err != nil {
		return o, fmt.Errorf("postgres: %s send %q: %w", coin, externalID, err)
	}
	return o, nil
}

const broadcastCols = `id, coin, txid, fee, COALESCE(ntx_id, 0), created_at, opened_at, closed_at`

func scanBroadcast(r pgx.Row) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	var created int64
	var opened, closed *int64
	if err := r.Scan(&b.ID, &b.Coin, &b.TxID, &b.Fee, &b.NetworkTxID, &created, &opened, &closed); err != nil {
		return b, err
	}
	b.CreatedAt = time.UnixMicro(created)
	if opened != nil {
		t := time.UnixMicro(*opened)
		b.OpenedAt = &t
	}
	if closed != nil {
		t := time.UnixMicro(*closed)
		b.ClosedAt = &t
	}
	return b, nil
}

// loadBroadcast reads broadcast id of coin with its outputs and sends.
func loadBroadcast(ctx context.Context, q querier, coin string, id int64) (walletgate.Broadcast, error) {
	b, err := scanBroadcast(q.QueryRow(ctx, `SELECT `+broadcastCols+` FROM broadcasts WHERE id = $1 AND coin = $2`, id, coin))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, walletgate.Errorf(walletgate.ENotFound, "%s broadcast %d does not exist", coin, id)
	}
	if err != nil {
		return b, fmt.Errorf("read broadcast %d: %w", id, err)
	}
	return b, loadOutputs(ctx, q, &b)
}

func loadOutputs(ctx context.Context, q querier, b *walletgate.Broadcast) error {
	rows, err := q.Query(ctx, `SELECT id, address, amount FROM outgoing_txs WHERE broadcast_id = $1 AND type = 'send' ORDER BY id`, b.ID)
	if err != nil {
		return fmt.Errorf("read sends of broadcast %d: %w", b.ID, err)
	}
	b.Outputs = map[string]int64{}
	b.SendIDs = nil
	var id, amount int64
	var addr string
	_, err = pgx.ForEachRow(rows, []any{&id, &addr, &amount}, func() error {
		b.Outputs[addr] += amount
		b.SendIDs = append(b.SendIDs, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read sends of broadcast %d: %w", b.ID, err)
	}
	return nil
}

// CollectBroadcast implements walletgate.BroadcastStore in one
// transaction: it locks the sends it takes (FOR UPDATE SKIP LOCKED), so
// concurrent collectors take disjoint sets, and the broadcast and its
// attachments commit together or not at all.
func (d *Deposits) CollectBroadcast(ctx context.Context, coin string, maxSends int, now time.Time) (walletgate.Broadcast, bool, error) {
	if coin == "" || maxSends <= 0 {
		return walletgate.Broadcast{}, false, walletgate.Errorf(walletgate.EInvalid, "collect broadcast: coin %q must be set and max sends %d positive", coin, maxSends)
	}
	var b walletgate.Broadcast
	var ok bool
	err := d.rowLocked(ctx, "collect "+coin+" broadcast", func(t pgx.Tx) error {
		b, ok = walletgate.Broadcast{}, false
		rows, err := t.Query(ctx, `SELECT id FROM outgoing_txs WHERE coin = $1 AND type = 'send' AND broadcast_id IS NULL
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, coin, maxSends)
		if err != nil {
			return fmt.Errorf("find pending sends: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("find pending sends: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		var id int64
		if err := t.QueryRow(ctx, `INSERT INTO broadcasts (coin, created_at) VALUES ($1, $2) RETURNING id`, coin, micros(now)).Scan(&id); err != nil {
			return fmt.Errorf("insert broadcast: %w", err)
		}
		tag, err := t.Exec(ctx, `UPDATE outgoing_txs SET broadcast_id = $1, updated_at = $2 WHERE id = ANY($3) AND broadcast_id IS NULL`,
			id, micros(now), ids)
		if err != nil {
			return fmt.Errorf("attach sends: %w", err)
		}
		if tag.RowsAffected() != int64(len(ids)) {
			// Cannot happen while the rows are locked; refuse rather
			// than commit a partial batch.
			return fmt.Errorf("attach sends: %d of %d attached", tag.RowsAffected(), len(ids))
		}
		b, err = loadBroadcast(ctx, t, coin, id)
		ok = err == nil
		return err
	})
	if err != nil {
		return walletgate.Broadcast{}, false, fmt.Errorf("postgres: collect %s broadcast: %w", coin, err)
	}
	return b, ok, nil
}

// Broadcast implements walletgate.BroadcastStore.
func (d *Deposits) Broadcast(ctx context.Context, coin string, id int64) (walletgate.Broadcast, error) {
	b, err := loadBroadcast(ctx, d.s.pool, coin, id)
	if err != nil && walletgate.ErrorCode(err) != walletgate.ENotFound {
		return b, fmt.Errorf("postgres: %w", err)
	}
	return b, err
}

// ListBroadcasts implements walletgate.BroadcastStore.
func (d *Deposits) ListBroadcasts(ctx context.Context, coin, state string, p walletgate.Page) ([]walletgate.Broadcast, int64, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	if err := walletgate.ValidBroadcastState(state); err != nil {
		return nil, 0, err
	}
	rows, err := d.s.pool.Query(ctx, `SELECT `+broadcastCols+` FROM broadcasts WHERE coin = $1 AND id > $2 AND (
		$3 = 'all' OR ($3 = 'pending' AND opened_at IS NULL AND closed_at IS NULL)
		OR ($3 = 'open' AND opened_at IS NOT NULL AND closed_at IS NULL) OR ($3 = 'closed' AND closed_at IS NOT NULL))
		ORDER BY id LIMIT $4`, coin, p.Cursor, state, p.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list %s broadcasts: %w", coin, err)
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.Broadcast, error) { return scanBroadcast(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list %s broadcasts: %w", coin, err)
	}
	var next int64
	if len(bs) > p.Limit {
		bs = bs[:p.Limit]
		next = bs[len(bs)-1].ID
	}
	for i := range bs {
		if err := loadOutputs(ctx, d.s.pool, &bs[i]); err != nil {
			return nil, 0, fmt.Errorf("postgres: %w", err)
		}
	}
	return bs, next, nil
}

// OpenBroadcast implements walletgate.BroadcastStore: one conditional
// UPDATE in a READ COMMITTED transaction, never re-run. A second opener
// waits for the first's row lock, re-checks opened_at and updates nothing.
func (d *Deposits) OpenBroadcast(ctx context.Context, coin string, id int64, now time.Time) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	err := d.s.inTx(ctx, func(t pgx.Tx) error {
		tag, err := t.Exec(ctx, `UPDATE broadcasts SET opened_at = $1 WHERE id = $2 AND coin = $3 AND opened_at IS NULL AND closed_at IS NULL`,
			micros(now), id, coin)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		b, err = loadBroadcast(ctx, t, coin, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return walletgate.Errorf(walletgate.EConflict, "%s broadcast %d is %s, not pending; it is not sent again", coin, id, b.State())
		}
		if len(b.Outputs) == 0 {
			return walletgate.Errorf(walletgate.EInternal, "%s broadcast %d has no outputs", coin, id)
		}
		return nil
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("postgres: open %s broadcast %d: %w", coin, id, err)
	}
	return b, nil
}

// CloseBroadcast implements walletgate.BroadcastStore. It locks the
// broadcast row first and re-reads closed_at under the lock, so of two
// closers one books the fee and the other sees it closed. It is re-run
// only on deadlock, with the same re-check; it never sends anything.
func (d *Deposits) CloseBroadcast(ctx context.Context, coin string, id int64, txid string, fee int64, now time.Time) (walletgate.Broadcast, error) {
	if err := walletgate.ValidateClose(coin, id, txid, fee); err != nil {
		return walletgate.Broadcast{}, err
	}
	var b walletgate.Broadcast
	err := d.rowLocked(ctx, fmt.Sprintf("close %s broadcast %d", coin, id), func(t pgx.Tx) error {
		if err := lockBroadcast(ctx, t, coin, id); err != nil {
			return err
		}
		var err error
		b, err = loadBroadcast(ctx, t, coin, id)
		if err != nil {
			return err
		}
		if b.ClosedAt != nil {
			if b.TxID == txid {
				return nil
			}
			return walletgate.Errorf(walletgate.EConflict, "%s broadcast %d is already closed as %s", coin, id, b.TxID)
		}
		if len(b.SendIDs) == 0 {
			return walletgate.Errorf(walletgate.EInternal, "%s broadcast %d has no sends", coin, id)
		}
		n := micros(now)
		if _, err := t.Exec(ctx, `INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
			VALUES ($1, 'broadcast', $2, -1, $3, $3) ON CONFLICT (coin, type, txid) DO NOTHING`, coin, txid, n); err != nil {
			return fmt.Errorf("insert network tx: %w", err)
		}
		var ntxID int64
		if err := t.QueryRow(ctx, `SELECT id FROM network_txs WHERE coin = $1 AND type = 'broadcast' AND txid = $2`, coin, txid).Scan(&ntxID); err != nil {
			return fmt.Errorf("look up network tx %s: %w", txid, err)
		}
		var other int64
		if err := t.QueryRow(ctx, `SELECT id FROM broadcasts WHERE ntx_id = $1`, ntxID).Scan(&other); err == nil {
			return txidTaken(coin, txid, other)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("look up broadcast of %s: %w", txid, err)
		}
		// A concurrent close of another broadcast with this txid is
		// stopped by the unique index on ntx_id.
		if _, err := t.Exec(ctx, `UPDATE broadcasts SET txid = $1, fee = $2, ntx_id = $3, closed_at = $4, opened_at = COALESCE(opened_at, $4)
			WHERE id = $5 AND closed_at IS NULL`, txid, fee, ntxID, n, id); err != nil {
			if pgCode(err) == pgUniqueViolation {
				return txidTaken(coin, txid, 0)
			}
			return fmt.Errorf("close: %w", err)
		}
		if _, err := t.Exec(ctx, `UPDATE outgoing_txs SET state = 'broadcasted', processed_at = $1, updated_at = $1
			WHERE broadcast_id = $2 AND type = 'send'`, n, id); err != nil {
			return fmt.Errorf("mark sends broadcasted: %w", err)
		}
		if fee > 0 {
			if _, err := t.Exec(ctx, `INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, broadcast_id, created_at, processed_at, updated_at)
				VALUES ($1, 'network_fee', $2, '', $3, '', 'broadcasted', $4, $5, $5, $5)`, coin, walletgate.NetworkFeesAccount, fee, id, n); err != nil {
				return fmt.Errorf("book network fee: %w", err)
			}
			if _, err := t.Exec(ctx, `INSERT INTO deposit_accounts (coin, account, balance) VALUES ($1, $2, $3)
				ON CONFLICT (coin, account) DO UPDATE SET balance = deposit_accounts.balance + EXCLUDED.balance`,
				coin, walletgate.NetworkFeesAccount, -fee); err != nil {
				return fmt.Errorf("debit network fees: %w", err)
			}
		}
		b, err = loadBroadcast(ctx, t, coin, id)
		return err
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("postgres: close %s broadcast %d as %s: %w", coin, id, txid, err)
	}
	return b, nil
}

func txidTaken(coin, txid string, other int64) error {
	if other == 0 {
		return walletgate.Errorf(walletgate.EConflict, "txid %s is already recorded for another %s broadcast", txid, coin)
	}
	return walletgate.Errorf(walletgate.EConflict, "txid %s is already recorded for %s broadcast %d", txid, coin, other)
}

// lockBroadcast takes the row lock that orders closing and releasing.
func lockBroadcast(ctx context.Context, t pgx.Tx, coin string, id int64) error {
	var x int64
	err := t.QueryRow(ctx, `SELECT id FROM broadcasts WHERE id = $1 AND coin = $2 FOR UPDATE`, id, coin).Scan(&x)
	if errors.Is(err, pgx.ErrNoRows) {
		return walletgate.Errorf(walletgate.ENotFound, "%s broadcast %d does not exist", coin, id)
	}
	if err != nil {
		return fmt.Errorf("lock broadcast %d: %w", id, err)
	}
	return nil
}

// ReleaseBroadcast implements walletgate.BroadcastStore under the
// broadcast's row lock.
func (d *Deposits) ReleaseBroadcast(ctx context.Context, coin string, id int64, openedBefore time.Time) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	err := d.rowLocked(ctx, fmt.Sprintf("release %s broadcast %d", coin, id), func(t pgx.Tx) error {
		if err := lockBroadcast(ctx, t, coin, id); err != nil {
			return err
		}
		var err error
		b, err = loadBroadcast(ctx, t, coin, id)
		if err != nil {
			return err
		}
		if b.State() != walletgate.BroadcastOpen {
			return walletgate.Errorf(walletgate.EConflict, "%s broadcast %d is %s, not open", coin, id, b.State())
		}
		if b.OpenedAt.After(openedBefore) {
			return walletgate.Errorf(walletgate.EConflict, "%s broadcast %d was opened at %s, too recently to release: its send may still be in flight",
				coin, id, b.OpenedAt.UTC().Format(time.RFC3339))
		}
		if _, err := t.Exec(ctx, `UPDATE broadcasts SET opened_at = NULL WHERE id = $1 AND closed_at IS NULL`, id); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		b.OpenedAt = nil
		return nil
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("postgres: release %s broadcast %d: %w", coin, id, err)
	}
	return b, nil
}

// ApplyBroadcastTx implements walletgate.BroadcastStore like ApplyTx: the
// network_txs row is locked first, so appliers of one txid queue on it and
// the second finds the count unchanged.
func (d *Deposits) ApplyBroadcastTx(ctx context.Context, coin string, tx walletgate.WalletTx, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, 1, maxConf); err != nil {
		return nil, err
	}
	var events []walletgate.TxUpdate
	err := d.rowLocked(ctx, "apply "+coin+" broadcast tx "+tx.TxID, func(t pgx.Tx) error {
		events = nil
		var ntxID, conf, bid, seen int64
		err := t.QueryRow(ctx, `SELECT n.id, n.confirmations, COALESCE(b.id, 0), n.updated_at FROM network_txs n LEFT JOIN broadcasts b ON b.ntx_id = n.id
			WHERE n.coin = $1 AND n.type = 'broadcast' AND n.txid = $2 FOR UPDATE OF n`, coin, tx.TxID).Scan(&ntxID, &conf, &bid, &seen)
		if errors.Is(err, pgx.ErrNoRows) {
			return walletgate.Errorf(walletgate.ENotFound, "broadcast transaction %s of %s is not tracked", tx.TxID, coin)
		}
		if err != nil {
			return fmt.Errorf("look up network tx: %w", err)
		}
		if conf == tx.Confirmations || conf >= maxConf || seen > micros(now) {
			return nil // unchanged, final, or a stale view
		}
		n := micros(now)
		if _, err := t.Exec(ctx, `UPDATE network_txs SET confirmations = $1, updated_at = $2 WHERE id = $3`, tx.Confirmations, n, ntxID); err != nil {
			return fmt.Errorf("update network tx: %w", err)
		}
		if _, err := t.Exec(ctx, `UPDATE outgoing_txs SET confirmations = $1, updated_at = $2 WHERE broadcast_id = $3`, tx.Confirmations, n, bid); err != nil {
			return fmt.Errorf("update sends: %w", err)
		}
		rows, err := t.Query(ctx, `SELECT id, account, address, amount FROM outgoing_txs
			WHERE broadcast_id = $1 AND type = 'send' AND state IN ('pending', 'broadcasted') ORDER BY id`, bid)
		if err != nil {
			return fmt.Errorf("list sends: %w", err)
		}
		events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.TxUpdate, error) {
			ev := walletgate.TxUpdate{Coin: coin, TransactionType: walletgate.TxTypeBroadcast, NetworkTxID: ntxID,
				TxID: tx.TxID, Confirmations: tx.Confirmations}
			err := r.Scan(&ev.TransactionID, &ev.Account, &ev.Address, &ev.Amount)
			ev.EventID = walletgate.BroadcastEventID(coin, tx.TxID, ev.TransactionID, tx.Confirmations)
			return ev, err
		})
		if err != nil {
			return fmt.Errorf("list sends: %w", err)
		}
		rows, err = t.Query(ctx, `SELECT name FROM outbox_handlers ORDER BY name`)
		if err != nil {
			return fmt.Errorf("list handlers: %w", err)
		}
		handlers, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list handlers: %w", err)
		}
		for _, ev := range events {
			payload, err := walletgate.MarshalTxUpdate(ev)
			if err != nil {
				return err
			}
			for _, h := range handlers {
				if _, err := t.Exec(ctx, `INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at)
					VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (handler, event_id) DO NOTHING`,
					h, ev.EventID, coin, ev.Address, string(payload), n); err != nil {
					return fmt.Errorf("queue event %s for %s: %w", ev.EventID, h, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: apply %s broadcast tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
}
