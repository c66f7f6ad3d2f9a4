package bitweb

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
)

func (h *Handler) info(ctx context.Context, _ *http.Request, _ string) (any, error) {
	tip, err := h.svc.Tip(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"blocks": tip.Height}, nil
}

func (h *Handler) fee(context.Context, *http.Request, string) (any, error) {
	return map[string]any{"feerate": h.cfg.FixedFeeSatoshis}, nil
}

func (h *Handler) balance(ctx context.Context, _ *http.Request, addr string) (any, error) {
	sc, err := h.script(addr)
	if err != nil {
		return nil, err
	}
	b, err := h.svc.Balance(ctx, sc.Hash)
	if err != nil {
		return nil, err
	}
	return map[string]any{"balance": b.Confirmed + b.Unconfirmed, "confirmed": b.Confirmed, "unconfirmed": b.Unconfirmed}, nil
}

func (h *Handler) unspent(ctx context.Context, r *http.Request, addr string) (any, error) {
	if !validAddress(addr) {
		return nil, invalid(msgBadAddress)
	}
	q := r.URL.Query()
	amount := "0"
	if vs, ok := q["amount"]; ok {
		amount = vs[0]
	}
	min, ok := parseAmount(amount)
	if !ok {
		return nil, invalid(msgBadAmount)
	}
	f := chainview.UnspentFilter{MinValue: min, ConfirmedOnly: strings.EqualFold(q.Get("confirmed"), "true")}
	sc, err := h.script(addr)
	if err != nil {
		return nil, err
	}
	utxos, err := h.svc.Unspent(ctx, sc, f)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(utxos))
	for i, u := range utxos {
		out[i] = map[string]any{"coinbase": u.Coinbase, "height": u.Height, "index": u.Index, "script": u.Script, "txid": u.TxID, "value": u.Value}
	}
	return out, nil
}

func (h *Handler) history(ctx context.Context, r *http.Request, addr string) (any, error) {
	limit := h.cfg.DefaultHistoryLimit
	if vs, ok := r.URL.Query()["limit"]; ok {
		if n, ok := parseLimit(vs[0]); ok {
			limit = n
		}
	}
	sc, err := h.script(addr)
	if err != nil {
		return nil, err
	}
	items, err := h.svc.History(ctx, sc, limit)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, it := range items {
		m := map[string]any{"amount": nil, "direction": it.Direction, "height": it.Height,
			"mine_in": it.MineIn, "mine_out": it.MineOut, "timestamp": nil, "txid": it.TxID}
		if it.Amount != nil {
			m["amount"] = *it.Amount
		}
		if it.Timestamp != nil {
			m["timestamp"] = *it.Timestamp
		}
		out[i] = m
	}
	return out, nil
}

func (h *Handler) tx(ctx context.Context, _ *http.Request, txid string) (any, error) {
	if walletgate.CheckHash(txid) != nil { // ^[0-9a-fA-F]{64}$
		return nil, invalid(msgBadTxid)
	}
	tree, err := h.svc.Tx(ctx, txid)
	if err != nil {
		return nil, err
	}
	return tree, nil
}

func (h *Handler) rawtx(ctx context.Context, _ *http.Request, txid string) (any, error) {
	if walletgate.CheckHash(txid) != nil { // ^[0-9a-fA-F]{64}$
		return nil, invalid(msgBadTxid)
	}
	raw, err := h.svc.RawTx(ctx, txid)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

func (h *Handler) broadcast(ctx context.Context, r *http.Request, _ string) (any, error) {
	raw, err := broadcastInput(r, h.cfg.MaxBroadcastBody)
	if err != nil {
		return nil, err
	}
	if err := checkRawHex(raw, h.cfg.MaxRawHex); err != nil {
		return nil, err
	}
	txid, err := h.svc.Broadcast(ctx, raw)
	if err != nil {
		return nil, err
	}
	return txid, nil
}

// broadcastInput finds the raw transaction of a /broadcast request in the
// original's order: the body size check, then `raw` from the query, then
// from a form body, else the whole body as text; stripped. A form body
// without `raw` gives "" (form parsing consumed it, as in Werkzeug).
func broadcastInput(r *http.Request, maxBody int64) (string, error) {
	tooLarge := invalid(fmt.Sprintf("Request body too large (max %d KB)", maxBody/1000))
	if r.ContentLength > maxBody {
		return "", tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", walletgate.WrapError(walletgate.EInvalid, err, "could not read request body")
	}
	if int64(len(body)) > maxBody {
		return "", tooLarge
	}
	if raw := pyStrip(r.URL.Query().Get("raw")); raw != "" {
		return raw, nil
	}
	return rawFromBody(r.Header.Get("Content-Type"), body, maxBody), nil
}

// rawFromBody extracts `raw` from a body of the given content type.
func rawFromBody(contentType string, body []byte, maxBody int64) string {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, _ := url.ParseQuery(string(body))
		return pyStrip(vals.Get("raw"))
	case "multipart/form-data":
		form, err := multipart.NewReader(strings.NewReader(string(body)), params["boundary"]).ReadForm(maxBody)
		if err != nil {
			return ""
		}
		defer form.RemoveAll()
		if vs := form.Value["raw"]; len(vs) > 0 {
			return pyStrip(vs[0])
		}
		return ""
	}
	return pyStrip(strings.ToValidUTF8(string(body), "\uFFFD"))
}

// checkRawHex applies the remaining /broadcast checks in order.
func checkRawHex(raw string, maxHex int) error {
	switch {
	case raw == "":
		return invalid(msgNoRaw)
	case utf8.RuneCountInString(raw) > maxHex:
		return invalid(fmt.Sprintf("Transaction hex too large (max %d KB)", maxHex/1000))
	case len(raw)%2 != 0 || !isHex(raw):
		return invalid(msgBadRawHex)
	}
	return nil
}
