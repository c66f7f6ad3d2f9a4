package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/walletgate/walletgate"
)

// Sentinel causes inside the *walletgate.Error values the client returns,
// for callers that must tell transport failures apart (errors.Is).
var (
	ErrUnauthorized = errors.New("node refused the credentials (HTTP 401)")
	ErrTimeout      = errors.New("node did not answer in time")
	ErrRefused      = errors.New("connection refused")
	ErrMalformed    = errors.New("reply is not JSON-RPC")
)

// Config are the settings of a Client. Zero values take the defaults
// noted on each field.
type Config struct {
	// URL is the node's endpoint, http://user:pass@host:port/ or https://.
	// Credentials in the URL are sent as HTTP basic auth.
	URL string
	// CookieFile is Core's .cookie ("user:pass"); it is used when the URL
	// has no credentials and re-read after a 401, since Core rewrites it at
	// every start.
	CookieFile string
	// CAFile is a PEM bundle of CAs to trust for an https URL instead of
	// the system roots.
	CAFile string
	// Timeout bounds each call from connect to the last byte of the reply.
	// Default 15 s.
	Timeout time.Duration
	// MaxConcurrent bounds HTTP requests in flight. btcd admits 10 RPC
	// clients by default (--rpcmaxclients) and Core 4 work-queue threads
	// with a queue of 16, so the default is 8.
	MaxConcurrent int
	// MaxReplyBytes caps one reply body. Default 256 MiB (a verbose batch
	// of large transactions, or a 4 MB block as hex).
	MaxReplyBytes int64
	// MaxBatch caps the requests of one HTTP batch; Batch splits longer
	// lists. Default 500.
	MaxBatch int
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 8
	}
	if c.MaxReplyBytes <= 0 {
		c.MaxReplyBytes = 256 << 20
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 500
	}
}

// Client calls one node. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string // URL without credentials
	http     *http.Client
	sem      chan struct{}
	id       atomic.Uint64

	authMu   sync.Mutex
	user     string
	pass     string
	hasCreds bool

	noSmartFee    atomic.Bool // estimatesmartfee is missing: use estimatefee
	noNetworkInfo atomic.Bool // getnetworkinfo is missing: use getinfo
}

// New checks cfg and builds a client; it does not contact the node.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "node url %q does not parse", redact(cfg.URL))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, walletgate.Errorf(walletgate.EInvalid, "node url %q: scheme must be http or https", redact(cfg.URL))
	}
	if u.Host == "" {
		return nil, walletgate.Errorf(walletgate.EInvalid, "node url %q has no host", redact(cfg.URL))
	}
	c := &Client{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent)}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		c.hasCreds = true
		u.User = nil
	} else if cfg.CookieFile != "" {
		if err := c.loadCookie(); err != nil {
			return nil, err
		}
	}
	c.endpoint = u.String()
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:       cfg.MaxConcurrent,
		MaxIdleConnsPerHost:   cfg.MaxConcurrent,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, walletgate.WrapError(walletgate.EInvalid, err, "read node CA file %s", cfg.CAFile)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, walletgate.Errorf(walletgate.EInvalid, "node CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// loadCookie reads Core's cookie file, "user:password" on one line.
func (c *Client) loadCookie() error {
	b, err := os.ReadFile(c.cfg.CookieFile)
	if err != nil {
		return walletgate.WrapError(walletgate.EUnauthorized, err, "read node cookie file %s", c.cfg.CookieFile)
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return walletgate.Errorf(walletgate.EUnauthorized, "node cookie file %s is not user:password", c.cfg.CookieFile)
	}
	c.authMu.Lock()
	c.user, c.pass, c.hasCreds = user, pass, true
	c.authMu.Unlock()
	return nil
}

// Endpoint is the node URL without credentials, for logs.
func (c *Client) Endpoint() string { return c.endpoint }

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// request is one JSON-RPC 1.0 call as both Core and btcd accept it.
type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

func (c *Client) newRequest(method string, params []any) request {
	if params == nil {
		params = []any{}
	}
	return request{JSONRPC: "1.0", ID: c.id.Add(1), Method: method, Params: params}
}

// Call makes one call and returns its raw result. A node error is a
// *walletgate.RPCError.
func (c *Client) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	req := c.newRequest(method, params)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "encode %s params", method)
	}
	status, reply, err := c.post(ctx, method, body)
	if err != nil {
		return nil, err
	}
	res, err := parseReply(status, reply)
	if err != nil {
		return nil, wrapReplyErr(method, err)
	}
	return res, nil
}

