package electrum

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletgate/walletgate"
)

// errConnLost marks calls whose connection died before their reply. Such a
// call may be retried on another connection.
var errConnLost = errors.New("electrum: connection lost before the reply")

// errLineTooLong breaks a connection whose server sent an over-long line.
var errLineTooLong = errors.New("electrum: reply line over the configured maximum")

// call is one request and, once done is closed, its outcome.
type call struct {
	method string
	params json.RawMessage
	ctx    context.Context // the caller's; Background for internal calls

	done   chan struct{}
	result json.RawMessage
	err    error

	// Set by the connection when sent.
	seq    uint64 // position of the reply among the connection's messages
	id     uint64
	flight *flight
	sentAt time.Time
}

func newCall(ctx context.Context, method string, params json.RawMessage) *call {
	return &call{ctx: ctx, method: method, params: params, done: make(chan struct{})}
}

func (c *call) finish(result json.RawMessage, err error) {
	c.result, c.err = result, err
	close(c.done)
}

// wait returns the call's outcome, or ctx's error first.
func (c *call) wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flight is one written line: its calls and whether it holds an in-flight
// slot, released when its last reply arrives.
type flight struct {
	remaining int
	slot      bool
}

// conn is one negotiated connection to ElectrumX. Many requests are in
// flight at once; a reader goroutine matches replies by id.
type conn struct {
	cfg      *Config
	shared   *shared
	log      *slog.Logger
	addr     string
	nc       net.Conn
	version  string
	server   string
	onNotify notifyFunc

	wmu    sync.Mutex // serialises writes and id assignment
	nextID uint64

	lastSend  atomic.Int64 // unix nanoseconds
	lastRecv  atomic.Int64
	coolUntil atomic.Int64 // -102: take no new work before this
	excessive atomic.Bool  // -101 seen: reconnect only after a backoff

	mu      sync.Mutex
	pending map[uint64]*call
	closed  bool
	cause   error
	born    time.Time
	done    chan struct{}
	slots   chan struct{}
	wg      sync.WaitGroup
}

// dial connects, negotiates the protocol and starts the reader and the
// housekeeping (ping, stall check) goroutines, which end with the conn.
// notifyFunc receives a notification; seq orders it among the messages
// of its connection (see call.seq).
type notifyFunc func(c *conn, method string, params json.RawMessage, seq uint64)

// shared is state every connection of a client reads.
type shared struct {
	// tipHeight is the subscriber's tip (-1 until known); it tells which
	// flush filler the chain can supply.
	tipHeight atomic.Int64
	// reach wakes every part of the client when one gets through.
	reach *reach
}

func newShared(r *reach) *shared {
	sh := &shared{reach: r}
	sh.tipHeight.Store(-1)
	return sh
}

func dial(ctx context.Context, cfg *Config, sh *shared, log *slog.Logger, onNotify notifyFunc) (*conn, error) {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &dialError{addr: addr, tls: false, err: err}
	}
	if cfg.TLS {
		tc := tls.Client(nc, &tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.SkipVerify, MinVersion: tls.VersionTLS12}) //nolint:gosec // verification is the operator's setting
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &dialError{addr: addr, tls: true, err: err}
		}
		nc = tc
	}
	c := &conn{
		cfg: cfg, shared: sh, log: log, addr: addr, nc: nc, onNotify: onNotify,
		pending: make(map[uint64]*call), done: make(chan struct{}),
		slots: make(chan struct{}, cfg.MaxInFlight),
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	if err := c.negotiate(ctx, br); err != nil {
		nc.Close()
		return nil, err
	}
	c.born = time.Now()
	c.lastSend.Store(c.born.UnixNano())
	c.lastRecv.Store(c.born.UnixNano())
	c.wg.Add(2)
	go c.readLoop(br)
	go c.housekeep()
	return c, nil
}

// dialError is a failed TCP connect or TLS handshake with addr.
type dialError struct {
	addr string
	tls  bool // the handshake failed, not the connect
	err  error
}

func (e *dialError) Error() string {
	if e.tls {
		return fmt.Sprintf("electrum: TLS handshake with %s: %v", e.addr, e.err)
	}
	return fmt.Sprintf("electrum: connect to %s: %v", e.addr, e.err)
}

func (e *dialError) Unwrap() error { return e.err }

// causeText is err for a message that already names the server: a connect
// error without the address prefix (the net error names it again).
func causeText(err error) string {
	var de *dialError
	switch {
	case err == nil:
		return "no attempt has ended yet"
	case errors.As(err, &de) && de.tls:
		return "TLS handshake: " + de.err.Error()
	case errors.As(err, &de):
		return de.err.Error()
	}
	return err.Error()
}

