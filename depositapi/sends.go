package depositapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
)

// SendBody is the body of POST /v1/{coin}/send. Amount is a decimal string
// of whole coins with at most 8 decimals ("0.00100000").
type SendBody struct {
	Account    string `json:"account"`
	Address    string `json:"address"`
	Amount     string `json:"amount"`
	ExternalID string `json:"external_id"`
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing values.
func decodeStrict(body []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return walletgate.WrapError(walletgate.EInvalid, err, "body is not a JSON object with %s: %v", what, err)
	}
	if dec.More() {
		return walletgate.Errorf(walletgate.EInvalid, "body holds more than one JSON value")
	}
	return nil
}

// ParseSendRequest decodes and checks a send body; the result has no coin
// yet. Every field is required: external_id is the idempotency key that
// makes a retried request safe. Account, address and external_id are
// limited to maxLabel bytes.
func ParseSendRequest(body []byte, maxLabel int) (walletgate.SendRequest, error) {
	var b SendBody
	if err := decodeStrict(body, &b, "account, address, amount and external_id"); err != nil {
		return walletgate.SendRequest{}, err
	}
	switch {
	case b.Account == "":
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, "account is required")
	case b.Address == "":
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, "address is required")
	case b.Amount == "":
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, `amount is required, as a string of whole coins such as "0.00100000"`)
	case b.ExternalID == "":
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, "external_id is required, so that a retried request cannot pay twice")
	case len(b.Account) > maxLabel || len(b.Address) > maxLabel || len(b.ExternalID) > maxLabel:
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, "account, address and external_id are limited to %d bytes", maxLabel)
	}
	amount, inRange, err := parseDecimal(b.Amount)
	if err != nil {
		return walletgate.SendRequest{}, err
	}
	if !inRange || amount <= 0 || amount > walletgate.MaxAmount {
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, "amount %s must be positive and at most %s", b.Amount, walletgate.FormatSats(walletgate.MaxAmount))
	}
	if b.Account == walletgate.NetworkFeesAccount {
		return walletgate.SendRequest{}, walletgate.Errorf(walletgate.EInvalid, "account %q is reserved for network fees", b.Account)
	}
	return walletgate.SendRequest{Account: b.Account, Address: b.Address, Amount: amount, ExternalID: b.ExternalID}, nil
}

// ResolveBody is the body of POST /v1/{coin}/broadcasts/{id}/resolve: the
// txid the operator found on chain, and optionally its fee.
type ResolveBody struct {
	TxID string `json:"txid"`
	Fee  string `json:"fee"`
}

// ParseResolveRequest decodes and checks a resolve body; a missing fee is 0.
func ParseResolveRequest(body []byte) (txid string, fee int64, err error) {
	var b ResolveBody
	if err := decodeStrict(body, &b, "txid and fee"); err != nil {
		return "", 0, err
	}
	if err := walletgate.CheckHash(b.TxID); err != nil {
		return "", 0, walletgate.WrapError(walletgate.EInvalid, err, "txid %.80q is not 64 hex digits", b.TxID)
	}
	if b.Fee != "" {
		var inRange bool
		if fee, inRange, err = parseDecimal(b.Fee); err != nil {
			return "", 0, err
		}
		if !inRange || fee < 0 || fee > walletgate.MaxAmount {
			return "", 0, walletgate.Errorf(walletgate.EInvalid, "fee %s is negative or too large", b.Fee)
		}
	}
	return b.TxID, fee, nil
}

// parseDecimal reads an amount field in walletgate.DecimalAmount. Text
// that is not such an amount is the client's error, worded the same for
// every field; a value beyond int64 comes back with inRange false, for the
// field's own range message.
func parseDecimal(s string) (v int64, inRange bool, err error) {
	v, err = walletgate.ParseCoins(s, walletgate.DecimalAmount)
	var e *walletgate.AmountError
	switch {
	case errors.As(err, &e) && e.Reason == walletgate.AmountRange:
		return 0, false, nil
	case err != nil:
		return 0, false, walletgate.WrapError(walletgate.EInvalid, err, "amount %q is not a decimal with at most 8 decimals", s)
	}
	return v, true, nil
}

// sendCoin is coin for the send routes: it also needs the send store.
func (h *Handler) sendCoin(r *http.Request) (string, *chain.Params, walletgate.BroadcastStore, error) {
	coin, p, err := h.coin(r)
	if err != nil {
		return "", nil, nil, err
	}
	if h.cfg.Broadcasts == nil {
		return "", nil, nil, walletgate.Errorf(walletgate.ENotImplemented, "sends are not enabled for %s here", coin)
	}
	return coin, p, h.cfg.Broadcasts, nil
}

