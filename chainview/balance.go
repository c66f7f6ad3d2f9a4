package chainview

import (
	"context"
	"strconv"
	"sync"

	"github.com/walletgate/walletgate"
)

// UTXO is an unspent output as the surfaces show it. Field order is the
// Socket.IO payload's key order; REST re-sorts keys itself.
type UTXO struct {
	TxID     string `json:"txid"`
	Index    uint32 `json:"index"`
	Value    int64  `json:"value"`
	Height   int64  `json:"height"`
	Coinbase bool   `json:"coinbase"`
	Script   string `json:"script"` // scriptPubKey hex of the queried address
}

// UnspentFilter narrows an unspent list.
type UnspentFilter struct {
	// MinValue drops outputs worth less than this many satoshis (a
	// per-output minimum, not coin selection). 0 keeps all.
	MinValue int64
	// ConfirmedOnly drops mempool outputs (height 0).
	ConfirmedOnly bool
}

// BalancePayload is the balance_changed push (spec §4): field order is the
// wire's key order.
type BalancePayload struct {
	Balance     int64  `json:"balance"`
	Confirmed   int64  `json:"confirmed"`
	Unconfirmed int64  `json:"unconfirmed"`
	PendingOut  int64  `json:"pending_out"`
	UTXOs       []UTXO `json:"utxos"`
	Height      int64  `json:"height"`
}

func genKey(sh walletgate.ScriptHash, gen uint64) string {
	return string(sh) + "/" + strconv.FormatUint(gen, 10)
}

// cachedWatch returns sh's watch state when sh is watched, the generation
// to fetch in, and whether its cache may be used now: only while the
// backend's change events flow (see SubscriptionGuard). s.mu is held.
func (s *Service) cachedWatch(sh walletgate.ScriptHash) (st *watchState, gen uint64, trusted bool) {
	st = s.watched[sh]
	if st == nil || !st.active {
		return nil, 0, false
	}
	trusted = s.eventsLiveLocked()
	return st, st.gen, trusted
}

// eventsLiveLocked follows the guard's epoch and reports whether change
// events flow now. A new epoch means events may have been lost since the
// watched values were fetched, so every one of them starts a new
// generation; the backend's resync publishes the statuses that did change,
// which then reach the listeners as usual. s.mu is held.
func (s *Service) eventsLiveLocked() bool {
	if s.guard == nil {
		return true
	}
	epoch, live := s.guard.SubscriptionEpoch()
	if epoch != s.epoch {
		s.epoch = epoch
		for _, st := range s.watched {
			s.invalidateLocked(st)
		}
	}
	return live
}

// keepLocked reports whether a value fetched for st in generation gen while
// trusted may be cached: st is still watched in that generation and events
// still flow. s.mu is held.
func (s *Service) keepLocked(sh walletgate.ScriptHash, st *watchState, gen uint64, trusted bool) bool {
	if st == nil || !trusted {
		return false
	}
	cur, curGen, still := s.cachedWatch(sh)
	return cur == st && curGen == gen && still
}

// Balance returns sh's confirmed and mempool balance in satoshis. For a
// watched script hash it is served from cache until the next change event,
// and from the backend while the backend's change events do not flow.
func (s *Service) Balance(ctx context.Context, sh walletgate.ScriptHash) (walletgate.Balance, error) {
	s.mu.Lock()
	st, gen, trusted := s.cachedWatch(sh)
	if trusted && st.balOK {
		b := st.bal
		s.mu.Unlock()
		return b, nil
	}
	s.mu.Unlock()
	b, _, err := s.balFlight.do(ctx, genKey(sh, gen), func(ctx context.Context) (walletgate.Balance, error) {
		return s.backend.Balance(ctx, sh)
	})
	if err != nil {
		return walletgate.Balance{}, backendErr("get balance of "+string(sh), err)
	}
	s.mu.Lock()
	if s.keepLocked(sh, st, gen, trusted) {
		st.bal, st.balOK = b, true
	}
	s.mu.Unlock()
	return b, nil
}

