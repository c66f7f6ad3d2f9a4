package indexer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/walletgate/walletgate"
)

// InternalHandler serves the internal listener (INTERNAL_HOST:PORT) that
// the indexer calls: GET / (ping) and POST /api/v1/tip-filter/matches.
func (h *Handler) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "true")
	})
	mux.HandleFunc("POST /api/v1/tip-filter/matches", h.serveMatches)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
	return mux
}

// matchBatch is the indexer's tip-filter notification batch.
type matchBatch struct {
	BlockID *string `json:"blockId"`
	Entries []struct {
		AccountID *int64            `json:"accountId"`
		Matches   []json.RawMessage `json:"matches"`
	} `json:"entries"`
}

// delivery is one callback POST waiting to be (re)sent.
type delivery struct {
	accountID int64
	url       string
	token     *string
	body      []byte
	attempts  int
	due       time.Time
}

// serveMatches forwards each account's matches to its callback URL as
// {"blockId","matches"} with the stored token as Authorization. A failed
// delivery is queued for retry; the indexer always gets 200 once the batch
// is parsed, as with the reference server.
func (h *Handler) serveMatches(w http.ResponseWriter, r *http.Request) {
	if ct := mediaType(r, "Content-Type", appJSON); ct != appJSON {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid 'Content-Type', expected 'application/json', got '%s'", ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxMatchesBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", h.cfg.MaxMatchesBodyBytes))
		return
	}
	var batch matchBatch
	if err := json.Unmarshal(body, &batch); err != nil {
		writeError(w, http.StatusBadRequest, "invalid tip filter matches batch: "+err.Error())
		return
	}
	for i, e := range batch.Entries {
		if e.AccountID == nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("entry %d has no accountId", i))
			return
		}
	}
	for _, e := range batch.Entries {
		acct, err := h.accountByID(r.Context(), *e.AccountID)
		if err != nil {
			h.log.Error("indexer: skipping tip filter matches", "account", *e.AccountID, "err", err)
			continue
		}
		if acct.TipFilterCallbackURL == nil {
			h.log.Warn("indexer: account has no tip filter callback URL", "account", acct.ID)
			continue
		}
		matches := e.Matches
		if matches == nil {
			matches = []json.RawMessage{}
		}
		payload, _ := json.Marshal(struct {
			BlockID *string           `json:"blockId"`
			Matches []json.RawMessage `json:"matches"`
		}{batch.BlockID, matches})
		d := &delivery{accountID: acct.ID, url: *acct.TipFilterCallbackURL, token: acct.TipFilterCallbackToken, body: payload}
		if err := h.deliver(r.Context(), d); err != nil {
			h.log.Warn("indexer: tip filter callback failed; queued for retry", "account", acct.ID, "err", err)
			h.enqueue(d)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// accountByID finds the account the indexer names in a matches batch.
func (h *Handler) accountByID(ctx context.Context, id int64) (walletgate.Account, error) {
	if h.accounts == nil {
		return walletgate.Account{}, errors.New("no AccountLookup configured: cannot resolve indexer account ids")
	}
	return h.accounts.AccountByID(ctx, id)
}

// deliver POSTs d once. Only 200 counts as delivered.
func (h *Handler) deliver(ctx context.Context, d *delivery) error {
	d.attempts++
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return fmt.Errorf("callback %s: %w", d.url, err)
	}
	req.Header.Set("Content-Type", appJSON)
	if d.token != nil {
		req.Header.Set("Authorization", *d.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("callback %s: %w", d.url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, h.cfg.MaxErrorBodyBytes))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("callback %s: status %d", d.url, resp.StatusCode)
	}
	return nil
}

// enqueue adds d to the retry queue, dropping the oldest entry when full.
func (h *Handler) enqueue(d *delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d.attempts >= h.cfg.CallbackMaxAttempts {
		h.log.Error("indexer: tip filter callback dropped after retries", "account", d.accountID, "attempts", d.attempts)
		return
	}
	d.due = h.cfg.Now().Add(h.cfg.CallbackRetryInterval)
	if len(h.queue) >= h.cfg.MaxPendingCallbacks {
		old := h.queue[0]
		h.queue = h.queue[1:]
		h.log.Error("indexer: callback retry queue full; dropped the oldest", "account", old.accountID)
	}
	h.queue = append(h.queue, d)
}

// PendingCallbacks reports how many deliveries wait for retry.
func (h *Handler) PendingCallbacks() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.queue)
}

// retryCallbacks resends due deliveries until ctx ends.
func (h *Handler) retryCallbacks(ctx context.Context) {
	tick := h.cfg.CallbackRetryInterval / 4
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := h.cfg.Now()
		h.mu.Lock()
		var due []*delivery
		kept := h.queue[:0]
		for _, d := range h.queue {
			if !d.due.After(now) {
				due = append(due, d)
			} else {
				kept = append(kept, d)
			}
		}
		h.queue = kept
		h.mu.Unlock()
		for _, d := range due {
			if err := h.deliver(ctx, d); err != nil {
				h.log.Warn("indexer: tip filter callback retry failed", "account", d.accountID, "attempt", d.attempts, "err", err)
				h.enqueue(d)
			}
		}
	}
}
