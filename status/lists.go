package status

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/walletgate/walletgate"
)

// listQuery is a listing page's query: ?coin=&cursor= plus the optional
// account and address filters.
type listQuery struct {
	Coin    string
	Cursor  int64
	Account string
	Address string
}

// maxFilterLen caps the account and address filters; longer values are
// no label or address the store holds.
const maxFilterLen = 256

// parseListQuery reads a listing page's query. The coin defaults to the
// first configured one; an unknown coin or a bad cursor is EInvalid.
func (s *Server) parseListQuery(v url.Values) (listQuery, error) {
	q := listQuery{Coin: v.Get("coin"), Account: v.Get("account"), Address: v.Get("address")}
	if q.Coin == "" {
		q.Coin = s.sources[0].Name()
	}
	if _, ok := s.byName[q.Coin]; !ok {
		return q, walletgate.Errorf(walletgate.EInvalid, "unknown coin %q (configured: %s)", clip(q.Coin), strings.Join(s.coinNames(), ", "))
	}
	if c := v.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return q, walletgate.Errorf(walletgate.EInvalid, "cursor %q is not a non-negative integer", clip(c))
		}
		q.Cursor = n
	}
	for _, f := range [...]struct{ name, val string }{{"account", q.Account}, {"address", q.Address}} {
		if len(f.val) > maxFilterLen {
			return q, walletgate.Errorf(walletgate.EInvalid, "%s filter is %d bytes, over %d", f.name, len(f.val), maxFilterLen)
		}
	}
	return q, nil
}

// url is this page's URL for q, with cursor when it is not zero.
func (q listQuery) url(path string) string {
	v := url.Values{"coin": {q.Coin}}
	if q.Cursor > 0 {
		v.Set("cursor", strconv.FormatInt(q.Cursor, 10))
	}
	if q.Account != "" {
		v.Set("account", q.Account)
	}
	if q.Address != "" {
		v.Set("address", q.Address)
	}
	return path + "?" + v.Encode()
}

func (s *Server) coinNames() []string {
	out := make([]string, len(s.sources))
	for i, src := range s.sources {
		out[i] = src.Name()
	}
	return out
}

// listPage is the common part of a listing page: the coin switcher and
// the next link.
func (s *Server) listPage(path, title string, q listQuery, next int64, body any) pageData {
	d := pageData{Title: title, Body: body}
	for _, c := range s.coinNames() {
		d.Coins = append(d.Coins, navLink{Label: c, URL: listQuery{Coin: c}.url(path), Current: c == q.Coin})
	}
	if next != 0 {
		n := q
		n.Cursor = next
		d.Next = n.url(path)
	}
	return d
}

// list is the shared handler shape: parse the query, then run fill,
// which answers itself on a store error (ok false).
func (s *Server) list(w http.ResponseWriter, r *http.Request, fill func(q listQuery) (pageData, string, bool)) {
	q, err := s.parseListQuery(r.URL.Query())
	if err != nil {
		badRequest(w, err)
		return
	}
	d, page, ok := fill(q)
	if ok {
		s.render(w, r, page, d)
	}
}

// addresses is GET /addresses: the coin's watched addresses in id order.
func (s *Server) addresses(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, func(q listQuery) (pageData, string, bool) {
		ws, next, err := s.store.ListWatches(r.Context(), q.Coin, q.Account, walletgate.Page{Cursor: q.Cursor, Limit: s.cfg.PageLimit})
		if err != nil {
			s.storeFailed(w, r, "the "+q.Coin+" addresses", err)
			return pageData{}, "", false
		}
		d := s.listPage("/addresses", "Addresses", q, next, ws)
		if q.Account != "" {
			d.Notice = "Only account " + q.Account + "."
		}
		return d, "addresses", true
	})
}

// transactions is GET /transactions: the coin's deposits in id order,
// optionally of one account or address.
func (s *Server) transactions(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, func(q listQuery) (pageData, string, bool) {
		f := walletgate.DepositFilter{Coin: q.Coin, Account: q.Account, Address: q.Address}
		ds, next, err := s.store.ListDeposits(r.Context(), f, walletgate.Page{Cursor: q.Cursor, Limit: s.cfg.PageLimit})
		if err != nil {
			s.storeFailed(w, r, "the "+q.Coin+" transactions", err)
			return pageData{}, "", false
		}
		d := s.listPage("/transactions", "Transactions", q, next, ds)
		switch {
		case q.Account != "" && q.Address != "":
			d.Notice = "Only account " + q.Account + ", address " + q.Address + "."
		case q.Account != "":
			d.Notice = "Only account " + q.Account + "."
		case q.Address != "":
			d.Notice = "Only address " + q.Address + "."
		}
		return d, "transactions", true
	})
}

// accountRow is one row of /accounts.
type accountRow struct {
	Coin      string
	Account   string
	Addresses int
	Balance   int64
	FirstID   int64 // id of the account's first watch: its place in the list
}