// rawUnspent returns the backend's unspent list of sh, cached like Balance.
// The returned slice is shared: never modify it.
func (s *Service) rawUnspent(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.UTXO, error) {
	s.mu.Lock()
	st, gen, trusted := s.cachedWatch(sh)
	if trusted && st.utxoOK {
		u := st.utxos
		s.mu.Unlock()
		return u, nil
	}
	s.mu.Unlock()
	u, _, err := s.utxoFlight.do(ctx, genKey(sh, gen), func(ctx context.Context) ([]walletgate.UTXO, error) {
		return s.backend.Unspent(ctx, sh)
	})
	if err != nil {
		return nil, backendErr("list unspent of "+string(sh), err)
	}
	s.mu.Lock()
	if s.keepLocked(sh, st, gen, trusted) {
		st.utxos, st.utxoOK = u, true
	}
	s.mu.Unlock()
	return u, nil
}

// Unspent returns the unspent outputs of script that pass f, in the
// backend's order (confirmed in chain order, then mempool), each with its
// coinbase flag. Coinbase lookups run at most Config.EnrichConcurrency at a
// time; a failed lookup reports false and is retried next time.
func (s *Service) Unspent(ctx context.Context, script Script, f UnspentFilter) ([]UTXO, error) {
	raw, err := s.rawUnspent(ctx, script.Hash)
	if err != nil {
		return nil, err
	}
	out := make([]UTXO, 0, len(raw))
	for _, u := range raw {
		if f.ConfirmedOnly && u.Height == 0 {
			continue
		}
		if f.MinValue > 0 && u.Value < f.MinValue {
			continue
		}
		out = append(out, UTXO{TxID: u.TxHash, Index: u.TxPos, Value: u.Value, Height: u.Height, Script: script.Hex})
	}
	s.enrichCoinbase(ctx, out)
	return out, nil
}

// enrichCoinbase sets the Coinbase flag of every item, in place.
func (s *Service) enrichCoinbase(ctx context.Context, items []UTXO) {
	var miss []int
	for i := range items {
		if cb, ok := s.coinbase.get(items[i].TxID); ok {
			items[i].Coinbase = cb
		} else {
			miss = append(miss, i)
		}
	}
	if len(miss) == 0 {
		return
	}
	workers := min(s.cfg.EnrichConcurrency, len(miss))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				items[i].Coinbase = s.isCoinbase(ctx, items[i].TxID)
			}
		})
	}
	for _, i := range miss {
		next <- i
	}
	close(next)
	wg.Wait()
}

// isCoinbase looks one transaction up; concurrent lookups of one txid share
// a single backend request.
func (s *Service) isCoinbase(ctx context.Context, txid string) bool {
	if cb, ok := s.coinbase.get(txid); ok {
		return cb
	}
	tx, _, err := s.txFlight.do(ctx, txid, func(ctx context.Context) (*verboseTx, error) {
		m, err := s.fetchVerbose(ctx, []string{txid})
		if err != nil {
			return nil, err
		}
		return m[txid], nil
	})
	if err != nil || tx == nil {
		return false
	}
	return tx.coinbase
}

// BalancePayload builds the balance_changed push for script: balance and
// the unfiltered unspent list (both cached for watched script hashes),
// pending_out = max(0, Σ mempool utxo values − unconfirmed), and the last
// known tip height (fetched when none is known yet, so it is never 0).
func (s *Service) BalancePayload(ctx context.Context, script Script) (BalancePayload, error) {
	var (
		wg     sync.WaitGroup
		bal    walletgate.Balance
		balErr error
		utxos  []UTXO
		uErr   error
	)
	wg.Go(func() { bal, balErr = s.Balance(ctx, script.Hash) })
	wg.Go(func() { utxos, uErr = s.Unspent(ctx, script, UnspentFilter{}) })
	wg.Wait()
	if balErr != nil {
		return BalancePayload{}, balErr
	}
	if uErr != nil {
		return BalancePayload{}, uErr
	}
	tip, ok := s.LastTip()
	if !ok {
		t, err := s.Tip(ctx)
		if err != nil {
			return BalancePayload{}, err
		}
		tip = t
	}
	var mempool int64
	for _, u := range utxos {
		if u.Height == 0 {
			mempool += u.Value
		}
	}
	return BalancePayload{
		Balance:     bal.Confirmed + bal.Unconfirmed,
		Confirmed:   bal.Confirmed,
		Unconfirmed: bal.Unconfirmed,
		PendingOut:  max(0, mempool-bal.Unconfirmed),
		UTXOs:       utxos,
		Height:      tip.Height,
	}, nil
}
