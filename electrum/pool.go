package electrum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// job is calls that must travel in one line (a caller's batch).
type job struct {
	ctx   context.Context
	calls []*call
	// after is set on a retry after a lost connection: the job goes only
	// to a connection proven to work after this time, so a retry is not
	// lost again on another connection that the same server restart killed
	// but whose reader has not noticed yet.
	after time.Time
}

// pool keeps PoolSize connections. Callers hand jobs to an unbuffered
// channel that every connection's writer receives from when it has a free
// in-flight slot, so:
//   - a call waits for capacity only while its context lives;
//   - a writer drains every job waiting at that moment into one batch line,
//     so concurrent calls pipeline and their replies reach ElectrumX's
//     1024-byte flush threshold together;
//   - idle writers wait in FIFO order, so at low load the connection idle the
//     longest — most likely quiet for over a second, whose reply ElectrumX
//     sends at once — takes the next call.
type pool struct {
	cfg  *Config
	sh   *shared
	log  *slog.Logger
	work chan *job
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	// live counts serving connections, for Stats; health decides whether a
	// call is sent, waits for a connection or fails at once.
	live   atomic.Int32
	health *health
}

func newPool(cfg *Config, sh *shared, h *health, log *slog.Logger) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pool{cfg: cfg, sh: sh, log: log, work: make(chan *job), ctx: ctx, stop: cancel, health: h}
	for i := 0; i < cfg.PoolSize; i++ {
		p.wg.Add(1)
		go p.supervise(i)
	}
	return p
}

func (p *pool) close() {
	p.stop()
	p.wg.Wait()
}

// submit hands j to a connection, waiting for capacity until ctx ends.
// While no connection is up it fails at once with a *downError (the
// supervisors keep redialling in the background), except while one is
// expected shortly (see health.hopeful), when it waits for it: so the
// deadline only ever bounds a wait for a live connection or a dial under
// way, never an outage.
func (p *pool) submit(ctx context.Context, j *job) error {
	for {
		st := p.health.state()
		if err := st.unreachable(); err != nil {
			return err
		}
		var work chan *job // nil, so never ready, while waiting for a connection
		if st.live > 0 {
			work = p.work
		}
		select {
		case work <- j:
			return nil
		case <-st.changed:
			// A connection came or went: decide again.
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ctx.Done():
			return errClosed
		}
	}
}

var errClosed = errors.New("electrum: client closed")

// backoff returns a jittered delay in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleepCtx waits d; it returns false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// supervise keeps slot i connected: it dials, serves until the connection
// breaks, and redials on the schedule of redial.
func (p *pool) supervise(i int) {
	defer p.wg.Done()
	r := &redial{cfg: p.cfg}
	for r.wait(p.ctx, p.sh.reach) {
		c, err := dial(p.ctx, p.cfg, p.sh, p.log, nil)
		if err != nil {
			p.health.failed(err)
			p.log.Warn("electrum: pool connection failed", "slot", i, "err", err, "retry_in", r.failed())
			continue
		}
		p.live.Add(1)
		p.health.up()
		p.sh.reach.connected()
		started := time.Now()
		p.serve(c)
		p.live.Add(-1)
		c.close()
		wait := r.ended(time.Since(started), c.excessive.Load())
		p.health.down(fmt.Errorf("connection lost: %w", c.err()), wait)
	}
}

func nextBackoff(d time.Duration, cfg *Config) time.Duration {
	if d < cfg.BackoffMin {
		return cfg.BackoffMin
	}
	return min(d*2, cfg.BackoffMax)
}

// serve is c's writer: while c lives it takes jobs when a slot is free and
// writes them, coalesced, as one line.
func (p *pool) serve(c *conn) {
	for {
		select {
		case c.slots <- struct{}{}:
		case <-c.done:
			return
		case <-p.ctx.Done():
			return
		}
		if until := time.Unix(0, c.coolUntil.Load()); time.Now().Before(until) {
			// -102: the server is busy; let other connections take work.
			select {
			case <-time.After(time.Until(until)):
			case <-c.done:
				<-c.slots
				return
			case <-p.ctx.Done():
				return
			}
		}
		var jobs []*job
		select {
		case j := <-p.work:
			jobs = append(jobs, j)
		case <-c.done:
			<-c.slots
			return
		case <-p.ctx.Done():
			return
		}
		n := len(jobs[0].calls)
	drain:
		for n < p.cfg.MaxBatch {
			select {
			case j := <-p.work:
				jobs = append(jobs, j)
				n += len(j.calls)
			default:
				break drain
			}
		}
		if !p.prove(c, jobs) {
			<-c.slots
			for _, j := range jobs {
				p.wg.Add(1)
				go p.resubmit(j)
			}
			continue
		}
		var calls []*call
		for _, j := range jobs {
			calls = live(calls, j.calls)
		}
		if len(calls) == 0 {
			<-c.slots
			continue
		}
		c.send(calls, true, true)
	}
}

// prove makes sure c works before it carries retried jobs: unless c is
// known to work after the latest failure they saw, it must answer a ping.
func (p *pool) prove(c *conn, jobs []*job) bool {
	var after time.Time
	var ctx context.Context
	for _, j := range jobs {
		if j.after.After(after) {
			after, ctx = j.after, j.ctx
		}
	}
	if after.IsZero() || c.provenSince(after) {
		return true
	}
	return c.roundTrip(ctx, newCall(ctx, "server.ping", nil)) == nil
}

// resubmit hands j back to the pool after the connection that took it
// turned out dead.
func (p *pool) resubmit(j *job) {
	defer p.wg.Done()
	if err := p.submit(j.ctx, j); err != nil {
		for _, cl := range j.calls {
			cl.finish(nil, err)
		}
	}
}

// live appends the calls whose callers still wait; the others finish with
// their context's error unsent.
func live(dst, calls []*call) []*call {
	for _, cl := range calls {
		if cl.ctx != nil && cl.ctx.Err() != nil {
			cl.finish(nil, cl.ctx.Err())
			continue
		}
		dst = append(dst, cl)
	}
	return dst
}
