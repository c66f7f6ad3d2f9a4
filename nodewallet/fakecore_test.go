package nodewallet

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeCore models a Bitcoin Core wallet's JSON-RPC where it differs from
// btcwallet, for the Core paths that cannot run here (no bitcoind on the
// machine): no "version" method (-32601), labels instead of accounts,
// listtransactions counting and skipping entries from the newest and
// listing each page oldest first, negative fees, batches, multi-wallet
// /wallet/<name> paths with -18 for an unknown wallet, -5 for an unknown
// txid, and a 401 with an empty body for wrong credentials.
type fakeCore struct {
	user, pass string
	wallet     string // the one loaded wallet's name

	mu         sync.Mutex
	txs        []fakeTx // oldest first
	calls      []string // method names in arrival order
	batches    int      // HTTP requests that were batches
	newAddrs   [][]any  // getnewaddress params
	sendParams [][]any  // sendmany params
	dropped    map[string]bool
}

type fakeTx struct {
	txid    string
	conf    int64
	entries []fakeEntry
}

type fakeEntry struct {
	category, address, amount, fee string
}

type fakeReq struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params []any           `json:"params"`
}

func (f *fakeCore) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeCore) serve(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
		w.WriteHeader(http.StatusUnauthorized) // Core: no body
		return
	}
	body, _ := io.ReadAll(r.Body)
	walletPath := r.URL.Path
	if strings.HasPrefix(walletPath, "/wallet/") && strings.TrimPrefix(walletPath, "/wallet/") != f.wallet {
		writeJSON(w, http.StatusInternalServerError, fakeReply(nil, nil, -18, "Requested wallet does not exist or is not loaded"))
		return
	}
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		var reqs []fakeReq
		if err := json.Unmarshal(body, &reqs); err != nil {
			writeJSON(w, http.StatusInternalServerError, fakeReply(nil, nil, -32700, "Parse error"))
			return
		}
		f.mu.Lock()
		f.batches++
		f.mu.Unlock()
		out := make([]map[string]any, len(reqs))
		for i, q := range reqs {
			out[i] = f.handle(q)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	var q fakeReq
	if err := json.Unmarshal(body, &q); err != nil {
		writeJSON(w, http.StatusInternalServerError, fakeReply(nil, nil, -32700, "Parse error"))
		return
	}
	rep := f.handle(q)
	status := http.StatusOK
	if rep["error"] != nil {
		status = http.StatusInternalServerError // Core answers errors with 500 (404 for unknown methods)
		if rep["error"].(map[string]any)["code"] == -32601 {
			status = http.StatusNotFound
		}
	}
	writeJSON(w, status, rep)
}

func (f *fakeCore) handle(q fakeReq) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, q.Method)
	switch q.Method {
	case "getnewaddress":
		f.newAddrs = append(f.newAddrs, q.Params)
		if len(q.Params) > 0 && q.Params[0] == "*" {
			return fakeReply(q.ID, nil, -11, "Invalid label name")
		}
		return fakeReply(q.ID, fmt.Sprintf("bcrt1qfake%d", len(f.newAddrs)), 0, "")
	case "sendmany":
		// The payment is tx 5 of the history (fee 141 sat).
		f.sendParams = append(f.sendParams, q.Params)
		if len(q.Params) < 2 || q.Params[0] != "" {
			return fakeReply(q.ID, nil, -8, "Dummy value must be set to \"\"")
		}
		return fakeReply(q.ID, fakeTxID(5), 0, "")
	case "getbalance":
		if len(q.Params) != 2 || q.Params[0] != "*" {
			return fakeReply(q.ID, nil, -32, "dummy first argument must be excluded or set to \"*\".")
		}
		if q.Params[1].(float64) >= 1 {
			return fakeReply(q.ID, json.Number("1.50000000"), 0, "")
		}
		return fakeReply(q.ID, json.Number("1.75000001"), 0, "")
	case "listtransactions":
		count, skip := int(q.Params[1].(float64)), int(q.Params[2].(float64))
		var all []map[string]any
		for _, tx := range f.txs {
			for _, e := range tx.entries {
				m := map[string]any{"txid": tx.txid, "category": e.category, "address": e.address, "amount": json.Number(e.amount), "confirmations": tx.conf}
				if e.fee != "" {
					m["fee"] = json.Number(e.fee)
				}
				all = append(all, m)
			}
		}
		end := max(len(all)-skip, 0)
		start := max(end-count, 0)
		return fakeReply(q.ID, append([]map[string]any{}, all[start:end]...), 0, "")
	case "gettransaction":
		id, _ := q.Params[0].(string)
		for _, tx := range f.txs {
			if tx.txid != id || f.dropped[id] {
				continue
			}
			res := map[string]any{"txid": tx.txid, "confirmations": tx.conf}
			var details []map[string]any
			for _, e := range tx.entries {
				d := map[string]any{"category": e.category, "address": e.address, "amount": json.Number(e.amount)}
				if e.fee != "" {
					d["fee"] = json.Number(e.fee)
					res["fee"] = json.Number(e.fee)
				}
				details = append(details, d)
			}
			res["details"] = details
			return fakeReply(q.ID, res, 0, "")
		}
		return fakeReply(q.ID, nil, -5, "Invalid or non-wallet transaction id")
	}
	return fakeReply(q.ID, nil, -32601, "Method not found")
}

func fakeReply(id json.RawMessage, result any, code int, msg string) map[string]any {
	m := map[string]any{"id": id, "result": result, "error": nil}
	if code != 0 {
		m["result"] = nil
		m["error"] = map[string]any{"code": code, "message": msg}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
