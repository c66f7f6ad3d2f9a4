package walletnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// Kind says what a Note carries.
type Kind int

// Note kinds.
const (
	// KindTx is a transaction id (walletnotify).
	KindTx Kind = iota + 1
	// KindBlock is a block hash (blocknotify).
	KindBlock
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindTx:
		return "txid"
	case KindBlock:
		return "block"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Note is one parsed notification: a txid or a block hash, lower-case hex.
type Note struct {
	Kind Kind
	Hash string
}

// BlockPrefix marks a block hash on line- and message-based intakes (pipe,
// Redis): "block:<hash>". A bare hash is a txid.
const BlockPrefix = "block:"

// ParseHash checks that s is a 64-digit hex hash (txid or block hash),
// after trimming spaces, and returns it in lower case. what names the
// field in the error ("txid", "blockhash").
func ParseHash(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("missing %s", what)
	}
	if err := walletgate.CheckHash(s); err != nil {
		var he *walletgate.HashError
		if errors.As(err, &he) && he.Pos >= 0 {
			return "", walletgate.WrapError(walletgate.EInvalid, err, "malformed %s %q: character %d (%q) is not hex", what, clipStr(s, 80), he.Pos, s[he.Pos])
		}
		return "", walletgate.WrapError(walletgate.EInvalid, err, "malformed %s %q: want 64 hex digits, got %d characters", what, clipStr(s, 80), len(s))
	}
	return strings.ToLower(s), nil
}

// ParseLine parses one pipe line or Redis message: a txid, or
// "block:<hash>". ok is false for a blank line, which is skipped silently.
func ParseLine(line string) (n Note, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return Note{}, false, nil
	}
	if rest, found := strings.CutPrefix(line, BlockPrefix); found {
		h, err := ParseHash("block hash", rest)
		if err != nil {
			return Note{}, true, err
		}
		return Note{Kind: KindBlock, Hash: h}, true, nil
	}
	h, err := ParseHash("txid", line)
	if err != nil {
		return Note{}, true, err
	}
	return Note{Kind: KindTx, Hash: h}, true, nil
}

func invalid(format string, args ...any) error {
	return &walletgate.Error{Code: walletgate.EInvalid, Message: fmt.Sprintf(format, args...)}
}

func clipStr(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// deliver hands n to the notifier under a timeout, so one stuck update
// cannot stall an intake forever.
func deliver(ctx context.Context, nf walletgate.TxNotifier, coin string, n Note, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var err error
	switch n.Kind {
	case KindBlock:
		err = nf.BlockNotify(ctx, coin, n.Hash)
	default:
		err = nf.WalletNotify(ctx, coin, n.Hash)
	}
	if err != nil {
		return fmt.Errorf("walletnotify: %s %s of %s: %w", n.Kind, n.Hash, coin, err)
	}
	return nil
}

// deliverLogged delivers n and logs a failure; intakes that cannot answer
// their sender (pipe, Redis, websocket) use it and move on.
func deliverLogged(ctx context.Context, log *slog.Logger, nf walletgate.TxNotifier, coin string, n Note, timeout time.Duration, source string) {
	if err := deliver(ctx, nf, coin, n, timeout); err != nil {
		if ctx.Err() != nil {
			return // shutting down; the update was cut short, not wrong
		}
		log.Error("walletnotify: notification failed; continuing with the next", "source", source, "coin", coin, "kind", n.Kind.String(), "hash", n.Hash, "err", err)
	}
}

// backoff doubles a delay between attempts, up to a cap.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func orLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
