// Package sqlite stores walletgate's data in one SQLite file (pure Go driver
// modernc.org/sqlite, no cgo). It is the embedded default store.
//
// Writes go through one connection owned by one goroutine, which commits
// them in groups: write operations that arrive while a commit is in flight
// are run together in the next transaction, each inside its own savepoint so
// that a rule violation in one does not undo the others, and every caller is
// released only after the transaction holding its change has committed. This
// keeps synchronous=FULL (an fsync per commit, surviving power loss) while
// many concurrent writers share each fsync. Reads use a small pool of
// read-only connections, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletgate/walletgate"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Options tunes a Store. Zero fields take the defaults named on each.
type Options struct {
	// ReadConns is the size of the read-only connection pool (default 4).
	ReadConns int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing (default 5s).
	BusyTimeout time.Duration
	// MaxBatch is the most write operations committed in one transaction
	// (default 512).
	MaxBatch int
	// QueueSize is how many write operations may wait for the writer before
	// callers block (default 4096).
	QueueSize int
	// Synchronous is SQLite's synchronous setting: "FULL" (default) or
	// "NORMAL". FULL fsyncs the WAL on every commit, so a committed write
	// survives a power cut as well as a process crash; group commit keeps
	// that affordable. NORMAL survives a process crash (SIGKILL) but may
	// lose the last commits on power loss.
	Synchronous string
}

func (o Options) withDefaults() (Options, error) {
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	switch strings.ToUpper(o.Synchronous) {
	case "":
		o.Synchronous = "FULL"
	case "FULL", "NORMAL":
		o.Synchronous = strings.ToUpper(o.Synchronous)
	default:
		return o, walletgate.Errorf(walletgate.EInvalid, "sqlite: synchronous must be FULL or NORMAL, not %q", o.Synchronous)
	}
	return o, nil
}

// Store is a walletgate.ChannelStore on one SQLite file. It is safe for
// concurrent use; Close it to stop its writer goroutine.
type Store struct {
	path string
	opts Options
	read *sql.DB // read-only pool
	wdb  *sql.DB // holds exactly one connection: wconn

	wconn *sql.Conn
	stmts map[string]*sql.Stmt // prepared on wconn; used by the writer goroutine only

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *writeReq
	done   chan struct{} // closed when the writer goroutine has exited
}

var _ walletgate.ChannelStore = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path, applies any
// pending schema migrations, and starts the writer.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, walletgate.Errorf(walletgate.EInvalid, "sqlite: bad database path %q (empty, or holds '?' or '#')", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data dir for %s: %w", path, err)
	}
	base := path + "?_busy_timeout=" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) +
		"&_foreign_keys=1&_journal_mode=WAL&_synchronous=" + opts.Synchronous

	wdb, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrateDB(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: writer connection to %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", base+"&_query_only=1")
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open read pool on %s: %w", path, err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: read pool on %s: %w", path, err)
	}
	s := &Store{
		path:  path,
		opts:  opts,
		read:  read,
		wdb:   wdb,
		wconn: wconn,
		stmts: make(map[string]*sql.Stmt),
		reqs:  make(chan *writeReq, opts.QueueSize),
		done:  make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// Close lets queued writes finish, stops the writer and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	errs = append(errs, s.wconn.Close(), s.wdb.Close(), s.read.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}
