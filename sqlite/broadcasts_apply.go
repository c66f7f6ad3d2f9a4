package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"
)

// ApplyBroadcastTx implements walletgate.BroadcastStore: it reads the
// broadcast's state, lets walletgate.PlanBroadcastTx decide, and writes
// the confirmations and the outbox rows in one write operation.
func (s *Store) ApplyBroadcastTx(ctx context.Context, coin string, tx walletgate.WalletTx, maxConf int64, now time.Time) ([]walletgate.TxUpdate, error) {
	if err := walletgate.ValidateApplyTx(coin, tx, 1, maxConf); err != nil {
		return nil, err
	}
	v := walletgate.TxView{Coin: coin, Tx: tx, Asked: now, MaxConf: maxConf}
	var events []walletgate.TxUpdate
	err := s.write(ctx, func(x *wtx) error {
		events = nil
		st, err := readBroadcastTxState(x, v)
		if err != nil {
			return err
		}
		u := walletgate.PlanBroadcastTx(st, v)
		if !u.Apply {
			return nil
		}
		n := micros(now)
		if _, err := x.exec(`UPDATE network_txs SET confirmations = ?, updated_at = ? WHERE id = ?`, u.Confirmations, n, st.Tx.ID); err != nil {
			return fmt.Errorf("update network tx: %w", err)
		}
		if _, err := x.exec(`UPDATE outgoing_txs SET confirmations = ?, updated_at = ? WHERE broadcast_id = ?`, u.Confirmations, n, st.BroadcastID); err != nil {
			return fmt.Errorf("update sends: %w", err)
		}
		if err := queueEvents(x, u.Events, n); err != nil {
			return err
		}
		events = u.Events
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: apply %s broadcast tx %s: %w", coin, tx.TxID, err)
	}
	return events, nil
}

// readBroadcastTxState reads what PlanBroadcastTx needs; a txid that is
// not a tracked broadcast is ENotFound.
func readBroadcastTxState(x *wtx, v walletgate.TxView) (walletgate.BroadcastTxState, error) {
	st := walletgate.BroadcastTxState{Tx: walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{Coin: v.Coin, Type: walletgate.TxTypeBroadcast, TxID: v.Tx.TxID}}}
	var asked int64
	err := x.queryRow(`SELECT n.id, n.confirmations, COALESCE(b.id, 0), n.updated_at FROM network_txs n LEFT JOIN broadcasts b ON b.ntx_id = n.id
		WHERE n.coin = ? AND n.type = 'broadcast' AND n.txid = ?`, v.Coin, v.Tx.TxID).Scan(&st.Tx.ID, &st.Tx.Confirmations, &st.BroadcastID, &asked)
	if errors.Is(err, sql.ErrNoRows) {
		return st, walletgate.Errorf(walletgate.ENotFound, "broadcast transaction %s of %s is not tracked", v.Tx.TxID, v.Coin)
	}
	if err != nil {
		return st, fmt.Errorf("look up network tx: %w", err)
	}
	st.Tx.Asked = time.UnixMicro(asked)
	rows, err := x.query(`SELECT id, type, account, address, amount, state FROM outgoing_txs WHERE broadcast_id = ? ORDER BY id`, st.BroadcastID)
	if err != nil {
		return st, fmt.Errorf("list sends: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o := walletgate.OutgoingTx{Coin: v.Coin, BroadcastID: st.BroadcastID}
		if err := rows.Scan(&o.ID, &o.Type, &o.Account, &o.Address, &o.Amount, &o.State); err != nil {
			return st, fmt.Errorf("scan send: %w", err)
		}
		st.Rows = append(st.Rows, o)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("list sends: %w", err)
	}
	return st, nil
}
