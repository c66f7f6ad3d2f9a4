package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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

// isConstraint reports whether err is the SQLite constraint failure code
// (an extended result code such as SQLITE_CONSTRAINT_UNIQUE).
func isConstraint(err error, code int) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code() == code
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func isForeignKey(err error) bool { return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) }

func isUnique(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) || isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

func nullString(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

func ptrInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	x := v.Int64
	return &x
}

func ptrString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	x := v.String
	return &x
}

// notFound reports "what id" not found, keeping err for logs.
func notFound(err error, format string, args ...any) error {
	return walletgate.WrapError(walletgate.ENotFound, err, format, args...)
}

// --- accounts -----------------------------------------------------------

const accountCols = `account_id, flags, public_key_bytes, api_key, tip_filter_callback_url, tip_filter_callback_token`

type rowScanner interface{ Scan(dest ...any) error }

func scanAccount(r rowScanner) (walletgate.Account, error) {
	var a walletgate.Account
	var flags int64
	var url, tok sql.NullString
	if err := r.Scan(&a.ID, &flags, &a.PublicKey, &a.APIKey, &url, &tok); err != nil {
		return a, err
	}
	a.Flags = uint32(flags)
	a.TipFilterCallbackURL = ptrString(url)
	a.TipFilterCallbackToken = ptrString(tok)
	return a, nil
}