// negotiate sends server.version and waits for its reply before anything
// else is written, as ElectrumX requires.
func (c *conn) negotiate(ctx context.Context, br *bufio.Reader) error {
	deadline, _ := ctx.Deadline()
	_ = c.nc.SetDeadline(deadline)
	defer c.nc.SetDeadline(time.Time{})
	params, _ := json.Marshal([]any{c.cfg.ClientName, []string{c.cfg.ProtocolMin, c.cfg.ProtocolMax}})
	c.nextID = 1
	line := append(appendRequest(nil, 0, "server.version", params), '\n')
	if _, err := c.nc.Write(line); err != nil {
		return fmt.Errorf("electrum: send server.version to %s: %w", c.addr, err)
	}
	for {
		raw, err := readLine(br, c.cfg.MaxLine)
		if err != nil {
			return fmt.Errorf("electrum: server.version reply from %s: %w", c.addr, err)
		}
		msgs, err := parseFrame(raw)
		if err != nil {
			return fmt.Errorf("electrum: server.version reply from %s: %w", c.addr, err)
		}
		for _, m := range msgs {
			if !m.HasID || m.ID != 0 {
				continue
			}
			if m.Error != nil {
				return fmt.Errorf("electrum: server.version refused by %s: %w", c.addr, m.Error)
			}
			var res []string
			if err := json.Unmarshal(m.Result, &res); err != nil || len(res) != 2 {
				return fmt.Errorf("electrum: server.version reply from %s is not [software, version]: %s", c.addr, m.Result)
			}
			if !versionAtLeast(res[1], c.cfg.ProtocolMin) || versionAtLeast(res[1], "1.7") {
				return fmt.Errorf("electrum: %s negotiated protocol %s outside %s..%s", c.addr, res[1], c.cfg.ProtocolMin, c.cfg.ProtocolMax)
			}
			c.server, c.version = res[0], res[1]
			return nil
		}
	}
}

// readLine reads one newline-terminated line of at most max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	frag, err := br.ReadSlice('\n')
	if err == nil {
		if len(frag) > max+1 {
			return nil, errLineTooLong
		}
		return frag, nil
	}
	var line []byte
	for err == bufio.ErrBufferFull {
		line = append(line, frag...)
		if len(line) > max {
			return nil, errLineTooLong
		}
		frag, err = br.ReadSlice('\n')
	}
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("server closed the connection: %w", io.EOF)
		}
		return nil, err
	}
	line = append(line, frag...)
	if len(line) > max+1 {
		return nil, errLineTooLong
	}
	return line, nil
}

func (c *conn) readLoop(br *bufio.Reader) {
	defer c.wg.Done()
	var seq uint64 // messages read, for ordering replies and notifications
	for {
		line, err := readLine(br, c.cfg.MaxLine)
		if err != nil {
			c.fail(err)
			return
		}
		c.lastRecv.Store(time.Now().UnixNano())
		msgs, err := parseFrame(line)
		if err != nil {
			c.fail(err)
			return
		}
		for _, m := range msgs {
			seq++
			switch {
			case m.Method != "":
				// A notification; a server request (method and id) is not
				// ours to answer below 1.7 and must not match our ids.
				if c.onNotify != nil && !m.HasID {
					c.onNotify(c, m.Method, m.Params, seq)
				}
			case m.HasID:
				c.deliver(m, seq)
			}
		}
	}
}

func (c *conn) deliver(m message, seq uint64) {
	c.mu.Lock()
	cl, ok := c.pending[m.ID]
	if !ok {
		c.mu.Unlock()
		c.log.Debug("electrum: reply for unknown id", "addr", c.addr, "id", m.ID)
		return
	}
	delete(c.pending, m.ID)
	cl.seq = seq
	f := cl.flight
	f.remaining--
	release := f.remaining == 0 && f.slot
	c.mu.Unlock()
	if release {
		<-c.slots
	}
	if m.Error != nil {
		switch m.Error.Code {
		case codeExcessive:
			c.excessive.Store(true)
		case codeBusy:
			c.coolUntil.Store(time.Now().Add(c.cfg.BackoffMin).UnixNano())
		}
		cl.finish(nil, m.Error)
		return
	}
	cl.finish(m.Result, nil)
}

// fail closes the connection and fails every pending call with errConnLost.
func (c *conn) fail(cause error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.cause = cause
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.nc.Close()
	close(c.done)
	if cause != nil && !errors.Is(cause, net.ErrClosed) {
		c.log.Debug("electrum: connection closed", "addr", c.addr, "err", cause)
	}
	for _, cl := range pending {
		cl.finish(nil, fmt.Errorf("%w: %s: %v", errConnLost, c.addr, cause))
	}
}

func (c *conn) close() {
	c.fail(net.ErrClosed)
	c.wg.Wait()
}

