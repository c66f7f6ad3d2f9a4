package electrumtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/bits"
	"net"
	"sync"
	"time"
)

// session is one client connection.
type session struct {
	srv  *Server
	conn net.Conn
	ctx  context.Context
	stop context.CancelFunc

	mu        sync.Mutex
	buf       []byte
	lastSend  time.Time
	totalSent int
	timer     *time.Timer
	closed    bool
	version   string // negotiated; "" until server.version
	headers   bool   // subscribed to headers
	tipHeight int64
	subs      map[string]string // scripthash -> last status sent
	wg        sync.WaitGroup
}

func newSession(srv *Server, c net.Conn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{srv: srv, conn: c, ctx: ctx, stop: cancel, subs: make(map[string]string)}
}

func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.stop()
	s.conn.Close()
}

// closeAfterFlush sends what is buffered, then closes (ElectrumX flushes a
// closing connection's buffer).
func (s *session) closeAfterFlush() {
	s.mu.Lock()
	s.flushLocked()
	s.mu.Unlock()
	s.close()
}

func (s *session) run() {
	defer func() {
		s.close()
		s.wg.Wait()
	}()
	r := bufio.NewReaderSize(s.conn, 64<<10)
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.SessionTimeout))
		line, err := readLimited(r, s.srv.cfg.MaxRecv)
		if errors.Is(err, errTooLong) {
			continue // ElectrumX drops oversized data silently
		}
		if err != nil {
			return
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !s.handleLine(line) {
			return
		}
	}
}

var errTooLong = errors.New("line too long")

