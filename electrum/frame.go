package electrum

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/walletgate/walletgate"
)

// message is one incoming JSON-RPC message: a reply (HasID) or a
// notification (Method set, no id).
type message struct {
	ID     uint64
	HasID  bool
	Method string
	Params json.RawMessage
	Result json.RawMessage
	Error  *walletgate.RPCError
}

type wireMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// parseFrame decodes one line from the server: a single message or a batch
// reply (an array). Whitespace anywhere — ElectrumX pads with spaces before
// the final brace — is allowed. A message without a usable numeric id and
// without a method is reported with HasID false and no method, for the caller
// to ignore.
func parseFrame(line []byte) ([]message, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, nil
	}
	if line[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(line, &items); err != nil {
			return nil, fmt.Errorf("electrum: bad batch reply: %w", err)
		}
		out := make([]message, 0, len(items))
		for i, it := range items {
			m, err := parseMessage(it)
			if err != nil {
				return nil, fmt.Errorf("electrum: batch item %d: %w", i, err)
			}
			out = append(out, m)
		}
		return out, nil
	}
	m, err := parseMessage(line)
	if err != nil {
		return nil, err
	}
	return []message{m}, nil
}

func parseMessage(raw []byte) (message, error) {
	var w wireMessage
	if err := json.Unmarshal(raw, &w); err != nil {
		return message{}, fmt.Errorf("electrum: bad message: %w", err)
	}
	m := message{Method: w.Method, Result: w.Result}
	if m.Method != "" {
		m.Params = w.Params // params mean nothing without a method
	}
	if id := bytes.TrimSpace(w.ID); len(id) > 0 && !bytes.Equal(id, []byte("null")) {
		if n, err := strconv.ParseUint(string(id), 10, 64); err == nil {
			m.ID, m.HasID = n, true
		}
	}
	if e := bytes.TrimSpace(w.Error); len(e) > 0 && !bytes.Equal(e, []byte("null")) {
		m.Error = parseErrorObject(e)
		m.Result = nil // an error reply has no result
	}
	if m.HasID && m.Error == nil && len(m.Result) == 0 {
		m.Result = json.RawMessage("null")
	}
	return m, nil
}

// parseErrorObject reads {"code":c,"message":m}; other shapes keep their
// text as the message so nothing the server said is lost.
func parseErrorObject(raw []byte) *walletgate.RPCError {
	var e struct {
		Code    json.Number `json:"code"`
		Message *string     `json:"message"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Message == nil {
		return &walletgate.RPCError{Code: 0, Message: string(raw)}
	}
	code := 0
	if e.Code != "" {
		if n, err := e.Code.Int64(); err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
			code = int(n)
		} else if f, err := e.Code.Float64(); err == nil && f >= math.MinInt32 && f <= math.MaxInt32 {
			code = int(f)
		}
	}
	return &walletgate.RPCError{Code: code, Message: *e.Message}
}

// appendRequest encodes one request. params must be a JSON array.
func appendRequest(b []byte, id uint64, method string, params json.RawMessage) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"method":`...)
	b = strconv.AppendQuote(b, method)
	b = append(b, `,"params":`...)
	if len(params) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, params...)
	}
	return append(b, '}')
}

// encodeMessage renders m in the server's shape; the fuzz test uses it to
// check that parsed frames round-trip.
func encodeMessage(m message) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0"`)
	if m.Method != "" {
		b.WriteString(`,"method":`)
		mb, _ := json.Marshal(m.Method)
		b.Write(mb)
		if len(m.Params) > 0 {
			b.WriteString(`,"params":`)
			b.Write(m.Params)
		}
	}
	if m.Error != nil {
		eb, _ := json.Marshal(struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}{m.Error.Code, m.Error.Message})
		b.WriteString(`,"error":`)
		b.Write(eb)
	} else if len(m.Result) > 0 {
		b.WriteString(`,"result":`)
		b.Write(m.Result)
	}
	if m.HasID {
		b.WriteString(`,"id":`)
		b.WriteString(strconv.FormatUint(m.ID, 10))
	}
	b.WriteByte('}')
	return b.Bytes()
}
