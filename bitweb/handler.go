package bitweb

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
)

// Config holds the REST surface's settings. Zero fields take the defaults
// of DefaultConfig.
type Config struct {
	// FixedFeeSatoshis is what /fee returns (FIXED_FEE_SATOSHIS). The
	// wallet treats it as an absolute per-transaction fee. Default 10,000.
	FixedFeeSatoshis int64
	// MaxBroadcastBody is the largest /broadcast request body in bytes.
	// Default 100,000.
	MaxBroadcastBody int64
	// MaxRawHex is the largest raw transaction in hex characters.
	// Default 100,000.
	MaxRawHex int
	// DefaultHistoryLimit is /history's limit when the parameter is missing
	// or not an integer. Default 10.
	DefaultHistoryLimit int
	// RequestTimeout bounds the backend work of one request
	// (ELECTRUM_TIMEOUT); past it the client gets a 503. Default 15 s.
	RequestTimeout time.Duration
}

// DefaultConfig returns the defaults of every zero Config field.
func DefaultConfig() Config {
	return Config{
		FixedFeeSatoshis:    10_000,
		MaxBroadcastBody:    100_000,
		MaxRawHex:           100_000,
		DefaultHistoryLimit: 10,
		RequestTimeout:      15 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.FixedFeeSatoshis == 0 {
		c.FixedFeeSatoshis = d.FixedFeeSatoshis
	}
	if c.MaxBroadcastBody <= 0 {
		c.MaxBroadcastBody = d.MaxBroadcastBody
	}
	if c.MaxRawHex <= 0 {
		c.MaxRawHex = d.MaxRawHex
	}
	if c.DefaultHistoryLimit == 0 {
		c.DefaultHistoryLimit = d.DefaultHistoryLimit
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	return c
}

// AddressDecoder turns an address of the served coin into its scriptPubKey.
// The text of its error is shown to clients verbatim (spec §5), so it must
// be the codec's client-safe message (a *walletgate.Error's Message is used
// when there is one).
type AddressDecoder interface {
	DecodeScript(addr string) ([]byte, error)
}

// AddressDecoderFunc adapts a function to AddressDecoder.
type AddressDecoderFunc func(addr string) ([]byte, error)

// DecodeScript calls f(addr).
func (f AddressDecoderFunc) DecodeScript(addr string) ([]byte, error) { return f(addr) }

// Handler serves the REST API. Build it with New.
type Handler struct {
	svc *chainview.Service
	dec AddressDecoder
	cfg Config
	log *slog.Logger
}

// New returns the REST handler over svc for addresses decoded by dec.
// A nil log discards logs.
func New(svc *chainview.Service, dec AddressDecoder, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, dec: dec, cfg: cfg.withDefaults(), log: log}
}

// route is one endpoint: its allowed methods and handler. arg is the path
// segment after the endpoint name ("" for /info, /fee, /broadcast).
type route struct {
	post  bool // POST-only (/broadcast); otherwise GET and HEAD
	serve func(h *Handler, ctx context.Context, r *http.Request, arg string) (any, error)
	// rpcStatus is the status of a JSON-RPC error from the backend: 500 for
	// the address reads, 400 for the transaction calls (spec §3).
	rpcStatus int
}

// lookup returns the route named name; withArg says whether the path has
// a segment after the name.
func lookup(name string, withArg bool) (route, bool) {
	if !withArg {
		switch name {
		case "info":
			return route{serve: (*Handler).info, rpcStatus: 500}, true
		case "fee":
			return route{serve: (*Handler).fee, rpcStatus: 500}, true
		case "broadcast":
			return route{post: true, serve: (*Handler).broadcast, rpcStatus: 400}, true
		}
		return route{}, false
	}
	switch name {
	case "balance":
		return route{serve: (*Handler).balance, rpcStatus: 500}, true
	case "unspent":
		return route{serve: (*Handler).unspent, rpcStatus: 500}, true
	case "history":
		return route{serve: (*Handler).history, rpcStatus: 500}, true
	case "tx":
		return route{serve: (*Handler).tx, rpcStatus: 400}, true
	case "rawtx":
		return route{serve: (*Handler).rawtx, rpcStatus: 400}, true
	}
	return route{}, false
}

// match finds the route of a path: "/name" or "/name/arg", one trailing
// slash allowed.
func match(path string) (route, string, bool) {
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	name, arg, hasArg := strings.Cut(path, "/")
	if hasArg && (arg == "" || strings.Contains(arg, "/")) {
		return route{}, "", false
	}
	rt, ok := lookup(name, hasArg)
	return rt, arg, ok
}

// CORS, as flask-cors sends it with its defaults.
const corsMethods = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	rt, arg, ok := match(r.URL.Path)
	if !ok {
		writeHTML(w, r, http.StatusNotFound, "", notFoundPage)
		return
	}
	allow := "GET, HEAD, OPTIONS"
	if rt.post {
		allow = "OPTIONS, POST"
	}
	switch {
	case r.Method == http.MethodOptions:
		if r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", corsMethods)
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				w.Header().Set("Access-Control-Allow-Headers", rh)
			}
		}
		writeHTML(w, r, http.StatusOK, allow, "")
		return
	case rt.post && r.Method == http.MethodPost,
		!rt.post && (r.Method == http.MethodGet || r.Method == http.MethodHead):
	default:
		writeHTML(w, r, http.StatusMethodNotAllowed, allow, methodNotAllowedPage)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	result, err := rt.serve(h, ctx, r, arg)
	if err != nil {
		h.fail(w, r, err, rt.rpcStatus)
		return
	}
	body, err := appendJSON(append(make([]byte, 0, 256), `{"error":null,"id":"api-server","result":`...), result)
	if err != nil {
		h.fail(w, r, walletgate.WrapError(walletgate.EInternal, err, "internal error"), rt.rpcStatus)
		return
	}
	writeJSON(w, r, http.StatusOK, append(body, "}\n"...))
}

