package socketio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// The websocket transport, on coder/websocket: a session opened on a
// websocket at once (transport=websocket, no sid: how the Bitweb wallet
// connects) or upgraded from polling (upgrade.go). One goroutine reads;
// writes are drained by a goroutine that exists only while packets are
// queued. Every Engine.IO packet is one text message.

// Buffer sizes of a websocket. coder/websocket keeps the buffers net/http
// hands over with the connection, 4 KiB each way, for the connection's
// life: most of a client's memory. Engine.IO packets from a client are a
// few hundred bytes, and a larger message or frame is read or written
// past the buffer, so small ones cost nothing but a system call now and
// then.
const (
	wsReadBuffer  = 1024
	wsWriteBuffer = 512
)

// hijackCapture keeps the connection the websocket library hijacks, so a
// session can be dropped at once even while a close handshake waits on it
// (coder/websocket's CloseNow waits for a Close in progress), and trades
// net/http's buffers for smaller ones.
type hijackCapture struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hands the request's connection over, with whatever the client
// sent past the handshake still to be read, and keeps a reference.
func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = c
	r := brw.Reader
	if n := r.Buffered(); n <= wsReadBuffer {
		early, _ := r.Peek(n)
		small := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), c), wsReadBuffer)
		if n > 0 {
			_, _ = small.Peek(n) // buffered again, where the library looks for it
		}
		r = small
	}
	return c, bufio.NewReadWriter(r, bufio.NewWriterSize(c, wsWriteBuffer)), nil
}

// acceptWebSocket upgrades r. The endpoint is public (CORS "*"), so any
// origin may open a websocket, as with the reference server.
func (s *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request) (*websocket.Conn, net.Conn, error) {
	hc := &hijackCapture{ResponseWriter: w}
	ws, err := websocket.Accept(hc, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return nil, nil, err // Accept has answered the request
	}
	ws.SetReadLimit(s.cfg.MaxPayload)
	return ws, hc.conn, nil
}

// serveWebSocket opens a session on a websocket (no sid).
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ws, raw, err := s.acceptWebSocket(w, r)
	if err != nil {
		return
	}
	c := s.newConn()
	c.ws, c.raw = ws, raw
	c.queue = append(c.queue, outFrame{b: s.openPacket(c.sid, false)})
	// A fresh goroutine reads, and this one returns: the HTTP server's
	// goroutine would keep its request buffers alive for the whole session.
	ok, stopping := s.register(c, c.readWebSocket)
	if !ok {
		_ = ws.CloseNow()
		return
	}
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
	if stopping {
		c.goAway()
	}
}

// readWebSocket handles the client's packets until the websocket ends.
func (c *conn) readWebSocket() {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	final := byte(eioClose)
	for {
		typ, msg, err := ws.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) == -1 && !errors.Is(err, net.ErrClosed) && !c.isClosed() {
				c.srv.cfg.Logger.Debug("socketio: websocket read", "err", err)
			}
			break
		}
		if typ != websocket.MessageText {
			continue // binary data: no event of this API carries any
		}
		if f := c.handle(msg); f != 0 {
			final = f
			break
		}
	}
	c.end(final)
}

// handle runs one packet under the input lock.
func (c *conn) handle(p []byte) byte {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if c.finished {
		return eioClose
	}
	return c.onPacket(p)
}

// drain writes queued packets to the websocket until the queue is empty.
func (c *conn) drain() {
	for {
		c.mu.Lock()
		q, ws := c.queue, c.ws
		c.queue = nil
		if len(q) == 0 || c.closed || c.leaving {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for i, f := range q {
			if i > 0 && c.isLeaving() {
				break // the close frame is out: a write now would fail
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.srv.cfg.WriteTimeout)
			err := ws.Write(ctx, websocket.MessageText, f.b)
			cancel()
			if f.done != nil {
				f.done()
			}
			if err != nil {
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				c.end(eioClose)
				return
			}
		}
	}
}

func (c *conn) isLeaving() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaving
}

// goAway sends a session away for Shutdown. A websocket gets the close
// frame 1001, nothing more written after it, and CloseTimeout for the
// client's answer (closing the socket before the client has answered
// could reset the connection under the close frame). A polling session's
// pending GET is answered with the close packet at once, and a later poll
// of it too (Server.answerGoneAway).
func (c *conn) goAway() {
	c.mu.Lock()
	if c.closed || c.leaving {
		c.mu.Unlock()
		return
	}
	ws, raw := c.ws, c.raw
	if ws == nil {
		c.mu.Unlock()
		c.srv.markAway(c.sid)
		c.end(eioClose)
		return
	}
	c.leaving = true
	c.queue = nil
	c.mu.Unlock()
	// coder/websocket bounds each half of the handshake at 5 s of its own;
	// dropping the connection ends it sooner.
	t := time.AfterFunc(c.srv.cfg.CloseTimeout, func() { _ = raw.Close() })
	err := ws.Close(websocket.StatusGoingAway, reasonGoingAway)
	t.Stop()
	if err != nil {
		c.srv.cfg.Logger.Debug("socketio: close handshake", "err", err)
	}
	c.end(eioClose)
}
