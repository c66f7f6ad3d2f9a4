package peerchannels

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate"
)

// Account-socket message kinds (the binary frame's uint32BE prefix).
const (
	KindChannelMessage uint32 = 1 // a message arrived on one of the account's channels
	KindOutputSpend    uint32 = 2 // a watched output was spent (100-byte record)
)

// frame is one queued websocket message.
type frame struct {
	typ  websocket.MessageType
	data []byte
}

// socket is one accepted websocket. Its writer loop (the HTTP handler's
// goroutine) owns the connection's writes; anyone may queue a frame or
// stop it, neither ever blocks.
type socket struct {
	conn      *websocket.Conn                // set by the handler once accepted
	live      atomic.Pointer[websocket.Conn] // conn, for drop from other goroutines
	send      chan frame
	done      chan struct{}
	once      sync.Once
	status    websocket.StatusCode
	reason    string
	abrupt    bool   // the peer is unresponsive: drop it without a closing handshake
	accountID int64  // account sockets
	binary    bool   // account socket in binary mode
	channel   string // channel sockets: the channel's external id
}

// stop asks the writer loop to close the socket with status and reason.
func (sk *socket) stop(status websocket.StatusCode, reason string) {
	sk.once.Do(func() {
		sk.status, sk.reason = status, reason
		close(sk.done)
	})
}

// drop stops sk without the closing handshake, which an unresponsive
// peer would make the server wait for, and closes the connection at once
// so a write blocked on it returns.
func (sk *socket) drop(reason string) {
	sk.once.Do(func() {
		sk.status, sk.reason, sk.abrupt = websocket.StatusPolicyViolation, reason, true
		close(sk.done)
		// Before the handshake is done there is no connection yet; the
		// writer loop then sees done and drops it at once.
		if c := sk.live.Load(); c != nil {
			_ = c.CloseNow()
		}
	})
}

// queue adds f without blocking; a socket whose queue is full is too slow
// to keep up and is closed instead.
func (sk *socket) queue(f frame) bool {
	select {
	case <-sk.done:
		return false
	default:
	}
	select {
	case sk.send <- f:
		return true
	default:
		sk.drop("send queue full")
		return false
	}
}

// socketRegistry tracks this process's sockets: every /notify socket by channel, and
// the newest account socket per account.
type socketRegistry struct {
	mu       sync.Mutex
	channels map[string]map[*socket]struct{}
	accounts map[int64]*socket
	all      map[*socket]struct{}
	closed   bool
	onClose  []func(ctx context.Context, accountID int64)
	// hookTimeout bounds one run of the close hooks.
	hookTimeout time.Duration
	// serving counts the sockets added and not yet finished (closing
	// handshake done), for Service.Shutdown; gone wakes it.
	serving int
	gone    chan struct{}
}

func newSocketRegistry(hookTimeout time.Duration) *socketRegistry {
	return &socketRegistry{
		hookTimeout: hookTimeout,
		channels:    map[string]map[*socket]struct{}{},
		accounts:    map[int64]*socket{},
		all:         map[*socket]struct{}{},
		gone:        make(chan struct{}, 1),
	}
}

// add tracks sk; false once the registry is shut down. A new account socket
// replaces the account's tracked one, which is closed and whose close
// hooks run before the new one is visible, so watches the client sets up
// on the new socket are never wiped by the old one's cleanup.
func (h *socketRegistry) add(sk *socket) bool {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false
	}
	h.all[sk] = struct{}{}
	h.serving++
	if sk.channel != "" {
		set := h.channels[sk.channel]
		if set == nil {
			set = map[*socket]struct{}{}
			h.channels[sk.channel] = set
		}
		set[sk] = struct{}{}
		h.mu.Unlock()
		return true
	}
	old := h.accounts[sk.accountID]
	if old != nil {
		delete(h.accounts, sk.accountID)
		// Only the newest socket is tracked; close the older one so its
		// client knows to stop waiting on it.
		old.stop(websocket.StatusPolicyViolation, "replaced by a newer account websocket")
	}
	h.mu.Unlock()
	if old != nil {
		h.runHooks(sk.accountID)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return true // shutdown has stopped sk with the rest
	}
	if racer := h.accounts[sk.accountID]; racer != nil {
		racer.stop(websocket.StatusPolicyViolation, "replaced by a newer account websocket")
	}
	h.accounts[sk.accountID] = sk
	return true
}

