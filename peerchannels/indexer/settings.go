package indexer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Callback validation limits, as in the reference server.
const (
	MaxCallbackURLLength  = 2048
	MinCallbackTokenChars = 8 // not counting spaces
	reasonBadCallback     = "10004"
)

// hostPattern is the reference server's host rule: optional user:pass@, a
// dotted name of at most 253 characters (each label ≤ 63, no dash at either
// end, a dash-free last label) or "localhost", and an optional port.
var hostPattern = regexp.MustCompile(`(?i)^(?:\w{1,255}:.{1,255}@)?(?:(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]{1,63})|localhost)(?::\d{1,5})?$`)

// tokenPattern is printable ASCII including space.
var tokenPattern = regexp.MustCompile(`^[ -~]+$`)

// validateCallbackURL applies the reference server's URL rules: http or
// https, a valid host, no fragment, at most 2048 characters.
func validateCallbackURL(s string) error {
	if s == "" {
		return fmt.Errorf("No URL specified")
	}
	if len(s) > MaxCallbackURLLength {
		return fmt.Errorf("Too long")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("Unparseable")
	}
	if u.Scheme == "" {
		return fmt.Errorf("Scheme not found")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return fmt.Errorf("Invalid scheme")
	}
	host := u.Host
	if u.User != nil {
		host = u.User.String() + "@" + host
	}
	if u.Host == "" {
		return fmt.Errorf("Host not found")
	}
	hostOnly := u.Hostname()
	if len(hostOnly) > 253 || !hostPattern.MatchString(host) {
		return fmt.Errorf("Invalid host")
	}
	if u.Fragment != "" {
		return fmt.Errorf("URL contains fragment")
	}
	return nil
}

// validateCallbackToken requires at least 8 non-space characters, all
// printable ASCII (the value is sent verbatim as an Authorization header).
func validateCallbackToken(s string) error {
	if len(strings.ReplaceAll(s, " ", "")) < MinCallbackTokenChars {
		return fmt.Errorf("token too short")
	}
	if !tokenPattern.MatchString(s) {
		return fmt.Errorf("token invalid")
	}
	return nil
}

// indexerSettings is the JSON of GET/POST /api/v1/indexer.
type indexerSettings struct {
	TipFilterCallbackURL   *string `json:"tipFilterCallbackUrl"`
	TipFilterCallbackToken *string `json:"tipFilterCallbackToken"`
}

func (h *Handler) serveGetSettings(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if accept := mediaType(r, "Accept", "*/*"); accept != "*/*" && accept != appJSON {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid 'Accept', expected 'application/json', got '%s'", accept))
		return
	}
	writeJSON(w, indexerSettings{acct.TipFilterCallbackURL, acct.TipFilterCallbackToken})
}

// servePostSettings overwrites both callback settings: an absent key clears
// its setting. The URL is trimmed; a token needs a URL.
func (h *Handler) servePostSettings(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if ct := mediaType(r, "Content-Type", appJSON); ct != appJSON {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid 'Content-Type', expected 'application/json', got '%s'", ct))
		return
	}
	if accept := mediaType(r, "Accept", appJSON); accept != "*/*" && accept != appJSON {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid 'Accept', expected 'application/json', got '%s'", accept))
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		writeError(w, http.StatusBadRequest, "Invalid settings update object in body")
		return
	}
	var urlPtr, tokenPtr *string
	if raw, ok := obj["tipFilterCallbackUrl"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			writeError(w, http.StatusBadRequest, reasonBadCallback+": Invalid tip filter callback url")
			return
		}
		s = strings.TrimSpace(s)
		if err := validateCallbackURL(s); err != nil {
			writeError(w, http.StatusBadRequest, reasonBadCallback+": Invalid tip filter callback url "+err.Error())
			return
		}
		urlPtr = &s
	}
	if raw, ok := obj["tipFilterCallbackToken"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			writeError(w, http.StatusBadRequest, reasonBadCallback+": Invalid tip filter callback token")
			return
		}
		if urlPtr == nil {
			writeError(w, http.StatusBadRequest, reasonBadCallback+": Tip filter callback token provided without url")
			return
		}
		if err := validateCallbackToken(s); err != nil {
			writeError(w, http.StatusBadRequest, reasonBadCallback+": Invalid tip filter callback token "+err.Error())
			return
		}
		tokenPtr = &s
	}
	if err := h.cfg.Store.SetTipFilterCallback(r.Context(), acct.ID, urlPtr, tokenPtr); err != nil {
		h.storeError(w, "set tip filter callback", err)
		return
	}
	writeJSON(w, indexerSettings{urlPtr, tokenPtr})
}
