package socketio

import (
	"bytes"
	"encoding/json"
)

// Engine.IO v4 packet types, the first byte of every packet.
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
	eioUpgrade = '5'
	eioNoop    = '6'
)

// recordSeparator joins the packets of a polling payload (Engine.IO v4).
const recordSeparator = 0x1e

// splitPayload splits a polling payload into its packets. Empty records
// carry nothing and are dropped; no record contains the separator. The
// records share p's memory.
func splitPayload(p []byte) [][]byte {
	var out [][]byte
	for len(p) > 0 {
		i := bytes.IndexByte(p, recordSeparator)
		if i < 0 {
			out = append(out, p)
			break
		}
		if i > 0 {
			out = append(out, p[:i])
		}
		p = p[i+1:]
	}
	return out
}

// appendPayload appends packets to dst as one polling payload.
func appendPayload(dst []byte, packets ...[]byte) []byte {
	for i, pk := range packets {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = append(dst, pk...)
	}
	return dst
}

// sioPacket is a decoded Socket.IO v5 packet.
type sioPacket struct {
	typ  byte   // '0' CONNECT … '6' BINARY_ACK
	nsp  string // "/" unless the packet names one
	ack  string // the ack id's digits, "" when the sender wants no ack
	body []byte // after the namespace and ack id
}

// Socket.IO v5 packet types.
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioAck          = '3'
	sioConnectError = '4'
	sioBinaryEvent  = '5'
	sioBinaryAck    = '6'
)

// parsePacket decodes a Socket.IO packet (the Engine.IO message's data).
// An ack id longer than maxAckDigits is dropped (the packet is handled
// without one): no client counts that far, and the id is echoed.
func parsePacket(p []byte) (sioPacket, bool) {
	if len(p) == 0 || p[0] < sioConnect || p[0] > sioBinaryAck {
		return sioPacket{}, false
	}
	pk := sioPacket{typ: p[0], nsp: "/"}
	rest := p[1:]
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			pk.nsp, rest = string(rest), nil
		} else {
			pk.nsp, rest = string(rest[:i]), rest[i+1:]
		}
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i <= maxAckDigits {
		pk.ack = string(rest[:i])
	}
	pk.body = rest[i:]
	return pk, true
}

// maxAckDigits bounds an ack id: 20 digits hold any uint64, the ids of
// socket.io-client.
const maxAckDigits = 20

// eventArgs decodes an EVENT body: a JSON array whose first element is the
// event name.
func eventArgs(body []byte) (string, []any, bool) {
	var args []any
	if json.Unmarshal(body, &args) != nil || len(args) == 0 {
		return "", nil, false
	}
	name, ok := args[0].(string)
	if !ok {
		return "", nil, false
	}
	return name, args[1:], true
}
