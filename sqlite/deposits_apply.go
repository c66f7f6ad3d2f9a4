package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"
)

// ApplyTx implements walletgate.DepositStore: it reads the transaction's
// state, lets walletgate.PlanDeposit decide, and writes the plan and its
// outbox rows. The writer goroutine runs one operation at a time, so the
// read and the write cannot interleave with another apply.
func (s *Store) ApplyTx(ctx context.Context, coin string, tx walletgate.WalletTx, creditAt, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, creditAt, maxConf); err != nil {
		return nil, err
	}
	v := walletgate.TxView{Coin: coin, Tx: tx, Asked: now, CreditAt: creditAt, MaxConf: maxConf}
	var events []walletgate.TxUpdate
	err := s.write(ctx, func(x *wtx) error {
		var err error
		events, err = applyTx(x, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: apply %s tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
}

func applyTx(x *wtx, v walletgate.TxView) ([]walletgate.TxUpdate, error) {
	st, err := readDepositState(x, v)
	if err != nil {
		return nil, err
	}
	u := walletgate.PlanDeposit(st, v)
	if !u.Apply {
		return nil, nil
	}
	if err := writeDepositUpdate(x, &u, micros(v.Asked)); err != nil {
		return nil, err
	}
	events, err := u.Events()
	if err != nil {
		return nil, err
	}
	if err := queueEvents(x, events, micros(v.Asked)); err != nil {
		return nil, err
	}
	return events, nil
}

// readDepositState reads what PlanDeposit needs: the network tx, its
// deposits and the watches of the addresses v pays.
func readDepositState(x *wtx, v walletgate.TxView) (walletgate.DepositState, error) {
	var st walletgate.DepositState
	n := walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{Coin: v.Coin, Type: walletgate.TxTypeDeposit, TxID: v.Tx.TxID}}
	var asked int64
	err := x.queryRow(`SELECT id, confirmations, updated_at FROM network_txs WHERE coin = ? AND type = 'deposit' AND txid = ?`,
		v.Coin, v.Tx.TxID).Scan(&n.ID, &n.Confirmations, &asked)
	switch {
	case err == nil:
		n.Asked = time.UnixMicro(asked)
		st.Tx = &n
		rows, err := x.query(`SELECT `+depositCols+` FROM deposits WHERE ntx_id = ? ORDER BY id`, n.ID)
		if err != nil {
			return st, fmt.Errorf("list deposits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDeposit(rows)
			if err != nil {
				return st, fmt.Errorf("scan deposit: %w", err)
			}
			st.Deposits = append(st.Deposits, d)
		}
		if err := rows.Err(); err != nil {
			return st, fmt.Errorf("list deposits: %w", err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return st, fmt.Errorf("look up network tx: %w", err)
	}
	st.Watches = map[string]string{}
	for addr := range walletgate.ReceivedByAddress(v.Tx) {
		var account string
		err := x.queryRow(`SELECT account FROM deposit_watches WHERE coin = ? AND address = ?`, v.Coin, addr).Scan(&account)
		switch {
		case err == nil:
			st.Watches[addr] = account
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("look up watch %s: %w", addr, err)
		}
	}
	return st, nil
}

// writeDepositUpdate persists u, setting the ids of the rows it inserts.
func writeDepositUpdate(x *wtx, u *walletgate.DepositUpdate, now int64) error {
	n := &u.NetworkTx
	if n.ID == 0 {
		if err := x.queryRow(`INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
			VALUES (?, 'deposit', ?, ?, ?, ?) RETURNING id`, n.Coin, n.TxID, n.Confirmations, now, now).Scan(&n.ID); err != nil {
			return fmt.Errorf("insert network tx: %w", err)
		}
	} else if _, err := x.exec(`UPDATE network_txs SET confirmations = ?, updated_at = ? WHERE id = ?`, n.Confirmations, now, n.ID); err != nil {
		return fmt.Errorf("update network tx: %w", err)
	}
	for i := range u.Deposits {
		c := &u.Deposits[i]
		d := &c.Deposit
		credited := sql.NullInt64{Valid: d.CreditedAt != nil}
		if credited.Valid {
			credited.Int64 = micros(*d.CreditedAt)
		}
		if d.ID == 0 {
			if err := x.queryRow(`INSERT INTO deposits (ntx_id, coin, txid, address, account, amount, confirmations, credited_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				n.ID, d.Coin, d.TxID, d.Address, d.Account, d.Amount, d.Confirmations, credited, now, now).Scan(&d.ID); err != nil {
				return fmt.Errorf("insert deposit to %s: %w", d.Address, err)
			}
			d.NetworkTxID = n.ID
		} else if _, err := x.exec(`UPDATE deposits SET confirmations = ?, credited_at = ?, updated_at = ? WHERE id = ?`,
			d.Confirmations, credited, now, d.ID); err != nil {
			return fmt.Errorf("update deposit %d: %w", d.ID, err)
		}
		if c.Credit {
			if err := addBalance(x, d.Coin, d.Account, d.Amount); err != nil {
				return fmt.Errorf("credit deposit %d: %w", d.ID, err)
			}
		}
	}
	return nil
}

// addBalance adds delta (negative to debit) to account's balance,
// creating the balance row at delta.
func addBalance(x *wtx, coin, account string, delta int64) error {
	if _, err := x.exec(`INSERT INTO deposit_accounts (coin, account, balance) VALUES (?, ?, ?)
		ON CONFLICT (coin, account) DO UPDATE SET balance = balance + excluded.balance`, coin, account, delta); err != nil {
		return fmt.Errorf("add %d to the balance of %s account %q: %w", delta, coin, account, err)
	}
	return nil
}
