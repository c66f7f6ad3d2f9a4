// Package depositapi is the admin HTTP API of deposit tracking and
// outgoing sends: watch addresses, create wallet addresses, list deposits,
// read balances, queue sends, and the operator's broadcast tools. Every
// request needs the admin API key (Authorization: Bearer KEY, or
// X-API-Key), compared in constant time.
//
//	POST /v1/{coin}/watch    {"address", "account", "external_id"?}
//	POST /v1/{coin}/address  {"account", "external_id"?}
//	GET  /v1/{coin}/watch    ?account=&cursor=&limit=
//	GET  /v1/{coin}/deposits ?account=&address=&cursor=&limit=
//	GET  /v1/{coin}/accounts/{account}
//	POST /v1/{coin}/send     {"account", "address", "amount": "0.00100000", "external_id"}
//	GET  /v1/{coin}/broadcasts ?state=pending|open|closed|all&cursor=&limit=
//	POST /v1/{coin}/broadcasts/{id}/resolve {"txid", "fee"?}
//	POST /v1/{coin}/broadcasts/{id}/release
//
// Amounts are strings of whole coins with up to 8 decimals, never JSON
// numbers (no floats).
package depositapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
)

// AddressCreator makes a wallet address and watches it (deposits.Tracker).
type AddressCreator interface {
	CreateAddress(ctx context.Context, coin, account, externalID string) (walletgate.Watch, error)
}

