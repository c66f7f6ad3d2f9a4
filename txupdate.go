package walletgate

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The txupdate event (cryptoassets spec §8): what the application is told
// each time a deposit's or a broadcast send's confirmations change, and
// the payload every event handler delivers.

// EventTxUpdate is the name of the only cryptoassets event (spec §8).
const EventTxUpdate = "txupdate"

// TxUpdate is one txupdate event: the state of one deposit after a
// confirmation change. EventID is stable per (coin, txid, address,
// confirmations), so a receiver that sees it twice can drop the repeat.
type TxUpdate struct {
	EventID         string
	Coin            string
	TransactionType string // TxTypeDeposit or TxTypeBroadcast
	TransactionID   int64  // the Deposit's id
	NetworkTxID     int64
	Account         string
	TxID            string
	Address         string
	Amount          int64 // satoshis
	Credited        bool
	Confirmations   int64
}

// TxUpdateEventID is the stable event id of the txupdate for (coin, txid,
// address, confirmations); every store builds it the same way, so a
// receiver can dedupe across retries, restarts and processes.
func TxUpdateEventID(coin, txid, address string, confirmations int64) string {
	return coin + ":" + txid + ":" + address + ":" + strconv.FormatInt(confirmations, 10)
}

// txUpdateJSON is the txupdate payload as cryptoassets applications read
// it (spec §8), plus coin_name, transaction_type and event_id. account is
// the account label, the name applications know it by.
type txUpdateJSON struct {
	Transaction        int64  `json:"transaction"`
	NetworkTransaction int64  `json:"network_transaction"`
	Account            string `json:"account"`
	TxID               string `json:"txid"`
	Address            string `json:"address"`
	Amount             string `json:"amount"`
	Credited           *bool  `json:"credited"` // null for broadcasts
	Confirmations      int64  `json:"confirmations"`
	CoinName           string `json:"coin_name"`
	TransactionType    string `json:"transaction_type"`
	EventID            string `json:"event_id"`
}

// MarshalTxUpdate encodes u as the txupdate payload, with the amount as an
// 8-decimal string of whole coins ("0.00021000"). credited is true or false
// for a deposit and null for a broadcast (spec §8): an outgoing payment is
// never credited to anyone, and u.Credited is ignored for it.
func MarshalTxUpdate(u TxUpdate) ([]byte, error) {
	var credited *bool
	if u.TransactionType != TxTypeBroadcast {
		credited = &u.Credited
	}
	b, err := json.Marshal(txUpdateJSON{
		Transaction: u.TransactionID, NetworkTransaction: u.NetworkTxID, Account: u.Account,
		TxID: u.TxID, Address: u.Address, Amount: FormatSats(u.Amount), Credited: credited,
		Confirmations: u.Confirmations, CoinName: u.Coin, TransactionType: u.TransactionType, EventID: u.EventID,
	})
	if err != nil {
		return nil, fmt.Errorf("encode txupdate %s: %w", u.EventID, err)
	}
	return b, nil
}

// UnmarshalTxUpdate decodes a payload written by MarshalTxUpdate; a null
// credited (a broadcast) reads as false.
func UnmarshalTxUpdate(b []byte) (TxUpdate, error) {
	var j txUpdateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return TxUpdate{}, fmt.Errorf("decode txupdate: %w", err)
	}
	amount, err := ParseSats(j.Amount)
	if err != nil {
		return TxUpdate{}, fmt.Errorf("decode txupdate %s: %w", j.EventID, err)
	}
	return TxUpdate{
		EventID: j.EventID, Coin: j.CoinName, TransactionType: j.TransactionType, TransactionID: j.Transaction,
		NetworkTxID: j.NetworkTransaction, Account: j.Account, TxID: j.TxID, Address: j.Address,
		Amount: amount, Credited: j.Credited != nil && *j.Credited, Confirmations: j.Confirmations,
	}, nil
}
