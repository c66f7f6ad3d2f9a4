package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/walletgate/walletgate"
)

// Reason texts of the ElectrumSV reference server, carried as the Message of
// the application errors so the HTTP layer can answer with them verbatim.
const (
	reasonLocked               = "10001: Channel is locked. Write failed."
	reasonSequencing           = "10002: Sequencing failure. This channel still has unread messages. Write failed."
	reasonSeqNotFound          = "10014: Sequence number not found."
	reasonNoMetadata           = "10015: Message metadata not found."
	reasonRetention            = "10017: Retention period has not yet expired."
	reasonFiltersRegistered    = "10024: some pushdata hashes already registered"
	reasonFiltersNotRegistered = "10025: some pushdata hashes are not registered"
)

func notFound(err error, format string, args ...any) error {
	return walletgate.WrapError(walletgate.ENotFound, err, format, args...)
}

// toMicros drops what PostgreSQL cannot keep, so returned values equal
// stored ones.
func toMicros(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// --- accounts -----------------------------------------------------------

const accountCols = `account_id, flags, public_key_bytes, api_key, tip_filter_callback_url, tip_filter_callback_token`

func scanAccount(r pgx.Row) (walletgate.Account, error) {
	var a walletgate.Account
	var flags int64
	if err := r.Scan(&a.ID, &flags, &a.PublicKey, &a.APIKey, &a.TipFilterCallbackURL, &a.TipFilterCallbackToken); err != nil {
		return walletgate.Account{}, err
	}
	a.Flags = uint32(flags)
	return a, nil
}

// CreateAccount implements walletgate.ChannelStore.
func (s *Store) CreateAccount(ctx context.Context, publicKey []byte, apiKey string) (walletgate.Account, error) {
	if len(publicKey) == 0 || apiKey == "" {
		return walletgate.Account{}, walletgate.Errorf(walletgate.EInvalid, "create account: public key and api key are required")
	}
	// ON CONFLICT makes concurrent registrations of one key agree on one row.
	a, err := scanAccount(s.pool.QueryRow(ctx, `INSERT INTO accounts (public_key_bytes, api_key) VALUES ($1, $2)
		ON CONFLICT (public_key_bytes) DO NOTHING RETURNING `+accountCols, publicKey, apiKey))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.AccountByPublicKey(ctx, publicKey)
	}
	if pgCode(err) == pgUniqueViolation {
		return walletgate.Account{}, walletgate.WrapError(walletgate.EConflict, err, "create account: api key already in use")
	}
	if err != nil {
		return walletgate.Account{}, fmt.Errorf("postgres: create account %x: %w", publicKey, err)
	}
	return a, nil
}

// AccountByAPIKey implements walletgate.ChannelStore.
func (s *Store) AccountByAPIKey(ctx context.Context, apiKey string) (walletgate.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE api_key = $1`, apiKey))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, notFound(err, "account not found for api key")
	}
	if err != nil {
		return a, fmt.Errorf("postgres: account by api key: %w", err)
	}
	return a, nil
}

// AccountByID implements walletgate.ChannelStore.
func (s *Store) AccountByID(ctx context.Context, accountID int64) (walletgate.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE account_id = $1`, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, notFound(err, "account %d not found", accountID)
	}
	if err != nil {
		return a, fmt.Errorf("postgres: account %d: %w", accountID, err)
	}
	return a, nil
}