// accounts is GET /accounts: the account labels of the coin's watches,
// in order of their first address, with their credited balances. The
// store has no account list, so the watches are scanned (up to ScanLimit)
// on every request; the cursor is the first-watch id of the last account
// shown.
func (s *Server) accounts(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, func(q listQuery) (pageData, string, bool) {
		all, partial, err := s.scanAccounts(r.Context(), q.Coin)
		if err != nil {
			s.storeFailed(w, r, "the "+q.Coin+" accounts", err)
			return pageData{}, "", false
		}
		start, _ := slices.BinarySearchFunc(all, q.Cursor+1, func(a accountRow, id int64) int {
			switch {
			case a.FirstID < id:
				return -1
			case a.FirstID > id:
				return 1
			}
			return 0
		})
		rows := all[start:]
		var next int64
		if len(rows) > s.cfg.PageLimit {
			rows = rows[:s.cfg.PageLimit]
			next = rows[len(rows)-1].FirstID
		}
		for i := range rows {
			b, err := s.store.Balance(r.Context(), q.Coin, rows[i].Account)
			if err != nil {
				s.storeFailed(w, r, "the balance of "+q.Coin+" account "+rows[i].Account, err)
				return pageData{}, "", false
			}
			rows[i].Balance = b
		}
		d := s.listPage("/accounts", "Accounts", q, next, rows)
		if partial {
			d.Notice = "Partial list: only the first " + strconv.Itoa(s.cfg.ScanLimit) + " addresses were scanned for accounts."
		}
		return d, "accounts", true
	})
}

// scanAccounts reads coin's watches (at most ScanLimit) into one row per
// account, ordered by first watch id.
func (s *Server) scanAccounts(ctx context.Context, coin string) ([]accountRow, bool, error) {
	var rows []accountRow
	index := make(map[string]int)
	read := 0
	p := walletgate.Page{Limit: s.cfg.ScanBatch}
	for {
		ws, next, err := s.store.ListWatches(ctx, coin, "", p)
		if err != nil {
			return nil, false, err
		}
		for _, wt := range ws {
			if read >= s.cfg.ScanLimit {
				return rows, true, nil
			}
			read++
			i, ok := index[wt.Account]
			if !ok {
				i = len(rows)
				index[wt.Account] = i
				rows = append(rows, accountRow{Coin: coin, Account: wt.Account, FirstID: wt.ID})
			}
			rows[i].Addresses++
		}
		if next == 0 {
			return rows, false, nil
		}
		p.Cursor = next
	}
}

// ntxRow is one network transaction of /network_transactions, built from
// its deposits.
type ntxRow struct {
	ID            int64
	TxID          string
	Confirmations int64
	Outputs       int   // deposits (watched addresses paid)
	Amount        int64 // their sum
	Credited      int   // how many of them are credited
}

// ntxBody is /network_transactions' data: the open ones the tracker
// still polls, and the deposit history grouped by transaction.
type ntxBody struct {
	MaxConfirmations int64
	Open             []walletgate.NetworkTx
	OpenMore         int // open ones not shown past PageLimit
	History          []ntxRow
}

// networkTxs is GET /network_transactions. The store lists network
// transactions only while they are open (below MaxConfirmations), so
// that list comes first; the history is the deposits grouped by network
// transaction, paged by deposit id.
func (s *Server) networkTxs(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, func(q listQuery) (pageData, string, bool) {
		body := ntxBody{MaxConfirmations: s.cfg.MaxConfirmations}
		if q.Cursor == 0 {
			open, err := s.store.OpenNetworkTxs(r.Context(), q.Coin, s.cfg.MaxConfirmations)
			if err != nil {
				s.storeFailed(w, r, "the open "+q.Coin+" network transactions", err)
				return pageData{}, "", false
			}
			if len(open) > s.cfg.PageLimit {
				body.OpenMore = len(open) - s.cfg.PageLimit
				open = open[:s.cfg.PageLimit]
			}
			body.Open = open
		}
		ds, next, err := s.store.ListDeposits(r.Context(), walletgate.DepositFilter{Coin: q.Coin}, walletgate.Page{Cursor: q.Cursor, Limit: s.cfg.PageLimit})
		if err != nil {
			s.storeFailed(w, r, "the "+q.Coin+" transactions", err)
			return pageData{}, "", false
		}
		body.History, next = groupDeposits(ds, next)
		return s.listPage("/network_transactions", "Network transactions", q, next, body), "network_transactions", true
	})
}

// groupDeposits groups a page of deposits by network transaction, in
// order of first appearance. When the page is full (next != 0) its last
// transaction may go on in the next page, so it is left for that page,
// unless it is the only one.
func groupDeposits(ds []walletgate.Deposit, next int64) ([]ntxRow, int64) {
	if next != 0 && len(ds) > 0 {
		last := ds[len(ds)-1].NetworkTxID
		cut := len(ds)
		for cut > 0 && ds[cut-1].NetworkTxID == last {
			cut--
		}
		if cut > 0 {
			ds, next = ds[:cut], ds[cut-1].ID
		}
	}
	var rows []ntxRow
	index := make(map[int64]int)
	for _, d := range ds {
		i, ok := index[d.NetworkTxID]
		if !ok {
			i = len(rows)
			index[d.NetworkTxID] = i
			rows = append(rows, ntxRow{ID: d.NetworkTxID, TxID: d.TxID, Confirmations: d.Confirmations})
		}
		row := &rows[i]
		row.Outputs++
		row.Amount += d.Amount
		row.Confirmations = max(row.Confirmations, d.Confirmations)
		if d.CreditedAt != nil {
			row.Credited++
		}
	}
	return rows, next
}