// CallInto makes one call and decodes its result into out.
func (c *Client) CallInto(ctx context.Context, out any, method string, params ...any) error {
	raw, err := c.Call(ctx, method, params...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "decode %s result %s", method, clip(raw, 120))
	}
	return nil
}

// Request is one call of a batch.
type Request struct {
	Method string
	Params []any
}

// Result is one answer of a batch: exactly one of Result and Err is set;
// Err is a *walletgate.RPCError.
type Result struct {
	Result json.RawMessage
	Err    error
}

// Batch sends the calls as JSON arrays of at most Config.MaxBatch calls
// and returns one Result per call, in order. A non-nil error means a whole
// HTTP round trip failed.
func (c *Client) Batch(ctx context.Context, reqs []Request) ([]Result, error) {
	out := make([]Result, 0, len(reqs))
	for start := 0; start < len(reqs); start += c.cfg.MaxBatch {
		part := reqs[start:min(start+c.cfg.MaxBatch, len(reqs))]
		res, err := c.batchOnce(ctx, part)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func (c *Client) batchOnce(ctx context.Context, reqs []Request) ([]Result, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	wire := make([]request, len(reqs))
	ids := make([]uint64, len(reqs))
	for i, r := range reqs {
		wire[i] = c.newRequest(r.Method, r.Params)
		ids[i] = wire[i].ID
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "encode batch of %d %s calls", len(reqs), reqs[0].Method)
	}
	what := fmt.Sprintf("batch of %d %s", len(reqs), reqs[0].Method)
	status, reply, err := c.post(ctx, what, body)
	if err != nil {
		return nil, err
	}
	res, err := parseBatch(status, reply, ids)
	if err != nil {
		return nil, wrapReplyErr(what, err)
	}
	return res, nil
}

// wrapReplyErr classifies a parse failure: a node error stays verbatim,
// an unusable reply becomes EBackend or EUnauthorized.
func wrapReplyErr(what string, err error) error {
	var re *walletgate.RPCError
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, ErrUnauthorized) {
		return walletgate.WrapError(walletgate.EUnauthorized, err, "node rejected the credentials for %s", what)
	}
	return walletgate.WrapError(walletgate.EBackend, err, "node reply to %s", what)
}

// post sends one HTTP request, bounded by the concurrency limit and the
// per-call timeout, retrying once after a 401 when the credentials come
// from a cookie file that may have been rewritten.
func (c *Client) post(ctx context.Context, what string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, ErrTimeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, c.transportErr(ctx, what, ctx.Err())
	}
	defer func() { <-c.sem }()
	status, reply, err := c.postOnce(ctx, what, body)
	if err == nil && status == http.StatusUnauthorized && c.cfg.CookieFile != "" {
		if c.loadCookie() == nil {
			status, reply, err = c.postOnce(ctx, what, body)
		}
	}
	return status, reply, err
}

func (c *Client) postOnce(ctx context.Context, what string, body []byte) (int, []byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, walletgate.WrapError(walletgate.EInvalid, err, "build request for %s", what)
	}
	hreq.Header.Set("Content-Type", "application/json")
	c.authMu.Lock()
	if c.hasCreds {
		hreq.SetBasicAuth(c.user, c.pass)
	}
	c.authMu.Unlock()
	resp, err := c.http.Do(hreq)
	if err != nil {
		return 0, nil, c.transportErr(ctx, what, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxReplyBytes+1))
	if err != nil {
		return 0, nil, c.transportErr(ctx, what, err)
	}
	if int64(len(reply)) > c.cfg.MaxReplyBytes {
		return 0, nil, walletgate.Errorf(walletgate.ETooLarge, "node reply to %s exceeds %d bytes (Config.MaxReplyBytes)", what, c.cfg.MaxReplyBytes)
	}
	return resp.StatusCode, reply, nil
}

// transportErr turns a failed round trip into ETimeout, EUnavailable or
// the caller's own cancellation.
func (c *Client) transportErr(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err):
		return walletgate.WrapError(walletgate.ETimeout, fmt.Errorf("%w: %v", ErrTimeout, err), "node %s: %s after %s", c.endpoint, what, c.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("rpc %s: %w", what, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return walletgate.WrapError(walletgate.EUnavailable, fmt.Errorf("%w: %v", ErrRefused, err), "node %s refused the connection for %s", c.endpoint, what)
	}
	return walletgate.WrapError(walletgate.EUnavailable, err, "node %s: %s failed", c.endpoint, what)
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// redact hides a password in a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "…" + raw[i:]
		}
		return raw
	}
	return u.Redacted()
}

func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
