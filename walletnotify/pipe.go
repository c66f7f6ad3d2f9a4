//go:build unix

package walletnotify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/walletgate/walletgate"
)

// DefaultPipeMode is cryptoassets.core's FIFO mode: the owner reads and
// writes, others may only write (bitcoind may run as another user).
const DefaultPipeMode fs.FileMode = 0o703

// PipeConfig configures the named-pipe intake.
type PipeConfig struct {
	// Path of the FIFO (required). Whatever is there is removed first.
	Path string
	// Mode of the FIFO (DefaultPipeMode). It is set with chmod after
	// mkfifo, so the process umask does not strip the "others may write"
	// bits the way it would with mkfifo alone.
	Mode fs.FileMode
	// Coin every line belongs to (required).
	Coin string
	// MaxLineBytes drops longer lines (1 KiB; a txid line is 65 bytes).
	MaxLineBytes int
	// NotifyTimeout bounds one TxNotifier call (45 s).
	NotifyTimeout time.Duration
	// Logger gets failures (slog.Default()).
	Logger *slog.Logger
}

// Pipe is the named-pipe intake: "echo TXID >> FIFO" from walletnotify.
type Pipe struct {
	cfg      PipeConfig
	notifier walletgate.TxNotifier
}

// NewPipe makes a pipe intake; Run creates the FIFO.
func NewPipe(cfg PipeConfig, n walletgate.TxNotifier) (*Pipe, error) {
	if n == nil {
		return nil, errors.New("walletnotify: NewPipe: nil TxNotifier")
	}
	if cfg.Path == "" {
		return nil, errors.New("walletnotify: pipe intake needs Path")
	}
	if cfg.Coin == "" {
		return nil, fmt.Errorf("walletnotify: pipe intake %s needs Coin", cfg.Path)
	}
	if cfg.Mode == 0 {
		cfg.Mode = DefaultPipeMode
	}
	if cfg.Mode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("walletnotify: pipe mode %v: only permission bits allowed", cfg.Mode)
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = 1 << 10
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 45 * time.Second
	}
	cfg.Logger = orLogger(cfg.Logger)
	return &Pipe{cfg: cfg, notifier: n}, nil
}

// Run makes the FIFO, reads it until ctx ends, then unlinks it.
//
// The FIFO is opened read-write: the intake then holds a writer itself, so
// a read never sees EOF when bitcoind's "echo" closes its end, and the
// reader blocks in the runtime poller instead of busy-polling as the
// original did. Closing the file (when ctx ends) unblocks the read.
func (p *Pipe) Run(ctx context.Context) error {
	path := p.cfg.Path
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("walletnotify: remove stale %s: %w", path, err)
	}
	if err := syscall.Mkfifo(path, uint32(p.cfg.Mode)); err != nil {
		return fmt.Errorf("walletnotify: mkfifo %s: %w", path, err)
	}
	defer func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.cfg.Logger.Warn("walletnotify: unlink FIFO", "path", path, "err", err)
		}
	}()
	if err := os.Chmod(path, p.cfg.Mode); err != nil {
		return fmt.Errorf("walletnotify: chmod %s %v: %w", path, p.cfg.Mode, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("walletnotify: open FIFO %s: %w", path, err)
	}
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer func() {
		if stop() {
			f.Close()
		}
	}()
	return p.read(ctx, f)
}

// read splits what r yields into lines and delivers each in turn.
func (p *Pipe) read(ctx context.Context, r io.Reader) error {
	split := lineSplitter{max: p.cfg.MaxLineBytes, tooLong: func(prefix []byte) {
		p.cfg.Logger.Error("walletnotify: pipe line too long; dropped", "path", p.cfg.Path, "max", p.cfg.MaxLineBytes, "start", string(prefix))
	}}
	buf := make([]byte, 8<<10)
	for {
		n, err := r.Read(buf)
		split.feed(buf[:n], func(line []byte) {
			note, ok, err := ParseLine(string(line))
			switch {
			case !ok:
			case err != nil:
				p.cfg.Logger.Error("walletnotify: bad pipe line; skipped", "path", p.cfg.Path, "err", err)
			default:
				deliverLogged(ctx, p.cfg.Logger, p.notifier, p.cfg.Coin, note, p.cfg.NotifyTimeout, "pipe")
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// With our own writer open, only a closed file or a broken
			// file system ends the stream.
			return fmt.Errorf("walletnotify: read FIFO %s: %w", p.cfg.Path, err)
		}
	}
}
