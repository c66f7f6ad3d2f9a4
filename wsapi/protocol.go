package wsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/walletgate/walletgate"
)

// Error codes of answers. They follow HTTP statuses, as the REST envelope's
// codes do.
const (
	CodeBadRequest    = 400 // malformed request or invalid parameter
	CodeUnauthorized  = 401 // wrong key for an account subscription
	CodeForbidden     = 403 // account subscriptions are not enabled
	CodeNotFound      = 404 // unknown method
	CodeTooLarge      = 413 // too many addresses or accounts
	CodeInternal      = 500
	CodeBadGateway    = 502 // the backend answered nonsense
	CodeUnavailable   = 503 // the backend is unreachable
	CodeTimeout       = 504 // the backend did not answer in time
	CodeBackendRefuse = 400 // the backend refused (unknown transaction): its message is shown
)

// request is one client message.
type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// rpcError is an answer's error object. Address names the offending
// address when there is one.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Address string `json:"address,omitempty"`
}

// Error implements error, for logs.
func (e *rpcError) Error() string { return strconv.Itoa(e.Code) + " " + e.Message }

func badRequest(msg string) *rpcError { return &rpcError{Code: CodeBadRequest, Message: msg} }

var nullID = json.RawMessage("null")

// parseRequest reads one client message. The id, when the message has a
// usable one, is returned even with an error, so the error answer can
// carry it.
func parseRequest(b []byte) (request, *rpcError) {
	var req request
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return request{ID: nullID}, badRequest(`request must be a JSON object {"id","method","params"}`)
	}
	if err := json.Unmarshal(b, &req); err != nil {
		// Salvage the id for the answer when only the other fields are bad.
		var idOnly struct {
			ID json.RawMessage `json:"id"`
		}
		id := nullID
		if json.Unmarshal(b, &idOnly) == nil && len(idOnly.ID) > 0 && validID(idOnly.ID) {
			id = idOnly.ID
		}
		return request{ID: id}, badRequest("malformed request: " + jsonProblem(err))
	}
	if !validID(req.ID) {
		return request{ID: nullID}, badRequest("id must be a number, a string or null")
	}
	if len(req.ID) == 0 {
		req.ID = nullID
	}
	if req.Method == "" {
		return req, badRequest("missing method")
	}
	if p := bytes.TrimSpace(req.Params); len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
		return req, badRequest("params must be a JSON object")
	}
	return req, nil
}

func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 {
		return true
	}
	switch id[0] {
	case '{', '[', 't', 'f':
		return false
	}
	return true
}

// jsonProblem says what was wrong in client JSON without echoing Go types.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return "field " + te.Field + " has the wrong type (" + te.Value + ")"
		}
		return "wrong type (" + te.Value + ")"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return "invalid JSON"
}

// decodeParams reads params into v; absent or null params leave v zero.
func decodeParams(raw json.RawMessage, v any) *rpcError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return badRequest("invalid params: " + jsonProblem(err))
	}
	return nil
}

// serviceError turns a wallet service failure into an answer's error.
func serviceError(err error) *rpcError {
	var rpc *walletgate.RPCError
	if errors.As(err, &rpc) {
		return &rpcError{Code: CodeBackendRefuse, Message: "backend error " + strconv.Itoa(rpc.Code) + ": " + rpc.Message}
	}
	msg := walletgate.ErrorMessage(err)
	switch walletgate.ErrorCode(err) {
	case walletgate.EInvalid:
		return &rpcError{Code: CodeBadRequest, Message: msg}
	case walletgate.EUnauthorized:
		return &rpcError{Code: CodeUnauthorized, Message: msg}
	case walletgate.EForbidden:
		return &rpcError{Code: CodeForbidden, Message: msg}
	case walletgate.ENotFound:
		return &rpcError{Code: CodeNotFound, Message: msg}
	case walletgate.ETooLarge:
		return &rpcError{Code: CodeTooLarge, Message: msg}
	case walletgate.EUnavailable:
		return &rpcError{Code: CodeUnavailable, Message: "backend unavailable: " + msg}
	case walletgate.ETimeout:
		return &rpcError{Code: CodeTimeout, Message: "backend timed out"}
	case walletgate.EBackend:
		return &rpcError{Code: CodeBadGateway, Message: msg}
	}
	return &rpcError{Code: CodeInternal, Message: "internal error"}
}

// encodeResult builds {"id":…,"result":…}.
func encodeResult(id json.RawMessage, result any) ([]byte, error) {
	r, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(id)+len(r)+20)
	b = append(b, `{"id":`...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, r...)
	return append(b, '}'), nil
}

// encodeError builds {"id":…,"error":{"code","message"[,"address"]}}.
func encodeError(id json.RawMessage, e *rpcError) []byte {
	r, _ := json.Marshal(e)
	b := make([]byte, 0, len(id)+len(r)+20)
	b = append(b, `{"id":`...)
	b = append(b, id...)
	b = append(b, `,"error":`...)
	b = append(b, r...)
	return append(b, '}')
}
