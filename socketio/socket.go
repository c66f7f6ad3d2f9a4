package socketio

import (
	"encoding/json"
	"time"
)

// The Socket.IO v5 layer over an Engine.IO session, whatever its
// transport: CONNECT with an optional namespace and auth (answered with
// the socket's sid, or CONNECT_ERROR "Invalid namespace" for a namespace
// not served), EVENT with an optional ack id (answered with an ACK packet
// by the account events, which acknowledge; the Bitweb events do not, as
// the original), and DISCONNECT. Binary events and acks are ignored, as
// is an EVENT whose arguments do not parse; a packet that is not
// Socket.IO at all ends the session.

// message handles one Socket.IO packet, under conn.inMu; false ends the
// session.
func (c *conn) message(p []byte) bool {
	pk, ok := parsePacket(p)
	if !ok {
		return false
	}
	prefix := ""
	if pk.nsp != "/" {
		prefix = pk.nsp + ","
	}
	switch pk.typ {
	case sioConnect:
		if c.sockets[pk.nsp] != nil {
			return true
		}
		c.srv.mu.Lock()
		b, ok := c.srv.nsps[pk.nsp]
		c.srv.mu.Unlock()
		if !ok {
			c.enqueue([]byte(`44`+prefix+`{"message":"Invalid namespace"}`), nil)
			return true
		}
		ss, err := c.srv.newSession(sioPeer{c: c, prefix: prefix}, b)
		if err != nil {
			c.srv.cfg.Logger.Warn("socketio: register socket", "coin", b.coin, "err", err)
			return false
		}
		c.sockets[pk.nsp] = ss
		c.mu.Lock()
		c.connectBy = time.Time{}
		c.mu.Unlock()
		c.enqueue([]byte(`40`+prefix+`{"sid":"`+randomID()+`"}`), nil)
	case sioDisconnect:
		if ss := c.sockets[pk.nsp]; ss != nil {
			delete(c.sockets, pk.nsp)
			ss.closed()
		}
	case sioEvent:
		if ss := c.sockets[pk.nsp]; ss != nil {
			if name, args, ok := eventArgs(pk.body); ok {
				var ack func(any)
				if pk.ack != "" {
					ack = func(v any) { c.ack(prefix, pk.ack, v) }
				}
				ss.onEvent(name, args, ack)
			}
		}
	}
	return true
}

// ack answers the EVENT of ack id with an ACK packet carrying v.
func (c *conn) ack(prefix, id string, v any) {
	body, err := json.Marshal([]any{v})
	if err != nil {
		c.srv.cfg.Logger.Error("socketio: encode ack", "err", err)
		return
	}
	b := make([]byte, 0, 2+len(prefix)+len(id)+len(body))
	b = append(b, eioMessage, sioAck)
	b = append(b, prefix...)
	b = append(b, id...)
	c.enqueue(append(b, body...), nil)
}

// sioPeer is one Socket.IO socket of a session.
type sioPeer struct {
	c      *conn
	prefix string // "" or "/nsp,"
}

func (p sioPeer) emit(name string, data any) {
	body, err := json.Marshal([]any{name, data})
	if err != nil {
		p.c.srv.cfg.Logger.Error("socketio: encode event", "event", name, "err", err)
		return
	}
	b := make([]byte, 0, 2+len(p.prefix)+len(body))
	b = append(b, eioMessage, sioEvent)
	b = append(b, p.prefix...)
	p.c.enqueue(append(b, body...), nil)
}

func (p sioPeer) write(packet string, done func()) {
	b := make([]byte, 0, 1+len(packet))
	b = append(b, eioMessage)
	p.c.enqueue(append(b, packet...), done)
}

// kill tells the client reason and ends the session: a polling client
// gets it with the close packet on its pending GET; on a websocket it
// queues behind the unsent packets, which closing drops.
func (p sioPeer) kill(reason string) {
	p.emit("error", map[string]any{"message": reason})
	p.c.end(eioClose)
}