// AccountByPublicKey implements walletgate.ChannelStore.
func (s *Store) AccountByPublicKey(ctx context.Context, publicKey []byte) (walletgate.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE public_key_bytes = $1`, publicKey))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, notFound(err, "account not found for public key %x", publicKey)
	}
	if err != nil {
		return a, fmt.Errorf("postgres: account by public key %x: %w", publicKey, err)
	}
	return a, nil
}

// execOne runs a statement that must touch a row, else ENotFound.
func execOne(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, what, query string, args ...any) error {
	tag, err := q.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return walletgate.Errorf(walletgate.ENotFound, "%s: not found", what)
	}
	return nil
}

// SetAccountFlags implements walletgate.ChannelStore.
func (s *Store) SetAccountFlags(ctx context.Context, accountID int64, flags uint32) error {
	return execOne(ctx, s.pool, fmt.Sprintf("set flags of account %d", accountID),
		`UPDATE accounts SET flags = $1 WHERE account_id = $2`, int64(flags), accountID)
}

// SetTipFilterCallback implements walletgate.ChannelStore.
func (s *Store) SetTipFilterCallback(ctx context.Context, accountID int64, url, token *string) error {
	return execOne(ctx, s.pool, fmt.Sprintf("set tip filter callback of account %d", accountID),
		`UPDATE accounts SET tip_filter_callback_url = $1, tip_filter_callback_token = $2,
			tip_filter_update_count = tip_filter_update_count + 1 WHERE account_id = $3`, url, token, accountID)
}

// --- channels -----------------------------------------------------------

const channelCols = `id, account_id, externalid, publicread, publicwrite, locked, sequenced,
	minagedays, maxagedays, autoprune, head_seq`

func scanChannel(r pgx.Row) (walletgate.Channel, error) {
	var c walletgate.Channel
	err := r.Scan(&c.ID, &c.AccountID, &c.ExternalID, &c.PublicRead, &c.PublicWrite, &c.Locked, &c.Sequenced,
		&c.Retention.MinAgeDays, &c.Retention.MaxAgeDays, &c.Retention.AutoPrune, &c.HeadSequence)
	return c, err
}

const tokenCols = `id, account_id, msg_box_id, token, description, flags, validfrom, validto`

func scanToken(r pgx.Row) (walletgate.Token, error) {
	var t walletgate.Token
	var flags int64
	if err := r.Scan(&t.ID, &t.AccountID, &t.ChannelID, &t.Value, &t.Description, &flags, &t.ValidFrom, &t.ValidTo); err != nil {
		return walletgate.Token{}, err
	}
	t.Flags = uint32(flags)
	t.ValidFrom = t.ValidFrom.UTC()
	if t.ValidTo != nil {
		v := t.ValidTo.UTC()
		t.ValidTo = &v
	}
	return t, nil
}

func scanTokens(rows pgx.Rows) ([]walletgate.Token, error) {
	defer rows.Close()
	var out []walletgate.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// insertToken stores t (ChannelID and AccountID set) and returns it with
// its id.
func insertToken(ctx context.Context, tx pgx.Tx, t walletgate.Token) (walletgate.Token, error) {
	if t.Value == "" {
		return t, walletgate.Errorf(walletgate.EInvalid, "token value is required")
	}
	if t.ValidFrom.IsZero() {
		t.ValidFrom = time.Now()
	}
	t.ValidFrom = toMicros(t.ValidFrom)
	if t.ValidTo != nil {
		v := toMicros(*t.ValidTo)
		t.ValidTo = &v
	}
	err := tx.QueryRow(ctx, `INSERT INTO msg_box_api_token (account_id, msg_box_id, token, description, flags, validfrom, validto)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.AccountID, t.ChannelID, t.Value, t.Description, int64(t.Flags), t.ValidFrom, t.ValidTo).Scan(&t.ID)
	if pgCode(err) == pgUniqueViolation {
		return t, walletgate.WrapError(walletgate.EConflict, err, "token value already in use")
	}
	if err != nil {
		return t, fmt.Errorf("insert token for channel %d: %w", t.ChannelID, err)
	}
	return t, nil
}

