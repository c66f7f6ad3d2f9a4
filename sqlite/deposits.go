package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
			out, err = w.Rewatch(walletgate.Watch{ID: id, Coin: w.Coin, Address: w.Address, Account: account,
				ExternalID: ext, CreatedAt: time.UnixMicro(created)})
			return err
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
