package indexer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/walletgate/walletgate"
)

// Reason texts of the tip-filter routes.
const (
	reasonAlreadyRegistered = "10024: some pushdata hashes already registered"
	reasonNotRegistered     = "10025: some pushdata hashes are not registered"
	reasonUnknownBody       = "unknown request body content type"
	reasonBadEntries        = "one or more payload entries are incorrect"
)

// parseRegistrations decodes a POST /transaction/filter body: JSON
// [["<hash hex, internal order>", duration], …] or N×36 bytes.
func parseRegistrations(contentType string, body []byte) ([]TipFilterRegistration, error) {
	switch contentType {
	case appJSON:
		var entries []json.RawMessage
		if err := json.Unmarshal(body, &entries); err != nil {
			return nil, fmt.Errorf("payload is not a list")
		}
		out := make([]TipFilterRegistration, 0, len(entries))
		for _, e := range entries {
			var pair []json.RawMessage
			var hexHash string
			var dur uint32
			if json.Unmarshal(e, &pair) != nil || len(pair) != 2 ||
				json.Unmarshal(pair[0], &hexHash) != nil || json.Unmarshal(pair[1], &dur) != nil {
				return nil, errors.New(reasonBadEntries)
			}
			h, err := hex.DecodeString(hexHash)
			if err != nil || len(h) != PushDataHashSize {
				return nil, errors.New(reasonBadEntries)
			}
			out = append(out, TipFilterRegistration{PushDataHash: [32]byte(h), DurationSecs: dur})
		}
		return out, nil
	case octetStream:
		regs, err := ParseTipFilterRegistrations(body)
		if err != nil {
			return nil, fmt.Errorf("binary request body malformed")
		}
		return regs, nil
	default:
		return nil, errors.New(reasonUnknownBody)
	}
}

