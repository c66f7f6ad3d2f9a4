package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/walletgate/walletgate"
)

// writeReq is one write operation waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context // the caller's; checked before fn runs
	fn   func(w *wtx) error
	done chan error // buffered 1; receives fn's error or the commit's
}

// wtx is what a write operation sees: the writer connection, inside the
// batch transaction and the operation's own savepoint.
type wtx struct {
	s *Store
	// ctx is not the caller's: cancelling a statement interrupts the whole
	// SQLite connection, which would roll back the other operations of the
	// batch, so statements run to completion once an operation has started.
	ctx context.Context
}

// stmt returns query prepared on the writer connection, preparing it once.
func (w *wtx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.s.stmts[query]; ok {
		return st, nil
	}
	st, err := w.s.wconn.PrepareContext(w.ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	w.s.stmts[query] = st
	return st, nil
}

func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(w.ctx, args...)
}

func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	st, err := w.stmt(query)
	if err != nil {
		// A *sql.Row cannot carry a prepare error; run it unprepared so the
		// error surfaces from Scan.
		return w.s.wconn.QueryRowContext(w.ctx, query, args...)
	}
	return st.QueryRowContext(w.ctx, args...)
}

func (w *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(w.ctx, args...)
}

// write runs fn in the writer goroutine and returns once the transaction
// holding fn's changes has committed (or fn failed, leaving no change).
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return walletgate.Errorf(walletgate.EUnavailable, "sqlite store %s is closed", s.path)
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("queue write: %w", ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The operation may still commit; the caller gave up waiting.
		return fmt.Errorf("wait for write: %w", ctx.Err())
	}
}

// writer is the single goroutine that owns the writer connection. It takes
// whatever operations are queued (up to MaxBatch) and commits them together.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*writeReq, 0, s.opts.MaxBatch)
	errs := make([]error, 0, s.opts.MaxBatch)
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		errs = s.runBatch(batch, errs[:0])
		for i, r := range batch {
			r.done <- errs[i]
			batch[i] = nil
		}
	}
}

// runBatch runs every operation of batch in one transaction, each in a
// savepoint, commits, and returns each operation's outcome.
func (s *Store) runBatch(batch []*writeReq, errs []error) []error {
	ctx := context.Background()
	w := &wtx{s: s, ctx: ctx}
	failAll := func(err error) []error {
		errs = errs[:0]
		for range batch {
			errs = append(errs, err)
		}
		return errs
	}
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return failAll(walletgate.WrapError(walletgate.EUnavailable, err, "sqlite: begin write transaction"))
	}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("write not started: %w", err))
			continue
		}
		if _, err := w.exec("SAVEPOINT op"); err != nil {
			s.rollback(w)
			return failAll(fmt.Errorf("sqlite: savepoint: %w", err))
		}
		err := runOp(r.fn, w)
		if err != nil {
			if _, rerr := w.exec("ROLLBACK TO op"); rerr != nil {
				s.rollback(w)
				return failAll(fmt.Errorf("sqlite: roll back failed operation (%v): %w", err, rerr))
			}
		}
		if _, rerr := w.exec("RELEASE op"); rerr != nil {
			s.rollback(w)
			return failAll(fmt.Errorf("sqlite: release savepoint: %w", rerr))
		}
		errs = append(errs, err)
	}
	if _, err := w.exec("COMMIT"); err != nil {
		s.rollback(w)
		cerr := walletgate.WrapError(walletgate.EUnavailable, err, "sqlite: commit failed")
		for i := range errs {
			if errs[i] == nil {
				errs[i] = cerr
			}
		}
	}
	return errs
}

// rollback abandons the batch transaction. Its error is not interesting:
// SQLite may already have rolled back (after an I/O error, say), and a
// connection that is truly broken fails the next BEGIN, which is reported.
func (s *Store) rollback(w *wtx) {
	_, _ = w.exec("ROLLBACK")
}

// runOp runs fn, turning a panic (a bug) into an error for that operation
// alone, so one bad operation cannot kill the writer and strand every
// caller waiting on it.
func runOp(fn func(*wtx) error, w *wtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = walletgate.Errorf(walletgate.EInternal, "sqlite: write operation panicked: %v", p)
		}
	}()
	return fn(w)
}
