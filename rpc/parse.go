package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/walletgate/walletgate"
)

// reply is one JSON-RPC answer. Error stays raw because nodes disagree on
// its shape (an object with code and message, rarely a bare string).
type reply struct {
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	ID     json.RawMessage `json:"id"`
}

// rpcError turns a non-null error member into *walletgate.RPCError.
func rpcError(raw json.RawMessage) error {
	var obj struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &obj); err == nil && obj.Code != nil {
		return &walletgate.RPCError{Code: *obj.Code, Message: obj.Message}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &walletgate.RPCError{Message: s}
	}
	return fmt.Errorf("%w: error member %s is neither an error object nor a string", ErrMalformed, clip(raw, 120))
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// checkBody handles what every reply shares: 401, and the empty body btcd
// sends for requests it cannot parse.
func checkBody(status int, body []byte) ([]byte, error) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return nil, fmt.Errorf("%w: HTTP %d %s", ErrUnauthorized, status, clip(bytes.TrimSpace(body), 80))
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		if status == http.StatusOK {
			return nil, fmt.Errorf("%w: HTTP 200 with an empty body (btcd's answer to a request it cannot parse)", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: HTTP %d with an empty body", ErrMalformed, status)
	}
	return body, nil
}

// parseReply decodes the answer to a single call. Core sends node errors
// with HTTP 500 or 404 and a JSON body, so the status only matters when the
// body is not JSON-RPC.
func parseReply(status int, body []byte) (json.RawMessage, error) {
	body, err := checkBody(status, body)
	if err != nil {
		return nil, err
	}
	var r reply
	if body[0] != '{' || json.Unmarshal(body, &r) != nil {
		return nil, fmt.Errorf("%w: HTTP %d: %s", ErrMalformed, status, clip(body, 120))
	}
	if !isNull(r.Error) {
		return nil, rpcError(r.Error)
	}
	if r.Result == nil {
		if status != http.StatusOK {
			return nil, fmt.Errorf("%w: HTTP %d without result or error: %s", ErrMalformed, status, clip(body, 120))
		}
		return json.RawMessage("null"), nil
	}
	return r.Result, nil
}

// parseBatch decodes the answer to a batch and orders it by the request
// ids (servers may answer out of order). A node that rejects batches as a
// whole answers with one error object: that error is returned.
func parseBatch(status int, body []byte, ids []uint64) ([]Result, error) {
	body, err := checkBody(status, body)
	if err != nil {
		return nil, err
	}
	if body[0] == '{' {
		if _, err := parseReply(status, body); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: a batch of %d calls got a single result", ErrMalformed, len(ids))
	}
	var rs []reply
	if body[0] != '[' || json.Unmarshal(body, &rs) != nil {
		return nil, fmt.Errorf("%w: batch reply HTTP %d: %s", ErrMalformed, status, clip(body, 120))
	}
	pos := make(map[uint64]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	out := make([]Result, len(ids))
	seen := make([]bool, len(ids))
	for _, r := range rs {
		var id uint64
		if err := json.Unmarshal(r.ID, &id); err != nil {
			return nil, fmt.Errorf("%w: batch reply with id %s", ErrMalformed, clip(r.ID, 40))
		}
		i, ok := pos[id]
		if !ok || seen[i] {
			return nil, fmt.Errorf("%w: batch reply with unknown or repeated id %d", ErrMalformed, id)
		}
		seen[i] = true
		switch {
		case !isNull(r.Error):
			out[i].Err = rpcError(r.Error)
		case r.Result == nil:
			out[i].Result = json.RawMessage("null")
		default:
			out[i].Result = r.Result
		}
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%w: batch reply lacks an answer for call %d (id %d)", ErrMalformed, i, ids[i])
		}
	}
	return out, nil
}
