package walletgate

import (
	"errors"
	"fmt"
)

// Application error codes. Each compatibility surface (Bitweb REST, ElectrumSV
// peer channels, cryptoassets intake) maps these to its own status codes and
// bodies in one table, so a store or backend never decides an HTTP status.
const (
	EInvalid        = "invalid"         // the client sent something malformed
	EUnauthorized   = "unauthorized"    // missing or wrong credentials
	EForbidden      = "forbidden"       // credentials valid but not allowed
	ENotFound       = "not_found"       // the thing asked for does not exist
	EConflict       = "conflict"        // the request clashes with stored state
	ETooLarge       = "too_large"       // a body or list over a named limit
	EUnavailable    = "unavailable"     // a backend or upstream cannot be reached
	ETimeout        = "timeout"         // a backend did not answer in time
	EBackend        = "backend"         // the backend answered with an error of its own
	EInternal       = "internal"        // a bug or an unexpected failure
	ENotImplemented = "not_implemented" // the configured backend cannot do this
)

// Error is an application error: a code from the list above and a message
// that is safe to show to the client. Err keeps the underlying cause for logs.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements error; it includes the cause so logs carry it.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an application error with a formatted client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError builds an application error that keeps err as its cause.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first application error in err's chain,
// or EInternal when there is none (an unexpected error is a bug until shown
// otherwise).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of the first application error
// in err's chain, or a generic text that hides internal details.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RPCError is an error reported by a backend server in its own protocol
// (an Electrum or bitcoind JSON-RPC error object). The code and message are
// kept exactly, because the Bitweb contract shows them to clients verbatim.
type RPCError struct {
	Code    int
	Message string
}

// Error implements error.
func (e *RPCError) Error() string {
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}