// CreateAccount implements walletgate.ChannelStore.
func (s *Store) CreateAccount(ctx context.Context, publicKey []byte, apiKey string) (walletgate.Account, error) {
	if len(publicKey) == 0 || apiKey == "" {
		return walletgate.Account{}, walletgate.Errorf(walletgate.EInvalid, "create account: public key and api key are required")
	}
	var a walletgate.Account
	err := s.write(ctx, func(w *wtx) error {
		var err error
		a, err = scanAccount(w.queryRow(`SELECT `+accountCols+` FROM accounts WHERE public_key_bytes = ?`, publicKey))
		if err == nil {
			return nil // registration is idempotent per key
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up account by public key %x: %w", publicKey, err)
		}
		res, err := w.exec(`INSERT INTO accounts (flags, public_key_bytes, api_key) VALUES (0, ?, ?)`, publicKey, apiKey)
		if isUnique(err) {
			return walletgate.WrapError(walletgate.EConflict, err, "create account: api key already in use")
		}
		if err != nil {
			return fmt.Errorf("insert account %x: %w", publicKey, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("insert account %x: %w", publicKey, err)
		}
		a = walletgate.Account{ID: id, PublicKey: append([]byte(nil), publicKey...), APIKey: apiKey}
		return nil
	})
	if err != nil {
		return walletgate.Account{}, fmt.Errorf("sqlite: create account: %w", err)
	}
	return a, nil
}

// AccountByAPIKey implements walletgate.ChannelStore.
func (s *Store) AccountByAPIKey(ctx context.Context, apiKey string) (walletgate.Account, error) {
	a, err := scanAccount(s.read.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE api_key = ?`, apiKey))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound(err, "account not found for api key")
	}
	if err != nil {
		return a, fmt.Errorf("sqlite: account by api key: %w", err)
	}
	return a, nil
}

// AccountByID implements walletgate.ChannelStore.
func (s *Store) AccountByID(ctx context.Context, accountID int64) (walletgate.Account, error) {
	a, err := scanAccount(s.read.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE account_id = ?`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound(err, "account %d not found", accountID)
	}
	if err != nil {
		return a, fmt.Errorf("sqlite: account %d: %w", accountID, err)
	}
	return a, nil
}

// AccountByPublicKey implements walletgate.ChannelStore.
func (s *Store) AccountByPublicKey(ctx context.Context, publicKey []byte) (walletgate.Account, error) {
	a, err := scanAccount(s.read.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE public_key_bytes = ?`, publicKey))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound(err, "account not found for public key %x", publicKey)
	}
	if err != nil {
		return a, fmt.Errorf("sqlite: account by public key %x: %w", publicKey, err)
	}
	return a, nil
}

// updateOne runs an UPDATE/DELETE that must touch a row, else ENotFound.
func updateOne(w *wtx, what string, query string, args ...any) error {
	res, err := w.exec(query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return walletgate.Errorf(walletgate.ENotFound, "%s: not found", what)
	}
	return nil
}

// SetAccountFlags implements walletgate.ChannelStore.
func (s *Store) SetAccountFlags(ctx context.Context, accountID int64, flags uint32) error {
	return s.write(ctx, func(w *wtx) error {
		return updateOne(w, fmt.Sprintf("sqlite: set flags of account %d", accountID),
			`UPDATE accounts SET flags = ? WHERE account_id = ?`, int64(flags), accountID)
	})
}

// SetTipFilterCallback implements walletgate.ChannelStore.
func (s *Store) SetTipFilterCallback(ctx context.Context, accountID int64, url, token *string) error {
	return s.write(ctx, func(w *wtx) error {
		return updateOne(w, fmt.Sprintf("sqlite: set tip filter callback of account %d", accountID),
			`UPDATE accounts SET tip_filter_callback_url = ?, tip_filter_callback_token = ?,
				tip_filter_update_count = tip_filter_update_count + 1 WHERE account_id = ?`,
			nullString(url), nullString(token), accountID)
	})
}

// --- channels -----------------------------------------------------------

const channelCols = `id, account_id, externalid, publicread, publicwrite, locked, sequenced,
	minagedays, maxagedays, autoprune, head_seq`

func scanChannel(r rowScanner) (walletgate.Channel, error) {
	var c walletgate.Channel
	var pr, pw, locked, seq, auto int64
	var minAge, maxAge sql.NullInt64
	if err := r.Scan(&c.ID, &c.AccountID, &c.ExternalID, &pr, &pw, &locked, &seq, &minAge, &maxAge, &auto, &c.HeadSequence); err != nil {
		return c, err
	}
	c.PublicRead, c.PublicWrite, c.Locked, c.Sequenced = pr != 0, pw != 0, locked != 0, seq != 0
	c.Retention = walletgate.Retention{MinAgeDays: ptrInt(minAge), MaxAgeDays: ptrInt(maxAge), AutoPrune: auto != 0}
	return c, nil
}

const tokenCols = `id, account_id, msg_box_id, token, description, flags, validfrom, validto`

func scanToken(r rowScanner) (walletgate.Token, error) {
	var t walletgate.Token
	var flags, from int64
	var to sql.NullInt64
	if err := r.Scan(&t.ID, &t.AccountID, &t.ChannelID, &t.Value, &t.Description, &flags, &from, &to); err != nil {
		return t, err
	}
	t.Flags = uint32(flags)
	t.ValidFrom = fromMicros(from)
	if to.Valid {
		v := fromMicros(to.Int64)
		t.ValidTo = &v
	}
	return t, nil
}

func scanTokens(rows *sql.Rows) ([]walletgate.Token, error) {
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

// insertToken stores t (ChannelID and AccountID already set) and returns it
// with its id.
func insertToken(w *wtx, t walletgate.Token) (walletgate.Token, error) {
	if t.Value == "" {
		return t, walletgate.Errorf(walletgate.EInvalid, "token value is required")
	}
	if t.ValidFrom.IsZero() {
		t.ValidFrom = time.Now()
	}
	t.ValidFrom = fromMicros(micros(t.ValidFrom))
	var to sql.NullInt64
	if t.ValidTo != nil {
		v := fromMicros(micros(*t.ValidTo))
		t.ValidTo = &v
		to = sql.NullInt64{Int64: micros(v), Valid: true}
	}
	res, err := w.exec(`INSERT INTO msg_box_api_token (account_id, msg_box_id, token, description, flags, validfrom, validto)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.AccountID, t.ChannelID, t.Value, t.Description, int64(t.Flags), micros(t.ValidFrom), to)
	if isUnique(err) {
		return t, walletgate.WrapError(walletgate.EConflict, err, "token value already in use")
	}
	if err != nil {
		return t, fmt.Errorf("insert token for channel %d: %w", t.ChannelID, err)
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return t, fmt.Errorf("insert token for channel %d: %w", t.ChannelID, err)
	}
	return t, nil
}

// CreateChannel implements walletgate.ChannelStore.
func (s *Store) CreateChannel(ctx context.Context, ch walletgate.Channel, owner walletgate.Token) (walletgate.Channel, error) {
	if ch.ExternalID == "" {
		return ch, walletgate.Errorf(walletgate.EInvalid, "create channel: external id is required")
	}
	err := s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM accounts WHERE account_id = ?`, ch.AccountID).Scan(&n); err != nil {
			return fmt.Errorf("look up account %d: %w", ch.AccountID, err)
		}
		if n == 0 {
			return walletgate.Errorf(walletgate.ENotFound, "account %d not found", ch.AccountID)
		}
		res, err := w.exec(`INSERT INTO msg_box (account_id, externalid, publicread, publicwrite, locked, sequenced,
				minagedays, maxagedays, autoprune, head_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			ch.AccountID, ch.ExternalID, boolInt(ch.PublicRead), boolInt(ch.PublicWrite), boolInt(ch.Locked),
			boolInt(ch.Sequenced), nullInt(ch.Retention.MinAgeDays), nullInt(ch.Retention.MaxAgeDays), boolInt(ch.Retention.AutoPrune))
		if isUnique(err) {
			return walletgate.WrapError(walletgate.EConflict, err, "channel id already in use")
		}
		if err != nil {
			return fmt.Errorf("insert channel for account %d: %w", ch.AccountID, err)
		}
		if ch.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("insert channel for account %d: %w", ch.AccountID, err)
		}
		owner.ChannelID = ch.ID
		if owner.AccountID == 0 {
			owner.AccountID = ch.AccountID
		}
		owner, err = insertToken(w, owner)
		if err != nil {
			return err
		}
		ch.HeadSequence = 0
		ch.Tokens = []walletgate.Token{owner}
		return nil
	})
	if err != nil {
		return walletgate.Channel{}, fmt.Errorf("sqlite: create channel: %w", err)
	}
	return ch, nil
}