// fail maps an error to the original's status and message: validation 400;
// a JSON-RPC error from the backend as "ElectrumX error: {…}" with the
// route's status; a backend that cannot be reached 503; anything else 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, rpcStatus int) {
	var rpc *walletgate.RPCError
	var status int
	var msg string
	switch code := walletgate.ErrorCode(err); {
	case errors.As(err, &rpc):
		status, msg = rpcStatus, electrumErrorText(rpc.Code, rpc.Message)
	case code == walletgate.EInvalid, code == walletgate.ETooLarge:
		status, msg = http.StatusBadRequest, walletgate.ErrorMessage(err)
	case code == walletgate.EUnavailable, code == walletgate.ETimeout:
		status, msg = http.StatusServiceUnavailable, walletgate.ErrorMessage(err)
	default:
		status, msg = http.StatusInternalServerError, walletgate.ErrorMessage(err)
	}
	if status >= 500 {
		h.log.Warn("bitweb request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	body := append([]byte(`{"error":{"code":`), strconv.Itoa(status)...)
	body = append(body, `,"message":`...)
	body = appendPyString(body, msg)
	body = append(body, `},"id":"api-server","result":null}`+"\n"...)
	writeJSON(w, r, status, body)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// Werkzeug's error pages.
const (
	notFoundPage = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
		"<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
	methodNotAllowedPage = "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n" +
		"<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n"
)

func writeHTML(w http.ResponseWriter, r *http.Request, status int, allow, page string) {
	hd := w.Header()
	if allow != "" {
		hd.Set("Allow", allow)
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(page))
	}
}

// invalid is a 400 with the given client message.
func invalid(msg string) error { return &walletgate.Error{Code: walletgate.EInvalid, Message: msg} }

// script validates and decodes an address (regex, then the codec).
func (h *Handler) script(addr string) (chainview.Script, error) {
	if !validAddress(addr) {
		return chainview.Script{}, invalid(msgBadAddress)
	}
	spk, err := h.dec.DecodeScript(addr)
	if err != nil {
		msg := err.Error()
		var app *walletgate.Error
		if errors.As(err, &app) {
			msg = app.Message
		}
		return chainview.Script{}, walletgate.WrapError(walletgate.EInvalid, err, "%s", msg)
	}
	return chainview.NewScript(spk), nil
}

// ChainDecoder decodes addresses with a coin's parameters from the chain
// registry; its errors carry the original's texts.
func ChainDecoder(p *chain.Params) AddressDecoder {
	return AddressDecoderFunc(func(addr string) ([]byte, error) {
		a, err := p.Decode(addr)
		if err != nil {
			return nil, err
		}
		return a.Script, nil
	})
}