// Config configures the API. Zero limits take the defaults named on each.
type Config struct {
	// AdminKey is the API key every request must carry (required).
	AdminKey string
	// Store holds watches and deposits (required).
	Store walletgate.DepositStore
	// Creator makes addresses for POST /address (nil: 501).
	Creator AddressCreator
	// Networks maps each served coin to its network ("btc": "testnet"),
	// for address validation with chain.Lookup. Coins not listed are 404.
	Networks map[string]string
	// MaxBodyBytes bounds request bodies (default 4 KiB).
	MaxBodyBytes int64
	// MaxLabelLen bounds account and external ids (default 128 bytes).
	MaxLabelLen int
	// DefaultLimit and MaxLimit bound list pages (defaults 100 and 1000).
	DefaultLimit, MaxLimit int
	// Timeout bounds each request's store and backend work (default 30s).
	Timeout time.Duration
	// Broadcasts queues sends and holds broadcasts for the send and
	// broadcast routes (nil: those routes answer 501). Both bundled
	// stores implement it on the same value as Store.
	Broadcasts walletgate.BroadcastStore
	// ReleaseMinAge is how long a broadcast must have been open before
	// the release route accepts it, so a send still in flight is not
	// released and paid twice; keep it above the broadcaster's
	// SendTimeout (default 10m).
	ReleaseMinAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler serves the API; mount it at the server root (its routes start
// with /v1/).
type Handler struct {
	cfg    Config
	params map[string]*chain.Params
	mux    *http.ServeMux
}

// New checks cfg and returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.AdminKey == "" || cfg.Store == nil {
		return nil, walletgate.Errorf(walletgate.EInvalid, "depositapi: AdminKey and Store are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 10
	}
	if cfg.MaxLabelLen <= 0 {
		cfg.MaxLabelLen = 128
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 1000
	}
	if cfg.MaxLimit > walletgate.MaxPageLimit {
		cfg.MaxLimit = walletgate.MaxPageLimit
	}
	if cfg.DefaultLimit <= 0 || cfg.DefaultLimit > cfg.MaxLimit {
		cfg.DefaultLimit = min(100, cfg.MaxLimit)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ReleaseMinAge <= 0 {
		cfg.ReleaseMinAge = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, params: map[string]*chain.Params{}, mux: http.NewServeMux()}
	for coin, network := range cfg.Networks {
		p, err := chain.Lookup(coin, network)
		if err != nil {
			return nil, fmt.Errorf("depositapi: coin %s: %w", coin, err)
		}
		h.params[coin] = p
	}
	h.handle("POST /v1/{coin}/watch", h.addWatch)
	h.handle("GET /v1/{coin}/watch", h.listWatches)
	h.handle("POST /v1/{coin}/address", h.createAddress)
	h.handle("GET /v1/{coin}/deposits", h.listDeposits)
	h.handle("GET /v1/{coin}/accounts/{account}", h.account)
	h.handle("POST /v1/{coin}/send", h.send)
	h.handle("GET /v1/{coin}/broadcasts", h.listBroadcasts)
	h.handle("POST /v1/{coin}/broadcasts/{id}/resolve", h.resolveBroadcast)
	h.handle("POST /v1/{coin}/broadcasts/{id}/release", h.releaseBroadcast)
	return h, nil
}

// handle routes pattern to f: every route answers 200 with f's value as
// JSON, or the error envelope with the status of the error's code.
func (h *Handler) handle(pattern string, f func(r *http.Request) (any, error)) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		key = strings.TrimPrefix(a, "Bearer ")
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.AdminKey)) != 1 {
		writeError(w, walletgate.Errorf(walletgate.EUnauthorized, "missing or wrong admin API key"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	h.mux.ServeHTTP(w, r.WithContext(ctx))
}

func (h *Handler) coin(r *http.Request) (string, *chain.Params, error) {
	coin := r.PathValue("coin")
	p, ok := h.params[coin]
	if !ok {
		return "", nil, walletgate.Errorf(walletgate.ENotFound, "coin %q is not served", coin)
	}
	return coin, p, nil
}

// WatchRequest is the body of POST /v1/{coin}/watch and, without
// Address, of POST /v1/{coin}/address.
type WatchRequest struct {
	Address    string `json:"address"`
	Account    string `json:"account"`
	ExternalID string `json:"external_id"`
}

// ParseWatchRequest decodes and checks a body; wantAddress says whether
// the address field is required (watch) or forbidden (address).
func ParseWatchRequest(body []byte, wantAddress bool, maxLabel int) (WatchRequest, error) {
	var req WatchRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, walletgate.WrapError(walletgate.EInvalid, err, "body is not a JSON object with address, account and external_id: %v", err)
	}
	if dec.More() {
		return req, walletgate.Errorf(walletgate.EInvalid, "body holds more than one JSON value")
	}
	switch {
	case req.Account == "":
		return req, walletgate.Errorf(walletgate.EInvalid, "account is required")
	case len(req.Account) > maxLabel || len(req.ExternalID) > maxLabel:
		return req, walletgate.Errorf(walletgate.EInvalid, "account and external_id are limited to %d bytes", maxLabel)
	case wantAddress && req.Address == "":
		return req, walletgate.Errorf(walletgate.EInvalid, "address is required")
	case !wantAddress && req.Address != "":
		return req, walletgate.Errorf(walletgate.EInvalid, "address must not be given: the wallet makes it")
	}
	return req, nil
}

func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "read body")
	}
	if int64(len(b)) > h.cfg.MaxBodyBytes {
		return nil, walletgate.Errorf(walletgate.ETooLarge, "body exceeds %d bytes", h.cfg.MaxBodyBytes)
	}
	return b, nil
}

func (h *Handler) addWatch(r *http.Request) (any, error) {
	coin, p, err := h.coin(r)
	if err != nil {
		return nil, err
	}
	body, err := h.readBody(r)
	if err != nil {
		return nil, err
	}
	req, err := ParseWatchRequest(body, true, h.cfg.MaxLabelLen)
	if err != nil {
		return nil, err
	}
	if _, err := p.Decode(req.Address); err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "address %q: %v", req.Address, err)
	}
	wt, err := h.cfg.Store.AddWatch(r.Context(), walletgate.Watch{Coin: coin, Address: req.Address, Account: req.Account, ExternalID: req.ExternalID})
	if err != nil {
		return nil, err
	}
	return watchJSON(wt), nil
}

