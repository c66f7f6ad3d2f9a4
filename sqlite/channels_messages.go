package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/walletgate/walletgate"
)

// WriteMessage implements walletgate.ChannelStore. The writer goroutine runs
// operations one at a time, so reading head_seq and writing head_seq+1 in
// the same operation cannot race another writer: sequences are gap-free.
func (s *Store) WriteMessage(ctx context.Context, m walletgate.NewMessage) (walletgate.Message, error) {
	received := m.Received
	if received.IsZero() {
		received = time.Now()
	}
	received = received.Truncate(time.Second).UTC()
	payload := m.Payload
	if payload == nil {
		payload = []byte{} // NOT NULL column; an empty payload stays empty
	}
	var msg walletgate.Message
	err := s.write(ctx, func(w *wtx) error {
		// One statement reads the rules' inputs; the unread check uses the
		// partial index message_status_unread_idx.
		var locked, unread, head, writerChannel int64
		err := w.queryRow(`SELECT b.locked, b.head_seq, coalesce(t.msg_box_id, 0),
				b.sequenced != 0 AND EXISTS (SELECT 1 FROM message_status
					WHERE token_id = ? AND isread = 0 AND isdeleted = 0)
			FROM msg_box b LEFT JOIN msg_box_api_token t ON t.id = ? WHERE b.id = ?`, m.TokenID, m.TokenID, m.ChannelID).
			Scan(&locked, &head, &writerChannel, &unread)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(err, "channel %d not found", m.ChannelID)
		}
		if err != nil {
			return fmt.Errorf("look up channel %d: %w", m.ChannelID, err)
		}
		if writerChannel != m.ChannelID {
			return walletgate.Errorf(walletgate.ENotFound, "token %d not found on channel %d", m.TokenID, m.ChannelID)
		}
		if locked != 0 {
			return walletgate.Errorf(walletgate.EConflict, reasonLocked)
		}
		if unread != 0 {
			return walletgate.Errorf(walletgate.EConflict, reasonSequencing)
		}
		seq := head + 1
		res, err := w.exec(`INSERT INTO message (fromtoken, msg_box_id, seq, receivedts, contenttype, payload)
			VALUES (?, ?, ?, ?, ?, ?)`, m.TokenID, m.ChannelID, seq, received.Unix(), m.ContentType, payload)
		if err != nil {
			return fmt.Errorf("insert message %d of channel %d: %w", seq, m.ChannelID, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("insert message %d of channel %d: %w", seq, m.ChannelID, err)
		}
		if _, err := w.exec(`INSERT INTO message_status (token_id, message_id, isread, isdeleted)
			SELECT id, ?, id = ?, 0 FROM msg_box_api_token
			WHERE msg_box_id = ? AND (validto IS NULL OR validto >= ? OR id = ?)`,
			id, m.TokenID, m.ChannelID, activeCutoff(received), m.TokenID); err != nil {
			return fmt.Errorf("insert states of message %d of channel %d: %w", seq, m.ChannelID, err)
		}
		if _, err := w.exec(`UPDATE msg_box SET head_seq = ? WHERE id = ?`, seq, m.ChannelID); err != nil {
			return fmt.Errorf("advance head of channel %d to %d: %w", m.ChannelID, seq, err)
		}
		msg = walletgate.Message{ChannelID: m.ChannelID, Sequence: seq, Received: received,
			ContentType: m.ContentType, Payload: payload, FromToken: m.TokenID}
		return nil
	})
	if err != nil {
		return walletgate.Message{}, fmt.Errorf("sqlite: write message: %w", err)
	}
	return msg, nil
}

