package wsapi

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/hub"
)

// Texts shared with the REST API.
const (
	msgBadTxid   = "Invalid txid  -  expected 64 hex characters"
	msgBadAmount = "amount must be a non-negative integer"
)

// Result shapes: the REST API's, keys in its (sorted) order.
type (
	balanceResult struct {
		Balance     int64 `json:"balance"`
		Confirmed   int64 `json:"confirmed"`
		Unconfirmed int64 `json:"unconfirmed"`
	}
	unspentItem struct {
		Coinbase bool   `json:"coinbase"`
		Height   int64  `json:"height"`
		Index    uint32 `json:"index"`
		Script   string `json:"script"`
		TxID     string `json:"txid"`
		Value    int64  `json:"value"`
	}
	historyItem struct {
		Amount    *int64 `json:"amount"`
		Direction string `json:"direction"`
		Height    int64  `json:"height"`
		MineIn    int64  `json:"mine_in"`
		MineOut   int64  `json:"mine_out"`
		Timestamp *int64 `json:"timestamp"`
		TxID      string `json:"txid"`
	}
	infoResult struct {
		Blocks int64 `json:"blocks"`
	}
)

type (
	addressParams struct {
		Address string `json:"address"`
	}
	addressesParams struct {
		Addresses []string `json:"addresses"`
	}
	unspentParams struct {
		Address   string `json:"address"`
		Amount    *int64 `json:"amount"`
		Confirmed bool   `json:"confirmed"`
	}
	historyParams struct {
		Address string `json:"address"`
		Limit   *int   `json:"limit"`
	}
	txParams struct {
		TxID string `json:"txid"`
	}
	// accountParams are subscribeAccount's (account, key) and
	// unsubscribeAccount's (account). The account label is taken as
	// given, untrimmed, as the deposit API stores it.
	accountParams struct {
		Account string `json:"account"`
		Key     string `json:"key"`
	}
)

// defaultHistoryLimit is what /history uses when limit is not given.
const defaultHistoryLimit = 10

// call runs one method. It may set *after to work that must follow the
// answer on the wire.
func (c *conn) call(ctx context.Context, req request, after *func()) (any, *rpcError) {
	svc := c.hc.Service()
	switch req.Method {
	case "getInfo":
		tip, err := svc.Tip(ctx)
		if err != nil {
			return nil, serviceError(err)
		}
		return infoResult{Blocks: tip.Height}, nil

	case "getBalance":
		var p addressParams
		sc, e := c.addressParam(req, &p, &p.Address)
		if e != nil {
			return nil, e
		}
		b, err := svc.Balance(ctx, sc.Hash)
		if err != nil {
			return nil, serviceError(err)
		}
		return balanceResult{Balance: b.Confirmed + b.Unconfirmed, Confirmed: b.Confirmed, Unconfirmed: b.Unconfirmed}, nil

	case "getUnspent":
		var p unspentParams
		sc, e := c.addressParam(req, &p, &p.Address)
		if e != nil {
			return nil, e
		}
		f := chainview.UnspentFilter{ConfirmedOnly: p.Confirmed}
		if p.Amount != nil {
			if *p.Amount < 0 {
				return nil, badRequest(msgBadAmount)
			}
			f.MinValue = *p.Amount
		}
		us, err := svc.Unspent(ctx, sc, f)
		if err != nil {
			return nil, serviceError(err)
		}
		out := make([]unspentItem, len(us))
		for i, u := range us {
			out[i] = unspentItem{Coinbase: u.Coinbase, Height: u.Height, Index: u.Index, Script: u.Script, TxID: u.TxID, Value: u.Value}
		}
		return out, nil

	case "getHistory":
		var p historyParams
		sc, e := c.addressParam(req, &p, &p.Address)
		if e != nil {
			return nil, e
		}
		limit := defaultHistoryLimit
		if p.Limit != nil {
			limit = *p.Limit
		}
		items, err := svc.History(ctx, sc, limit)
		if err != nil {
			return nil, serviceError(err)
		}
		out := make([]historyItem, len(items))
		for i, h := range items {
			out[i] = historyItem{Amount: h.Amount, Direction: h.Direction, Height: h.Height, MineIn: h.MineIn, MineOut: h.MineOut, Timestamp: h.Timestamp, TxID: h.TxID}
		}
		return out, nil

	case "getTx":
		var p txParams
		if e := decodeParams(req.Params, &p); e != nil {
			return nil, e
		}
		if !validTxid(p.TxID) {
			return nil, badRequest(msgBadTxid)
		}
		tx, err := svc.Tx(ctx, p.TxID)
		if err != nil {
			return nil, serviceError(err)
		}
		return tx, nil

	case "subscribeAddresses":
		return c.subscribe(ctx, req, after)
	case "unsubscribeAddresses":
		return c.unsubscribe(ctx, req)

	case "subscribeBlocks":
		c.blocks.Store(true)
		tip, err := svc.Tip(ctx)
		if err != nil {
			return nil, serviceError(err)
		}
		return infoResult{Blocks: tip.Height}, nil
	case "unsubscribeBlocks":
		c.blocks.Store(false)
		return true, nil
	case "subscribeAccount":
		p, e := parseAccountParams(req.Params)
		if e != nil {
			return nil, e
		}
		if err := c.hc.SubscribeAccount(p.Account, p.Key); err != nil {
			return nil, serviceError(err)
		}
		return map[string]string{"subscribed": p.Account}, nil
	case "unsubscribeAccount":
		p, e := parseAccountParams(req.Params)
		if e != nil {
			return nil, e
		}
		if err := c.hc.UnsubscribeAccount(p.Account); err != nil {
			return nil, serviceError(err)
		}
		return map[string]string{"unsubscribed": p.Account}, nil
	}
	return nil, &rpcError{Code: CodeNotFound, Message: "unknown method " + strconv.Quote(req.Method)}
}

