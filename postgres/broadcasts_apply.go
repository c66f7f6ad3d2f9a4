package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// ApplyBroadcastTx implements walletgate.BroadcastStore like ApplyTx: the
// network_txs row is locked first, so appliers of one txid queue on it and
// the second finds the count unchanged; walletgate.PlanBroadcastTx decides.
func (d *Deposits) ApplyBroadcastTx(ctx context.Context, coin string, tx walletgate.WalletTx, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, 1, maxConf); err != nil {
		return nil, err
	}
	v := walletgate.TxView{Coin: coin, Tx: tx, Asked: now, MaxConf: maxConf}
	var events []walletgate.TxUpdate
	err := d.rowLocked(ctx, "apply "+coin+" broadcast tx "+tx.TxID, func(t pgx.Tx) error {
		events = nil
		st, err := readBroadcastTxState(ctx, t, v)
		if err != nil {
			return err
		}
		u := walletgate.PlanBroadcastTx(st, v)
		if !u.Apply {
			return nil
		}
		n := micros(now)
		if _, err := t.Exec(ctx, `UPDATE network_txs SET confirmations = $1, updated_at = $2 WHERE id = $3`, u.Confirmations, n, st.Tx.ID); err != nil {
			return fmt.Errorf("update network tx: %w", err)
		}
		if _, err := t.Exec(ctx, `UPDATE outgoing_txs SET confirmations = $1, updated_at = $2 WHERE broadcast_id = $3`, u.Confirmations, n, st.BroadcastID); err != nil {
			return fmt.Errorf("update sends: %w", err)
		}
		if err := queueEvents(ctx, t, u.Events, n); err != nil {
			return err
		}
		events = u.Events
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: apply %s broadcast tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
}

// readBroadcastTxState locks the broadcast's network_txs row and reads
// what PlanBroadcastTx needs; a txid that is not a tracked broadcast is
// ENotFound.
func readBroadcastTxState(ctx context.Context, t pgx.Tx, v walletgate.TxView) (walletgate.BroadcastTxState, error) {
	st := walletgate.BroadcastTxState{Tx: walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{Coin: v.Coin, Type: walletgate.TxTypeBroadcast, TxID: v.Tx.TxID}}}
	var asked int64
	err := t.QueryRow(ctx, `SELECT n.id, n.confirmations, COALESCE(b.id, 0), n.updated_at FROM network_txs n LEFT JOIN broadcasts b ON b.ntx_id = n.id
		WHERE n.coin = $1 AND n.type = 'broadcast' AND n.txid = $2 FOR UPDATE OF n`, v.Coin, v.Tx.TxID).Scan(&st.Tx.ID, &st.Tx.Confirmations, &st.BroadcastID, &asked)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, walletgate.Errorf(walletgate.ENotFound, "broadcast transaction %s of %s is not tracked", v.Tx.TxID, v.Coin)
	}
	if err != nil {
		return st, fmt.Errorf("look up network tx: %w", err)
	}
	st.Tx.Asked = time.UnixMicro(asked)
	rows, err := t.Query(ctx, `SELECT id, type, account, address, amount, state FROM outgoing_txs WHERE broadcast_id = $1 ORDER BY id`, st.BroadcastID)
	if err != nil {
		return st, fmt.Errorf("list sends: %w", err)
	}
	st.Rows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (walletgate.OutgoingTx, error) {
		o := walletgate.OutgoingTx{Coin: v.Coin, BroadcastID: st.BroadcastID}
		err := r.Scan(&o.ID, &o.Type, &o.Account, &o.Address, &o.Amount, &o.State)
		return o, err
	})
	if err != nil {
		return st, fmt.Errorf("list sends: %w", err)
	}
	return st, nil
}