// err returns why the connection closed.
func (c *conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// inFlight returns the number of calls awaiting replies.
func (c *conn) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Smallest plausible reply sizes (bytes) by method; unknown methods count
// as 40. Underestimating only costs an unneeded filler; overestimating
// would let the server hold a reply.
var replySize = map[string]int{
	"blockchain.scripthash.get_balance": 60,
	"server.ping":                       36,
	"blockchain.headers.subscribe":      200,
	"blockchain.scripthash.subscribe":   40, // null when there is no history
	"blockchain.transaction.get":        150,
	"blockchain.block.header":           fillerReply,
}

// fillerReply is the reply size of blockchain.block.header(0): 160 hex
// characters in the reply envelope.
const fillerReply = 195

// fillerCount returns how many blockchain.block.header(0) items calls need
// so that their batch reply releases the server's flush buffer at once, 0
// when the server would not hold the reply: it has not sent to us within
// FlushHold and owes us nothing (the flush of those replies would count as
// a recent send), or the replies are big enough on their own.
func (c *conn) fillerCount(calls []*call) int {
	if c.cfg.NoFlushFiller {
		return 0
	}
	if time.Since(time.Unix(0, c.lastRecv.Load())) > c.cfg.FlushHold && c.inFlight() == 0 {
		return 0
	}
	size := 2 // the batch brackets
	for _, cl := range calls {
		n, ok := replySize[cl.method]
		if !ok {
			n = 40
		}
		size += n + 2
	}
	if size >= c.cfg.FlushBytes {
		return 0
	}
	return (c.cfg.FlushBytes - size + fillerReply + 1) / (fillerReply + 2)
}

// fillers returns the filler items calls need (see fillerCount): one
// blockchain.block.headers(0, 8) when the chain has 8 headers — its reply
// alone is over 1300 bytes at a cost of 0.16 — else header(0) items.
func (c *conn) fillers(calls []*call) []*call {
	n := c.fillerCount(calls)
	if n == 0 {
		return nil
	}
	if c.shared.tipHeight.Load() >= 7 {
		return []*call{newCall(context.Background(), "blockchain.block.headers", json.RawMessage("[0,8]"))}
	}
	out := make([]*call, n)
	for i := range out {
		out[i] = newCall(context.Background(), "blockchain.block.header", json.RawMessage("[0]"))
	}
	return out
}

// send writes calls as one line (a batch when more than one), registering
// them for their replies. With slot the line holds an in-flight slot the
// caller has already acquired. Calls whose connection is gone finish with
// errConnLost.
func (c *conn) send(calls []*call, slot, filler bool) {
	if filler {
		calls = append(calls, c.fillers(calls)...)
	}
	f := &flight{remaining: len(calls), slot: slot}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if slot {
			<-c.slots
		}
		for _, cl := range calls {
			cl.finish(nil, fmt.Errorf("%w: %s: %v", errConnLost, c.addr, c.cause))
		}
		return
	}
	now := time.Now()
	for _, cl := range calls {
		cl.id = c.nextID
		c.nextID++
		cl.flight = f
		cl.sentAt = now
		c.pending[cl.id] = cl
	}
	c.mu.Unlock()
	var buf []byte
	if len(calls) == 1 {
		buf = appendRequest(buf, calls[0].id, calls[0].method, calls[0].params)
	} else {
		buf = append(buf, '[')
		for i, cl := range calls {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendRequest(buf, cl.id, cl.method, cl.params)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, '\n')
	_ = c.nc.SetWriteDeadline(now.Add(c.cfg.Timeout))
	if _, err := c.nc.Write(buf); err != nil {
		c.fail(fmt.Errorf("write: %w", err))
		return
	}
	c.lastSend.Store(time.Now().UnixNano())
}

// provenSince reports whether c is known to work after t: it was made, or
// heard from, later.
func (c *conn) provenSince(t time.Time) bool {
	return c.born.After(t) || c.lastRecv.Load() > t.UnixNano()
}

// roundTrip sends calls outside the pool's slots (subscriber, pings) and
// waits for all of them or ctx.
func (c *conn) roundTrip(ctx context.Context, calls ...*call) error {
	c.send(calls, false, true)
	for _, cl := range calls {
		if err := cl.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// housekeep pings on send-idleness and breaks a stalled connection.
func (c *conn) housekeep() {
	defer c.wg.Done()
	tick := min(c.cfg.PingInterval, c.cfg.StallTimeout) / 4
	tick = max(tick, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, c.lastSend.Load())) >= c.cfg.PingInterval {
				c.send([]*call{newCall(context.Background(), "server.ping", nil)}, false, false)
			}
			if c.oldestPending(now) >= c.cfg.StallTimeout {
				c.fail(fmt.Errorf("no reply within the stall timeout %s", c.cfg.StallTimeout))
			}
		}
	}
}

func (c *conn) oldestPending(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var oldest time.Duration
	for _, cl := range c.pending {
		if d := now.Sub(cl.sentAt); d > oldest {
			oldest = d
		}
	}
	return oldest
}

// ElectrumX's resource errors (§7.5).
const (
	codeExcessive = -101
	codeBusy      = -102
)

// isBusy reports -101/-102, which are retried after a backoff elsewhere.
func isBusy(err error) bool {
	var re *walletgate.RPCError
	return errors.As(err, &re) && (re.Code == codeExcessive || re.Code == codeBusy)
}
