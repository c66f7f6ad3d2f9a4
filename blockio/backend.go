package blockio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/walletgate/walletgate"
)

var _ walletgate.WalletBackend = (*Client)(nil)

// TracksConfirmations is true: block.io sends no confirmation updates
// that walletgate relies on, so confirmations are polled.
func (c *Client) TracksConfirmations() bool { return true }

// CreateAddress calls get_new_address with the label slugified (block.io
// needs unique labels of letters, digits, '-' and '_'). An empty label
// lets block.io pick one.
func (c *Client) CreateAddress(ctx context.Context, label string) (string, error) {
	params := url.Values{}
	if s := Slugify(label); s != "" {
		params.Set("label", s)
	}
	data, err := c.Call(ctx, "get_new_address", params)
	if err != nil {
		return "", fmt.Errorf("blockio: create address %q: %w", label, err)
	}
	var d struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Address == "" {
		return "", c.malformed("get_new_address", data, err)
	}
	return d.Address, nil
}

// Slugify lower-cases label and turns every run of characters other than
// letters, digits, '-' and '_' into one '-', trimmed at both ends.
func Slugify(label string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(label) {
		ok := 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Balance is the account's available balance; with minConf 0 the pending
// received balance is added (the original returned only the pending part
// then). block.io has no other confirmation thresholds.
func (c *Client) Balance(ctx context.Context, minConf int) (int64, error) {
	data, err := c.Call(ctx, "get_balance", nil)
	if err != nil {
		return 0, fmt.Errorf("blockio: balance: %w", err)
	}
	var d struct {
		Available string `json:"available_balance"`
		Pending   string `json:"pending_received_balance"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return 0, c.malformed("get_balance", data, err)
	}
	avail, err := ParseAmount(d.Available)
	if err != nil {
		return 0, c.malformed("get_balance", data, err)
	}
	if minConf > 0 {
		return avail, nil
	}
	pending, err := ParseAmount(d.Pending)
	if err != nil {
		return 0, c.malformed("get_balance", data, err)
	}
	return avail + pending, nil
}

// AddressBalance is one address's balance from get_address_balance.
type AddressBalance struct {
	Address         string
	Available       int64 // satoshis
	PendingReceived int64 // satoshis
}

// AddressBalances calls get_address_balance for the given addresses.
func (c *Client) AddressBalances(ctx context.Context, addresses []string) ([]AddressBalance, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	data, err := c.Call(ctx, "get_address_balance", url.Values{"addresses": {strings.Join(addresses, ",")}})
	if err != nil {
		return nil, fmt.Errorf("blockio: balances of %d addresses: %w", len(addresses), err)
	}
	var d struct {
		Balances []struct {
			Address   string `json:"address"`
			Available string `json:"available_balance"`
			Pending   string `json:"pending_received_balance"`
		} `json:"balances"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, c.malformed("get_address_balance", data, err)
	}
	out := make([]AddressBalance, 0, len(d.Balances))
	for _, b := range d.Balances {
		a, err := ParseAmount(b.Available)
		if err != nil {
			return nil, c.malformed("get_address_balance", data, err)
		}
		p, err := ParseAmount(b.Pending)
		if err != nil {
			return nil, c.malformed("get_address_balance", data, err)
		}
		out = append(out, AddressBalance{Address: b.Address, Available: a, PendingReceived: p})
	}
	return out, nil
}

// listedTx is one entry of get_transactions.
type listedTx struct {
	TxID            string      `json:"txid"`
	Confirmations   json.Number `json:"confirmations"`
	AmountsReceived []struct {
		Recipient string `json:"recipient"`
		Amount    string `json:"amount"`
	} `json:"amounts_received"`
	AmountsSent []struct {
		Recipient string `json:"recipient"`
		Amount    string `json:"amount"`
	} `json:"amounts_sent"`
}

// transactions fetches one raw page of get_transactions of type typ
// ("received" or "sent") older than before ("" for the newest page).
func (c *Client) transactions(ctx context.Context, typ, before string) ([]walletgate.WalletTx, error) {
	params := url.Values{"type": {typ}}
	if before != "" {
		params.Set("before_tx", before)
	}
	data, err := c.Call(ctx, "get_transactions", params)
	if err != nil {
		return nil, fmt.Errorf("blockio: %s transactions before %q: %w", typ, before, err)
	}
	var d struct {
		Txs []listedTx `json:"txs"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, c.malformed("get_transactions", data, err)
	}
	out := make([]walletgate.WalletTx, 0, len(d.Txs))
	for _, t := range d.Txs {
		wtx, err := t.walletTx()
		if err != nil {
			return nil, c.malformed("get_transactions", data, err)
		}
		out = append(out, wtx)
	}
	return out, nil
}

func (t listedTx) walletTx() (walletgate.WalletTx, error) {
	if t.TxID == "" {
		return walletgate.WalletTx{}, fmt.Errorf("transaction without txid")
	}
	conf, err := t.Confirmations.Int64()
	if err != nil || conf < 0 {
		return walletgate.WalletTx{}, fmt.Errorf("tx %s: confirmations %q: not a count", t.TxID, t.Confirmations)
	}
	w := walletgate.WalletTx{TxID: t.TxID, Confirmations: conf, OnlyReceive: true}
	for _, a := range t.AmountsReceived {
		v, err := ParseAmount(a.Amount)
		if err != nil || v < 0 {
			return walletgate.WalletTx{}, fmt.Errorf("tx %s: received amount %q: %v", t.TxID, a.Amount, err)
		}
		w.Details = append(w.Details, walletgate.WalletTxDetail{Category: walletgate.CategoryReceive, Address: a.Recipient, Amount: v})
	}
	for _, a := range t.AmountsSent {
		v, err := ParseAmount(a.Amount)
		if err != nil || v < 0 {
			return walletgate.WalletTx{}, fmt.Errorf("tx %s: sent amount %q: %v", t.TxID, a.Amount, err)
		}
		// Sends are negative, as bitcoind reports them.
		w.Details = append(w.Details, walletgate.WalletTxDetail{Category: walletgate.CategorySend, Address: a.Recipient, Amount: -v})
	}
	return w, nil
}

// ReceivedPage returns one raw page of received transactions, newest
// first; cursor is the txid the page must be older than. next is "" on an
// empty page, or when block.io answered with the cursor itself as the
// last txid again (an API that ignored before_tx would loop forever).
func (c *Client) ReceivedPage(ctx context.Context, cursor string) ([]walletgate.WalletTx, string, error) {
	txs, err := c.transactions(ctx, "received", cursor)
	if err != nil {
		return nil, "", err
	}
	if len(txs) == 0 {
		return nil, "", nil
	}
	last := txs[len(txs)-1].TxID
	if last == cursor {
		return txs, "", nil
	}
	return txs, last, nil
}

// Transaction finds txid among the account's received, then sent,
// transactions (at most Config.MaxScanPages pages each). An unknown txid
// is ENotFound.
func (c *Client) Transaction(ctx context.Context, txid string) (walletgate.WalletTx, error) {
	for _, typ := range []string{"received", "sent"} {
		before := ""
		for range c.cfg.MaxScanPages {
			txs, err := c.transactions(ctx, typ, before)
			if err != nil {
				return walletgate.WalletTx{}, err
			}
			for _, t := range txs {
				if strings.EqualFold(t.TxID, txid) {
					return t, nil
				}
			}
			if len(txs) == 0 || txs[len(txs)-1].TxID == before {
				break
			}
			before = txs[len(txs)-1].TxID
		}
	}
	return walletgate.WalletTx{}, &walletgate.Error{Code: walletgate.ENotFound, Message: fmt.Sprintf("block.io %s: transaction %s not among the newest %d pages of received or sent transactions", c.cfg.Network, txid, c.cfg.MaxScanPages)}
}

func (c *Client) malformed(method string, data []byte, err error) error {
	return &walletgate.Error{Code: walletgate.EBackend, Message: fmt.Sprintf("block.io %s: unexpected data %s", method, clip(data, 200)), Err: err}
}
