package socketio

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
)

// Messages of the extension and of walletgate's own checks.
const (
	msgRateLimited  = "rate limited"
	msgAddressesArg = "addresses must be a list of address strings"
)

// peer is the transport side of one Socket.IO socket (socket.go's
// sioPeer; an interface so the handlers do not depend on the Engine.IO
// session).
type peer interface {
	// emit sends event name with one argument. It does not block.
	emit(name string, data any)
	// write queues an encoded Socket.IO packet; done (if not nil) is called
	// once it has been written to the client. It does not block.
	write(packet string, done func())
	// kill tells the client reason (best effort) and closes the transport.
	kill(reason string)
}

// session is one connected socket. Its event handlers run one at a time
// (under its Engine.IO session's input lock); the hub calls Send and Close
// from elsewhere.
type session struct {
	srv    *Server
	p      peer
	conn   *hub.Conn
	dec    hub.AddressDecoder
	prefix string // Socket.IO EVENT packet prefix for the namespace

	// handler state, touched only by the handler goroutine
	lastSub    time.Time
	single     walletgate.ScriptHash // the one-address form's subscription
	singleAddr string
	multi      map[string]walletgate.ScriptHash // list form: address → script hash

	closeOnce sync.Once
}

// newSession registers a socket of namespace b with the hub.
func (s *Server) newSession(p peer, b binding) (*session, error) {
	ss := &session{srv: s, p: p, dec: b.dec, prefix: b.prefix, multi: make(map[string]walletgate.ScriptHash)}
	conn, err := s.hub.Connect(b.coin, ss)
	if err != nil {
		return nil, err
	}
	ss.conn = conn
	return ss, nil
}

// onEvent dispatches one client event. ack is not nil when the client
// asked for an acknowledgement; only the account events give one.
func (ss *session) onEvent(name string, args []any, ack func(any)) {
	switch name {
	case "subscribe":
		ss.onSubscribe(args)
	case "unsubscribe":
		ss.onUnsubscribe(args)
	case evSubscribeAccount:
		ss.onAccount(true, args, ack)
	case evUnsubscribeAccount:
		ss.onAccount(false, args, ack)
	}
}

// closed releases the socket's subscriptions.
func (ss *session) closed() {
	if err := ss.conn.Close(); err != nil {
		ss.srv.cfg.Logger.Warn("socketio: release subscriptions", "err", err)
	}
}

// Send implements hub.Sink.
func (ss *session) Send(ev *hub.Event, tag string, done func()) {
	ss.p.write(ss.frame(ev, tag), done)
}

// frame encodes one push as a Socket.IO v5 EVENT packet.
func (ss *session) frame(ev *hub.Event, tag string) string {
	var b strings.Builder
	switch ev.Kind {
	case hub.KindBlock:
		b.Grow(len(ss.prefix) + 32)
		b.WriteString(ss.prefix)
		b.WriteString(`["block",{"height":`)
		b.WriteString(strconv.FormatInt(ev.Height, 10))
		b.WriteString(`}]`)
	case hub.KindAccount:
		b.Grow(len(ss.prefix) + len(ev.Payload) + 16)
		b.WriteString(ss.prefix)
		b.WriteString(`["` + walletgate.EventTxUpdate + `",`)
		b.Write(ev.Payload)
		b.WriteByte(']')
	default:
		b.Grow(len(ss.prefix) + len(ev.Payload) + len(tag) + 40)
		b.WriteString(ss.prefix)
		b.WriteString(`["balance_changed",`)
		if tag == "" {
			b.Write(ev.Payload)
		} else {
			// The list form names the address first.
			addr, _ := json.Marshal(tag)
			b.WriteString(`{"address":`)
			b.Write(addr)
			b.WriteByte(',')
			b.Write(ev.Payload[1:])
		}
		b.WriteByte(']')
	}
	return b.String()
}

// Close implements hub.Sink: the client fell too far behind. It is told
// why (best effort: the message queues behind the unsent ones) and the
// transport is closed at once, which fails the stuck write.
func (ss *session) Close(reason string) {
	ss.closeOnce.Do(func() { ss.p.kill("disconnected: " + reason) })
}

func (ss *session) emitError(msg string) {
	ss.p.emit("error", map[string]any{"message": msg})
}