// remove forgets sk and runs the close hooks for a tracked account socket.
func (h *socketRegistry) remove(sk *socket) {
	h.mu.Lock()
	delete(h.all, sk)
	tracked := false
	if sk.channel != "" {
		if set := h.channels[sk.channel]; set != nil {
			delete(set, sk)
			if len(set) == 0 {
				delete(h.channels, sk.channel)
			}
		}
	} else if h.accounts[sk.accountID] == sk {
		delete(h.accounts, sk.accountID)
		tracked = true
	}
	h.mu.Unlock()
	if tracked {
		h.runHooks(sk.accountID)
	}
}

// runHooks calls the account-socket close hooks, outside the lock, with a
// bounded context (they may call upstream services).
func (h *socketRegistry) runHooks(accountID int64) {
	h.mu.Lock()
	hooks := slices.Clone(h.onClose)
	h.mu.Unlock()
	if len(hooks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.hookTimeout)
	defer cancel()
	for _, fn := range hooks {
		fn(ctx, accountID)
	}
}

// finished reports a socket added with add as closed.
func (h *socketRegistry) finished() {
	h.mu.Lock()
	h.serving--
	h.mu.Unlock()
	select {
	case h.gone <- struct{}{}:
	default:
	}
}

// isClosed reports whether shutdown has run.
func (h *socketRegistry) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// reasonShutdown is the close reason of a socket the server sends away.
const reasonShutdown = "server shutting down"

// shutdown stops every socket and refuses new ones.
func (h *socketRegistry) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sk := range h.all {
		sk.stop(websocket.StatusGoingAway, reasonShutdown)
	}
}

// Shutdown sends every /notify and account websocket of this process away
// with a close 1001 (going away) and refuses new ones with HTTP 503, then
// returns once every socket has finished its closing handshake. net/http's
// own shutdown neither closes nor waits for these hijacked connections, so
// without it their clients would see the connection drop. When ctx ends
// first, the sockets left are dropped and ctx's error is returned. Run's
// end does the same without waiting; call Shutdown when shutdown starts.
func (s *Service) Shutdown(ctx context.Context) error {
	h := s.sockets
	h.shutdown()
	for {
		h.mu.Lock()
		n := h.serving
		h.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-h.gone:
		case <-ctx.Done():
			h.mu.Lock()
			for sk := range h.all {
				sk.drop(reasonShutdown)
			}
			h.mu.Unlock()
			return fmt.Errorf("peer channels: %d websockets still open: %w", n, ctx.Err())
		}
	}
}

// noticeJSON is the 4-key object of channel notifications; ElectrumSV
// requires exactly these keys.
type noticeJSON struct {
	Sequence    int64  `json:"sequence"`
	Received    string `json:"received"`
	ContentType string `json:"content_type"`
	ChannelID   string `json:"channel_id"`
}

// accountEnvelope is the JSON-mode account socket message.
type accountEnvelope struct {
	MessageType string `json:"message_type"`
	Result      any    `json:"result"`
}

// dispatch fans a notice out to this process's sockets: every /notify
// socket of the channel, and the owner's account socket unless the Owner
// token wrote.
func (h *socketRegistry) dispatch(n walletgate.ChannelNotice) {
	obj, err := json.Marshal(noticeJSON{
		Sequence: n.Sequence, Received: n.Received.UTC().Format(timeFormat),
		ContentType: n.ContentType, ChannelID: n.ChannelExternalID,
	})
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sk := range h.channels[n.ChannelExternalID] {
		sk.queue(frame{websocket.MessageText, obj})
	}
	if n.FromOwnerToken {
		return
	}
	if sk := h.accounts[n.AccountID]; sk != nil {
		if f, err := accountFrame(sk.binary, KindChannelMessage, obj); err == nil {
			sk.queue(f)
		}
	}
}

