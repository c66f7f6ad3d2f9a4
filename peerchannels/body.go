package peerchannels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/walletgate/walletgate"
)

// readBody reads at most limit bytes of r's body. A larger body is an
// ETooLarge error. Bodies are parsed whatever their Content-Type, as the
// reference server does.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, walletgate.Errorf(walletgate.ETooLarge, "Maximum request body size %d exceeded, actual body size %d", limit, r.ContentLength)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, walletgate.Errorf(walletgate.ETooLarge, "Maximum request body size %d exceeded", limit)
		}
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "could not read the request body")
	}
	return b, nil
}

// decodeBody reads the request body within MaxRequestBodyBytes and parses
// it with parse, answering the client itself when either fails (413 for an
// oversized body, 400 with the parser's text otherwise). ok is false when it
// has answered.
func decodeBody[T any](s *Service, w http.ResponseWriter, r *http.Request, parse func([]byte) (T, error)) (v T, ok bool) {
	body, err := readBody(w, r, s.cfg.MaxRequestBodyBytes)
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return v, false
	}
	if v, err = parse(body); err != nil {
		writeError(w, http.StatusBadRequest, errText(err))
		return v, false
	}
	return v, true
}

// object is a decoded JSON object whose values are decoded on demand, so
// a missing key and a mistyped one get their own messages.
type object map[string]json.RawMessage

// parseObject decodes body as one JSON object.
func parseObject(body []byte) (object, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, walletgate.Errorf(walletgate.EInvalid, "Body is invalid JSON")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, walletgate.Errorf(walletgate.EInvalid, "Body is not a JSON object")
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, walletgate.Errorf(walletgate.EInvalid, "Body is not a JSON object")
	}
	return o, nil
}

func (o object) get(key string) (json.RawMessage, error) {
	v, ok := o[key]
	if !ok {
		return nil, walletgate.Errorf(walletgate.EInvalid, "Missing property '%s' in JSON body", key)
	}
	return v, nil
}

// bool reads a required JSON boolean.
func (o object) bool(key string) (bool, error) {
	v, err := o.get(key)
	if err != nil {
		return false, err
	}
	var b bool
	if string(v) == "null" || json.Unmarshal(v, &b) != nil {
		return false, walletgate.Errorf(walletgate.EInvalid, "Property '%s' must be true or false", key)
	}
	return b, nil
}

// str reads a required JSON string.
func (o object) str(key string) (string, error) {
	v, err := o.get(key)
	if err != nil {
		return "", err
	}
	var s string
	if string(v) == "null" || json.Unmarshal(v, &s) != nil {
		return "", walletgate.Errorf(walletgate.EInvalid, "Property '%s' must be a string", key)
	}
	return s, nil
}

// truthy reads a required value by Python truthiness, as the reference's
// bool(body[key]) does: false, null, 0, "", [] and {} are false.
func (o object) truthy(key string) (bool, error) {
	v, err := o.get(key)
	if err != nil {
		return false, err
	}
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return false, walletgate.Errorf(walletgate.EInvalid, "Property '%s' is invalid JSON", key)
	}
	switch t := x.(type) {
	case nil:
		return false, nil
	case bool:
		return t, nil
	case float64:
		return t != 0, nil
	case string:
		return t != "", nil
	case []any:
		return len(t) > 0, nil
	case map[string]any:
		return len(t) > 0, nil
	}
	return false, nil
}

// optDays reads a required retention age: a non-negative whole number of
// days, or null.
func (o object) optDays(key string) (*int64, error) {
	v, err := o.get(key)
	if err != nil {
		return nil, err
	}
	if string(v) == "null" {
		return nil, nil
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil || n < 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "Property '%s' must be a non-negative whole number of days or null", key)
	}
	return &n, nil
}

// createChannelRequest is the body of POST /api/v1/channel/manage.
type createChannelRequest struct {
	PublicRead, PublicWrite, Sequenced bool
	Retention                          walletgate.Retention
}