func (ss *session) onSubscribe(args []any) {
	payload, ok := firstObject(args)
	if !ok {
		return // not a JSON object: ignored, as the original does
	}
	now := time.Now()
	if !ss.lastSub.IsZero() && now.Sub(ss.lastSub) < ss.srv.cfg.SubscribeInterval {
		ss.emitError(msgRateLimited)
		return
	}
	ss.lastSub = now // before validation: invalid attempts count too

	if list, present := payload["addresses"]; present {
		ss.subscribeList(list)
		return
	}
	addr := strings.TrimSpace(pyStr(payload["address"]))
	script, err := hub.ParseAddress(ss.dec, addr)
	if err != nil {
		ss.emitError(walletgate.ErrorMessage(err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.srv.cfg.WatchTimeout)
	defer cancel()
	err = ss.conn.Watch(ctx, script, "", func() {
		ss.p.emit("subscribed", map[string]any{"address": addr})
	})
	if err != nil {
		ss.emitError(watchError(err))
		return
	}
	// The previous address is left before the first push of the new one,
	// so a client that has its balance is no longer subscribed to the old.
	if old := ss.single; old != "" && old != script.Hash {
		if err := ss.conn.Unwatch(ctx, old, ""); err != nil {
			ss.srv.cfg.Logger.Warn("socketio: leave previous address", "address", ss.singleAddr, "err", err)
		}
	}
	ss.single, ss.singleAddr = script.Hash, addr
	ss.conn.Refresh(script.Hash, "")
}

func (ss *session) subscribeList(list any) {
	addrs, ok := stringList(list)
	if !ok {
		ss.emitError(msgAddressesArg)
		return
	}
	if len(addrs) > ss.srv.cfg.MaxAddresses {
		ss.emitError("too many addresses in one subscribe: " + strconv.Itoa(len(addrs)) + " (max " + strconv.Itoa(ss.srv.cfg.MaxAddresses) + ")")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.srv.cfg.WatchTimeout)
	defer cancel()
	for _, raw := range addrs {
		addr := strings.TrimSpace(raw)
		script, err := hub.ParseAddress(ss.dec, addr)
		if err == nil {
			err = ss.conn.Watch(ctx, script, addr, func() {
				ss.p.emit("subscribed", map[string]any{"address": addr})
			})
		}
		if err != nil {
			ss.p.emit("error", map[string]any{"message": watchError(err), "address": addr})
			continue
		}
		ss.conn.Refresh(script.Hash, addr)
		ss.multi[addr] = script.Hash
	}
}

func (ss *session) onUnsubscribe(args []any) {
	payload, ok := firstObject(args)
	if !ok {
		return
	}
	var addrs []string
	if list, present := payload["addresses"]; present {
		if addrs, ok = stringList(list); !ok {
			ss.emitError(msgAddressesArg)
			return
		}
		if len(addrs) > ss.srv.cfg.MaxAddresses {
			ss.emitError("too many addresses in one unsubscribe: " + strconv.Itoa(len(addrs)) + " (max " + strconv.Itoa(ss.srv.cfg.MaxAddresses) + ")")
			return
		}
	} else {
		addrs = []string{pyStr(payload["address"])}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.srv.cfg.WatchTimeout)
	defer cancel()
	for _, raw := range addrs {
		addr := strings.TrimSpace(raw)
		script, err := hub.ParseAddress(ss.dec, addr)
		if err != nil {
			ss.p.emit("error", map[string]any{"message": walletgate.ErrorMessage(err), "address": addr})
			continue
		}
		if sh, ok := ss.multi[addr]; ok {
			delete(ss.multi, addr)
			ss.unwatch(ctx, sh, addr)
		}
		if ss.single == script.Hash {
			ss.single, ss.singleAddr = "", ""
			ss.unwatch(ctx, script.Hash, "")
		}
		ss.p.emit("unsubscribed", map[string]any{"address": addr})
	}
}

func (ss *session) unwatch(ctx context.Context, sh walletgate.ScriptHash, tag string) {
	if err := ss.conn.Unwatch(ctx, sh, tag); err != nil {
		ss.srv.cfg.Logger.Warn("socketio: unsubscribe", "scripthash", sh, "err", err)
	}
}

// watchError is the client's text for a failed Watch.
func watchError(err error) string {
	switch walletgate.ErrorCode(err) {
	case walletgate.EInvalid, walletgate.ETooLarge:
		return walletgate.ErrorMessage(err)
	}
	return "subscribe failed: backend unavailable"
}

// firstObject returns the event's first argument when it is a JSON object.
func firstObject(args []any) (map[string]any, bool) {
	if len(args) == 0 {
		return nil, false
	}
	m, ok := args[0].(map[string]any)
	return m, ok && m != nil
}

// stringList accepts a JSON array of strings.
func stringList(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// pyStr renders a decoded JSON value as the original's
// str(payload.get("address") or "") would: falsy values give "", so does
// nothing else that matters, as anything but a string or a long integer
// fails the address pattern anyway.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return ""
	case float64:
		if x == 0 {
			return ""
		}
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		if x.String() == "0" {
			return ""
		}
		return x.String()
	case nil:
		return ""
	case []any:
		if len(x) == 0 {
			return ""
		}
		return "[...]"
	case map[string]any:
		if len(x) == 0 {
			return ""
		}
		return "{...}"
	}
	return ""
}

var _ hub.Sink = (*session)(nil)