// ChannelByExternalID implements walletgate.ChannelStore.
func (s *Store) ChannelByExternalID(ctx context.Context, externalID string) (walletgate.Channel, error) {
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return walletgate.Channel{}, fmt.Errorf("sqlite: channel %q: begin: %w", externalID, err)
	}
	defer tx.Rollback()
	c, err := scanChannel(tx.QueryRowContext(ctx, `SELECT `+channelCols+` FROM msg_box WHERE externalid = ?`, externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound(err, "channel not found")
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: channel %q: %w", externalID, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token WHERE msg_box_id = ? ORDER BY id`, c.ID)
	if err != nil {
		return c, fmt.Errorf("sqlite: tokens of channel %d: %w", c.ID, err)
	}
	if c.Tokens, err = scanTokens(rows); err != nil {
		return c, fmt.Errorf("sqlite: tokens of channel %d: %w", c.ID, err)
	}
	return c, nil
}

// ListChannels implements walletgate.ChannelStore.
func (s *Store) ListChannels(ctx context.Context, accountID int64) ([]walletgate.Channel, error) {
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: channels of account %d: begin: %w", accountID, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+channelCols+` FROM msg_box WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: channels of account %d: %w", accountID, err)
	}
	out := []walletgate.Channel{}
	index := map[int64]int{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: channels of account %d: %w", accountID, err)
		}
		index[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: channels of account %d: %w", accountID, err)
	}
	trows, err := tx.QueryContext(ctx, `SELECT t.id, t.account_id, t.msg_box_id, t.token, t.description, t.flags, t.validfrom, t.validto
		FROM msg_box_api_token t JOIN msg_box b ON b.id = t.msg_box_id WHERE b.account_id = ? ORDER BY t.id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens of account %d: %w", accountID, err)
	}
	toks, err := scanTokens(trows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens of account %d: %w", accountID, err)
	}
	for _, t := range toks {
		if i, ok := index[t.ChannelID]; ok {
			out[i].Tokens = append(out[i].Tokens, t)
		}
	}
	return out, nil
}

// AmendChannel implements walletgate.ChannelStore.
func (s *Store) AmendChannel(ctx context.Context, channelID int64, publicRead, publicWrite, locked bool) error {
	return s.write(ctx, func(w *wtx) error {
		return updateOne(w, fmt.Sprintf("sqlite: amend channel %d", channelID),
			`UPDATE msg_box SET publicread = ?, publicwrite = ?, locked = ? WHERE id = ?`,
			boolInt(publicRead), boolInt(publicWrite), boolInt(locked), channelID)
	})
}

// DeleteChannel implements walletgate.ChannelStore.
func (s *Store) DeleteChannel(ctx context.Context, channelID int64) error {
	return s.write(ctx, func(w *wtx) error {
		for _, q := range []string{
			`DELETE FROM message_status WHERE token_id IN (SELECT id FROM msg_box_api_token WHERE msg_box_id = ?)`,
			`DELETE FROM message WHERE msg_box_id = ?`,
			`DELETE FROM msg_box_api_token WHERE msg_box_id = ?`,
		} {
			if _, err := w.exec(q, channelID); err != nil {
				return fmt.Errorf("sqlite: delete channel %d: %w", channelID, err)
			}
		}
		return updateOne(w, fmt.Sprintf("sqlite: delete channel %d", channelID), `DELETE FROM msg_box WHERE id = ?`, channelID)
	})
}

// --- tokens -------------------------------------------------------------

// CreateToken implements walletgate.ChannelStore.
func (s *Store) CreateToken(ctx context.Context, t walletgate.Token) (walletgate.Token, error) {
	err := s.write(ctx, func(w *wtx) error {
		if err := w.queryRow(`SELECT account_id FROM msg_box WHERE id = ?`, t.ChannelID).Scan(&t.AccountID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return notFound(err, "channel %d not found", t.ChannelID)
			}
			return fmt.Errorf("look up channel %d: %w", t.ChannelID, err)
		}
		var err error
		if t, err = insertToken(w, t); err != nil {
			return err
		}
		// Backfill: the new token sees the channel's whole history, unread.
		if _, err := w.exec(`INSERT INTO message_status (token_id, message_id, isread, isdeleted)
			SELECT ?, id, 0, 0 FROM message WHERE msg_box_id = ?`, t.ID, t.ChannelID); err != nil {
			return fmt.Errorf("backfill token %d of channel %d: %w", t.ID, t.ChannelID, err)
		}
		return nil
	})
	if err != nil {
		return walletgate.Token{}, fmt.Errorf("sqlite: create token: %w", err)
	}
	return t, nil
}

// TokenByValue implements walletgate.ChannelStore.
func (s *Store) TokenByValue(ctx context.Context, value string) (walletgate.Token, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token WHERE token = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound(err, "token not found")
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: token by value: %w", err)
	}
	return t, nil
}

// TokenByID implements walletgate.ChannelStore.
func (s *Store) TokenByID(ctx context.Context, tokenID int64) (walletgate.Token, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token WHERE id = ?`, tokenID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound(err, "token %d not found", tokenID)
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: token %d: %w", tokenID, err)
	}
	return t, nil
}

// ActiveTokens implements walletgate.ChannelStore.
func (s *Store) ActiveTokens(ctx context.Context, channelID int64, now time.Time) ([]walletgate.Token, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenCols+` FROM msg_box_api_token
		WHERE msg_box_id = ? AND (validto IS NULL OR validto >= ?) ORDER BY id`, channelID, activeCutoff(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: active tokens of channel %d: %w", channelID, err)
	}
	toks, err := scanTokens(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: active tokens of channel %d: %w", channelID, err)
	}
	return toks, nil
}

// activeCutoff is the earliest ValidTo still active at now
// (walletgate.Token.ActiveAt): a token revoked during second S works
// throughout S.
func activeCutoff(now time.Time) int64 { return micros(now.Truncate(time.Second)) }

// RevokeToken implements walletgate.ChannelStore.
func (s *Store) RevokeToken(ctx context.Context, tokenID int64, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		return updateOne(w, fmt.Sprintf("sqlite: revoke token %d", tokenID),
			`UPDATE msg_box_api_token SET validto = coalesce(validto, ?) WHERE id = ?`, micros(at), tokenID)
	})
}
