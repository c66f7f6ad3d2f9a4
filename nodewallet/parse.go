package nodewallet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/walletgate/walletgate"
)

// maxSats bounds any amount a wallet may report: 21 million coins. Larger
// values are a broken reply, and the bound keeps int64 far from overflow.
const maxSats = 21_000_000 * walletgate.SatsPerCoin

// maxExponent bounds the exponent of an amount's text ("1e-07" is how
// btcwallet's float64 encoder writes 10 satoshis), so a hostile reply
// cannot make the parser build a huge power of ten.
const maxExponent = 30

// decode unmarshals a node reply keeping numbers as text, so amounts are
// never rounded through float64.
func decode(raw []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// coinFormat is how node wallets write amounts: JSON numbers of whole
// coins, exact, at most 21 million coins. Core writes 8 fixed decimals;
// btcwallet writes the shortest float64 form, which for an amount of whole
// satoshis is still exact ("0.00001234", "-1", "1e-07").
var coinFormat = walletgate.AmountFormat{JSON: true, MaxExponent: maxExponent, Max: maxSats}

// parseCoins turns the text of a whole-coin JSON number into satoshis
// exactly. A value with digits below one satoshi or beyond 21 million
// coins is refused rather than rounded.
func parseCoins(text string) (int64, error) {
	v, err := walletgate.ParseCoins(text, coinFormat)
	var e *walletgate.AmountError
	if errors.As(err, &e) {
		switch e.Reason {
		case walletgate.AmountExponent:
			return 0, e.Reword("amount %q: exponent out of range", clip(text))
		case walletgate.AmountPrecision:
			return 0, e.Reword("amount %q has digits below one satoshi", clip(text))
		case walletgate.AmountRange:
			return 0, e.Reword("amount %q is beyond 21 million coins", clip(text))
		default:
			return 0, e.Reword("amount %q is not a JSON number", clip(text))
		}
	}
	return v, err
}

// formatCoins writes satoshis as a whole-coin JSON number with 8 decimals,
// the form bitcoind-style wallets take amounts in.
func formatCoins(sats int64) json.Number {
	return json.Number(walletgate.FormatSats(sats))
}

// txReply is gettransaction's answer as both Core and btcwallet write it.
type txReply struct {
	TxID          string      `json:"txid"`
	Confirmations int64       `json:"confirmations"`
	Fee           json.Number `json:"fee"`
	Details       []struct {
		Address  string      `json:"address"`
		Category string      `json:"category"`
		Amount   json.Number `json:"amount"`
		Fee      json.Number `json:"fee"`
	} `json:"details"`
}

// parseTransaction turns a gettransaction reply into a WalletTx. Only
// receive and send details are kept (coinbase categories such as generate
// and immature are not deposits). Fees are normalised to their absolute
// value: Core reports them negative, btcwallet positive in gettransaction
// (and negative in listtransactions).
func parseTransaction(raw []byte) (walletgate.WalletTx, error) {
	var r txReply
	if err := decode(raw, &r); err != nil {
		return walletgate.WalletTx{}, fmt.Errorf("gettransaction reply %s: %w", clip(string(raw)), err)
	}
	if walletgate.CheckHash(r.TxID) != nil {
		return walletgate.WalletTx{}, fmt.Errorf("gettransaction reply has txid %q, not 64 hex digits", clip(r.TxID))
	}
	tx := walletgate.WalletTx{TxID: strings.ToLower(r.TxID), Confirmations: r.Confirmations}
	topFee, err := parseFee(r.Fee)
	if err != nil {
		return walletgate.WalletTx{}, fmt.Errorf("gettransaction %s fee: %w", r.TxID, err)
	}
	for i, d := range r.Details {
		if d.Category != walletgate.CategoryReceive && d.Category != walletgate.CategorySend {
			continue
		}
		amt, err := parseCoins(string(d.Amount))
		if err != nil {
			return walletgate.WalletTx{}, fmt.Errorf("gettransaction %s detail %d amount: %w", r.TxID, i, err)
		}
		fee, err := parseFee(d.Fee)
		if err != nil {
			return walletgate.WalletTx{}, fmt.Errorf("gettransaction %s detail %d fee: %w", r.TxID, i, err)
		}
		if d.Category == walletgate.CategorySend && fee == 0 {
			fee = topFee
		}
		if d.Category == walletgate.CategoryReceive {
			fee = 0
		}
		tx.Details = append(tx.Details, walletgate.WalletTxDetail{Category: d.Category, Address: d.Address, Amount: amt, Fee: fee})
	}
	return tx, nil
}

// parseFee reads an optional fee as its absolute value in satoshis.
func parseFee(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := parseCoins(string(n))
	if v < 0 {
		v = -v
	}
	return v, err
}

// listEntry is one entry of listtransactions.
type listEntry struct {
	TxID     string `json:"txid"`
	Category string `json:"category"`
}

// parseList reads a listtransactions reply.
func parseList(raw []byte) ([]listEntry, error) {
	var es []listEntry
	if err := decode(raw, &es); err != nil {
		return nil, fmt.Errorf("listtransactions reply %s: %w", clip(string(raw)), err)
	}
	for i, e := range es {
		if walletgate.CheckHash(e.TxID) != nil {
			return nil, fmt.Errorf("listtransactions entry %d has txid %q, not 64 hex digits", i, clip(e.TxID))
		}
		es[i].TxID = strings.ToLower(e.TxID)
	}
	return es, nil
}

// parseBalance reads a getbalance reply: one whole-coin number.
func parseBalance(raw []byte) (int64, error) {
	var n json.Number
	if err := decode(raw, &n); err != nil {
		return 0, fmt.Errorf("getbalance reply %s: %w", clip(string(raw)), err)
	}
	v, err := parseCoins(string(n))
	if err != nil {
		return 0, fmt.Errorf("getbalance reply: %w", err)
	}
	return v, nil
}

// parseAddress reads a getnewaddress reply.
func parseAddress(raw []byte) (string, error) {
	var s string
	if err := decode(raw, &s); err != nil {
		return "", fmt.Errorf("getnewaddress reply %s: %w", clip(string(raw)), err)
	}
	if s == "" || len(s) > 128 {
		return "", fmt.Errorf("getnewaddress reply %q is not an address", clip(s))
	}
	return s, nil
}

// clip keeps error messages short when a reply is huge.
func clip(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
