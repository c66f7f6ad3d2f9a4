package nodewallet

import (
	"context"
	"encoding/json"

	"github.com/walletgate/walletgate"
)

// Send pays every recipient (address → satoshis) in one network
// transaction with sendmany and returns its txid and fee. The fee is
// gettransaction's top-level fee as an absolute value (the original summed
// the send details' fees, and Core repeats the whole fee on each).
//
// Send never retries: a failed sendmany may still have broadcast, so the
// caller must not resend blindly. A txid returned with an error means the
// payment went out but its fee could not be read. btcwallet needs the
// wallet unlocked (walletpassphrase) and spends from Config.Account; Core
// spends from the whole wallet. label is sendmany's comment on Core;
// btcwallet cannot store comments, so it is dropped there.
func (w *Wallet) Send(ctx context.Context, recipients map[string]int64, label string) (string, int64, error) {
	if len(recipients) == 0 {
		return "", 0, walletgate.Errorf(walletgate.EInvalid, "nodewallet: send with no recipients")
	}
	amounts := make(map[string]json.Number, len(recipients))
	for addr, sats := range recipients {
		if addr == "" {
			return "", 0, walletgate.Errorf(walletgate.EInvalid, "nodewallet: send to an empty address")
		}
		if sats <= 0 || sats > maxSats {
			return "", 0, walletgate.Errorf(walletgate.EInvalid, "nodewallet: send of %d sat to %s: amount must be positive and at most 21 million coins", sats, clip(addr))
		}
		amounts[addr] = formatCoins(sats)
	}
	k, err := w.Kind(ctx)
	if err != nil {
		return "", 0, err
	}
	// Core's first argument is a dummy that must be ""; btcwallet's is
	// the account, and it refuses comments ("not yet supported").
	params := []any{"", amounts, 1, label}
	if k == KindBtcwallet {
		params = []any{w.cfg.Account, amounts, 1}
	}
	raw, err := w.rpc.Call(ctx, "sendmany", params...)
	if err != nil {
		return "", 0, mapErr(err, "sendmany to %d recipients", len(recipients))
	}
	var txid string
	if err := decode(raw, &txid); err != nil || walletgate.CheckHash(txid) != nil {
		return "", 0, walletgate.Errorf(walletgate.EBackend, "nodewallet: sendmany reply %s is not a txid; the payment may have gone out", clip(string(raw)))
	}
	raw, err = w.rpc.Call(ctx, "gettransaction", txid)
	if err != nil {
		return txid, 0, mapErr(err, "gettransaction %s after sendmany", txid)
	}
	var r struct {
		Fee json.Number `json:"fee"`
	}
	if err := decode(raw, &r); err != nil {
		return txid, 0, walletgate.WrapError(walletgate.EBackend, err, "nodewallet: gettransaction %s after sendmany", txid)
	}
	fee, err := parseFee(r.Fee)
	if err != nil {
		return txid, 0, walletgate.WrapError(walletgate.EBackend, err, "nodewallet: fee of %s", txid)
	}
	return txid, fee, nil
}
