package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
)

// WriteMessage implements walletgate.ChannelStore. The whole write is one
// call of walletgate_write_message (migration 0001), which locks the channel
// row FOR NO KEY UPDATE until it commits: the rule checks, the new head
// sequence and the state rows belong to one writer at a time, across every
// process on the database, and the lock is held for one round trip only.
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
	var outcome string
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT o_outcome, o_seq FROM walletgate_write_message($1, $2, $3, $4, $5, $6)`,
		m.ChannelID, m.TokenID, received.Unix(), activeCutoff(received), m.ContentType, payload).Scan(&outcome, &seq)
	if err != nil {
		return walletgate.Message{}, fmt.Errorf("postgres: write message to channel %d: %w", m.ChannelID, err)
	}
	switch outcome {
	case "ok":
	case "no_channel":
		return walletgate.Message{}, walletgate.Errorf(walletgate.ENotFound, "channel %d not found", m.ChannelID)
	case "no_token":
		return walletgate.Message{}, walletgate.Errorf(walletgate.ENotFound, "token %d not found on channel %d", m.TokenID, m.ChannelID)
	case "locked":
		return walletgate.Message{}, walletgate.Errorf(walletgate.EConflict, reasonLocked)
	case "sequencing":
		return walletgate.Message{}, walletgate.Errorf(walletgate.EConflict, reasonSequencing)
	default:
		return walletgate.Message{}, walletgate.Errorf(walletgate.EInternal, "postgres: write message to channel %d: unknown outcome %q", m.ChannelID, outcome)
	}
	return walletgate.Message{ChannelID: m.ChannelID, Sequence: seq, Received: received,
		ContentType: m.ContentType, Payload: payload, FromToken: m.TokenID}, nil
}

// Messages implements walletgate.ChannelStore.
func (s *Store) Messages(ctx context.Context, channelID, tokenID int64, unreadOnly bool) ([]walletgate.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.seq, m.receivedts, m.contenttype, m.payload, m.fromtoken
		FROM message_status st JOIN message m ON m.id = st.message_id
		WHERE st.token_id = $1 AND m.msg_box_id = $2 AND NOT st.isdeleted AND (NOT $3 OR NOT st.isread)
		ORDER BY m.seq`, tokenID, channelID, unreadOnly)
	if err != nil {
		return nil, fmt.Errorf("postgres: messages of channel %d for token %d: %w", channelID, tokenID, err)
	}
	defer rows.Close()
	out := []walletgate.Message{}
	for rows.Next() {
		m := walletgate.Message{ChannelID: channelID}
		var ts int64
		if err := rows.Scan(&m.Sequence, &ts, &m.ContentType, &m.Payload, &m.FromToken); err != nil {
			return nil, fmt.Errorf("postgres: messages of channel %d for token %d: %w", channelID, tokenID, err)
		}
		m.Received = time.Unix(ts, 0).UTC()
		if m.Payload == nil {
			m.Payload = []byte{}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: messages of channel %d for token %d: %w", channelID, tokenID, err)
	}
	return out, nil
}

// UnreadETag implements walletgate.ChannelStore.
func (s *Store) UnreadETag(ctx context.Context, channelID, tokenID int64) (int64, error) {
	var seq int64
	// Newest first, stopping at the first match: HEAD is polled often and
	// the answer is almost always the channel's last message.
	err := s.pool.QueryRow(ctx, `SELECT m.seq FROM message m
		WHERE m.msg_box_id = $1 AND m.fromtoken <> $2
		AND EXISTS (SELECT 1 FROM message_status st WHERE st.message_id = m.id AND NOT st.isdeleted)
		ORDER BY m.seq DESC LIMIT 1`,
		channelID, tokenID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: unread etag of channel %d for token %d: %w", channelID, tokenID, err)
	}
	return seq, nil
}

// MarkRead implements walletgate.ChannelStore.
func (s *Store) MarkRead(ctx context.Context, channelID, tokenID, seq int64, read, older bool) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM message m JOIN message_status st ON st.message_id = m.id
			WHERE m.msg_box_id = $1 AND m.seq = $2 AND st.token_id = $3)`, channelID, seq, tokenID).Scan(&found); err != nil {
			return fmt.Errorf("postgres: mark read: look up seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		if !found {
			return walletgate.Errorf(walletgate.ENotFound, reasonSeqNotFound)
		}
		if _, err := tx.Exec(ctx, `UPDATE message_status SET isread = $1 WHERE token_id = $2 AND message_id IN
			(SELECT id FROM message WHERE msg_box_id = $3 AND (seq = $4 OR ($5 AND seq < $4)))`,
			read, tokenID, channelID, seq, older); err != nil {
			return fmt.Errorf("postgres: mark read seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		return nil
	})
}

// DeleteMessage implements walletgate.ChannelStore.
func (s *Store) DeleteMessage(ctx context.Context, channelID, tokenID, seq int64, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var msgID, received int64
		var minAge *int64
		var live bool
		err := tx.QueryRow(ctx, `SELECT m.id, m.receivedts, b.minagedays,
				EXISTS (SELECT 1 FROM message_status x WHERE x.message_id = m.id AND NOT x.isdeleted)
			FROM message m
			JOIN message_status st ON st.message_id = m.id AND st.token_id = $1
			JOIN msg_box b ON b.id = m.msg_box_id
			WHERE m.msg_box_id = $2 AND m.seq = $3`, tokenID, channelID, seq).Scan(&msgID, &received, &minAge, &live)
		if errors.Is(err, pgx.ErrNoRows) {
			return walletgate.Errorf(walletgate.ENotFound, reasonSeqNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: delete: look up seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
		}
		if !live {
			return walletgate.Errorf(walletgate.ENotFound, reasonNoMetadata)
		}
		if minAge != nil && !retentionElapsed(received, *minAge, now) {
			return walletgate.Errorf(walletgate.EInvalid, reasonRetention)
		}
		if _, err := tx.Exec(ctx, `UPDATE message_status SET isdeleted = true WHERE message_id = $1 AND token_id = $2`,
			msgID, tokenID); err != nil {
			return fmt.Errorf("postgres: delete seq %d of channel %d for token %d: %w", seq, channelID, tokenID, err)
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
