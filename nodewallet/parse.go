package nodewallet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/walletgate/walletgate"
)

// maxSats bounds any amount a wallet may report: 21 million coins. Larger
// values are a broken reply, and the bound keeps int64 far from overflow.
const maxSats = 21_000_000 * 100_000_000

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

// parseCoins turns the text of a whole-coin JSON number into satoshis
// exactly. Core writes 8 fixed decimals; btcwallet writes the shortest
// float64 form, which for an amount of whole satoshis is still exact
// ("0.00001234", "-1", "1e-07"). A value with digits below one satoshi or
// beyond 21 million coins is refused rather than rounded.
func parseCoins(text string) (int64, error) {
	if !isJSONNumber(text) {
		return 0, fmt.Errorf("amount %q is not a JSON number", clip(text))
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil || e > maxExponent || e < -maxExponent {
			return 0, fmt.Errorf("amount %q: exponent out of range", clip(text))
		}
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return 0, fmt.Errorf("amount %q does not parse", clip(text))
	}
	r.Mul(r, big.NewRat(100_000_000, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("amount %q has digits below one satoshi", clip(text))
	}
	n := r.Num()
	if n.CmpAbs(big.NewInt(maxSats)) > 0 {
		return 0, fmt.Errorf("amount %q is beyond 21 million coins", clip(text))
	}
	return n.Int64(), nil
}

// isJSONNumber checks the JSON number grammar, so big.Rat never sees its
// other forms ("1/3", "0x10", "Inf").
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// formatCoins writes satoshis as a whole-coin JSON number with 8 decimals,
// the form bitcoind-style wallets take amounts in.
func formatCoins(sats int64) json.Number {
	sign := ""
	u := uint64(sats)
	if sats < 0 {
		sign, u = "-", uint64(-sats)
	}
	return json.Number(fmt.Sprintf("%s%d.%08d", sign, u/100_000_000, u%100_000_000))
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
	if !isTxID(r.TxID) {
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
		if !isTxID(e.TxID) {
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

// isTxID reports whether s is 64 hex digits.
func isTxID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// clip keeps error messages short when a reply is huge.
func clip(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
