package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/walletgate/walletgate"
)

// Sync runs one round: take back blocks the node no longer has, apply the
// blocks it has beyond the tip, refresh the mempool, and report the
// change. Calls are serialised.
func (x *Index) Sync(ctx context.Context) error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	touched := map[SH]struct{}{}
	ch, err := x.syncBlocks(ctx, touched)
	if err != nil {
		return err
	}
	if err := x.syncMempool(ctx, ch.NewTip, touched); err != nil {
		return err
	}
	x.synced.Store(true)
	x.once.Do(func() { close(x.ready) })
	if !ch.NewTip && len(touched) == 0 {
		return nil
	}
	if ch.Tip, err = x.Tip(); err != nil {
		return err
	}
	if !ch.All {
		ch.Scripts = make([]SH, 0, len(touched))
		for sh := range touched {
			ch.Scripts = append(ch.Scripts, sh)
		}
	}
	if x.opts.OnChange != nil {
		x.opts.OnChange(ch)
	}
	return nil
}

// collectLimit is the most blocks a round applies while still listing
// the scripts they touch; beyond it the change says All.
const collectLimit = 100

func (x *Index) syncBlocks(ctx context.Context, touched map[SH]struct{}) (Change, error) {
	var ch Change
	nodeH, err := x.node.BlockCount(ctx)
	if err != nil {
		return ch, fmt.Errorf("index: node height: %w", err)
	}
	x.nodeH.Store(nodeH)
	var tip tipRecord
	var have bool
	if err := x.db.View(func(tx *bolt.Tx) error {
		tip, have, err = readTip(tx)
		return err
	}); err != nil {
		return ch, err
	}
	next := x.opts.StartHeight
	if have {
		fork, err := x.findFork(ctx, tip, nodeH)
		if err != nil {
			return ch, err
		}
		if fork < tip.height {
			if err := x.rollback(tip.height, fork, touched); err != nil {
				return ch, err
			}
			ch.NewTip, ch.Reorg = true, true
		}
		next = fork + 1
	}
	if next > nodeH {
		return ch, nil
	}
	if nodeH-next+1 > collectLimit {
		ch.All, touched = true, nil
	}
	n, err := x.catchUp(ctx, next, nodeH, touched)
	if n > 0 {
		ch.NewTip = true
	}
	return ch, err
}

// findFork returns the highest stored height whose block the node's best
// chain still has.
func (x *Index) findFork(ctx context.Context, tip tipRecord, nodeH int64) (int64, error) {
	for h := tip.height; ; h-- {
		if tip.height-h > x.opts.MaxReorgDepth {
			return 0, fmt.Errorf("index: reorg deeper than %d blocks below %d (Options.MaxReorgDepth): rebuild the index", x.opts.MaxReorgDepth, tip.height)
		}
		if h < x.opts.StartHeight {
			return h, nil // everything indexed was replaced: start again at StartHeight
		}
		if h > nodeH {
			continue
		}
		ours, err := x.hashAt(h)
		if err != nil {
			return 0, err
		}
		theirs, err := x.node.BlockHash(ctx, h)
		if err != nil {
			return 0, fmt.Errorf("index: node block hash at %d: %w", h, err)
		}
		if ours == theirs {
			return h, nil
		}
	}
}

func (x *Index) hashAt(h int64) (chainhash.Hash, error) {
	var hash chainhash.Hash
	err := x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bHdr).Get(heightKey(h))
		if len(v) != 80 {
			return fmt.Errorf("index: no stored header at height %d", h)
		}
		var hdr wire.BlockHeader
		if err := hdr.Deserialize(&sliceReader{b: v}); err != nil {
			return fmt.Errorf("index: stored header %d: %w", h, err)
		}
		hash = hdr.BlockHash()
		return nil
	})
	return hash, err
}

// rollback takes back blocks from..to+1 in one store transaction.
func (x *Index) rollback(from, to int64, touched map[SH]struct{}) error {
	x.log.Info("index reorg: taking back blocks", "path", x.opts.Path, "from", from, "to", to+1)
	return x.db.Update(func(tx *bolt.Tx) error {
		for h := from; h > to; h-- {
			if err := undoBlock(tx, h, touched); err != nil {
				if errors.Is(err, errNoUndo) {
					return fmt.Errorf("%w: reorg deeper than the undo data kept (Options.MaxReorgDepth %d)", err, x.opts.MaxReorgDepth)
				}
				return err
			}
		}
		if to < x.opts.StartHeight {
			return tx.Bucket(bMeta).Delete(keyTip)
		}
		return nil
	})
}

type fetchedBlock struct {
	height int64
	blk    *wire.MsgBlock
}