// accountFrame encodes a kind-tagged payload for an account socket: binary
// mode is uint32BE kind ‖ payload; JSON mode wraps it in an envelope (kind
// 1 payloads are JSON objects, kind 2 payloads go out as hex).
func accountFrame(binaryMode bool, kind uint32, payload []byte) (frame, error) {
	if binaryMode {
		b := make([]byte, 4+len(payload))
		binary.BigEndian.PutUint32(b, kind)
		copy(b[4:], payload)
		return frame{websocket.MessageBinary, b}, nil
	}
	var env accountEnvelope
	switch kind {
	case KindChannelMessage:
		if !json.Valid(payload) {
			return frame{}, walletgate.Errorf(walletgate.EInvalid, "kind 1 payload is not JSON")
		}
		env = accountEnvelope{"bsvapi.channels.notification", json.RawMessage(payload)}
	case KindOutputSpend:
		env = accountEnvelope{"bsvapi.output-spends.notification", hex.EncodeToString(payload)}
	default:
		return frame{}, walletgate.Errorf(walletgate.EInvalid, "unknown account message kind %d", kind)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return frame{}, walletgate.WrapError(walletgate.EInternal, err, "encode account message kind %d", kind)
	}
	return frame{websocket.MessageText, b}, nil
}

// serveSocket accepts the upgrade and runs sk until it closes: the reader
// in a goroutine this call waits for, the writer and pinger here.
func (s *Service) serveSocket(w http.ResponseWriter, r *http.Request, sk *socket) {
	if s.sockets.isClosed() {
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	// The socket is tracked before the handshake is answered: a client
	// may write a message the moment its handshake completes, and that
	// message's notice must find the socket. Frames queued meanwhile wait
	// in sk.send for the writer loop.
	sk.send = make(chan frame, s.cfg.SendQueue)
	sk.done = make(chan struct{})
	if !s.sockets.add(sk) {
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	defer s.sockets.finished()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The reference server checks no Origin; tokens ride in the query,
		// not in cookies, so a foreign page gains nothing.
		InsecureSkipVerify: true,
	})
	if err != nil {
		s.sockets.remove(sk)
		return // Accept has answered the failed handshake
	}
	conn.SetReadLimit(s.cfg.MaxClientFrame)
	sk.conn = conn
	sk.live.Store(conn)
	readCtx, cancelRead := context.WithCancel(context.Background())
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.readSocket(readCtx, sk)
	}()
	s.writeSocket(sk)
	// Untrack first, so nothing waits on the closing handshake.
	s.sockets.remove(sk)
	if sk.abrupt {
		_ = conn.CloseNow()
	} else {
		// Close performs the closing handshake within its own bound; the
		// reader sees the close frame (or the dropped connection) and exits.
		_ = conn.Close(sk.status, sk.reason)
	}
	cancelRead()
	<-readDone
}

// readSocket consumes client frames: a /notify socket ignores them, an
// account socket closes on the first one, as the reference does.
func (s *Service) readSocket(ctx context.Context, sk *socket) {
	for {
		_, rd, err := sk.conn.Reader(ctx)
		if err != nil {
			sk.stop(websocket.StatusNormalClosure, "")
			return
		}
		if sk.channel == "" {
			sk.stop(websocket.StatusNormalClosure, "client frames close the account websocket")
			return
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			sk.stop(websocket.StatusNormalClosure, "")
			return
		}
	}
}

// writeSocket sends queued frames and heartbeats until sk is stopped or a
// write misses its deadline.
func (s *Service) writeSocket(sk *socket) {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-sk.done:
			return
		case f := <-sk.send:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
			err := sk.conn.Write(ctx, f.typ, f.data)
			cancel()
			if err != nil {
				sk.drop("write failed")
				return
			}
		case <-ping.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
			err := sk.conn.Ping(ctx)
			cancel()
			if err != nil {
				s.log.LogAttrs(ctx, slog.LevelDebug, "websocket ping failed", slog.Any("err", err))
				sk.drop("ping timeout")
				return
			}
		}
	}
}

// reasonMissingToken is the handshake reason without ?token=.
const reasonMissingToken = "10018: Missing 'token' query parameter (bearer token)"

