package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

func hashArgs(hashes [][32]byte) [][]byte {
	out := make([][]byte, len(hashes))
	for i := range hashes {
		out[i] = hashes[i][:]
	}
	return out
}

// AddTipFilters implements walletgate.ChannelStore.
func (s *Store) AddTipFilters(ctx context.Context, accountID int64, filters []walletgate.TipFilter) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, f := range filters {
			created := f.DateCreated.Unix()
			_, err := tx.Exec(ctx, `INSERT INTO indexer_filtering_registrations_pushdata
				(account_id, pushdata_hash, flags, date_created, duration_seconds, date_expires) VALUES ($1, $2, $3, $4, $5, $6)`,
				accountID, f.PushDataHash[:], int64(f.Flags), created, int64(f.DurationSecs), created+int64(f.DurationSecs))
			switch pgCode(err) {
			case "":
			case pgUniqueViolation:
				return walletgate.WrapError(walletgate.EConflict, err, reasonFiltersRegistered)
			case pgForeignKeyViolation:
				return notFound(err, "account %d not found", accountID)
			}
			if err != nil {
				return fmt.Errorf("postgres: add tip filter %x for account %d: %w", f.PushDataHash, accountID, err)
			}
		}
		return nil
	})
}

// changeTipFilters locks the account's rows for hashes, checks that every
// hash is registered with flags that satisfy ok (else 10025, no change), and
// then runs update with $1 = account id and $2 = the hashes.
func (s *Store) changeTipFilters(ctx context.Context, accountID int64, hashes [][32]byte, ok func(uint32) bool, update string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT pushdata_hash, flags FROM indexer_filtering_registrations_pushdata
			WHERE account_id = $1 AND pushdata_hash = ANY($2) FOR UPDATE`, accountID, hashArgs(hashes))
		if err != nil {
			return fmt.Errorf("postgres: look up tip filters of account %d: %w", accountID, err)
		}
		found := map[[32]byte]uint32{}
		for rows.Next() {
			var h []byte
			var flags int64
			if err := rows.Scan(&h, &flags); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: look up tip filters of account %d: %w", accountID, err)
			}
			if len(h) == 32 { // always: it matched one of the 32-byte arguments
				found[[32]byte(h)] = uint32(flags)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: look up tip filters of account %d: %w", accountID, err)
		}
		for _, h := range hashes {
			if f, present := found[h]; !present || !ok(f) {
				return walletgate.Errorf(walletgate.EInvalid, reasonFiltersNotRegistered)
			}
		}
		if _, err := tx.Exec(ctx, update, accountID, hashArgs(hashes)); err != nil {
			return fmt.Errorf("postgres: update tip filters of account %d: %w", accountID, err)
		}
		return nil
	})
}

func anyFlags(uint32) bool { return true }

// FinaliseTipFilters implements walletgate.ChannelStore.
func (s *Store) FinaliseTipFilters(ctx context.Context, accountID int64, hashes [][32]byte) error {
	return s.changeTipFilters(ctx, accountID, hashes, anyFlags, `UPDATE indexer_filtering_registrations_pushdata
		SET flags = flags | 1 WHERE account_id = $1 AND pushdata_hash = ANY($2)`)
}

// MarkTipFiltersDeleting implements walletgate.ChannelStore.
func (s *Store) MarkTipFiltersDeleting(ctx context.Context, accountID int64, hashes [][32]byte, deleting bool) error {
	if !deleting {
		return s.changeTipFilters(ctx, accountID, hashes, anyFlags, `UPDATE indexer_filtering_registrations_pushdata
			SET flags = flags & ~2::bigint WHERE account_id = $1 AND pushdata_hash = ANY($2)`)
	}
	settled := func(f uint32) bool {
		return f&walletgate.TipFilterFinalised != 0 && f&walletgate.TipFilterDeleting == 0
	}
	return s.changeTipFilters(ctx, accountID, hashes, settled, `UPDATE indexer_filtering_registrations_pushdata
		SET flags = flags | 2 WHERE account_id = $1 AND pushdata_hash = ANY($2)`)
}

// DeleteTipFilters implements walletgate.ChannelStore.
func (s *Store) DeleteTipFilters(ctx context.Context, accountID int64, hashes [][32]byte) error {
	return s.changeTipFilters(ctx, accountID, hashes, anyFlags, `DELETE FROM indexer_filtering_registrations_pushdata
		WHERE account_id = $1 AND pushdata_hash = ANY($2)`)
}

// ListTipFilters implements walletgate.ChannelStore.
func (s *Store) ListTipFilters(ctx context.Context, accountID int64) ([]walletgate.TipFilter, error) {
	rows, err := s.pool.Query(ctx, `SELECT pushdata_hash, flags, date_created, duration_seconds
		FROM indexer_filtering_registrations_pushdata WHERE account_id = $1 AND flags & 1 <> 0 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: tip filters of account %d: %w", accountID, err)
	}
	defer rows.Close()
	out := []walletgate.TipFilter{}
	for rows.Next() {
		var hash []byte
		var flags, created, dur int64
		if err := rows.Scan(&hash, &flags, &created, &dur); err != nil {
			return nil, fmt.Errorf("postgres: tip filters of account %d: %w", accountID, err)
		}
		if len(hash) != 32 {
			return nil, fmt.Errorf("postgres: tip filters of account %d: stored hash has %d bytes, want 32", accountID, len(hash))
		}
		out = append(out, walletgate.TipFilter{AccountID: accountID, PushDataHash: [32]byte(hash), Flags: uint32(flags),
			DateCreated: time.Unix(created, 0).UTC(), DurationSecs: uint32(dur)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: tip filters of account %d: %w", accountID, err)
	}
	return out, nil
}

// PruneTipFilters implements walletgate.ChannelStore.
func (s *Store) PruneTipFilters(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM indexer_filtering_registrations_pushdata
		WHERE date_expires < $1 OR flags & 1 = 0`, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune tip filters: %w", err)
	}
	return tag.RowsAffected(), nil
}
