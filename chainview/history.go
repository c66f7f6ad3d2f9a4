package chainview

import (
	"context"

	"github.com/walletgate/walletgate"
)

// Directions of a history item.
const (
	DirIn      = "in"
	DirOut     = "out"
	DirSelf    = "self"
	DirUnknown = "unknown"
)

// HistoryItem is one transaction of an address's history, seen from that
// address. Amount and Timestamp are nil when unknown.
type HistoryItem struct {
	TxID      string
	Height    int64 // 0 for mempool
	Direction string
	Amount    *int64
	MineIn    int64 // Σ of our outputs this transaction spends
	MineOut   int64 // Σ of this transaction's outputs to us
	Timestamp *int64
}

// History returns the newest limit transactions of script, newest first
// (mempool on top), each with direction and amount (spec §3 /history).
//
// limit is clamped to 1..Config.HistoryMaxLimit. This FIXES a quirk of the
// original, where 0 returned the whole history and a negative k all but the
// first k entries, both bypassing the 50 cap.
//
// Outputs are matched on scriptPubKey hex rather than on the address string
// as typed. This FIXES the original's misses for uppercase bech32 and the
// alternative base58 version bytes, which map to the same script. An output
// without an address (OP_RETURN, P2PK, bare multisig) still never counts as
// external.
//
// It makes at most two backend round trips beyond the history itself: one
// batch for the listed transactions and one for their previous
// transactions, fewer when the confirmed-transaction cache has them.
// Transactions the backend refuses are reported as unknown; a failed batch
// fails the call.
func (s *Service) History(ctx context.Context, script Script, limit int) ([]HistoryItem, error) {
	limit = max(1, min(limit, s.cfg.HistoryMaxLimit))
	raw, err := s.rawHistory(ctx, script.Hash)
	if err != nil {
		return nil, err
	}

	// Normalise: drop heights below -1, fold -1 into 0, keep the first
	// (confirmed) occurrence of a txid that briefly appears twice.
	list := make([]walletgate.HistoryEntry, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for _, e := range raw {
		if e.Height < -1 || seen[e.TxHash] {
			continue
		}
		seen[e.TxHash] = true
		if e.Height == -1 {
			e.Height = 0
		}
		list = append(list, e)
		if e.Height == 0 {
			// Back in the mempool after a reorg: a cached copy would carry
			// the old block's time.
			s.txs.remove(e.TxHash)
		}
	}

	// Newest first.
	n := min(limit, len(list))
	recent := make([]walletgate.HistoryEntry, n)
	for i := range n {
		recent[i] = list[len(list)-1-i]
	}

	ids := make([]string, n)
	for i, e := range recent {
		ids[i] = e.TxHash
	}
	main, err := s.fetchVerbose(ctx, ids)
	if err != nil {
		return nil, err
	}
	var prevIDs []string
	for _, e := range recent {
		if tx := main[e.TxHash]; tx != nil {
			for _, in := range tx.ins {
				prevIDs = append(prevIDs, in.prev)
			}
		}
	}
	prevs, err := s.fetchVerbose(ctx, prevIDs)
	if err != nil {
		return nil, err
	}

	items := make([]HistoryItem, n)
	for i, e := range recent {
		items[i] = classify(e, main[e.TxHash], prevs, script.Hex)
	}
	return items, nil
}

// classify works out direction and amount of one history entry.
func classify(e walletgate.HistoryEntry, tx *verboseTx, prevs map[string]*verboseTx, spk string) HistoryItem {
	it := HistoryItem{TxID: e.TxHash, Height: e.Height, Direction: DirUnknown}
	if tx == nil {
		return it
	}
	external := false
	for _, o := range tx.outs {
		switch {
		case o.script == spk:
			it.MineOut += o.sats
		case o.addressed:
			external = true
		}
	}
	for _, in := range tx.ins {
		p := prevs[in.prev]
		if p == nil || int(in.vout) >= len(p.outs) {
			continue
		}
		if o := p.outs[in.vout]; o.script == spk {
			it.MineIn += o.sats
		}
	}
	var amount int64
	switch {
	case it.MineIn > 0 && (it.MineOut >= it.MineIn || !external):
		it.Direction, amount = DirSelf, it.MineOut
	case it.MineIn > 0:
		it.Direction, amount = DirOut, max(it.MineIn-it.MineOut, 0)
	case it.MineOut > 0:
		it.Direction, amount = DirIn, it.MineOut
	}
	it.Amount = &amount
	it.Timestamp = tx.timestamp
	return it
}

// rawHistory returns the backend's history of sh: cached until its change
// event when watched (and only while the backend's events flow, see
// SubscriptionGuard), for Config.HistoryTTL otherwise. The returned slice is
// shared: never modify it.
func (s *Service) rawHistory(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.HistoryEntry, error) {
	s.mu.Lock()
	st, gen, trusted := s.cachedWatch(sh)
	s.mu.Unlock()
	if h, ok := s.hist.get(sh); ok {
		if st != nil && trusted && h.watched && h.gen == gen {
			return h.list, nil
		}
		if st == nil && s.now().Sub(h.at) < s.cfg.HistoryTTL {
			return h.list, nil
		}
	}
	at := s.now()
	list, _, err := s.histFlight.do(ctx, genKey(sh, gen), func(ctx context.Context) ([]walletgate.HistoryEntry, error) {
		return s.backend.History(ctx, sh)
	})
	if err != nil {
		return nil, backendErr("get history of "+string(sh), err)
	}
	s.mu.Lock()
	var fresh bool
	if st == nil {
		// Unwatched: kept for HistoryTTL, unless sh became watched meanwhile.
		st2, _, _ := s.cachedWatch(sh)
		fresh = st2 == nil
	} else {
		fresh = s.keepLocked(sh, st, gen, trusted)
	}
	s.mu.Unlock()
	if fresh {
		s.hist.add(sh, histEntry{list: list, at: at, watched: st != nil, gen: gen})
	}
	return list, nil
}