func (h *Handler) account(r *http.Request) (any, error) {
	coin, _, err := h.coin(r)
	if err != nil {
		return nil, err
	}
	account := r.PathValue("account")
	if len(account) > h.cfg.MaxLabelLen {
		return nil, walletgate.Errorf(walletgate.EInvalid, "account is limited to %d bytes", h.cfg.MaxLabelLen)
	}
	bal, err := h.cfg.Store.Balance(r.Context(), coin, account)
	if err != nil {
		return nil, err
	}
	return map[string]any{"coin": coin, "account": account, "balance": walletgate.FormatSats(bal)}, nil
}

func (h *Handler) send(r *http.Request) (any, error) {
	coin, p, bs, err := h.sendCoin(r)
	if err != nil {
		return nil, err
	}
	body, err := h.readBody(r)
	if err != nil {
		return nil, err
	}
	req, err := ParseSendRequest(body, h.cfg.MaxLabelLen)
	if err != nil {
		return nil, err
	}
	if _, err := p.Decode(req.Address); err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "address %q: %v", req.Address, err)
	}
	req.Coin = coin
	o, err := bs.QueueSend(r.Context(), req, h.cfg.Now())
	if err != nil {
		return nil, err
	}
	return sendJSON(o), nil
}

func (h *Handler) listBroadcasts(r *http.Request) (any, error) {
	coin, _, bs, err := h.sendCoin(r)
	if err != nil {
		return nil, err
	}
	p, err := h.parsePage(r)
	if err != nil {
		return nil, err
	}
	state := r.URL.Query().Get("state")
	if state == "" {
		state = walletgate.BroadcastAll
	}
	if err := walletgate.ValidBroadcastState(state); err != nil {
		return nil, err
	}
	list, next, err := bs.ListBroadcasts(r.Context(), coin, state, p)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(list))
	for _, b := range list {
		out = append(out, broadcastJSON(b))
	}
	return map[string]any{"broadcasts": out, "next_cursor": next}, nil
}

func broadcastID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, walletgate.Errorf(walletgate.EInvalid, "broadcast id %.40q is not a positive integer", s)
	}
	return id, nil
}

// resolveBroadcast closes an open broadcast with the txid the operator
// found on chain.
func (h *Handler) resolveBroadcast(r *http.Request) (any, error) {
	coin, _, bs, err := h.sendCoin(r)
	if err != nil {
		return nil, err
	}
	id, err := broadcastID(r)
	if err != nil {
		return nil, err
	}
	body, err := h.readBody(r)
	if err != nil {
		return nil, err
	}
	txid, fee, err := ParseResolveRequest(body)
	if err != nil {
		return nil, err
	}
	cur, err := bs.Broadcast(r.Context(), coin, id)
	if err != nil {
		return nil, err
	}
	if cur.State() == walletgate.BroadcastPending {
		return nil, walletgate.Errorf(walletgate.EConflict, "%s broadcast %d was never opened, so it was never sent: nothing to resolve", coin, id)
	}
	b, err := bs.CloseBroadcast(r.Context(), coin, id, txid, fee, h.cfg.Now())
	if err != nil {
		return nil, err
	}
	return broadcastJSON(b), nil
}

// releaseBroadcast clears an open broadcast's opened_at so the next round
// sends it: only for a broadcast the operator found is not on chain.
func (h *Handler) releaseBroadcast(r *http.Request) (any, error) {
	coin, _, bs, err := h.sendCoin(r)
	if err != nil {
		return nil, err
	}
	id, err := broadcastID(r)
	if err != nil {
		return nil, err
	}
	if _, err := h.readBody(r); err != nil {
		return nil, err
	}
	b, err := bs.ReleaseBroadcast(r.Context(), coin, id, h.cfg.Now().Add(-h.cfg.ReleaseMinAge))
	if err != nil {
		return nil, err
	}
	return broadcastJSON(b), nil
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func sendJSON(o walletgate.OutgoingTx) map[string]any {
	return map[string]any{
		"id": o.ID, "coin": o.Coin, "account": o.Account, "address": o.Address, "amount": walletgate.FormatSats(o.Amount),
		"external_id": o.ExternalID, "state": o.State, "broadcast": o.BroadcastID, "txid": o.TxID,
		"confirmations": o.Confirmations, "created_at": o.CreatedAt.UTC().Format(time.RFC3339Nano), "processed_at": timeOrNil(o.ProcessedAt),
	}
}

func broadcastJSON(b walletgate.Broadcast) map[string]any {
	outs := make(map[string]string, len(b.Outputs))
	for a, v := range b.Outputs {
		outs[a] = walletgate.FormatSats(v)
	}
	ids := append([]int64{}, b.SendIDs...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return map[string]any{
		"id": b.ID, "coin": b.Coin, "state": b.State(), "txid": b.TxID, "fee": walletgate.FormatSats(b.Fee),
		"total": walletgate.FormatSats(b.Total()), "outputs": outs, "sends": ids, "network_transaction": b.NetworkTxID,
		"created_at": b.CreatedAt.UTC().Format(time.RFC3339Nano), "opened_at": timeOrNil(b.OpenedAt), "closed_at": timeOrNil(b.ClosedAt),
	}
}