// parseAccountParams decodes the params of subscribeAccount and
// unsubscribeAccount. The hub checks the account (present, not too long)
// and the key, so both transports answer alike.
func parseAccountParams(raw json.RawMessage) (accountParams, *rpcError) {
	var p accountParams
	if e := decodeParams(raw, &p); e != nil {
		return accountParams{}, e
	}
	return p, nil
}

// addressParam decodes params into p and parses the address field.
func (c *conn) addressParam(req request, p any, field *string) (chainview.Script, *rpcError) {
	if e := decodeParams(req.Params, p); e != nil {
		return chainview.Script{}, e
	}
	addr := strings.TrimSpace(*field)
	sc, err := hub.ParseAddress(c.srv.dec, addr)
	if err != nil {
		return chainview.Script{}, &rpcError{Code: CodeBadRequest, Message: walletgate.ErrorMessage(err), Address: addr}
	}
	return sc, nil
}

// addressList decodes and validates a subscribe/unsubscribe list.
func (c *conn) addressList(req request) ([]string, []chainview.Script, *rpcError) {
	var p addressesParams
	if e := decodeParams(req.Params, &p); e != nil {
		return nil, nil, e
	}
	if len(p.Addresses) == 0 {
		return nil, nil, badRequest("addresses must be a non-empty list of address strings")
	}
	if len(p.Addresses) > c.srv.cfg.MaxAddresses {
		return nil, nil, &rpcError{Code: CodeTooLarge, Message: "too many addresses in one request: " + strconv.Itoa(len(p.Addresses)) + " (max " + strconv.Itoa(c.srv.cfg.MaxAddresses) + ")"}
	}
	addrs := make([]string, len(p.Addresses))
	scripts := make([]chainview.Script, len(p.Addresses))
	for i, a := range p.Addresses {
		addrs[i] = strings.TrimSpace(a)
		sc, err := hub.ParseAddress(c.srv.dec, addrs[i])
		if err != nil {
			return nil, nil, &rpcError{Code: CodeBadRequest, Message: walletgate.ErrorMessage(err), Address: addrs[i]}
		}
		scripts[i] = sc
	}
	return addrs, scripts, nil
}

// subscribe watches every address of the list, or none: a bad address
// fails the request before anything is watched, and a backend failure
// undoes the watches the request made.
func (c *conn) subscribe(ctx context.Context, req request, after *func()) (any, *rpcError) {
	addrs, scripts, e := c.addressList(req)
	if e != nil {
		return nil, e
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	var added []int
	for i, sc := range scripts {
		if _, ok := c.subs[addrs[i]]; ok {
			continue
		}
		if err := c.hc.Watch(ctx, sc, addrs[i], nil); err != nil {
			for _, j := range added {
				delete(c.subs, addrs[j])
				_ = c.hc.Unwatch(ctx, scripts[j].Hash, addrs[j])
			}
			re := serviceError(err)
			re.Address = addrs[i]
			return nil, re
		}
		c.subs[addrs[i]] = sc.Hash
		added = append(added, i)
	}
	// The first pushes follow the answer (they may overtake it only when
	// the address changes at the same moment).
	*after = func() {
		for i, sc := range scripts {
			c.hc.Refresh(sc.Hash, addrs[i])
		}
	}
	return map[string][]string{"subscribed": addrs}, nil
}

func (c *conn) unsubscribe(ctx context.Context, req request) (any, *rpcError) {
	addrs, _, e := c.addressList(req)
	if e != nil {
		return nil, e
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for _, a := range addrs {
		sh, ok := c.subs[a]
		if !ok {
			continue
		}
		delete(c.subs, a)
		if err := c.hc.Unwatch(ctx, sh, a); err != nil {
			c.srv.cfg.Logger.Warn("wsapi: unsubscribe", "address", a, "err", err)
		}
	}
	return map[string][]string{"unsubscribed": addrs}, nil
}

// validTxid is ^[0-9a-fA-F]{64}\z.
func validTxid(s string) bool { return walletgate.ValidTxID(s) }