// notifySocket is GET /api/v1/channel/{id}/notify?token=<channel token>.
func (s *Service) notifySocket(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		writeError(w, http.StatusBadRequest, reasonMissingToken)
		return
	}
	rec := &statusRecorder{}
	a, ok := s.authChannel(rec, r, tok, permRead)
	if !ok {
		handshakeRefused(w, rec.status)
		return
	}
	s.serveSocket(w, r, &socket{channel: a.channel.ExternalID})
}

// accountSocket is GET /api/v1/web-socket?token=<master token>.
func (s *Service) accountSocket(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		writeError(w, http.StatusBadRequest, reasonMissingToken)
		return
	}
	rec := &statusRecorder{}
	acct, ok := s.accountByKey(rec, r, tok)
	if !ok {
		handshakeRefused(w, rec.status)
		return
	}
	accept := r.Header.Get("Accept")
	binaryMode := accept != "" && accept != "*/*" && accept != "application/json"
	s.serveSocket(w, r, &socket{accountID: acct.ID, binary: binaryMode})
}

// statusRecorder lets the websocket handshakes reuse the HTTP auth
// helpers while answering with their own reasons.
type statusRecorder struct{ status int }

func (d *statusRecorder) Header() http.Header         { return http.Header{} }
func (d *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (d *statusRecorder) WriteHeader(status int)      { d.status = status }

// handshakeRefused answers a refused websocket handshake: every client
// fault is the reference's 401 reason; a store failure keeps its 5xx.
func handshakeRefused(w http.ResponseWriter, status int) {
	if status >= 500 {
		writeError(w, status, http.StatusText(status))
		return
	}
	writeError(w, http.StatusUnauthorized, "10023: Unauthorized - invalid Bearer Token")
}

// SendAccount queues kind and payload to the account's websocket on this
// process (binary: uint32BE kind ‖ payload; JSON: kind 1 as an object,
// kind 2 as hex). It never blocks; an ENotFound error means the account has
// no open socket here.
func (s *Service) SendAccount(ctx context.Context, accountID int64, kind uint32, payload []byte) error {
	s.sockets.mu.Lock()
	sk := s.sockets.accounts[accountID]
	s.sockets.mu.Unlock()
	if sk == nil {
		return walletgate.Errorf(walletgate.ENotFound, "client account not connected to websocket")
	}
	f, err := accountFrame(sk.binary, kind, payload)
	if err != nil {
		return err
	}
	if !sk.queue(f) {
		return walletgate.Errorf(walletgate.EUnavailable, "account %d websocket is closing", accountID)
	}
	return nil
}

// AccountConnected reports whether the account has a tracked websocket on
// this process (output-spend registration requires one).
func (s *Service) AccountConnected(accountID int64) bool {
	s.sockets.mu.Lock()
	defer s.sockets.mu.Unlock()
	return s.sockets.accounts[accountID] != nil
}

// BroadcastAccountsText sends {"message_type":messageType,"result":result}
// as a text frame to every tracked account websocket on this process,
// whatever its mode, as the reference sends bsvapi.headers.tip. It never
// blocks; a result that is not valid JSON is sent as a JSON string.
func (s *Service) BroadcastAccountsText(ctx context.Context, messageType string, result json.RawMessage) {
	var res any = result
	if !json.Valid(result) {
		res = string(result)
	}
	b, err := json.Marshal(accountEnvelope{MessageType: messageType, Result: res})
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "encode account broadcast", slog.String("type", messageType), slog.Any("err", err))
		return
	}
	s.sockets.mu.Lock()
	defer s.sockets.mu.Unlock()
	for _, sk := range s.sockets.accounts {
		sk.queue(frame{websocket.MessageText, b})
	}
}

// OnAccountSocketClosed registers fn to run, outside any lock and with a
// context bounded by Config.CloseHookTimeout, when a tracked account
// websocket closes or is replaced by a newer one, e.g. to drop its
// output-spend watches (indexer.Handler.AccountSocketClosed fits).
// Register before serving.
func (s *Service) OnAccountSocketClosed(fn func(ctx context.Context, accountID int64)) {
	s.sockets.mu.Lock()
	defer s.sockets.mu.Unlock()
	s.sockets.onClose = append(s.sockets.onClose, fn)
}
