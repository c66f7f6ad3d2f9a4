package outbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// SignatureHeader carries the HMAC-SHA256 of a JSON-mode body.
const SignatureHeader = "X-Walletgate-Signature"

// HTTPOptions configures an HTTP handler.
type HTTPOptions struct {
	// Name is the handler's queue name.
	Name string
	// URL receives the POSTs.
	URL string
	// Timeout bounds each POST, connect to last byte (default 10s; the
	// original had none and could hang forever).
	Timeout time.Duration
	// JSON sends {"event_name","data"} as application/json instead of the
	// cryptoassets form fields event_name, data and xdata.
	JSON bool
	// Secret, when set, signs JSON bodies: SignatureHeader is
	// "sha256=" + hex(HMAC-SHA256(Secret, body)).
	Secret []byte
	// MaxErrorBody is how much of a failed reply is kept for the error
	// (default 512 bytes).
	MaxErrorBody int64
	// Client is the HTTP client (default: a fresh one); Timeout applies
	// per request either way.
	Client *http.Client
}

// HTTP posts events to a URL (cryptoassets' HTTPEventHandler). Any status
// other than 2xx, or no answer in time, is a failure to retry.
type HTTP struct{ o HTTPOptions }

// NewHTTP checks o and returns the handler.
func NewHTTP(o HTTPOptions) (*HTTP, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, walletgate.Errorf(walletgate.EInvalid, "outbox: handler %q: url %q is not an http(s) URL", o.Name, o.URL)
	}
	if o.Name == "" {
		return nil, walletgate.Errorf(walletgate.EInvalid, "outbox: http handler for %s has no name", o.URL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxErrorBody <= 0 {
		o.MaxErrorBody = 512
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	return &HTTP{o: o}, nil
}

// Name implements Handler.
func (h *HTTP) Name() string { return h.o.Name }

// Sign returns the SignatureHeader value for body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver implements Handler.
func (h *HTTP) Deliver(ctx context.Context, ev walletgate.TxUpdate, data []byte) error {
	var body []byte
	var ctype string
	if h.o.JSON {
		b, err := encodeEnvelope(data)
		if err != nil {
			return err
		}
		body, ctype = b, "application/json"
	} else {
		form := url.Values{"event_name": {walletgate.EventTxUpdate}, "data": {string(data)}, "xdata": {string(data)}}
		body, ctype = []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.o.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("outbox: build POST to %s: %w", h.o.URL, err)
	}
	req.Header.Set("Content-Type", ctype)
	if h.o.JSON && len(h.o.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(h.o.Secret, body))
	}
	resp, err := h.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("outbox: POST %s to %s: %w", ev.EventID, h.o.URL, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, h.o.MaxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("outbox: POST %s to %s: status %s: %s", ev.EventID, h.o.URL, resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}
