package headers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/walletgate/walletgate"
)

// HeaderSVConfig configures the HeaderSV v2 proxy source.
type HeaderSVConfig struct {
	// URL is HEADER_SV_URL, e.g. http://127.0.0.1:33444.
	URL string
	// Timeout bounds each upstream request, connect to last byte. Default 10 s.
	Timeout time.Duration
	// DialTimeout bounds the TCP connect alone. Default 3 s.
	DialTimeout time.Duration
	// MaxResponseBytes caps an upstream body. Default 4 MiB (2000 JSON
	// headers are about 700 KiB).
	MaxResponseBytes int64
	// HTTPClient replaces the default client (tests); its own timeouts apply
	// in addition to Timeout.
	HTTPClient *http.Client
}

// Default HeaderSV settings.
const (
	DefaultHeaderSVURL         = "http://127.0.0.1:33444"
	DefaultHeaderSVTimeout     = 10 * time.Second
	DefaultHeaderSVDialTimeout = 3 * time.Second
	DefaultMaxResponseBytes    = 4 << 20
)

// HeaderSV is a Source that asks a HeaderSV v2 server over HTTP.
type HeaderSV struct {
	base   *url.URL
	cfg    HeaderSVConfig
	client *http.Client
}

var _ Source = (*HeaderSV)(nil)

// NewHeaderSV checks cfg, fills defaults and returns the source.
func NewHeaderSV(cfg HeaderSVConfig) (*HeaderSV, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultHeaderSVURL
	}
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("headers: HeaderSV URL %q: want http(s)://host[:port]", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHeaderSVTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultHeaderSVDialTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	return &HeaderSV{base: u, cfg: cfg, client: client}, nil
}

// HeaderByHash implements Source.
func (s *HeaderSV) HeaderByHash(ctx context.Context, hash chainhash.Hash) (Header, error) {
	var h Header
	err := s.getJSON(ctx, "/api/v1/chain/header/"+hash.String(), nil, &h)
	if err != nil {
		return Header{}, err
	}
	switch {
	case h.Hash == "": // a bare null
		return Header{}, walletgate.Errorf(walletgate.ENotFound, "HeaderSV has no header %s", hash)
	case !strings.EqualFold(h.Hash, hash.String()):
		return Header{}, walletgate.Errorf(walletgate.EBackend, "HeaderSV answered header %s with %s", hash, h.Hash)
	}
	return h, nil
}

// HeadersByHeight implements Source.
func (s *HeaderSV) HeadersByHeight(ctx context.Context, height, count uint32) ([]Header, error) {
	q := url.Values{}
	q.Set("height", strconv.FormatUint(uint64(height), 10))
	q.Set("count", strconv.FormatUint(uint64(count), 10))
	var hs []Header
	if err := s.getJSON(ctx, "/api/v1/chain/header/byHeight", q, &hs); err != nil {
		return nil, err
	}
	return hs, nil
}

// Tips implements Source.
func (s *HeaderSV) Tips(ctx context.Context) ([]Tip, error) {
	var ts []Tip
	if err := s.getJSON(ctx, "/api/v1/chain/tips", nil, &ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// getJSON GETs path with Accept: application/json and decodes the answer.
// HeaderSV answers 204 with no body for an unknown hash.
func (s *HeaderSV) getJSON(ctx context.Context, path string, q url.Values, into any) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	u := *s.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return walletgate.WrapError(walletgate.EInternal, err, "build HeaderSV request %s", path)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return errUnavailable(fmt.Errorf("GET %s: %w", u.Redacted(), err), "HeaderSV")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxResponseBytes+1))
	if err != nil {
		return errUnavailable(fmt.Errorf("read %s: %w", u.Redacted(), err), "HeaderSV")
	}
	if int64(len(body)) > s.cfg.MaxResponseBytes {
		return walletgate.Errorf(walletgate.EBackend, "HeaderSV answer to %s exceeds %d bytes", path, s.cfg.MaxResponseBytes)
	}
	switch {
	case resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotFound:
		return walletgate.Errorf(walletgate.ENotFound, "HeaderSV has no %s", path)
	case resp.StatusCode == http.StatusBadRequest:
		return walletgate.WrapError(walletgate.EInvalid, &StatusError{Status: resp.StatusCode},
			"HeaderSV refused %s: %s", path, strings.TrimSpace(string(body)))
	case resp.StatusCode != http.StatusOK:
		return walletgate.WrapError(walletgate.EBackend, &StatusError{Status: resp.StatusCode},
			"HeaderSV answered %s with status %d", path, resp.StatusCode)
	case len(body) == 0:
		return walletgate.Errorf(walletgate.ENotFound, "HeaderSV sent an empty answer to %s", path)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return walletgate.WrapError(walletgate.EBackend, err, "HeaderSV sent bad JSON for %s", path)
	}
	return nil
}