// CreateChannel implements walletgate.ChannelStore.
func (s *Store) CreateChannel(ctx context.Context, ch walletgate.Channel, owner walletgate.Token) (walletgate.Channel, error) {
	if ch.ExternalID == "" {
		return ch, walletgate.Errorf(walletgate.EInvalid, "create channel: external id is required")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO msg_box (account_id, externalid, publicread, publicwrite, locked, sequenced,
				minagedays, maxagedays, autoprune) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			ch.AccountID, ch.ExternalID, ch.PublicRead, ch.PublicWrite, ch.Locked, ch.Sequenced,
			ch.Retention.MinAgeDays, ch.Retention.MaxAgeDays, ch.Retention.AutoPrune).Scan(&ch.ID)
		switch pgCode(err) {
		case "":
		case pgUniqueViolation:
			return walletgate.WrapError(walletgate.EConflict, err, "channel id already in use")
		case pgForeignKeyViolation:
			return notFound(err, "account %d not found", ch.AccountID)
		}
		if err != nil {
			return fmt.Errorf("insert channel for account %d: %w", ch.AccountID, err)
		}
		owner.ChannelID = ch.ID
		if owner.AccountID == 0 {
			owner.AccountID = ch.AccountID
		}
		if owner, err = insertToken(ctx, tx, owner); err != nil {
			return err
		}
		ch.HeadSequence = 0
		ch.Tokens = []walletgate.Token{owner}
		return nil
	})
	if err != nil {
		return walletgate.Channel{}, fmt.Errorf("postgres: create channel: %w", err)
	}
	return ch, nil
}

// ChannelByExternalID implements walletgate.ChannelStore.
func (s *Store) ChannelByExternalID(ctx context.Context, externalID string) (walletgate.Channel, error) {
	var c walletgate.Channel
	// REPEATABLE READ: the channel row and its tokens from one snapshot.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		c, err = scanChannel(tx.QueryRow(ctx, `SELECT `+channelCols+` FROM msg_box WHERE externalid = $1`, externalID))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(err, "channel not found")
		}
		if err != nil {
			return fmt.Errorf("postgres: channel %q: %w", externalID, err)
		}
		rows, err := tx.Query(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token WHERE msg_box_id = $1 ORDER BY id`, c.ID)
		if err != nil {
			return fmt.Errorf("postgres: tokens of channel %d: %w", c.ID, err)
		}
		if c.Tokens, err = scanTokens(rows); err != nil {
			return fmt.Errorf("postgres: tokens of channel %d: %w", c.ID, err)
		}
		return nil
	})
	return c, err
}

// ListChannels implements walletgate.ChannelStore.
func (s *Store) ListChannels(ctx context.Context, accountID int64) ([]walletgate.Channel, error) {
	out := []walletgate.Channel{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+channelCols+` FROM msg_box WHERE account_id = $1 ORDER BY id`, accountID)
		if err != nil {
			return fmt.Errorf("postgres: channels of account %d: %w", accountID, err)
		}
		index := map[int64]int{}
		for rows.Next() {
			c, err := scanChannel(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("postgres: channels of account %d: %w", accountID, err)
			}
			index[c.ID] = len(out)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: channels of account %d: %w", accountID, err)
		}
		trows, err := tx.Query(ctx, `SELECT t.id, t.account_id, t.msg_box_id, t.token, t.description, t.flags, t.validfrom, t.validto
			FROM msg_box_api_token t JOIN msg_box b ON b.id = t.msg_box_id WHERE b.account_id = $1 ORDER BY t.id`, accountID)
		if err != nil {
			return fmt.Errorf("postgres: tokens of account %d: %w", accountID, err)
		}
		toks, err := scanTokens(trows)
		if err != nil {
			return fmt.Errorf("postgres: tokens of account %d: %w", accountID, err)
		}
		for _, t := range toks {
			if i, ok := index[t.ChannelID]; ok {
				out[i].Tokens = append(out[i].Tokens, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AmendChannel implements walletgate.ChannelStore.
func (s *Store) AmendChannel(ctx context.Context, channelID int64, publicRead, publicWrite, locked bool) error {
	return execOne(ctx, s.pool, fmt.Sprintf("amend channel %d", channelID),
		`UPDATE msg_box SET publicread = $1, publicwrite = $2, locked = $3 WHERE id = $4`,
		publicRead, publicWrite, locked, channelID)
}

// DeleteChannel implements walletgate.ChannelStore.
func (s *Store) DeleteChannel(ctx context.Context, channelID int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock first so no write or new token slips in between the deletes.
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM msg_box WHERE id = $1 FOR UPDATE`, channelID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(err, "delete channel %d: not found", channelID)
		}
		if err != nil {
			return fmt.Errorf("postgres: delete channel %d: %w", channelID, err)
		}
		for _, q := range []string{
			`DELETE FROM message_status WHERE token_id IN (SELECT id FROM msg_box_api_token WHERE msg_box_id = $1)`,
			`DELETE FROM message WHERE msg_box_id = $1`,
			`DELETE FROM msg_box_api_token WHERE msg_box_id = $1`,
			`DELETE FROM msg_box WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, channelID); err != nil {
				return fmt.Errorf("postgres: delete channel %d: %w", channelID, err)
			}
		}
		return nil
	})
}

// --- tokens -------------------------------------------------------------

// CreateToken implements walletgate.ChannelStore.
func (s *Store) CreateToken(ctx context.Context, t walletgate.Token) (walletgate.Token, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// FOR SHARE conflicts with a writer's FOR NO KEY UPDATE: no message
		// can commit between the backfill and the token becoming visible.
		err := tx.QueryRow(ctx, `SELECT account_id FROM msg_box WHERE id = $1 FOR SHARE`, t.ChannelID).Scan(&t.AccountID)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(err, "channel %d not found", t.ChannelID)
		}
		if err != nil {
			return fmt.Errorf("look up channel %d: %w", t.ChannelID, err)
		}
		if t, err = insertToken(ctx, tx, t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO message_status (token_id, message_id, isread, isdeleted)
			SELECT $1, id, false, false FROM message WHERE msg_box_id = $2`, t.ID, t.ChannelID); err != nil {
			return fmt.Errorf("backfill token %d of channel %d: %w", t.ID, t.ChannelID, err)
		}
		return nil
	})
	if err != nil {
		return walletgate.Token{}, fmt.Errorf("postgres: create token: %w", err)
	}
	return t, nil
}

