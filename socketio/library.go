package socketio

import (
	"strings"

	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// libPeer is a socket served by the library.
type libPeer struct {
	srv  *Server
	sock *socket.Socket
	eng  engine.Socket
}

// emit and write drop everything once Shutdown has started: a websocket
// sent away must not be written to after its close frame.
func (p libPeer) emit(name string, data any) {
	if p.srv.stopping.Load() {
		return
	}
	_ = p.sock.Emit(name, data)
}

// write goes straight to the Engine.IO socket, whose drain callback
// reports the packet written; the socket.io layer's own Emit offers no
// such signal.
func (p libPeer) write(packet string, done func()) {
	if p.srv.stopping.Load() {
		return
	}
	var cb engine.SendCallback
	if done != nil {
		cb = func(transports.Transport) { done() }
	}
	p.eng.Write(strings.NewReader(packet), nil, cb)
}

func (p libPeer) kill(reason string) {
	p.emit("error", map[string]any{"message": reason})
	p.eng.Close(true)
}

// splitAck removes the library's ack callback, the last argument of an
// event whose sender asked for an acknowledgement, and returns it as a
// function of the one value to answer with (nil when none was asked).
func splitAck(args []any) ([]any, func(any)) {
	if n := len(args); n > 0 {
		if a, ok := args[n-1].(socket.Ack); ok {
			return args[:n-1], func(v any) { a([]any{v}, nil) }
		}
	}
	return args, nil
}

// attach serves a socket the library accepted in namespace b.
func (s *Server) attach(sock *socket.Socket, b binding) {
	ss, err := s.newSession(libPeer{srv: s, sock: sock, eng: sock.Conn()}, b)
	if err != nil {
		s.cfg.Logger.Warn("socketio: register socket", "coin", b.coin, "err", err)
		sock.Disconnect(true)
		return
	}
	for _, name := range []string{"subscribe", "unsubscribe", evSubscribeAccount, evUnsubscribeAccount} {
		_ = sock.On(name, func(args ...any) {
			args, ack := splitAck(args)
			ss.onEvent(name, args, ack)
		})
	}
	_ = sock.On("disconnect", func(...any) { ss.closed() })
}
