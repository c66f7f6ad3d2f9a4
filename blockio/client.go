package blockio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// DefaultBaseURL is block.io's v2 API root.
const DefaultBaseURL = "https://block.io/api/v2/"

// Networks block.io serves.
var networks = []string{"btc", "btctest", "doge", "dogetest", "ltc", "ltctest"}

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	// APIKey of the network's account (required).
	APIKey string
	// PIN is the account's secret PIN, kept for withdrawals (not used yet).
	PIN string
	// Network is the block.io network of the key (required): btc,
	// btctest, doge, dogetest, ltc or ltctest.
	Network string
	// BaseURL is the API root (DefaultBaseURL); tests point it at
	// blockiotest.
	BaseURL string
	// Timeout bounds every call, connect to last byte (15 s).
	Timeout time.Duration
	// MaxReplyBytes caps a reply body (4 MiB).
	MaxReplyBytes int64
	// MaxScanPages bounds how many get_transactions pages Transaction
	// reads per direction looking for a txid (5).
	MaxScanPages int
	// HTTPClient replaces the default client (its Timeout is ignored;
	// Config.Timeout applies through the request context).
	HTTPClient *http.Client
}

// Client calls the block.io v2 API for one network. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// New checks cfg and makes a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("blockio: Config.APIKey is required")
	}
	if !slices.Contains(networks, cfg.Network) {
		return nil, fmt.Errorf("blockio: network %q: want one of %s", cfg.Network, strings.Join(networks, ", "))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("blockio: BaseURL %q: want an http(s) URL (%v)", cfg.BaseURL, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = 4 << 20
	}
	if cfg.MaxScanPages <= 0 {
		cfg.MaxScanPages = 5
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	return &Client{cfg: cfg, base: base, http: hc}, nil
}

// Network is the client's block.io network.
func (c *Client) Network() string { return c.cfg.Network }

// envelope is every block.io reply.
type envelope struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
}

// Call invokes method with form params and returns the reply's data
// object. A "fail" reply is a *walletgate.Error with code EBackend whose
// message is block.io's error_message.
func (c *Client) Call(ctx context.Context, method string, params url.Values) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.base.JoinPath(method) // block.io wants the trailing slash
	u.Path += "/"
	u.RawQuery = url.Values{"api_key": {c.cfg.APIKey}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(params.Encode()))
	if err != nil {
		return nil, fmt.Errorf("blockio: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportErr(ctx, method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxReplyBytes+1))
	if err != nil {
		return nil, c.transportErr(ctx, method, err)
	}
	if int64(len(body)) > c.cfg.MaxReplyBytes {
		return nil, &walletgate.Error{Code: walletgate.EBackend, Message: fmt.Sprintf("block.io %s: reply larger than %d bytes", method, c.cfg.MaxReplyBytes)}
	}
	return decodeReply(method, resp.StatusCode, body)
}

// decodeReply turns a status and body into the data object or an error.
// It must hold up to any bytes, since they come from the network.
func decodeReply(method string, status int, body []byte) (json.RawMessage, error) {
	var env envelope
	jsonErr := json.Unmarshal(body, &env)
	switch {
	case jsonErr == nil && env.Status == "fail":
		var d struct {
			ErrorMessage string `json:"error_message"`
		}
		_ = json.Unmarshal(env.Data, &d)
		if d.ErrorMessage == "" {
			d.ErrorMessage = "no error_message given"
		}
		return nil, &walletgate.Error{Code: walletgate.EBackend, Message: fmt.Sprintf("block.io %s failed: %s", method, d.ErrorMessage)}
	case jsonErr == nil && env.Status == "success" && status == http.StatusOK:
		if len(env.Data) == 0 || bytes.Equal(env.Data, []byte("null")) {
			return nil, &walletgate.Error{Code: walletgate.EBackend, Message: fmt.Sprintf("block.io %s: success without data", method)}
		}
		return env.Data, nil
	case status >= 500 || status == http.StatusTooManyRequests:
		return nil, &walletgate.Error{Code: walletgate.EUnavailable, Message: fmt.Sprintf("block.io %s: HTTP %d: %s", method, status, clip(body, 200))}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return nil, &walletgate.Error{Code: walletgate.EUnauthorized, Message: fmt.Sprintf("block.io %s: HTTP %d (API key refused?): %s", method, status, clip(body, 200))}
	case jsonErr != nil:
		return nil, &walletgate.Error{Code: walletgate.EBackend, Message: fmt.Sprintf("block.io %s: HTTP %d, not JSON: %s", method, status, clip(body, 200)), Err: jsonErr}
	default:
		return nil, &walletgate.Error{Code: walletgate.EBackend, Message: fmt.Sprintf("block.io %s: HTTP %d, status %q: %s", method, status, env.Status, clip(body, 200))}
	}
}

// transportErr classifies a failed round trip; the URL (with the API key)
// is kept out of the message.
func (c *Client) transportErr(ctx context.Context, method string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &walletgate.Error{Code: walletgate.ETimeout, Message: fmt.Sprintf("block.io %s: no reply within %s", method, c.cfg.Timeout), Err: err}
	}
	return &walletgate.Error{Code: walletgate.EUnavailable, Message: fmt.Sprintf("block.io %s: %v", method, err), Err: err}
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
