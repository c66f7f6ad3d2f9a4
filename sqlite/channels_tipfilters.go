package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"
)

// AddTipFilters implements walletgate.ChannelStore.
func (s *Store) AddTipFilters(ctx context.Context, accountID int64, filters []walletgate.TipFilter) error {
	return s.write(ctx, func(w *wtx) error {
		for _, f := range filters {
			created := f.DateCreated.Unix()
			_, err := w.exec(`INSERT INTO indexer_filtering_registrations_pushdata
				(account_id, pushdata_hash, flags, date_created, duration_seconds, date_expires) VALUES (?, ?, ?, ?, ?, ?)`,
				accountID, f.PushDataHash[:], int64(f.Flags), created, int64(f.DurationSecs), created+int64(f.DurationSecs))
			if isUnique(err) {
				return walletgate.WrapError(walletgate.EConflict, err, reasonFiltersRegistered)
			}
			if isForeignKey(err) {
				return walletgate.WrapError(walletgate.ENotFound, err, "account %d not found", accountID)
			}
			if err != nil {
				return fmt.Errorf("sqlite: add tip filter %x for account %d: %w", f.PushDataHash, accountID, err)
			}
		}
		return nil
	})
}

// requireTipFilters checks that every hash is registered for the account
// and that its flags satisfy ok; else 10025.
func requireTipFilters(w *wtx, accountID int64, hashes [][32]byte, ok func(flags uint32) bool) error {
	for _, h := range hashes {
		var flags int64
		err := w.queryRow(`SELECT flags FROM indexer_filtering_registrations_pushdata
			WHERE account_id = ? AND pushdata_hash = ?`, accountID, h[:]).Scan(&flags)
		if err != nil || !ok(uint32(flags)) {
			if err != nil && !isNoRows(err) {
				return fmt.Errorf("sqlite: look up tip filter %x of account %d: %w", h, accountID, err)
			}
			return walletgate.WrapError(walletgate.EInvalid, err, reasonFiltersNotRegistered)
		}
	}
	return nil
}

// updateTipFilters applies query (taking flags-changing args, then
// account and hash) to every hash.
func updateTipFilters(w *wtx, accountID int64, hashes [][32]byte, query string) error {
	for _, h := range hashes {
		if _, err := w.exec(query, accountID, h[:]); err != nil {
			return fmt.Errorf("sqlite: update tip filter %x of account %d: %w", h, accountID, err)
		}
	}
	return nil
}

func anyFlags(uint32) bool { return true }

// FinaliseTipFilters implements walletgate.ChannelStore.
func (s *Store) FinaliseTipFilters(ctx context.Context, accountID int64, hashes [][32]byte) error {
	return s.write(ctx, func(w *wtx) error {
		if err := requireTipFilters(w, accountID, hashes, anyFlags); err != nil {
			return err
		}
		return updateTipFilters(w, accountID, hashes, `UPDATE indexer_filtering_registrations_pushdata
			SET flags = flags | 1 WHERE account_id = ? AND pushdata_hash = ?`)
	})
}

// MarkTipFiltersDeleting implements walletgate.ChannelStore.
func (s *Store) MarkTipFiltersDeleting(ctx context.Context, accountID int64, hashes [][32]byte, deleting bool) error {
	return s.write(ctx, func(w *wtx) error {
		if !deleting {
			if err := requireTipFilters(w, accountID, hashes, anyFlags); err != nil {
				return err
			}
			return updateTipFilters(w, accountID, hashes, `UPDATE indexer_filtering_registrations_pushdata
				SET flags = flags & ~2 WHERE account_id = ? AND pushdata_hash = ?`)
		}
		settled := func(f uint32) bool {
			return f&walletgate.TipFilterFinalised != 0 && f&walletgate.TipFilterDeleting == 0
		}
		if err := requireTipFilters(w, accountID, hashes, settled); err != nil {
			return err
		}
		return updateTipFilters(w, accountID, hashes, `UPDATE indexer_filtering_registrations_pushdata
			SET flags = flags | 2 WHERE account_id = ? AND pushdata_hash = ?`)
	})
}

// DeleteTipFilters implements walletgate.ChannelStore.
func (s *Store) DeleteTipFilters(ctx context.Context, accountID int64, hashes [][32]byte) error {
	return s.write(ctx, func(w *wtx) error {
		if err := requireTipFilters(w, accountID, hashes, anyFlags); err != nil {
			return err
		}
		return updateTipFilters(w, accountID, hashes, `DELETE FROM indexer_filtering_registrations_pushdata
			WHERE account_id = ? AND pushdata_hash = ?`)
	})
}

// ListTipFilters implements walletgate.ChannelStore.
func (s *Store) ListTipFilters(ctx context.Context, accountID int64) ([]walletgate.TipFilter, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT pushdata_hash, flags, date_created, duration_seconds
		FROM indexer_filtering_registrations_pushdata WHERE account_id = ? AND flags & 1 != 0 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tip filters of account %d: %w", accountID, err)
	}
	defer rows.Close()
	out := []walletgate.TipFilter{}
	for rows.Next() {
		var hash []byte
		var flags, created, dur int64
		if err := rows.Scan(&hash, &flags, &created, &dur); err != nil {
			return nil, fmt.Errorf("sqlite: tip filters of account %d: %w", accountID, err)
		}
		f := walletgate.TipFilter{AccountID: accountID, Flags: uint32(flags),
			DateCreated: time.Unix(created, 0).UTC(), DurationSecs: uint32(dur)}
		if copy(f.PushDataHash[:], hash) != len(f.PushDataHash) {
			return nil, fmt.Errorf("sqlite: tip filters of account %d: stored hash has %d bytes, want 32", accountID, len(hash))
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tip filters of account %d: %w", accountID, err)
	}
	return out, nil
}

// PruneTipFilters implements walletgate.ChannelStore.
func (s *Store) PruneTipFilters(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`DELETE FROM indexer_filtering_registrations_pushdata
			WHERE date_expires < ? OR flags & 1 = 0`, now.Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune tip filters: %w", err)
	}
	return n, nil
}