// catchUp applies blocks next..nodeH, fetching FetchWindow blocks at a
// time with FetchParallel requests in flight while the previous window is
// applied, and commits each window atomically with the tip marker. It
// returns how many blocks it applied. A block that does not link to the
// stored tip (the node reorganised meanwhile) ends the round early; the
// next round finds the fork.
func (x *Index) catchUp(ctx context.Context, next, nodeH int64, touched map[SH]struct{}) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	windows := make(chan []fetchedBlock, 1)
	var fetchErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(windows)
		for from := next; from <= nodeH; from += int64(x.opts.FetchWindow) {
			n := min(int64(x.opts.FetchWindow), nodeH-from+1)
			w, err := x.fetchWindow(ctx, from, n)
			if err != nil {
				fetchErr = err
				return
			}
			select {
			case windows <- w:
			case <-ctx.Done():
				return
			}
		}
	})
	defer wg.Wait()
	defer cancel()

	applied := 0
	var txs int
	start, lastLog := time.Now(), time.Now()
	for w := range windows {
		n, ntx, err := x.applyWindow(w, nodeH, touched)
		applied += n
		txs += ntx
		if err != nil || n < len(w) {
			return applied, err
		}
		if time.Since(lastLog) >= x.opts.ProgressEvery {
			lastLog = time.Now()
			h := w[len(w)-1].height
			rate := float64(applied) / time.Since(start).Seconds()
			eta := time.Duration(float64(nodeH-h)/rate) * time.Second
			x.log.Info("index catching up", "path", x.opts.Path, "height", h, "node", nodeH,
				"blocks_per_s", int(rate), "txs_per_s", int(float64(txs)/time.Since(start).Seconds()), "eta", eta.Round(time.Second))
		}
	}
	wg.Wait()
	if fetchErr != nil {
		return applied, fetchErr
	}
	if applied > collectLimit {
		x.log.Info("index caught up", "path", x.opts.Path, "height", nodeH, "blocks", applied, "txs", txs, "took", time.Since(start).Round(time.Millisecond))
	}
	return applied, nil
}

func (x *Index) fetchWindow(ctx context.Context, from, n int64) ([]fetchedBlock, error) {
	hashes, err := x.node.BlockHashes(ctx, from, n)
	if err != nil {
		return nil, fmt.Errorf("index: block hashes %d..%d: %w", from, from+n-1, err)
	}
	out := make([]fetchedBlock, n)
	sem := make(chan struct{}, x.opts.FetchParallel)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range hashes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			blk, err := x.node.Block(ctx, hashes[i])
			out[i], errs[i] = fetchedBlock{height: from + int64(i), blk: blk}, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("index: block %d (%s): %w", from+int64(i), hashes[i], err)
		}
	}
	return out, nil
}

// applyWindow commits a window of blocks in one store transaction and
// returns how many it applied (fewer when one does not link).
func (x *Index) applyWindow(w []fetchedBlock, nodeH int64, touched map[SH]struct{}) (int, int, error) {
	n, ntx := 0, 0
	err := x.db.Update(func(tx *bolt.Tx) error {
		tip, have, err := readTip(tx)
		if err != nil {
			return err
		}
		for _, fb := range w {
			if have && (fb.height != tip.height+1 || fb.blk.Header.PrevBlock != tip.hash) {
				x.log.Info("index: node changed its chain during catch-up", "height", fb.height)
				x.Notify() // the next round finds the fork without waiting a poll
				return nil
			}
			undo := fb.height > nodeH-x.opts.MaxReorgDepth
			if err := applyBlock(tx, fb.height, fb.blk, undo, x.opts.MaxReorgDepth, touched); err != nil {
				return err
			}
			tip, have = tipRecord{height: fb.height, hash: fb.blk.BlockHash()}, true
			n++
			ntx += len(fb.blk.Transactions)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return n, ntx, nil
}

// syncMempool refreshes the mempool snapshot from getrawmempool, fetching
// only transactions it has not seen. After a block it rebuilds even when
// the txid set is unchanged, since heights and spends move.
func (x *Index) syncMempool(ctx context.Context, blockChanged bool, touched map[SH]struct{}) error {
	ids, err := x.node.RawMempool(ctx)
	if err != nil {
		return fmt.Errorf("index: mempool: %w", err)
	}
	raw := make(map[chainhash.Hash]*wire.MsgTx, len(ids))
	var missing []string
	for _, id := range ids {
		if err := walletgate.CheckHash(id); err != nil {
			return walletgate.WrapError(walletgate.EBackend, err, "index: node mempool lists %q, not a txid", clipStr(id, 80))
		}
		var h chainhash.Hash
		_ = chainhash.Decode(&h, id) // cannot fail after CheckHash
		if tx, ok := x.memRaw[h]; ok {
			raw[h] = tx
		} else {
			missing = append(missing, id)
		}
	}
	if !blockChanged && len(missing) == 0 && len(raw) == len(x.memRaw) {
		return nil
	}
	for start := 0; start < len(missing); start += x.opts.MempoolBatch {
		part := missing[start:min(start+x.opts.MempoolBatch, len(missing))]
		res, err := x.node.RawTransactions(ctx, part)
		if err != nil {
			return fmt.Errorf("index: mempool transactions: %w", err)
		}
		for i, r := range res {
			if r.Err != nil {
				var re *walletgate.RPCError
				if errors.As(r.Err, &re) {
					continue // left the mempool since getrawmempool
				}
				return fmt.Errorf("index: mempool transaction %s: %w", part[i], r.Err)
			}
			raw[r.Tx.TxHash()] = r.Tx
		}
	}
	var m *mempool
	if err := x.db.View(func(tx *bolt.Tx) error {
		m = buildMempool(tx, raw)
		return nil
	}); err != nil {
		return err
	}
	if touched != nil {
		changedScripts(x.mem.Load(), m, touched)
	}
	x.mem.Store(m)
	x.memRaw = raw
	return nil
}

// sliceReader reads a byte slice (stored headers) without copying it.
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
