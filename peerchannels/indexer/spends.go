package indexer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/walletgate/walletgate"
)

// serveMirror handles the stateless POST routes (restoration search, output
// spends): the body is forwarded as sent.
func (h *Handler) serveMirror(w http.ResponseWriter, r *http.Request) {
	h.mirror(w, r, nil, nil)
}

// validTxID reports whether s is 64 hex characters (a display-order txid).
func validTxID(s string) bool { return walletgate.ValidTxID(s) }

// serveTransaction mirrors GET /api/v1/transaction/{txid} (no auth).
func (h *Handler) serveTransaction(w http.ResponseWriter, r *http.Request) {
	if !validTxID(r.PathValue("txid")) {
		writeError(w, http.StatusBadRequest, "invalid txid")
		return
	}
	h.mirror(w, r, nil, nil)
}

// serveMerkleProof mirrors GET /api/v1/merkle-proof/{txid}, forwarding
// includeFullTx only when it is exactly 1 and targetType (default hash).
func (h *Handler) serveMerkleProof(w http.ResponseWriter, r *http.Request) {
	if !validTxID(r.PathValue("txid")) {
		writeError(w, http.StatusBadRequest, "invalid txid")
		return
	}
	in := r.URL.Query()
	q := url.Values{}
	if in.Get("includeFullTx") == "1" {
		q.Set("includeFullTx", "1")
	}
	target := in.Get("targetType")
	if target == "" {
		target = "hash"
	}
	q.Set("targetType", target)
	h.mirror(w, r, nil, q)
}

// parseOutpointBody decodes a notifications body: JSON [[txid, vout], …]
// with display-order txids, or N×36 bytes.
func parseOutpointBody(contentType string, body []byte) ([]Outpoint, error) {
	switch contentType {
	case appJSON:
		var entries []json.RawMessage
		if err := json.Unmarshal(body, &entries); err != nil {
			return nil, fmt.Errorf("payload is not a list")
		}
		out := make([]Outpoint, 0, len(entries))
		for _, e := range entries {
			var pair []json.RawMessage
			var txid string
			var vout uint32
			if json.Unmarshal(e, &pair) != nil || len(pair) != 2 ||
				json.Unmarshal(pair[0], &txid) != nil || json.Unmarshal(pair[1], &vout) != nil || !validTxID(txid) {
				return nil, fmt.Errorf("one or more payload entries are incorrect")
			}
			hash, _ := chainhash.NewHashFromStr(txid)
			out = append(out, Outpoint{TxHash: *hash, Index: vout})
		}
		return out, nil
	case octetStream:
		ops, err := ParseOutpoints(body)
		if err != nil {
			return nil, fmt.Errorf("binary request body malformed")
		}
		return ops, nil
	default:
		return nil, fmt.Errorf("unknown request body content type")
	}
}

// serveSpendNotifications registers outpoints for kind-2 pushes on the
// caller's account socket, in the reference server's order of checks: body,
// content, auth, open socket. The registrations are undone when the indexer
// answers above 202 or cannot be reached.
func (h *Handler) serveSpendNotifications(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "no body")
		return
	}
	ct := mediaType(r, "Content-Type", "")
	ops, err := parseOutpointBody(ct, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(ops) == 0 {
		writeError(w, http.StatusBadRequest, "no outpoints provided")
		return
	}
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if !h.cfg.Sockets.AccountConnected(acct.ID) {
		writeError(w, http.StatusBadRequest, reasonNotConnected)
		return
	}
	if !h.Connected() {
		writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
		return
	}
	added, err := h.watch(acct.ID, ops)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.cfg.Sockets.AccountConnected(acct.ID) {
		// The socket closed meanwhile and its close hook may already have
		// run: undo, or these watches would outlive it.
		h.unwatch(acct.ID, added)
		writeError(w, http.StatusBadRequest, reasonNotConnected)
		return
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = octetStream
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	resp, err := h.do(ctx, upstreamRequest{method: http.MethodPost, path: r.URL.EscapedPath(),
		accept: accept, contentType: ct, body: body})
	if err != nil {
		h.unwatch(acct.ID, added)
		h.log.Warn("indexer: output-spend registration failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
		return
	}
	if resp.StatusCode > http.StatusAccepted {
		h.unwatch(acct.ID, added)
	}
	h.relay(w, resp, accept)
}

// watch adds ops to the account's registrations and returns those that were
// new for it (the ones a rollback must remove).
func (h *Handler) watch(accountID int64, ops []Outpoint) ([]Outpoint, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.regs[accountID]
	if set == nil {
		set = map[Outpoint]struct{}{}
	}
	var added []Outpoint
	for _, op := range ops {
		if _, ok := set[op]; !ok {
			added = append(added, op)
		}
	}
	if len(set)+len(added) > h.cfg.MaxOutpointsPerAccount {
		return nil, fmt.Errorf("an account may watch at most %d outpoints", h.cfg.MaxOutpointsPerAccount)
	}
	h.regs[accountID] = set
	for _, op := range added {
		set[op] = struct{}{}
		w := h.watchers[op]
		if w == nil {
			w = map[int64]struct{}{}
			h.watchers[op] = w
		}
		w[accountID] = struct{}{}
	}
	return added, nil
}

// unwatch removes ops from the account's registrations and returns the
// outpoints no account watches any more.
func (h *Handler) unwatch(accountID int64, ops []Outpoint) []Outpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.regs[accountID]
	var orphaned []Outpoint
	for _, op := range ops {
		if _, ok := set[op]; !ok {
			continue
		}
		delete(set, op)
		delete(h.watchers[op], accountID)
		if len(h.watchers[op]) == 0 {
			delete(h.watchers, op)
			orphaned = append(orphaned, op)
		}
	}
	if len(set) == 0 {
		delete(h.regs, accountID)
	}
	return orphaned
}

// Watched returns the outpoints the account's socket is registered for.
func (h *Handler) Watched(accountID int64) []Outpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Outpoint, 0, len(h.regs[accountID]))
	for op := range h.regs[accountID] {
		out = append(out, op)
	}
	return out
}

// AccountSocketClosed drops the account's output-spend registrations. The
// peer-channels service calls it when the account's tracked websocket closes
// or is replaced. Outpoints no other account watches are unregistered with
// the indexer (POST …/notifications:unregister); if that fails the indexer
// is assumed down and keeps nothing worth cleaning.
func (h *Handler) AccountSocketClosed(ctx context.Context, accountID int64) {
	h.mu.Lock()
	var ops []Outpoint
	for op := range h.regs[accountID] {
		ops = append(ops, op)
	}
	h.mu.Unlock()
	orphaned := h.unwatch(accountID, ops)
	if len(orphaned) == 0 || !h.Connected() {
		return
	}
	var body []byte
	for _, op := range orphaned {
		body = op.AppendBinary(body)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.RequestTimeout)
	defer cancel()
	resp, err := h.do(ctx, upstreamRequest{method: http.MethodPost, path: "/api/v1/output-spend/notifications:unregister",
		accept: octetStream, contentType: octetStream, body: body})
	if err != nil {
		h.log.Warn("indexer: unregistering outpoints failed", "account", accountID, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.log.Warn("indexer: unregistering outpoints refused", "account", accountID, "status", resp.StatusCode)
	}
}
