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
// or release twice. OpenBroadcast locks the broadcast row, checks and
// updates in a transaction of its own that is never re-run, so a failure
// or lost reply leaves the broadcast either pending (sent later) or open
// (left to an operator), never sent twice. What each may do is decided by
// the walletgate rules (PlanQueueSend, CheckOpen, PlanClose, CheckRelease,
// PlanBroadcastTx) on what was read under the lock; the store persists.
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
		var prev *walletgate.OutgoingTx
		p, err := scanOutgoing(t.QueryRow(ctx, outgoingSelect+` WHERE o.coin = $1 AND o.type = 'send' AND o.external_id = $2`, r.Coin, r.ExternalID))
		switch {
		case err == nil:
			prev = &p
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("look up external id: %w", err)
		}
		o, insert, err := walletgate.PlanQueueSend(r, prev, bal, now)
		if err != nil || !insert {
			out = o
			return err
		}
		// The conditional debit also holds without the lock: it never
		// takes a balance below zero.
		tag, err := t.Exec(ctx, `UPDATE deposit_accounts SET balance = balance - $1 WHERE coin = $2 AND account = $3 AND balance >= $1`,
			o.Amount, o.Coin, o.Account)
		if err != nil {
			return fmt.Errorf("debit account: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return walletgate.InsufficientBalance(r.Coin, r.Account, bal, r.Amount)
		}
		n := micros(o.CreatedAt)
		if err := t.QueryRow(ctx, `INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			o.Coin, o.Type, o.Account, o.Address, o.Amount, o.ExternalID, o.State, n).Scan(&o.ID); err != nil {
			return fmt.Errorf("insert send: %w", err)
		}
		o.CreatedAt = time.UnixMicro(n)
		out = o
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
	if err := walletgate.ValidateCollect(coin, maxSends); err != nil {
		return walletgate.Broadcast{}, false, err
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

// OpenBroadcast implements walletgate.BroadcastStore in one READ
// COMMITTED transaction, never re-run: it locks the broadcast's row, lets
// walletgate.Broadcast.CheckOpen decide on what it reads under the lock,
// and sets opened_at. A second opener waits for the first's lock, then
// reads the broadcast open and is refused.
func (d *Deposits) OpenBroadcast(ctx context.Context, coin string, id int64, now time.Time) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	err := d.s.inTx(ctx, func(t pgx.Tx) error {
		if err := lockBroadcast(ctx, t, coin, id); err != nil {
			return err
		}
		var err error
		if b, err = loadBroadcast(ctx, t, coin, id); err != nil {
			return err
		}
		if err := b.CheckOpen(); err != nil {
			return err
		}
		n := micros(now)
		if _, err := t.Exec(ctx, `UPDATE broadcasts SET opened_at = $1 WHERE id = $2 AND opened_at IS NULL AND closed_at IS NULL`, n, id); err != nil {
			return fmt.Errorf("open: %w", err)
		}
		at := time.UnixMicro(n)
		b.OpenedAt = &at
		return nil
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("postgres: open %s broadcast %d: %w", coin, id, err)
	}
	return b, nil
}

// CloseBroadcast implements walletgate.BroadcastStore. It locks the
// broadcast row first and lets walletgate.PlanClose decide on what it
// reads under the lock, so of two closers one books the fee and the other
// sees it closed. It is re-run only on deadlock, with the same re-check;
// it never sends anything.
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
		if b, err = loadBroadcast(ctx, t, coin, id); err != nil {
			return err
		}
		var holder int64
		err = t.QueryRow(ctx, `SELECT b.id FROM broadcasts b JOIN network_txs n ON n.id = b.ntx_id
			WHERE n.coin = $1 AND n.type = 'broadcast' AND n.txid = $2`, coin, txid).Scan(&holder)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("look up broadcast of %s: %w", txid, err)
		}
		c, err := walletgate.PlanClose(b, txid, fee, holder, now)
		if err != nil || !c.Changed {
			return err
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
		// A concurrent close of another broadcast with this txid is
		// stopped by the unique index on ntx_id.
		if _, err := t.Exec(ctx, `UPDATE broadcasts SET txid = $1, fee = $2, ntx_id = $3, closed_at = $4, opened_at = COALESCE(opened_at, $4)
			WHERE id = $5 AND closed_at IS NULL`, txid, fee, ntxID, n, id); err != nil {
			if pgCode(err) == pgUniqueViolation {
				return walletgate.TxIDTaken(coin, txid, 0)
			}
			return fmt.Errorf("close: %w", err)
		}
		if _, err := t.Exec(ctx, `UPDATE outgoing_txs SET state = 'broadcasted', processed_at = $1, updated_at = $1
			WHERE broadcast_id = $2 AND type = 'send'`, n, id); err != nil {
			return fmt.Errorf("mark sends broadcasted: %w", err)
		}
		if f := c.Fee; f != nil {
			if _, err := t.Exec(ctx, `INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, broadcast_id, created_at, processed_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, f.Coin, f.Type, f.Account, f.Address, f.Amount, f.ExternalID, f.State, f.BroadcastID,
				micros(f.CreatedAt), micros(*f.ProcessedAt), n); err != nil {
				return fmt.Errorf("book network fee: %w", err)
			}
			if err := addBalance(ctx, t, f.Coin, f.Account, -f.Amount); err != nil {
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
// broadcast's row lock; walletgate.Broadcast.CheckRelease decides.
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
		if err := b.CheckRelease(openedBefore); err != nil {
			return err
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
