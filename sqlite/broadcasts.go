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

// QueueSend implements walletgate.BroadcastStore. The writer goroutine
// runs one operation at a time, so the look-up, the conditional debit and
// the insert below cannot interleave with another send.
func (s *Store) QueueSend(ctx context.Context, r walletgate.SendRequest, now time.Time) (walletgate.OutgoingTx, error) {
	if err := r.Validate(); err != nil {
		return walletgate.OutgoingTx{}, err
	}
	var out walletgate.OutgoingTx
	err := s.write(ctx, func(x *wtx) error {
		prev, err := scanOutgoing(x.queryRow(outgoingSelect+` WHERE o.coin = ? AND o.type = 'send' AND o.external_id = ?`, r.Coin, r.ExternalID))
		switch {
		case err == nil:
			if prev.Account != r.Account || prev.Address != r.Address || prev.Amount != r.Amount {
				return sendConflict(r, prev)
			}
			out = prev
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look up external id: %w", err)
		}
		res, err := x.exec(`UPDATE deposit_accounts SET balance = balance - ?1 WHERE coin = ?2 AND account = ?3 AND balance >= ?1`,
			r.Amount, r.Coin, r.Account)
		if err != nil {
			return fmt.Errorf("debit account: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			var bal int64
			if err := x.queryRow(`SELECT balance FROM deposit_accounts WHERE coin = ? AND account = ?`, r.Coin, r.Account).Scan(&bal); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read balance: %w", err)
			}
			return walletgate.InsufficientBalance(r.Coin, r.Account, bal, r.Amount)
		}
		n := micros(now)
		var id int64
		if err := x.queryRow(`INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, created_at, updated_at)
			VALUES (?, 'send', ?, ?, ?, ?, 'pending', ?, ?) RETURNING id`,
			r.Coin, r.Account, r.Address, r.Amount, r.ExternalID, n, n).Scan(&id); err != nil {
			return fmt.Errorf("insert send: %w", err)
		}
		out = walletgate.OutgoingTx{ID: id, Coin: r.Coin, Type: walletgate.OutgoingSend, Account: r.Account, Address: r.Address,
			Amount: r.Amount, ExternalID: r.ExternalID, State: walletgate.SendPending, Confirmations: -1, CreatedAt: time.UnixMicro(n)}
		return nil
	})
	if err != nil {
		return walletgate.OutgoingTx{}, fmt.Errorf("sqlite: queue %s send %q: %w", r.Coin, r.ExternalID, err)
	}
	return out, nil
}