// parseHashList decodes a filter:delete body: JSON ["hex", …] or N×32
// bytes. Repeats are dropped, as the reference server keeps a set.
func parseHashList(contentType string, body []byte) ([][32]byte, error) {
	var hashes [][32]byte
	switch contentType {
	case appJSON:
		var list []json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("payload is not a list")
		}
		for _, e := range list {
			var s string
			if json.Unmarshal(e, &s) != nil {
				return nil, errors.New(reasonBadEntries)
			}
			h, err := hex.DecodeString(s)
			if err != nil || len(h) != PushDataHashSize {
				return nil, errors.New(reasonBadEntries)
			}
			hashes = append(hashes, [32]byte(h))
		}
	case octetStream:
		var err error
		if hashes, err = ParsePushDataHashes(body); err != nil {
			return nil, fmt.Errorf("binary request body malformed")
		}
	default:
		return nil, errors.New(reasonUnknownBody)
	}
	seen := make(map[[32]byte]bool, len(hashes))
	out := hashes[:0]
	for _, h := range hashes {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

// serveAddFilters registers pushdata tip filters: local rows first
// (all-or-nothing), then the indexer; the rows are finalised on its 200 and
// removed on anything else.
func (h *Handler) serveAddFilters(w http.ResponseWriter, r *http.Request) {
	if accept := r.Header.Get("Accept"); accept != "" && mediaType(r, "Accept", "") != appJSON {
		writeError(w, http.StatusBadRequest, "unknown response/Accept mimetype")
		return
	}
	if !h.Connected() {
		writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
		return
	}
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "no body")
		return
	}
	regs, err := parseRegistrations(mediaType(r, "Content-Type", ""), body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(regs) == 0 {
		writeError(w, http.StatusBadRequest, "no registration entries provided")
		return
	}
	now := h.cfg.Now().UTC().Truncate(time.Second)
	filters := make([]walletgate.TipFilter, len(regs))
	hashes := make([][32]byte, len(regs))
	var upstream []byte
	for i, reg := range regs {
		filters[i] = walletgate.TipFilter{AccountID: acct.ID, PushDataHash: reg.PushDataHash,
			DateCreated: now, DurationSecs: reg.DurationSecs}
		hashes[i] = reg.PushDataHash
		upstream = reg.AppendBinary(upstream)
	}
	if err := h.cfg.Store.AddTipFilters(r.Context(), acct.ID, filters); err != nil {
		if code := walletgate.ErrorCode(err); code == walletgate.EConflict || code == walletgate.EInvalid {
			writeError(w, http.StatusBadRequest, reasonAlreadyRegistered)
			return
		}
		h.storeError(w, "add tip filters", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	// The indexer takes only binary, whatever the client sent.
	resp, err := h.do(ctx, upstreamRequest{method: http.MethodPost, path: r.URL.EscapedPath(),
		query:  url.Values{"account_id": {strconv.FormatInt(acct.ID, 10)}, "date_created": {strconv.FormatInt(now.Unix(), 10)}},
		accept: appJSON, contentType: octetStream, body: upstream})
	// Settle the local rows even if the client has gone away meanwhile.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RequestTimeout)
	defer scancel()
	if err != nil || resp.StatusCode != http.StatusOK {
		if derr := h.cfg.Store.DeleteTipFilters(sctx, acct.ID, hashes); derr != nil {
			h.log.Error("indexer: removing unconfirmed tip filters failed", "account", acct.ID, "err", derr)
		}
		if err != nil {
			h.log.Warn("indexer: tip filter registration failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
			return
		}
		h.relay(w, resp, appJSON)
		return
	}
	if err := h.cfg.Store.FinaliseTipFilters(sctx, acct.ID, hashes); err != nil {
		resp.Body.Close()
		h.storeError(w, "finalise tip filters", err)
		return
	}
	h.relay(w, resp, appJSON)
}

// serveListFilters lists the account's finalised filters: N×40 bytes, or a
// JSON string holding [[hash hex (byte-reversed), date_created, duration]]
// (the reference server encodes it twice).
func (h *Handler) serveListFilters(w http.ResponseWriter, r *http.Request) {
	accept := mediaType(r, "Accept", appJSON)
	if accept != appJSON && accept != octetStream {
		writeError(w, http.StatusBadRequest, reasonUnknownBody)
		return
	}
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	filters, err := h.cfg.Store.ListTipFilters(r.Context(), acct.ID)
	if err != nil {
		h.storeError(w, "list tip filters", err)
		return
	}
	if accept == octetStream {
		var out []byte
		for _, f := range filters {
			out = TipFilterEntry{PushDataHash: f.PushDataHash, DateCreated: unix32(f.DateCreated.Unix()),
				DurationSecs: f.DurationSecs}.AppendBinary(out)
		}
		w.Header().Set("Content-Type", octetStream)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return
	}
	rows := make([][3]any, 0, len(filters))
	for _, f := range filters {
		rows = append(rows, [3]any{chainhash.Hash(f.PushDataHash).String(), f.DateCreated.Unix(), f.DurationSecs})
	}
	inner, err := json.Marshal(rows)
	if err != nil {
		h.storeError(w, "encode tip filters", err)
		return
	}
	writeJSON(w, string(inner))
}

func unix32(v int64) uint32 {
	if v < 0 {
		return 0
	}
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// serveDeleteFilters removes tip filters: every hash must be finalised and
// not already being deleted; the rows are flagged DELETING around the
// indexer call, then removed on its 200 or restored otherwise.
func (h *Handler) serveDeleteFilters(w http.ResponseWriter, r *http.Request) {
	accept := mediaType(r, "Accept", appJSON)
	if accept != appJSON && accept != octetStream {
		writeError(w, http.StatusBadRequest, reasonUnknownBody)
		return
	}
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if !h.Connected() {
		writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "no body")
		return
	}
	hashes, err := parseHashList(mediaType(r, "Content-Type", ""), body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(hashes) == 0 {
		writeError(w, http.StatusBadRequest, "no pushdata hashes provided")
		return
	}
	if err := h.cfg.Store.MarkTipFiltersDeleting(r.Context(), acct.ID, hashes, true); err != nil {
		if code := walletgate.ErrorCode(err); code == walletgate.EInvalid || code == walletgate.EConflict || code == walletgate.ENotFound {
			writeError(w, http.StatusBadRequest, reasonNotRegistered)
			return
		}
		h.storeError(w, "mark tip filters deleting", err)
		return
	}
	upstream := make([]byte, 0, len(hashes)*PushDataHashSize)
	for _, hh := range hashes {
		upstream = append(upstream, hh[:]...)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	resp, err := h.do(ctx, upstreamRequest{method: http.MethodPost, path: r.URL.EscapedPath(),
		query:  url.Values{"account_id": {strconv.FormatInt(acct.ID, 10)}},
		accept: octetStream, contentType: octetStream, body: upstream})
	sctx, scancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RequestTimeout)
	defer scancel()
	if err != nil || resp.StatusCode != http.StatusOK {
		if uerr := h.cfg.Store.MarkTipFiltersDeleting(sctx, acct.ID, hashes, false); uerr != nil {
			h.log.Error("indexer: clearing DELETING flags failed", "account", acct.ID, "err", uerr)
		}
		if err != nil {
			h.log.Warn("indexer: tip filter deletion failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, reasonUnavailable)
			return
		}
		h.relay(w, resp, accept)
		return
	}
	if err := h.cfg.Store.DeleteTipFilters(sctx, acct.ID, hashes); err != nil {
		resp.Body.Close()
		h.storeError(w, "delete tip filters", err)
		return
	}
	h.relay(w, resp, accept)
}