func (h *Handler) createAddress(r *http.Request) (any, error) {
	coin, _, err := h.coin(r)
	if err != nil {
		return nil, err
	}
	if h.cfg.Creator == nil {
		return nil, walletgate.Errorf(walletgate.ENotImplemented, "no wallet backend can create %s addresses here", coin)
	}
	body, err := h.readBody(r)
	if err != nil {
		return nil, err
	}
	req, err := ParseWatchRequest(body, false, h.cfg.MaxLabelLen)
	if err != nil {
		return nil, err
	}
	wt, err := h.cfg.Creator.CreateAddress(r.Context(), coin, req.Account, req.ExternalID)
	if err != nil {
		return nil, err
	}
	return watchJSON(wt), nil
}

// parsePage reads cursor and limit from the query.
func (h *Handler) parsePage(r *http.Request) (walletgate.Page, error) {
	p := walletgate.Page{Limit: h.cfg.DefaultLimit}
	q := r.URL.Query()
	if c := q.Get("cursor"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil || v < 0 {
			return p, walletgate.Errorf(walletgate.EInvalid, "cursor %q is not a non-negative integer", c)
		}
		p.Cursor = v
	}
	if l := q.Get("limit"); l != "" {
		v, err := strconv.Atoi(l)
		if err != nil || v < 1 || v > h.cfg.MaxLimit {
			return p, walletgate.Errorf(walletgate.EInvalid, "limit %q is not an integer in 1..%d", l, h.cfg.MaxLimit)
		}
		p.Limit = v
	}
	return p, nil
}

func (h *Handler) listWatches(r *http.Request) (any, error) {
	coin, _, err := h.coin(r)
	if err != nil {
		return nil, err
	}
	p, err := h.parsePage(r)
	if err != nil {
		return nil, err
	}
	ws, next, err := h.cfg.Store.ListWatches(r.Context(), coin, r.URL.Query().Get("account"), p)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ws))
	for _, wt := range ws {
		out = append(out, watchJSON(wt))
	}
	return map[string]any{"watches": out, "next_cursor": next}, nil
}

func (h *Handler) listDeposits(r *http.Request) (any, error) {
	coin, _, err := h.coin(r)
	if err != nil {
		return nil, err
	}
	p, err := h.parsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	ds, next, err := h.cfg.Store.ListDeposits(r.Context(), walletgate.DepositFilter{Coin: coin, Account: q.Get("account"), Address: q.Get("address")}, p)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		m := map[string]any{
			"id": d.ID, "network_transaction": d.NetworkTxID, "txid": d.TxID, "address": d.Address,
			"account": d.Account, "amount": walletgate.FormatSats(d.Amount), "confirmations": d.Confirmations,
			"credited": d.CreditedAt != nil, "credited_at": nil, "updated_at": d.UpdatedAt.UTC().Format(time.RFC3339Nano),
		}
		if d.CreditedAt != nil {
			m["credited_at"] = d.CreditedAt.UTC().Format(time.RFC3339Nano)
		}
		out = append(out, m)
	}
	return map[string]any{"deposits": out, "next_cursor": next}, nil
}

func watchJSON(w walletgate.Watch) map[string]any {
	return map[string]any{"id": w.ID, "coin": w.Coin, "address": w.Address, "account": w.Account,
		"external_id": w.ExternalID, "created_at": w.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

// statusOf maps application error codes to HTTP statuses.
var statusOf = map[string]int{
	walletgate.EInvalid: http.StatusBadRequest, walletgate.EUnauthorized: http.StatusUnauthorized,
	walletgate.EForbidden: http.StatusForbidden, walletgate.ENotFound: http.StatusNotFound,
	walletgate.EConflict: http.StatusConflict, walletgate.ETooLarge: http.StatusRequestEntityTooLarge,
	walletgate.EUnavailable: http.StatusServiceUnavailable, walletgate.ETimeout: http.StatusGatewayTimeout,
	walletgate.EBackend: http.StatusBadGateway, walletgate.ENotImplemented: http.StatusNotImplemented,
}

func writeError(w http.ResponseWriter, err error) {
	code := walletgate.ErrorCode(err)
	if errors.Is(err, context.DeadlineExceeded) {
		code = walletgate.ETimeout
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": walletgate.ErrorMessage(err)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
