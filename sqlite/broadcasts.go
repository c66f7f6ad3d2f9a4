package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"
)

var _ walletgate.BroadcastStore = (*Store)(nil)

// reader is what the broadcast queries need: the writer inside a write
// operation (wtx) or the read pool outside one (poolReader).
type reader interface {
	queryRow(query string, args ...any) *sql.Row
	query(query string, args ...any) (*sql.Rows, error)
}

type poolReader struct {
	ctx context.Context
	db  *sql.DB
}

func (p poolReader) queryRow(q string, args ...any) *sql.Row {
	return p.db.QueryRowContext(p.ctx, q, args...)
}

func (p poolReader) query(q string, args ...any) (*sql.Rows, error) {
	return p.db.QueryContext(p.ctx, q, args...)
}

const outgoingSelect = `SELECT o.id, o.coin, o.type, o.account, o.address, o.amount, o.external_id, o.state,
	COALESCE(o.broadcast_id, 0), COALESCE(b.txid, ''), o.confirmations, o.created_at, o.processed_at
	FROM outgoing_txs o LEFT JOIN broadcasts b ON b.id = o.broadcast_id`

func scanOutgoing(sc interface{ Scan(...any) error }) (walletgate.OutgoingTx, error) {
	var o walletgate.OutgoingTx
	var created int64
	var processed sql.NullInt64
	if err := sc.Scan(&o.ID, &o.Coin, &o.Type, &o.Account, &o.Address, &o.Amount, &o.ExternalID, &o.State,
		&o.BroadcastID, &o.TxID, &o.Confirmations, &created, &processed); err != nil {
		return o, err
	}
	o.CreatedAt = time.UnixMicro(created)
	if processed.Valid {
		t := time.UnixMicro(processed.Int64)
		o.ProcessedAt = &t
	}
	return o, nil
}