// Messages implements walletgate.ChannelStore.
func (s *Store) Messages(ctx context.Context, channelID, tokenID int64, unreadOnly bool) ([]walletgate.Message, error) {
	q := `SELECT m.seq, m.receivedts, m.contenttype, m.payload, m.fromtoken
		FROM message_status st JOIN message m ON m.id = st.message_id
		WHERE st.token_id = ? AND m.msg_box_id = ? AND st.isdeleted = 0`
	if unreadOnly {
		q += ` AND st.isread = 0`
	}
	q += ` ORDER BY m.seq`
	rows, err := s.read.QueryContext(ctx, q, tokenID, channelID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages of channel %d for token %d: %w", channelID, tokenID, err)
	}
	defer rows.Close()
	out := []walletgate.Message{}
	for rows.Next() {
		m := walletgate.Message{ChannelID: channelID}
		var ts int64
		if err := rows.Scan(&m.Sequence, &ts, &m.ContentType, &m.Payload, &m.FromToken); err != nil {
			return nil, fmt.Errorf("sqlite: messages of channel %d for token %d: %w", channelID, tokenID, err)
		}
		m.Received = time.Unix(ts, 0).UTC()
		if m.Payload == nil {
			m.Payload = []byte{}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: messages of channel %d for token %d: %w", channelID, tokenID, err)
	}
	return out, nil
}

// UnreadETag implements walletgate.ChannelStore.
func (s *Store) UnreadETag(ctx context.Context, channelID, tokenID int64) (int64, error) {
	var seq int64
	// Newest first, stopping at the first match: HEAD is polled often and
	// the answer is almost always the channel's last message.
	err := s.read.QueryRowContext(ctx, `SELECT m.seq FROM message m
		WHERE m.msg_box_id = ? AND m.fromtoken != ?
		AND EXISTS (SELECT 1 FROM message_status st WHERE st.message_id = m.id AND st.isdeleted = 0)
		ORDER BY m.seq DESC LIMIT 1`,
		channelID, tokenID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: unread etag of channel %d for token %d: %w", channelID, tokenID, err)
	}
	return seq, nil
}

// MarkRead implements walletgate.ChannelStore.
func (s *Store) MarkRead(ctx context.Context, channelID, tokenID, seq int64, read, older bool) error {
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM message m JOIN message_status st ON st.message_id = m.id
			WHERE m.msg_box_id = ? AND m.seq = ? AND st.token_id = ?`, channelID, seq, tokenID).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: mark read: look up seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		if n == 0 {
			return walletgate.Errorf(walletgate.ENotFound, reasonSeqNotFound)
		}
		op := "="
		if older {
			op = "<="
		}
		if _, err := w.exec(`UPDATE message_status SET isread = ? WHERE token_id = ? AND message_id IN
			(SELECT id FROM message WHERE msg_box_id = ? AND seq `+op+` ?)`, boolInt(read), tokenID, channelID, seq); err != nil {
			return fmt.Errorf("sqlite: mark read seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		return nil
	})
}

// DeleteMessage implements walletgate.ChannelStore.
func (s *Store) DeleteMessage(ctx context.Context, channelID, tokenID, seq int64, now time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		var msgID, received int64
		var minAge sql.NullInt64
		err := w.queryRow(`SELECT m.id, m.receivedts, b.minagedays FROM message m
			JOIN message_status st ON st.message_id = m.id AND st.token_id = ?
			JOIN msg_box b ON b.id = m.msg_box_id
			WHERE m.msg_box_id = ? AND m.seq = ?`, tokenID, channelID, seq).Scan(&msgID, &received, &minAge)
		if errors.Is(err, sql.ErrNoRows) {
			return walletgate.Errorf(walletgate.ENotFound, reasonSeqNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete: look up seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		var live int
		if err := w.queryRow(`SELECT count(*) FROM message_status WHERE message_id = ? AND isdeleted = 0`, msgID).Scan(&live); err != nil {
			return fmt.Errorf("sqlite: delete: states of seq %d of channel %d: %w", seq, channelID, err)
		}
		if live == 0 {
			return walletgate.Errorf(walletgate.ENotFound, reasonNoMetadata)
		}
		if minAge.Valid && !retentionElapsed(received, minAge.Int64, now) {
			return walletgate.Errorf(walletgate.EInvalid, reasonRetention)
		}
		if _, err := w.exec(`UPDATE message_status SET isdeleted = 1 WHERE message_id = ? AND token_id = ?`, msgID, tokenID); err != nil {
			return fmt.Errorf("sqlite: delete seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		return nil
	})
}

// retentionElapsed reports whether a message received at unix second
// received may be deleted at now under a minimum age of minAgeDays. Ages too
// large to add without overflow never elapse.
func retentionElapsed(received, minAgeDays int64, now time.Time) bool {
	if minAgeDays <= 0 {
		return true
	}
	const day = 86400
	if minAgeDays > (math.MaxInt64-received)/day {
		return false
	}
	return now.Unix() >= received+minAgeDays*day
}