func sendConflict(r walletgate.SendRequest, prev walletgate.OutgoingTx) error {
	return walletgate.Errorf(walletgate.EConflict, "external_id %q was already used for a send of %s from %q to %s",
		r.ExternalID, walletgate.FormatSats(prev.Amount), prev.Account, prev.Address)
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
	if coin == "" || maxSends <= 0 {
		return walletgate.Broadcast{}, false, walletgate.Errorf(walletgate.EInvalid, "collect broadcast: coin %q must be set and max sends %d positive", coin, maxSends)
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
// operation that returns only after its commit; the conditional update
// opens a broadcast at most once.
func (s *Store) OpenBroadcast(ctx context.Context, coin string, id int64, now time.Time) (walletgate.Broadcast, error) {
	var b walletgate.Broadcast
	err := s.write(ctx, func(x *wtx) error {
		res, err := x.exec(`UPDATE broadcasts SET opened_at = ? WHERE id = ? AND coin = ? AND opened_at IS NULL AND closed_at IS NULL`,
			micros(now), id, coin)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		b, err = loadBroadcast(x, coin, id)
		if err != nil {
			return err
		}
		if n != 1 {
			return walletgate.Errorf(walletgate.EConflict, "%s broadcast %d is %s, not pending; it is not sent again", coin, id, b.State())
		}
		if len(b.Outputs) == 0 {
			return walletgate.Errorf(walletgate.EInternal, "%s broadcast %d has no outputs", coin, id)
		}
		return nil
	})
	if err != nil {
		return walletgate.Broadcast{}, fmt.Errorf("sqlite: open %s broadcast %d: %w", coin, id, err)
	}
	return b, nil
}

// CloseBroadcast implements walletgate.BroadcastStore as one write
// operation: the state check and every change commit together.
func (s *Store) CloseBroadcast(ctx context.Context, coin string, id int64, txid string, fee int64, now time.Time) (walletgate.Broadcast, error) {
	if err := walletgate.ValidateClose(coin, id, txid, fee); err != nil {
		return walletgate.Broadcast{}, err
	}
	var b walletgate.Broadcast
	err := s.write(ctx, func(x *wtx) error {
		var err error
		b, err = loadBroadcast(x, coin, id)
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
		var ntxID int64
		err = x.queryRow(`SELECT id FROM network_txs WHERE coin = ? AND type = 'broadcast' AND txid = ?`, coin, txid).Scan(&ntxID)
		switch {
		case err == nil:
			var other int64
			if err := x.queryRow(`SELECT id FROM broadcasts WHERE ntx_id = ?`, ntxID).Scan(&other); err == nil {
				return walletgate.Errorf(walletgate.EConflict, "txid %s is already recorded for %s broadcast %d", txid, coin, other)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look up broadcast of %s: %w", txid, err)
			}
		case errors.Is(err, sql.ErrNoRows):
			if err := x.queryRow(`INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
				VALUES (?, 'broadcast', ?, -1, ?, ?) RETURNING id`, coin, txid, n, n).Scan(&ntxID); err != nil {
				return fmt.Errorf("insert network tx: %w", err)
			}
		default:
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
		if fee > 0 {
			if _, err := x.exec(`INSERT INTO outgoing_txs (coin, type, account, address, amount, external_id, state, broadcast_id, created_at, processed_at, updated_at)
				VALUES (?, 'network_fee', ?, '', ?, '', 'broadcasted', ?, ?, ?, ?)`, coin, walletgate.NetworkFeesAccount, fee, id, n, n, n); err != nil {
				return fmt.Errorf("book network fee: %w", err)
			}
			if _, err := x.exec(`INSERT INTO deposit_accounts (coin, account, balance) VALUES (?, ?, ?)
				ON CONFLICT (coin, account) DO UPDATE SET balance = balance + excluded.balance`, coin, walletgate.NetworkFeesAccount, -fee); err != nil {
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
		b, err = loadBroadcast(x, coin, id)
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

// ApplyBroadcastTx implements walletgate.BroadcastStore.
func (s *Store) ApplyBroadcastTx(ctx context.Context, coin string, tx walletgate.WalletTx, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, 1, maxConf); err != nil {
		return nil, err
	}
	var events []walletgate.TxUpdate
	err := s.write(ctx, func(x *wtx) error {
		events = nil
		var ntxID, conf, bid, seen int64
		err := x.queryRow(`SELECT n.id, n.confirmations, COALESCE(b.id, 0), n.updated_at FROM network_txs n LEFT JOIN broadcasts b ON b.ntx_id = n.id
			WHERE n.coin = ? AND n.type = 'broadcast' AND n.txid = ?`, coin, tx.TxID).Scan(&ntxID, &conf, &bid, &seen)
		if errors.Is(err, sql.ErrNoRows) {
			return walletgate.Errorf(walletgate.ENotFound, "broadcast transaction %s of %s is not tracked", tx.TxID, coin)
		}
		if err != nil {
			return fmt.Errorf("look up network tx: %w", err)
		}
		if conf == tx.Confirmations || conf >= maxConf || seen > micros(now) {
			return nil // unchanged, final, or a stale view
		}
		n := micros(now)
		if _, err := x.exec(`UPDATE network_txs SET confirmations = ?, updated_at = ? WHERE id = ?`, tx.Confirmations, n, ntxID); err != nil {
			return fmt.Errorf("update network tx: %w", err)
		}
		if _, err := x.exec(`UPDATE outgoing_txs SET confirmations = ?, updated_at = ? WHERE broadcast_id = ?`, tx.Confirmations, n, bid); err != nil {
			return fmt.Errorf("update sends: %w", err)
		}
		rows, err := x.query(`SELECT id, account, address, amount FROM outgoing_txs
			WHERE broadcast_id = ? AND type = 'send' AND state IN ('pending', 'broadcasted') ORDER BY id`, bid)
		if err != nil {
			return fmt.Errorf("list sends: %w", err)
		}
		for rows.Next() {
			ev := walletgate.TxUpdate{Coin: coin, TransactionType: walletgate.TxTypeBroadcast, NetworkTxID: ntxID,
				TxID: tx.TxID, Confirmations: tx.Confirmations}
			if err := rows.Scan(&ev.TransactionID, &ev.Account, &ev.Address, &ev.Amount); err != nil {
				rows.Close()
				return fmt.Errorf("scan send: %w", err)
			}
			ev.EventID = walletgate.BroadcastEventID(coin, tx.TxID, ev.TransactionID, tx.Confirmations)
			events = append(events, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list sends: %w", err)
		}
		handlers, err := listHandlers(x)
		if err != nil {
			return err
		}
		for _, ev := range events {
			payload, err := walletgate.MarshalTxUpdate(ev)
			if err != nil {
				return err
			}
			for _, h := range handlers {
				if _, err := x.exec(`INSERT INTO outbox (handler, event_id, coin, address, payload, next_attempt, created_at)
					VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (handler, event_id) DO NOTHING`,
					h, ev.EventID, coin, ev.Address, payload, n, n); err != nil {
					return fmt.Errorf("queue event %s for %s: %w", ev.EventID, h, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: apply %s broadcast tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
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
