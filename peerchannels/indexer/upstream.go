package indexer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Run keeps the websocket to {URL}/ws open, retrying every
// ReconnectInterval, and retries failed tip-filter callbacks, until ctx
// ends. On every (re)connect it re-registers the outpoints that account
// sockets still watch and forwards any spends the indexer already knows, so
// a spend that happened while the link was down is not lost.
func (h *Handler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.retryCallbacks(ctx)
	}()
	defer wg.Wait()
	for {
		err := h.session(ctx)
		h.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		h.log.Warn("indexer: websocket down; retrying", "url", h.wsURL(), "in", h.cfg.ReconnectInterval, "err", err)
		t := time.NewTimer(h.cfg.ReconnectInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (h *Handler) wsURL() string { return h.base.String() + "/ws" }

// session runs one websocket connection to the indexer until it fails.
func (h *Handler) session(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, h.cfg.DialTimeout+h.cfg.RequestTimeout)
	c, _, err := websocket.Dial(dctx, h.wsURL(), &websocket.DialOptions{HTTPClient: h.client})
	cancel()
	if err != nil {
		return fmt.Errorf("dial %s: %w", h.wsURL(), err)
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 10)
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Add(1)
	go func() { // heartbeat: a dead indexer is noticed within PingInterval+RequestTimeout
		defer wg.Done()
		t := time.NewTicker(h.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				pctx, cancel := context.WithTimeout(sctx, h.cfg.RequestTimeout)
				err := c.Ping(pctx)
				cancel()
				if err != nil {
					c.CloseNow()
					return
				}
			}
		}
	}()
	h.connected.Store(true)
	h.log.Info("indexer: websocket connected", "url", h.wsURL())
	if err := h.resubscribe(sctx); err != nil {
		h.log.Warn("indexer: re-registering watched outpoints failed", "err", err)
	}
	for {
		typ, msg, err := c.Read(sctx)
		if err != nil {
			return fmt.Errorf("read %s: %w", h.wsURL(), err)
		}
		if typ != websocket.MessageBinary {
			continue // the simple indexer echoes text commands; nothing to do
		}
		spends, err := ParseOutputSpends(msg)
		if err != nil || len(spends) != 1 {
			h.log.Warn("indexer: ignoring malformed spend frame", "bytes", len(msg))
			continue
		}
		h.dispatch(sctx, spends[0], msg)
	}
}

// dispatch sends one 104-byte spend to every account watching its outpoint.
func (h *Handler) dispatch(ctx context.Context, s OutputSpend, raw []byte) {
	op := s.Outpoint()
	h.mu.Lock()
	accounts := make([]int64, 0, len(h.watchers[op]))
	for id := range h.watchers[op] {
		accounts = append(accounts, id)
	}
	h.mu.Unlock()
	for _, id := range accounts {
		pctx, cancel := context.WithTimeout(ctx, h.cfg.RequestTimeout)
		if err := h.cfg.Sockets.SendAccount(pctx, id, KindOutputSpend, raw); err != nil {
			h.log.Debug("indexer: spend push failed", "account", id, "err", err)
		}
		cancel()
	}
}

// resubscribe re-registers every watched outpoint with the indexer and
// forwards the spends it already knows.
func (h *Handler) resubscribe(ctx context.Context) error {
	h.mu.Lock()
	var body []byte
	for op := range h.watchers {
		body = op.AppendBinary(body)
	}
	h.mu.Unlock()
	if len(body) == 0 {
		return nil
	}
	resp, err := h.do(ctx, upstreamRequest{method: http.MethodPost, path: "/api/v1/output-spend/notifications",
		accept: octetStream, contentType: octetStream, body: body})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("indexer answered %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(body)/OutpointSize*OutputSpendSize+1)))
	if err != nil {
		return err
	}
	spends, err := ParseOutputSpends(b)
	if err != nil {
		return err
	}
	for _, s := range spends {
		h.dispatch(ctx, s, s.AppendBinary(nil))
	}
	return nil
}

const (
	octetStream = "application/octet-stream"
	appJSON     = "application/json"
)

// upstreamRequest is one call mirrored to the indexer.
type upstreamRequest struct {
	method      string
	path        string // escaped path, e.g. /api/v1/transaction/filter:delete
	query       url.Values
	accept      string
	contentType string
	body        []byte
}

// do sends req to the indexer. A transport failure is returned as an error;
// the caller answers 503.
func (h *Handler) do(ctx context.Context, req upstreamRequest) (*http.Response, error) {
	u := h.base.String() + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", req.method, req.path, err)
	}
	hr.Header.Set("Accept", req.accept)
	hr.Header.Set("Content-Type", req.contentType)
	resp, err := h.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	return resp, nil
}

// relay answers the client from an indexer response: a non-2xx status is
// passed on with an empty body; success is 200 with the body streamed as
// octet-stream when accept asked for it, else as JSON.
func (h *Handler) relay(w http.ResponseWriter, resp *http.Response, accept string) {
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, h.cfg.MaxErrorBodyBytes))
		w.WriteHeader(resp.StatusCode)
		return
	}
	if accept == octetStream {
		w.Header().Set("Content-Type", octetStream)
	} else {
		w.Header().Set("Content-Type", appJSON+"; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, resp.Body); err != nil {
		h.log.Warn("indexer: relaying response failed", "err", err)
	}
}

// mirror forwards r (or body, when set) to the same path on the indexer
// with query, and relays the answer. It is the whole of the stateless routes.
func (h *Handler) mirror(w http.ResponseWriter, r *http.Request, body []byte, query url.Values) {
	if !h.Connected() {
		writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
		return
	}
	if body == nil && r.Method == http.MethodPost {
		var ok bool
		if body, ok = h.readBody(w, r); !ok {
			return
		}
		if len(body) == 0 {
			writeError(w, http.StatusBadRequest, "no body provided")
			return
		}
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = octetStream
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = octetStream
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	resp, err := h.do(ctx, upstreamRequest{method: r.Method, path: r.URL.EscapedPath(), query: query,
		accept: accept, contentType: ct, body: body})
	if err != nil {
		h.log.Warn("indexer: mirrored call failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
		return
	}
	h.relay(w, resp, accept)
}
