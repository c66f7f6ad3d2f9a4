package peerchannels

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/walletgate/walletgate"
)

func writeError(w http.ResponseWriter, status int, reason string) {
	writeText(w, status, fmt.Sprintf("%d: %s", status, reason))
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writeOK is the body of aiohttp's HTTPOk, which mark and delete reply.
func writeOK(w http.ResponseWriter) { writeText(w, http.StatusOK, "200: OK") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// statusFor maps an application error code to this surface's status. It is
// the one table for the peer-channels API.
func statusFor(code string) int {
	switch code {
	case walletgate.EInvalid, walletgate.EConflict:
		return http.StatusBadRequest
	case walletgate.EUnauthorized, walletgate.EForbidden:
		return http.StatusUnauthorized
	case walletgate.ENotFound:
		return http.StatusNotFound
	case walletgate.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case walletgate.EUnavailable:
		return http.StatusServiceUnavailable
	case walletgate.ETimeout:
		return http.StatusGatewayTimeout
	case walletgate.ENotImplemented:
		return http.StatusNotImplemented
	default:
		return http.StatusInternalServerError
	}
}

// writeStoreError answers an error from the store. Client-caused codes carry
// the store's message (the reference reason text, e.g. "10001: Channel is
// locked. Write failed."); fallback is used when that message is empty.
// Anything else is logged and answered 500 without internal detail.
func (s *Service) writeStoreError(w http.ResponseWriter, r *http.Request, err error, fallback string) {
	status := statusFor(walletgate.ErrorCode(err))
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "peer channels request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
			return // the client went away; nobody reads the reply
		}
		if status == http.StatusInternalServerError {
			writeError(w, status, "Internal Server Error")
			return
		}
	}
	msg := walletgate.ErrorMessage(err)
	if msg == "" {
		msg = fallback
	}
	writeError(w, status, msg)
}

// isNotFound reports whether err is the store's not-found error.
func isNotFound(err error) bool {
	return walletgate.ErrorCode(err) == walletgate.ENotFound
}
