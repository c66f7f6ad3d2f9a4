// Package blockiotest is a local stand-in for the block.io v2 API, for
// tests: block.io cannot be reached from CI, and a real account would not
// let a test script deposits or faults.
//
// It follows block.io's request and reply shapes: POST
// /api/v2/<method>/?api_key=KEY with form parameters, answered with
// {"status":"success","data":{...}} or {"status":"fail","data":
// {"error_message":...}}. It serves get_new_address, get_balance,
// get_address_balance, get_transactions (type=received|sent, before_tx,
// newest first, PageSize per page), create_notification,
// get_notifications (also as list_notifications) and delete_notification.
// Amounts are written as 8-place decimal strings, as block.io does.
//
// A test scripts the account (AddReceived, AddSent, SetConfirmations,
// SetBalance) and injects faults per method: a "fail" reply, an HTTP
// status, a delay, or a server that ignores before_tx.
package blockiotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/walletgate/walletgate/blockio"
)

// DefaultPageSize is block.io's get_transactions page size.
const DefaultPageSize = 25

// Tx is a scripted transaction. Amounts are satoshis per address.
type Tx struct {
	TxID          string
	Confirmations int64
	Received      map[string]int64 // type=received: our addresses and amounts
	Sent          map[string]int64 // type=sent: recipients and amounts
}

// Fault makes calls of one method misbehave.
type Fault struct {
	FailMessage string        // non-empty: answer "fail" with this error_message
	HTTPStatus  int           // non-zero: answer this status with a plain body
	Delay       time.Duration // wait before answering (or until the client gives up)
	Times       int           // how many calls it affects; 0 means every call
}

// Server is a fake block.io. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API root to put in blockio.Config.BaseURL.
	URL string

	apiKey  string
	network string
	srv     *httptest.Server

	mu             sync.Mutex
	pageSize       int
	ignoreBeforeTx bool
	txs            []Tx // oldest first
	addresses      []Address
	available      int64
	pending        int64
	notifications  []blockio.Notification
	nextNotifyID   int
	faults         map[string]*Fault
	calls          map[string]int
	lastParams     map[string]map[string][]string
	unblockOnClose chan struct{}
}

// Address is one address made by get_new_address.
type Address struct {
	Address string
	Label   string
}

// New starts a fake block.io accepting apiKey for network.
func New(apiKey, network string) *Server {
	s := &Server{
		apiKey:         apiKey,
		network:        network,
		pageSize:       DefaultPageSize,
		faults:         map[string]*Fault{},
		calls:          map[string]int{},
		lastParams:     map[string]map[string][]string{},
		unblockOnClose: make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/api/v2/"
	return s
}

// Close stops the server; delayed replies are cut short.
func (s *Server) Close() {
	close(s.unblockOnClose)
	s.srv.Close()
}

// SetPageSize sets how many transactions one get_transactions page holds.
func (s *Server) SetPageSize(n int) { s.mu.Lock(); s.pageSize = n; s.mu.Unlock() }

// IgnoreBeforeTx makes get_transactions always answer the newest page,
// like a broken proxy that drops the parameter.
func (s *Server) IgnoreBeforeTx(on bool) { s.mu.Lock(); s.ignoreBeforeTx = on; s.mu.Unlock() }

// AddTx adds a transaction as the newest one.
func (s *Server) AddTx(tx Tx) { s.mu.Lock(); s.txs = append(s.txs, tx); s.mu.Unlock() }

// SetConfirmations changes a scripted transaction's confirmations.
func (s *Server) SetConfirmations(txid string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.txs {
		if s.txs[i].TxID == txid {
			s.txs[i].Confirmations = n
		}
	}
}

// SetBalance sets get_balance's available and pending received amounts.
func (s *Server) SetBalance(available, pendingReceived int64) {
	s.mu.Lock()
	s.available, s.pending = available, pendingReceived
	s.mu.Unlock()
}

// SetFault makes calls of method misbehave; a zero Fault clears it.
func (s *Server) SetFault(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.faults, method)
		return
	}
	s.faults[method] = &f
}

// Calls is how many requests method got.
func (s *Server) Calls(method string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[method] }

// LastParams are the form parameters of method's latest request.
func (s *Server) LastParams(method string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastParams[method]
}

// Addresses lists the addresses made so far, oldest first.
func (s *Server) Addresses() []Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Address(nil), s.addresses...)
}

// Notifications lists the registered webhooks.
func (s *Server) Notifications() []blockio.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]blockio.Notification(nil), s.notifications...)
}

// AddNotification registers a webhook as if made earlier (a leftover of
// a previous run) and returns its id.
func (s *Server) AddNotification(typ, url string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addNotificationLocked(typ, url).ID
}

func (s *Server) addNotificationLocked(typ, url string) blockio.Notification {
	s.nextNotifyID++
	n := blockio.Notification{ID: fmt.Sprintf("notif-%d", s.nextNotifyID), Type: typ, Enabled: true, URL: url}
	s.notifications = append(s.notifications, n)
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/api/v2/")
	method = strings.TrimSuffix(method, "/")
	if !ok || method == "" || strings.Contains(method, "/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, fail("could not parse the request: "+err.Error()))
		return
	}
	s.mu.Lock()
	s.calls[method]++
	s.lastParams[method] = r.PostForm
	var fault Fault
	if f := s.faults[method]; f != nil {
		fault = *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				delete(s.faults, method)
			}
		}
	}
	s.mu.Unlock()
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		case <-s.unblockOnClose:
			return
		}
	}
	switch {
	case fault.HTTPStatus != 0:
		http.Error(w, http.StatusText(fault.HTTPStatus), fault.HTTPStatus)
		return
	case fault.FailMessage != "":
		writeJSON(w, http.StatusOK, fail(fault.FailMessage))
		return
	}
	if r.URL.Query().Get("api_key") != s.apiKey {
		// block.io answers a bad key with a fail envelope and 401.
		writeJSON(w, http.StatusUnauthorized, fail("API Key invalid or you have not enabled API access for this machine's IP address(es). Check that your API Keys are correct, and that you have enabled API access for this IP address."))
		return
	}
	data, msg := s.dispatch(method, r)
	if msg != "" {
		writeJSON(w, http.StatusOK, fail(msg))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": data})
}

func fail(msg string) map[string]any {
	return map[string]any{"status": "fail", "data": map[string]any{"error_message": msg}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