// readLimited reads one line; longer lines are consumed and errTooLong is
// returned.
func readLimited(r *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	tooLong := false
	for {
		frag, err := r.ReadSlice('\n')
		if !tooLong {
			if len(out)+len(frag) > max+1 {
				tooLong, out = true, nil
			} else {
				out = append(out, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(out) > 0 && !tooLong {
				return out, nil
			}
			return nil, err
		}
		if tooLong {
			return nil, errTooLong
		}
		return out, nil
	}
}

// handleLine processes one incoming message; false closes the session.
func (s *session) handleLine(line []byte) bool {
	s.mu.Lock()
	negotiated := s.version != ""
	s.mu.Unlock()
	if line[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(line, &items); err != nil {
			s.send(errorReply(nil, CodeParseError, "invalid JSON"))
			return true
		}
		if !negotiated {
			s.send(errorReply(nil, CodeBadRequest, "use server.version to identify client"))
			s.closeAfterFlush()
			return false
		}
		if len(items) == 0 {
			s.send(errorReply(nil, CodeInvalidRequest, "batch is empty"))
			return true
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleBatch(items)
		}()
		return true
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil || !json.Valid(line) {
		s.send(errorReply(nil, CodeParseError, "invalid JSON"))
		return true
	}
	if !negotiated {
		if req.Method != "server.version" {
			s.srv.countRequest(req.Method)
			s.send(errorReply(req.ID, CodeBadRequest, "use server.version to identify client"))
			s.closeAfterFlush()
			return false
		}
		// Negotiation is handled in line: pipelined requests wait for it.
		reply, fatal := s.dispatch(&req)
		if reply != nil {
			s.reply(reply)
		}
		if fatal {
			s.closeAfterFlush()
			return false
		}
		return true
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		reply, fatal := s.dispatch(&req)
		if reply != nil {
			s.reply(reply)
			if fn := s.srv.takeAfterReply(req.Method); fn != nil {
				fn()
			}
		}
		if fatal {
			s.closeAfterFlush()
		}
	}()
	return true
}

func (s *session) handleBatch(items []json.RawMessage) {
	var parts [][]byte
	var methods []string
	fatal := false
	for _, it := range items {
		var req request
		if err := json.Unmarshal(it, &req); err != nil {
			parts = append(parts, errorReply(nil, CodeInvalidRequest, "invalid request"))
			continue
		}
		methods = append(methods, req.Method)
		reply, f := s.dispatch(&req)
		fatal = fatal || f
		if reply != nil {
			parts = append(parts, reply)
		}
	}
	if len(parts) > 0 {
		msg := append([]byte{'['}, bytes.Join(parts, []byte(", "))...)
		msg = append(msg, ']')
		s.reply(msg)
		if fn := s.srv.takeAfterReply(methods...); fn != nil {
			fn()
		}
	}
	if fatal {
		s.closeAfterFlush()
	}
}

// reply passes an answer through the stall and reorder faults, then queues it.
func (s *session) reply(msg []byte) {
	if g := s.srv.stallGate(); g != nil {
		select {
		case <-g:
		case <-s.ctx.Done():
			return
		}
	}
	for _, h := range s.srv.holdForReorder(s, msg) {
		h.s.send(h.msg)
	}
}

// send queues msg under the flush rule.
func (s *session) send(msg []byte) {
	if n := s.srv.extraPad.Load(); n > 0 && len(msg) > 0 {
		last := msg[len(msg)-1]
		msg = append(append(msg[:len(msg)-1:len(msg)-1], bytes.Repeat([]byte{' '}, int(n))...), last)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.buf = append(s.buf, msg...)
	s.buf = append(s.buf, '\n')
	cfg := &s.srv.cfg
	now := time.Now()
	if !cfg.FlushRule || len(s.buf) >= cfg.FlushBytes || now.Sub(s.lastSend) > cfg.FlushInterval || s.totalSent < cfg.FlushBytes {
		s.flushLocked()
		return
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(s.lastSend.Add(cfg.FlushInterval).Sub(now), func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.timer = nil
			s.flushLocked()
		})
	}
}

// flushLocked pads and writes the buffer; s.mu is held.
func (s *session) flushLocked() {
	if len(s.buf) == 0 || s.closed {
		return
	}
	out := s.buf
	if !s.srv.cfg.NoPadding {
		out = pad(out, s.srv.cfg.FlushBytes)
	}
	s.buf = nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
	n, err := s.conn.Write(out)
	s.totalSent += n
	s.lastSend = time.Now()
	if err != nil {
		go s.close()
	}
}

// pad inserts spaces before the final '}' or ']' of buf (which ends in
// "}\n" or "]\n") so its length is max(min, the next power of two above).
func pad(buf []byte, min int) []byte {
	n := len(buf)
	if n < 2 {
		return buf
	}
	target := 1 << bits.Len(uint(n))
	if target < min {
		target = min
	}
	spaces := target - n
	out := make([]byte, 0, target)
	out = append(out, buf[:n-2]...)
	out = append(out, bytes.Repeat([]byte{' '}, spaces)...)
	return append(out, buf[n-2:]...)
}

// notify sends header and scripthash notifications for a new snapshot.
func (s *session) notify(idx *Index) {
	s.mu.Lock()
	var msgs [][]byte
	if s.headers && idx.Height() != s.tipHeight {
		s.tipHeight = idx.Height()
		hdr, _ := idx.HeaderHex(idx.Height())
		msgs = append(msgs, notification("blockchain.headers.subscribe", []any{map[string]any{"height": idx.Height(), "hex": hdr}}))
	}
	for sh, old := range s.subs {
		st := idx.Status(sh)
		if st != old {
			s.subs[sh] = st
			msgs = append(msgs, notification("blockchain.scripthash.subscribe", []any{sh, nullable(st)}))
		}
	}
	s.mu.Unlock()
	for _, m := range msgs {
		s.send(m)
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

type rpcErrObj struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func idOrNull(id json.RawMessage) json.RawMessage {
	if len(id) == 0 {
		return json.RawMessage("null")
	}
	return id
}

func errorReply(id json.RawMessage, code int, msg string) []byte {
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		Error   rpcErrObj       `json:"error"`
		ID      json.RawMessage `json:"id"`
	}{"2.0", rpcErrObj{code, msg}, idOrNull(id)})
	return b
}

func resultReply(id json.RawMessage, result json.RawMessage) []byte {
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		ID      json.RawMessage `json:"id"`
	}{"2.0", result, idOrNull(id)})
	return b
}

func notification(method string, params any) []byte {
	b, _ := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  any    `json:"params"`
	}{"2.0", method, params})
	return b
}
