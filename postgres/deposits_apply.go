package postgres

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// ApplyTx implements walletgate.DepositStore: it locks the transaction's
// row, reads its state, lets walletgate.PlanDeposit decide and writes the
// plan and its outbox rows in one transaction. Of two processes applying
// the same change, one commits and the other, queued on the row lock,
// finds the count unchanged and returns no events.
func (d *Deposits) ApplyTx(ctx context.Context, coin string, tx walletgate.WalletTx, creditAt, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, creditAt, maxConf); err != nil {
		return nil, err
	}
	v := walletgate.TxView{Coin: coin, Tx: tx, Asked: now, CreditAt: creditAt, MaxConf: maxConf}
	var events []walletgate.TxUpdate
	err := d.rowLocked(ctx, "apply "+coin+" tx "+tx.TxID, func(t pgx.Tx) error {
		var err error
		events, err = applyTx(ctx, t, v)
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

func applyTx(ctx context.Context, t pgx.Tx, v walletgate.TxView) ([]walletgate.TxUpdate, error) {
	st, ntxID, err := readDepositState(ctx, t, v)
	if err != nil {
		return nil, err
	}
	u := walletgate.PlanDeposit(st, v)
	if !u.Apply {
		return nil, nil
	}
	u.NetworkTx.ID = ntxID // a new one was inserted, at unseenConfirmations, to be locked
	if err := writeDepositUpdate(ctx, t, &u, micros(v.Asked)); err != nil {
		return nil, err
	}
	events, err := u.Events()
	if err != nil {
		return nil, err
	}
	if err := queueEvents(ctx, t, events, micros(v.Asked)); err != nil {
		return nil, err
	}
	return events, nil
}

// readDepositState locks the network tx's row and reads what PlanDeposit
// needs. A new row starts at a count no wallet reports, so it reads as a
// first view (DepositState.Tx nil) and is overwritten before commit; a
// concurrent inserter waits on the unique index and then finds the row.
// The row lock orders every applier of this txid.
func readDepositState(ctx context.Context, t pgx.Tx, v walletgate.TxView) (walletgate.DepositState, int64, error) {
	var st walletgate.DepositState
	if _, err := t.Exec(ctx, `INSERT INTO network_txs (coin, type, txid, confirmations, created_at, updated_at)
		VALUES ($1, 'deposit', $2, $3, $4, $4) ON CONFLICT (coin, type, txid) DO NOTHING`, v.Coin, v.Tx.TxID, unseenConfirmations, micros(v.Asked)); err != nil {
		return st, 0, fmt.Errorf("insert network tx: %w", err)
	}
	n := walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{Coin: v.Coin, Type: walletgate.TxTypeDeposit, TxID: v.Tx.TxID}}
	var asked int64
	if err := t.QueryRow(ctx, `SELECT id, confirmations, updated_at FROM network_txs WHERE coin = $1 AND type = 'deposit' AND txid = $2 FOR UPDATE`,
		v.Coin, v.Tx.TxID).Scan(&n.ID, &n.Confirmations, &asked); err != nil {
		return st, 0, fmt.Errorf("lock network tx: %w", err)
	}
	if n.Confirmations != unseenConfirmations {
		n.Asked = time.UnixMicro(asked)
		st.Tx = &n
	}
	rows, err := t.Query(ctx, `SELECT `+depositCols+` FROM deposits WHERE ntx_id = $1 ORDER BY id`, n.ID)
	if err != nil {
		return st, 0, fmt.Errorf("list deposits: %w", err)
	}
	if st.Deposits, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.Deposit, error) { return scanDeposit(r) }); err != nil {
		return st, 0, fmt.Errorf("list deposits: %w", err)
	}
	addrs := make([]string, 0, len(v.Tx.Details))
	for a := range walletgate.ReceivedByAddress(v.Tx) {
		addrs = append(addrs, a)
	}
	st.Watches = map[string]string{}
	if len(addrs) == 0 {
		return st, n.ID, nil
	}
	rows, err = t.Query(ctx, `SELECT address, account FROM deposit_watches WHERE coin = $1 AND address = ANY($2)`, v.Coin, addrs)
	if err != nil {
		return st, 0, fmt.Errorf("look up watches: %w", err)
	}
	var addr, account string
	if _, err := pgx.ForEachRow(rows, []any{&addr, &account}, func() error { st.Watches[addr] = account; return nil }); err != nil {
		return st, 0, fmt.Errorf("look up watches: %w", err)
	}
	return st, n.ID, nil
}

// writeDepositUpdate persists u, setting the ids of the deposits it
// inserts. The network tx row exists (readDepositState made it).
func writeDepositUpdate(ctx context.Context, t pgx.Tx, u *walletgate.DepositUpdate, now int64) error {
	n := &u.NetworkTx
	if _, err := t.Exec(ctx, `UPDATE network_txs SET confirmations = $1, updated_at = $2 WHERE id = $3`, n.Confirmations, now, n.ID); err != nil {
		return fmt.Errorf("update network tx: %w", err)
	}
	for i := range u.Deposits {
		c := &u.Deposits[i]
		dep := &c.Deposit
		var credited *int64
		if dep.CreditedAt != nil {
			at := micros(*dep.CreditedAt)
			credited = &at
		}
		if dep.ID == 0 {
			if err := t.QueryRow(ctx, `INSERT INTO deposits (ntx_id, coin, txid, address, account, amount, confirmations, credited_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
				n.ID, dep.Coin, dep.TxID, dep.Address, dep.Account, dep.Amount, dep.Confirmations, credited, now).Scan(&dep.ID); err != nil {
				return fmt.Errorf("insert deposit to %s: %w", dep.Address, err)
			}
			dep.NetworkTxID = n.ID
		} else if _, err := t.Exec(ctx, `UPDATE deposits SET confirmations = $1, credited_at = $2, updated_at = $3 WHERE id = $4`,
			dep.Confirmations, credited, now, dep.ID); err != nil {
			return fmt.Errorf("update deposit %d: %w", dep.ID, err)
		}
		if c.Credit {
			if err := addBalance(ctx, t, dep.Coin, dep.Account, dep.Amount); err != nil {
				return fmt.Errorf("credit deposit %d: %w", dep.ID, err)
			}
		}
	}
	return nil
}

// addBalance adds delta (negative to debit) to account's balance,
// creating the balance row at delta.
func addBalance(ctx context.Context, t pgx.Tx, coin, account string, delta int64) error {
	if _, err := t.Exec(ctx, `INSERT INTO deposit_accounts (coin, account, balance) VALUES ($1, $2, $3)
		ON CONFLICT (coin, account) DO UPDATE SET balance = deposit_accounts.balance + EXCLUDED.balance`, coin, account, delta); err != nil {
		return fmt.Errorf("add %d to the balance of %s account %q: %w", delta, coin, account, err)
	}
	return nil
}