// parseCreateChannel reads the create body; every key is required and the
// retention object must hold exactly its three keys.
func parseCreateChannel(body []byte) (createChannelRequest, error) {
	var req createChannelRequest
	o, err := parseObject(body)
	if err != nil {
		return req, walletgate.Errorf(walletgate.EInvalid, "bad request body, invalid JSON")
	}
	if req.PublicRead, err = o.bool("public_read"); err != nil {
		return req, err
	}
	if req.PublicWrite, err = o.bool("public_write"); err != nil {
		return req, err
	}
	if req.Sequenced, err = o.bool("sequenced"); err != nil {
		return req, err
	}
	rv, err := o.get("retention")
	if err != nil {
		return req, err
	}
	ro, err := parseObject(rv)
	if err != nil {
		return req, walletgate.Errorf(walletgate.EInvalid, "Property 'retention' must be an object")
	}
	if len(ro) != 3 {
		return req, walletgate.Errorf(walletgate.EInvalid, "Property 'retention' must hold exactly min_age_days, max_age_days and auto_prune")
	}
	if req.Retention.MinAgeDays, err = ro.optDays("min_age_days"); err != nil {
		return req, err
	}
	if req.Retention.MaxAgeDays, err = ro.optDays("max_age_days"); err != nil {
		return req, err
	}
	if req.Retention.AutoPrune, err = ro.bool("auto_prune"); err != nil {
		return req, err
	}
	if mn, mx := req.Retention.MinAgeDays, req.Retention.MaxAgeDays; mn != nil && mx != nil && *mn > *mx {
		return req, walletgate.Errorf(walletgate.EInvalid, "10007: Invalid retention minimum or maximum.")
	}
	return req, nil
}

// amendChannelRequest is the body of POST /api/v1/channel/manage/{id}; the
// reply echoes it, so its JSON tags are the wire names.
type amendChannelRequest struct {
	PublicRead  bool `json:"public_read"`
	PublicWrite bool `json:"public_write"`
	Locked      bool `json:"locked"`
}

func parseAmendChannel(body []byte) (amendChannelRequest, error) {
	var req amendChannelRequest
	o, err := parseObject(body)
	if err != nil {
		return req, walletgate.Errorf(walletgate.EInvalid, "bad request body, invalid JSON")
	}
	if req.PublicRead, err = o.bool("public_read"); err != nil {
		return req, err
	}
	if req.PublicWrite, err = o.bool("public_write"); err != nil {
		return req, err
	}
	if req.Locked, err = o.bool("locked"); err != nil {
		return req, err
	}
	return req, nil
}

// createTokenRequest is the body of POST …/api-token.
type createTokenRequest struct {
	Description       string
	CanRead, CanWrite bool
}

func parseCreateToken(body []byte, maxDescription int) (createTokenRequest, error) {
	var req createTokenRequest
	o, err := parseObject(body)
	if err != nil {
		return req, err
	}
	if req.Description, err = o.str("description"); err != nil {
		return req, err
	}
	if len(req.Description) > maxDescription {
		return req, walletgate.Errorf(walletgate.EInvalid, "Property 'description' is longer than %d bytes", maxDescription)
	}
	if req.CanRead, err = o.truthy("can_read"); err != nil {
		return req, err
	}
	if req.CanWrite, err = o.truthy("can_write"); err != nil {
		return req, err
	}
	return req, nil
}

// parseMark reads {"read": bool}, the body of the mark endpoint.
func parseMark(body []byte) (bool, error) {
	o, err := parseObject(body)
	if err != nil {
		return false, err
	}
	return o.bool("read")
}

// parseID reads a {sequence} or {tokenid} path value: decimal digits only
// (no sign), within int64.
func parseID(name, v string) (int64, error) {
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return 0, walletgate.Errorf(walletgate.EInvalid, "%s %q is not a number", name, v)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, walletgate.Errorf(walletgate.EInvalid, "%s %q is not a number in range", name, v)
	}
	return n, nil
}

// errText is the client message of a parse error.
func errText(err error) string {
	if m := walletgate.ErrorMessage(err); m != "internal error" {
		return m
	}
	return fmt.Sprint(err)
}