// QueueSend implements walletgate.BroadcastStore: it reads the previous
// send under the external id and the balance, lets walletgate.PlanQueueSend
// decide, and writes the debit and the send. The writer goroutine runs one
// operation at a time, so nothing interleaves between the read and the
// write.
func (s *Store) QueueSend(ctx context.Context, r walletgate.SendRequest, now time.Time) (walletgate.OutgoingTx, error) {
	if err := r.Validate(); err != nil {
		return walletgate.OutgoingTx{}, err
	}
	var out walletgate.OutgoingTx
	err := s.write(ctx, func(x *wtx) error {
		var prev *walletgate.OutgoingTx
		p, err := scanOutgoing(x.queryRow(outgoingSelect+` WHERE o.coin = ? AND o.type = 'send' AND o.external_id = ?`, r.Coin, r.ExternalID))
		switch {
		case err == nil:
			prev = &p
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look up external id: %w", err)
		}
		var bal int64
		if err := x.queryRow(`SELECT balance FROM deposit_accounts WHERE coin = ? AND account = ?`, r.Coin, r.Account).Scan(&bal); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read balance: %w", err)
		}
		o, insert, err := walletgate.PlanQueueSend(r, prev, bal, now)
		if err != nil || !insert {
			out = o
			return err
		}
		// The conditional debit cannot fail after the plan's check; it
		// stays as a guard that never takes a balance below zero.
		res, err := x.exec(`UPDATE deposit_accounts SET balance = balance - ?1 WHERE coin = ?2 AND account = ?3 AND balance >= ?1`,
			o.Amount, o.Coin, o.Account)
		if err != nil {
			return fmt.Errorf("debit account: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return walletgate.InsufficientBalance(r.Coin, r.Account, bal, r.Amount)
		}
		n := micros(o.CreatedAt)
		if err := x.queryRow(`INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			o.Coin, o.Type, o.Account, o.Address, o.Amount, o.ExternalID, o.State, n, n).Scan(&o.ID); err != nil {
			return fmt.Errorf("insert send: %w", err)
		}
		o.CreatedAt = time.UnixMicro(n)
		out = o
		return nil
	})
	if err != nil {
		return walletgate.OutgoingTx{}, fmt.Errorf("sqlite: queue %s send %q: %w", r.Coin, r.ExternalID, err)
	}
	return out, nil
}

// OutgoingTx implements walletgate.BroadcastStore.
func (s *Store) OutgoingTx(ctx context.Context, coin, externalID string) (walletgate.OutgoingTx, error) {
	o, err := scanOutgoing(s.read.QueryRowContext(ctx, outgoingSelect+` WHERE o.coin = ? AND o.type = 'send' AND o.external_id = ?`, coin, externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return o, walletgate.Errorf(walletgate.ENotFound, "no %s send with external_id %q", coin, externalID)
	}
	if err != nil {
		return o, fmt.Errorf("sqlite: %s send %q: %w", coin, externalID, err)
	}
	return o, nil
}

const broadcastCols = `id, coin, txid, fee, COALESCE(ntx_id, 0), created_at, opened_at, closed_at`

// loadBroadcast reads broadcast id of coin with its outputs and sends.
func loadBroadcast(q reader, coin string, id int64) (walletgate.Broadcast, error) {
	b, err := scanBroadcast(q.queryRow(`SELECT `+broadcastCols+` FROM broadcasts WHERE id = ? AND coin = ?`, id, coin))
	if errors.Is(err, sql.ErrNoRows) {
		return b, walletgate.Errorf(walletgate.ENotFound, "%s broadcast %d does not exist", coin, id)
	}
	if err != nil {
		return b, fmt.Errorf("read broadcast %d: %w", id, err)
	}
	if err := loadOutputs(q, &b); err != nil {
		return b, err
	}
	return b, nil
}

func scanBroadcast(sc interface{ Scan(...any) error }) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	var created int64
	var opened, closed sql.NullInt64
	if err := sc.Scan(&b.ID, &b.Coin, &b.TxID, &b.Fee, &b.NetworkTxID, &created, &opened, &closed); err != nil {
		return b, err
	}
	b.CreatedAt = time.UnixMicro(created)
	if opened.Valid {
		t := time.UnixMicro(opened.Int64)
		b.OpenedAt = &t
	}
	if closed.Valid {
		t := time.UnixMicro(closed.Int64)
		b.ClosedAt = &t
	}
	return b, nil
}

func loadOutputs(q reader, b *walletgate.Broadcast) error {
	rows, err := q.query(`SELECT id, address, amount FROM outgoing_txs WHERE broadcast_id = ? AND type = 'send' ORDER BY id`, b.ID)
	if err != nil {
		return fmt.Errorf("read sends of broadcast %d: %w", b.ID, err)
	}
	defer rows.Close()
	b.Outputs = map[string]int64{}
	b.SendIDs = nil
	for rows.Next() {
		var id, amount int64
		var addr string
		if err := rows.Scan(&id, &addr, &amount); err != nil {
			return fmt.Errorf("scan send of broadcast %d: %w", b.ID, err)
		}
		b.Outputs[addr] += amount
		b.SendIDs = append(b.SendIDs, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read sends of broadcast %d: %w", b.ID, err)
	}
	return nil
}

// CollectBroadcast implements walletgate.BroadcastStore: the select, the
// new broadcast and the attachment are one write operation, so they
// commit together or not at all.
func (s *Store) CollectBroadcast(ctx context.Context, coin string, maxSends int, now time.Time) (walletgate.Broadcast, bool, error) {
	if err := walletgate.ValidateCollect(coin, maxSends); err != nil {
		return walletgate.Broadcast{}, false, err
	}
	var b walletgate.Broadcast
	var ok bool
	err := s.write(ctx, func(x *wtx) error {
		b, ok = walletgate.Broadcast{}, false
		var first, last, count int64
		if err := x.queryRow(`SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0), count(*) FROM (
			SELECT id FROM outgoing_txs WHERE coin = ? AND type = 'send' AND broadcast_id IS NULL ORDER BY id LIMIT ?)`,
			coin, maxSends).Scan(&first, &last, &count); err != nil {
			return fmt.Errorf("find pending sends: %w", err)
		}
		if count == 0 {
			return nil
		}
		var id int64
		if err := x.queryRow(`INSERT INTO broadcasts (coin, created_at) VALUES (?, ?) RETURNING id`, coin, micros(now)).Scan(&id); err != nil {
			return fmt.Errorf("insert broadcast: %w", err)
		}
		res, err := x.exec(`UPDATE outgoing_txs SET broadcast_id = ?, updated_at = ?
			WHERE coin = ? AND type = 'send' AND broadcast_id IS NULL AND id BETWEEN ? AND ?`, id, micros(now), coin, first, last)
		if err != nil {
			return fmt.Errorf("attach sends: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != count {
			return fmt.Errorf("attach sends: %d of %d attached (%v)", n, count, err)
		}
		b, err = loadBroadcast(x, coin, id)
		ok = err == nil
		return err
	})
	if err != nil {
		return walletgate.Broadcast{}, false, fmt.Errorf("sqlite: collect %s broadcast: %w", coin, err)
	}
	return b, ok, nil
}

// Broadcast implements walletgate.BroadcastStore.
func (s *Store) Broadcast(ctx context.Context, coin string, id int64) (walletgate.Broadcast, error) {
	b, err := loadBroadcast(poolReader{ctx, s.read}, coin, id)
	if err != nil && walletgate.ErrorCode(err) != walletgate.ENotFound {
		return b, fmt.Errorf("sqlite: %w", err)
	}
	return b, err
}

// ListBroadcasts implements walletgate.BroadcastStore.
func (s *Store) ListBroadcasts(ctx context.Context, coin, state string, p walletgate.Page) ([]walletgate.Broadcast, int64, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	if err := walletgate.ValidBroadcastState(state); err != nil {
		return nil, 0, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+broadcastCols+` FROM broadcasts WHERE coin = ?1 AND id > ?2 AND (
		?3 = 'all' OR (?3 = 'pending' AND opened_at IS NULL AND closed_at IS NULL)
		OR (?3 = 'open' AND opened_at IS NOT NULL AND closed_at IS NULL) OR (?3 = 'closed' AND closed_at IS NOT NULL))
		ORDER BY id LIMIT ?4`, coin, p.Cursor, state, p.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list %s broadcasts: %w", coin, err)
	}
	var bs []walletgate.Broadcast
	for rows.Next() {
		b, err := scanBroadcast(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("sqlite: scan broadcast: %w", err)
		}
		bs = append(bs, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list %s broadcasts: %w", coin, err)
	}
	var next int64
	if len(bs) > p.Limit {
		bs = bs[:p.Limit]
		next = bs[len(bs)-1].ID
	}
	for i := range bs {
		if err := loadOutputs(poolReader{ctx, s.read}, &bs[i]); err != nil {
			return nil, 0, fmt.Errorf("sqlite: %w", err)
		}
	}
	return bs, next, nil
}

// OpenBroadcast implements walletgate.BroadcastStore. It is one write
// operation that returns only after its commit; the state check
// (walletgate.Broadcast.CheckOpen) and the update run in it without
// anything in between, so a broadcast is opened at most once.
func (s *Store) OpenBroadcast(ctx context.Context, coin string, id int64, now time.Time) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	err := s.write(ctx, func(x *wtx) error {
		var err error
		if b, err = loadBroadcast(x, coin, id); err != nil {
			return err
		}
		if err := b.CheckOpen(); err != nil {
			return err
		}
		n := micros(now)
		if _, err := x.exec(`UPDATE broadcasts SET opened_at = ? WHERE id = ? AND opened_at IS NULL AND closed_at IS NULL`, n, id); err != nil {
			return fmt.Errorf("open: %w", err)
		}
		at := time.UnixMicro(n)
		b.OpenedAt = &at
		return nil
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("sqlite: open %s broadcast %d: %w", coin, id, err)
	}
	return b, nil
}

// CloseBroadcast implements walletgate.BroadcastStore as one write
// operation: walletgate.PlanClose decides on the state read in it, and
// every change commits together.
func (s *Store) CloseBroadcast(ctx context.Context, coin string, id int64, txid string, fee int64, now time.Time) (walletgate.Broadcast, error) {
	if err := walletgate.ValidateClose(coin, id, txid, fee); err != nil {
		return walletgate.Broadcast{}, err
	}
	var b walletgate.Broadcast
	err := s.write(ctx, func(x *wtx) error {
		var err error
		if b, err = loadBroadcast(x, coin, id); err != nil {
			return err
		}
		var holder int64
		err = x.queryRow(`SELECT b.id FROM broadcasts b JOIN network_txs n ON n.id = b.ntx_id
			WHERE n.coin = ? AND n.type = 'broadcast' AND n.txid = ?`, coin, txid).Scan(&holder)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up broadcast of %s: %w", txid, err)
		}
		c, err := walletgate.PlanClose(b, txid, fee, holder, now)
		if err != nil || !c.Changed {
			return err
		}
		n := micros(now)
		var ntxID int64
		err = x.queryRow(`SELECT id FROM network_txs WHERE coin = ? AND type = 'broadcast' AND txid = ?`, coin, txid).Scan(&ntxID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := x.queryRow(`INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
				VALUES (?, 'broadcast', ?, -1, ?, ?) RETURNING id`, coin, txid, n, n).Scan(&ntxID); err != nil {
				return fmt.Errorf("insert network tx: %w", err)
			}
		case err != nil:
			return fmt.Errorf("look up network tx %s: %w", txid, err)
		}
		if _, err := x.exec(`UPDATE broadcasts SET txid = ?, fee = ?, ntx_id = ?, closed_at = ?, opened_at = COALESCE(opened_at, ?)
			WHERE id = ? AND closed_at IS NULL`, txid, fee, ntxID, n, n, id); err != nil {
			return fmt.Errorf("close: %w", err)
		}
		if _, err := x.exec(`UPDATE outgoing_txs SET state = 'broadcasted', processed_at = ?, updated_at = ?
			WHERE broadcast_id = ? AND type = 'send'`, n, n, id); err != nil {
			return fmt.Errorf("mark sends broadcasted: %w", err)
		}
		if f := c.Fee; f != nil {
			if _, err := x.exec(`INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, broadcast_id, created_at, processed_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.Coin, f.Type, f.Account, f.Address, f.Amount, f.ExternalID, f.State, f.BroadcastID,
				micros(f.CreatedAt), micros(*f.ProcessedAt), n); err != nil {
				return fmt.Errorf("book network fee: %w", err)
			}
			if err := addBalance(x, f.Coin, f.Account, -f.Amount); err != nil {
				return fmt.Errorf("debit network fees: %w", err)
			}
		}
		b, err = loadBroadcast(x, coin, id)
		return err
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("sqlite: close %s broadcast %d as %s: %w", coin, id, txid, err)
	}
	return b, nil
}

// ReleaseBroadcast implements walletgate.BroadcastStore.
func (s *Store) ReleaseBroadcast(ctx context.Context, coin string, id int64, openedBefore time.Time) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	err := s.write(ctx, func(x *wtx) error {
		var err error
		if b, err = loadBroadcast(x, coin, id); err != nil {
			return err
		}
		if err := b.CheckRelease(openedBefore); err != nil {
			return err
		}
		if _, err := x.exec(`UPDATE broadcasts SET opened_at = NULL WHERE id = ? AND closed_at IS NULL`, id); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		b.OpenedAt = nil
		return nil
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("sqlite: release %s broadcast %d: %w", coin, id, err)
	}
	return b, nil
}
