package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/walletgate/walletgate"
)

// NoticeChannel is the LISTEN/NOTIFY channel that carries channel notices.
const NoticeChannel = "walletgate_channel_notice"

// Notifier is a walletgate.ChannelNotifier over PostgreSQL LISTEN/NOTIFY:
// every walletgate process on the database receives every notice. Notices
// published while a listener is reconnecting are lost to it (NOTIFY keeps
// no backlog); subscribers treat notices as hints and read the store for
// the truth.
type Notifier struct {
	s *Store
}

var _ walletgate.ChannelNotifier = (*Notifier)(nil)

// Notifier returns the store's notifier: it publishes through the store's
// pool and listens on connections of its own.
func (s *Store) Notifier() *Notifier { return &Notifier{s: s} }

// noticeJSON is the NOTIFY payload. It stays far below PostgreSQL's 8000
// byte payload limit: the longest field is the 88-char channel id.
type noticeJSON struct {
	ChannelID         int64  `json:"channel_id"`
	ChannelExternalID string `json:"channel_external_id"`
	AccountID         int64  `json:"account_id"`
	FromOwnerToken    bool   `json:"from_owner_token"`
	Sequence          int64  `json:"sequence"`
	Received          int64  `json:"received"` // unix seconds
	ContentType       string `json:"content_type"`
}

// PublishChannelNotice implements walletgate.ChannelNotifier.
func (n *Notifier) PublishChannelNotice(ctx context.Context, notice walletgate.ChannelNotice) error {
	payload, err := json.Marshal(noticeJSON{
		ChannelID: notice.ChannelID, ChannelExternalID: notice.ChannelExternalID, AccountID: notice.AccountID,
		FromOwnerToken: notice.FromOwnerToken, Sequence: notice.Sequence, Received: notice.Received.Unix(),
		ContentType: notice.ContentType,
	})
	if err != nil {
		return fmt.Errorf("postgres: encode notice for channel %d: %w", notice.ChannelID, err)
	}
	if _, err := n.s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, NoticeChannel, string(payload)); err != nil {
		return fmt.Errorf("postgres: notify channel %d seq %d: %w", notice.ChannelID, notice.Sequence, err)
	}
	return nil
}

// decodeNotice parses a NOTIFY payload.
func decodeNotice(payload string) (walletgate.ChannelNotice, error) {
	var j noticeJSON
	if err := json.Unmarshal([]byte(payload), &j); err != nil {
		return walletgate.ChannelNotice{}, fmt.Errorf("decode channel notice %q: %w", payload, err)
	}
	return walletgate.ChannelNotice{
		ChannelID: j.ChannelID, ChannelExternalID: j.ChannelExternalID, AccountID: j.AccountID,
		FromOwnerToken: j.FromOwnerToken, Sequence: j.Sequence, Received: time.Unix(j.Received, 0).UTC(),
		ContentType: j.ContentType,
	}, nil
}

// SubscribeChannelNotices implements walletgate.ChannelNotifier. It returns
// once LISTEN is in place on a dedicated connection; a goroutine owned by
// ctx then delivers notices to fn, one at a time, reconnecting with backoff
// when the connection fails, until ctx ends.
func (n *Notifier) SubscribeChannelNotices(ctx context.Context, fn func(walletgate.ChannelNotice)) error {
	conn, err := n.listen(ctx)
	if err != nil {
		return err
	}
	go n.deliver(ctx, conn, fn)
	return nil
}

// listen opens a connection outside the pool and LISTENs on it. Its context
// watcher only sets a socket deadline: the default one also sends a cancel
// request, which could hit the ping that follows an idle wait.
func (n *Notifier) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := n.s.listenConfig.Copy()
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EUnavailable, err, "postgres: connect listener")
	}
	if _, err := conn.Exec(ctx, "LISTEN "+NoticeChannel); err != nil {
		closeConn(conn)
		return nil, walletgate.WrapError(walletgate.EUnavailable, err, "postgres: listen on %s", NoticeChannel)
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is being abandoned; nothing to recover
}

// deliver is the listener loop. It owns conn.
func (n *Notifier) deliver(ctx context.Context, conn *pgx.Conn, fn func(walletgate.ChannelNotice)) {
	log := n.s.opts.Logger
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for {
		err := n.wait(ctx, conn, fn)
		if ctx.Err() != nil {
			return
		}
		log.Warn("channel notice listener lost its connection; reconnecting", "err", err)
		closeConn(conn)
		conn = nil
		for backoff := n.s.opts.ReconnectMin; conn == nil; backoff = min(2*backoff, n.s.opts.ReconnectMax) {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if conn, err = n.listen(ctx); err != nil {
				log.Warn("channel notice listener: reconnect failed", "err", err, "retry_in", min(2*backoff, n.s.opts.ReconnectMax))
			}
		}
	}
}

// wait delivers notices from conn until the connection fails (returning why)
// or ctx ends. Every ListenPingInterval without a notice it pings the
// server, so a silently dead connection is noticed.
func (n *Notifier) wait(ctx context.Context, conn *pgx.Conn, fn func(walletgate.ChannelNotice)) error {
	interval := n.s.opts.ListenPingInterval
	for {
		wctx, cancel := context.WithTimeout(ctx, interval)
		note, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			notice, derr := decodeNotice(note.Payload)
			if derr != nil {
				n.s.opts.Logger.Warn("channel notice listener: dropping bad payload", "err", derr)
				continue
			}
			fn(notice)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, interval)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping listener connection: %w", err)
			}
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}