// TokenByValue implements walletgate.ChannelStore.
func (s *Store) TokenByValue(ctx context.Context, value string) (walletgate.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token WHERE token = $1`, value))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound(err, "token not found")
	}
	if err != nil {
		return t, fmt.Errorf("postgres: token by value: %w", err)
	}
	return t, nil
}

// TokenByID implements walletgate.ChannelStore.
func (s *Store) TokenByID(ctx context.Context, tokenID int64) (walletgate.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token WHERE id = $1`, tokenID))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound(err, "token %d not found", tokenID)
	}
	if err != nil {
		return t, fmt.Errorf("postgres: token %d: %w", tokenID, err)
	}
	return t, nil
}

// activeCutoff is the earliest ValidTo still active at now
// (walletgate.Token.ActiveAt): a token revoked during second S works
// throughout S.
func activeCutoff(now time.Time) time.Time { return now.Truncate(time.Second) }

// ActiveTokens implements walletgate.ChannelStore.
func (s *Store) ActiveTokens(ctx context.Context, channelID int64, now time.Time) ([]walletgate.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token
		WHERE msg_box_id = $1 AND (validto IS NULL OR validto >= $2) ORDER BY id`, channelID, activeCutoff(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: active tokens of channel %d: %w", channelID, err)
	}
	toks, err := scanTokens(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: active tokens of channel %d: %w", channelID, err)
	}
	return toks, nil
}

// RevokeToken implements walletgate.ChannelStore.
func (s *Store) RevokeToken(ctx context.Context, tokenID int64, at time.Time) error {
	return execOne(ctx, s.pool, fmt.Sprintf("revoke token %d", tokenID),
		`UPDATE msg_box_api_token SET validto = coalesce(validto, $1) WHERE id = $2`, toMicros(at), tokenID)
}
