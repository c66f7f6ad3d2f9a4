package nodewallet

import (
	"context"
	"strconv"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/rpc"
)

// ReceivedPage returns the received transactions on one raw page of
// listtransactions "*" and the cursor of the next page, "" after the last.
//
// Pages are raw: a page whose entries are all sends yields no
// transactions but a next cursor, so paging goes on (the original stopped
// at the first page without receives). Each receive txid of the page is
// fetched with gettransaction once. The cursor is the skip offset, whose
// unit differs by node: Core skips entries, btcwallet whole transactions
// (it also counts each listed transaction twice against count, so it is
// asked for 2×PageSize−1 to get PageSize transactions). Offsets count from
// the newest transaction, so one arriving during a scan only makes a later
// page repeat a transaction, never skip one; the end is the first empty
// page.
func (w *Wallet) ReceivedPage(ctx context.Context, cursor string) ([]walletgate.WalletTx, string, error) {
	skip, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	k, err := w.Kind(ctx)
	if err != nil {
		return nil, "", err
	}
	count := w.cfg.PageSize
	if k == KindBtcwallet {
		count = 2*w.cfg.PageSize - 1
	}
	raw, err := w.rpc.Call(ctx, "listtransactions", "*", count, skip)
	if err != nil {
		return nil, "", mapErr(err, "listtransactions * %d %d", count, skip)
	}
	entries, err := parseList(raw)
	if err != nil {
		return nil, "", walletgate.WrapError(walletgate.EBackend, err, "nodewallet: listtransactions * %d %d", count, skip)
	}
	if len(entries) == 0 {
		return nil, "", nil
	}
	// A txid has several entries (btcwallet even lists a spent deposit
	// as a send before its receive), so txids seen and txids received are
	// separate sets.
	seen := make(map[string]bool, len(entries))
	received := make(map[string]bool)
	var receives []string
	for _, e := range entries {
		seen[e.TxID] = true
		if e.Category == walletgate.CategoryReceive && !received[e.TxID] {
			received[e.TxID] = true
			receives = append(receives, e.TxID)
		}
	}
	next := skip + len(entries)
	if k == KindBtcwallet {
		next = skip + len(seen)
	}
	txs, err := w.fetchAll(ctx, k, receives)
	if err != nil {
		return nil, "", err
	}
	return txs, strconv.Itoa(next), nil
}

// fetchAll runs gettransaction for each txid: one batch on Core, one call
// at a time on btcwallet, which refuses batches. A txid the wallet no
// longer knows (-5: dropped between the two calls) is left out.
func (w *Wallet) fetchAll(ctx context.Context, k Kind, txids []string) ([]walletgate.WalletTx, error) {
	if len(txids) == 0 {
		return nil, nil
	}
	txs := make([]walletgate.WalletTx, 0, len(txids))
	if k == KindCore {
		reqs := make([]rpc.Request, len(txids))
		for i, id := range txids {
			reqs[i] = rpc.Request{Method: "gettransaction", Params: []any{id}}
		}
		res, err := w.rpc.Batch(ctx, reqs)
		if err != nil {
			return nil, mapErr(err, "batch of %d gettransaction", len(txids))
		}
		for i, r := range res {
			if rpc.IsRPCError(r.Err, codeInvalidAddrKey) {
				continue
			}
			if r.Err != nil {
				return nil, mapErr(r.Err, "gettransaction %s", txids[i])
			}
			tx, err := w.txFromReply(r.Result, txids[i])
			if err != nil {
				return nil, err
			}
			txs = append(txs, tx)
		}
		return txs, nil
	}
	for _, id := range txids {
		tx, err := w.Transaction(ctx, id)
		if rpc.IsRPCError(err, codeInvalidAddrKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		txs = append(txs, tx)
	}
	return txs, nil
}
