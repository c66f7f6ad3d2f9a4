package nodebackend

import (
	"context"
	"fmt"
	"sync"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/index"
	"github.com/walletgate/walletgate/rpc"
)

// Config are the settings of a Backend.
type Config struct {
	// Coin names the coin in events (walletgate.Event.Coin).
	Coin string
	// RPC is the node connection.
	RPC rpc.Config
	// Index are the index settings; Index.Path is required. OnChange is
	// set by the Backend.
	Index index.Options
	// MaxSubscriptions bounds distinct subscribed script hashes. Default
	// 1,000,000.
	MaxSubscriptions int
}

// Backend implements walletgate.Backend over a node and its index.
type Backend struct {
	coin string
	node *rpc.Client
	idx  *index.Index
	sink walletgate.EventSink
	max  int

	cancel context.CancelFunc
	done   chan struct{}

	// notifyMu serialises status checks of the sync loop with Subscribe,
	// so a subscription's remembered status is never older than an event
	// already decided.
	notifyMu sync.Mutex
	mu       sync.Mutex
	subs     map[index.SH]string // subscribed script -> last status sent
	closed   bool
}

var _ walletgate.Backend = (*Backend)(nil)

// New opens the index, starts following the node in the background and
// returns at once; sink receives events (it may be nil). Reads of script
// hashes fail with EUnavailable until the first sync completes (see
// WaitSynced).
func New(cfg Config, sink walletgate.EventSink) (*Backend, error) {
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = 1_000_000
	}
	node, err := rpc.New(cfg.RPC)
	if err != nil {
		return nil, fmt.Errorf("nodebackend %s: %w", cfg.Coin, err)
	}
	b := &Backend{coin: cfg.Coin, node: node, sink: sink, max: cfg.MaxSubscriptions,
		subs: map[index.SH]string{}, done: make(chan struct{})}
	opts := cfg.Index
	opts.OnChange = b.onChange
	b.idx, err = index.Open(node, opts)
	if err != nil {
		node.Close()
		return nil, fmt.Errorf("nodebackend %s: %w", cfg.Coin, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() {
		defer close(b.done)
		_ = b.idx.Run(ctx)
	}()
	return b, nil
}

// Index exposes the index for merkle, position and spend lookups.
func (b *Backend) Index() *index.Index { return b.idx }

// Notify makes the index poll the node now (blocknotify/walletnotify).
func (b *Backend) Notify() { b.idx.Notify() }

// WaitSynced blocks until the index has completed its first sync or ctx
// ends.
func (b *Backend) WaitSynced(ctx context.Context) error {
	select {
	case <-b.idx.Ready():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("nodebackend %s: wait for index sync: %w", b.coin, ctx.Err())
	}
}

// Close stops the sync loop and closes the index and connections.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	<-b.done
	b.node.Close()
	return b.idx.Close()
}

func (b *Backend) ready() error {
	if b.idx.Synced() {
		return nil
	}
	tip, _ := b.idx.Tip()
	return walletgate.Errorf(walletgate.EUnavailable, "the %s index is still syncing (height %d of %d)", b.coin, tip.Height, b.idx.NodeHeight())
}

func (b *Backend) script(sh walletgate.ScriptHash) (index.SH, error) {
	if err := b.ready(); err != nil {
		return index.SH{}, err
	}
	return index.ParseScriptHash(sh)
}

// Tip implements walletgate.Backend.
func (b *Backend) Tip(ctx context.Context) (walletgate.Tip, error) {
	if err := b.ready(); err != nil {
		return walletgate.Tip{}, err
	}
	return b.idx.Tip()
}

// Balance implements walletgate.Backend.
func (b *Backend) Balance(ctx context.Context, sh walletgate.ScriptHash) (walletgate.Balance, error) {
	s, err := b.script(sh)
	if err != nil {
		return walletgate.Balance{}, err
	}
	return b.idx.Balance(s)
}

// History implements walletgate.Backend.
func (b *Backend) History(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.HistoryEntry, error) {
	s, err := b.script(sh)
	if err != nil {
		return nil, err
	}
	return b.idx.History(s)
}

// Unspent implements walletgate.Backend.
func (b *Backend) Unspent(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.UTXO, error) {
	s, err := b.script(sh)
	if err != nil {
		return nil, err
	}
	return b.idx.Unspent(s)
}

// Transactions implements walletgate.Backend with one getrawtransaction
// batch; each Verbose is the node's own JSON.
func (b *Backend) Transactions(ctx context.Context, txids []string) ([]walletgate.TxResult, error) {
	res, err := b.node.Transactions(ctx, txids)
	if err != nil {
		return nil, err
	}
	for i := range res {
		if res[i].Err != nil {
			res[i].Err = daemonError(res[i].Err)
		}
	}
	return res, nil
}

// RawTransaction implements walletgate.Backend.
func (b *Backend) RawTransaction(ctx context.Context, txid string) (string, error) {
	raw, err := b.node.RawTransaction(ctx, txid)
	if err != nil {
		return "", daemonError(err)
	}
	return raw, nil
}

// Broadcast implements walletgate.Backend and makes the index pick the
// transaction up at once rather than at the next poll.
func (b *Backend) Broadcast(ctx context.Context, rawHex string) (string, error) {
	txid, err := b.node.SendRawTransaction(ctx, rawHex)
	if err != nil {
		return "", broadcastError(err, rawHex)
	}
	b.idx.Notify()
	return txid, nil
}

// Subscribe implements walletgate.Backend.
func (b *Backend) Subscribe(ctx context.Context, sh walletgate.ScriptHash) (string, error) {
	s, err := b.script(sh)
	if err != nil {
		return "", err
	}
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	st, err := b.idx.Status(s)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; !ok && len(b.subs) >= b.max {
		return "", walletgate.Errorf(walletgate.ETooLarge, "the %s backend holds %d subscriptions (Config.MaxSubscriptions)", b.coin, b.max)
	}
	b.subs[s] = st
	return st, nil
}

// Unsubscribe implements walletgate.Backend.
func (b *Backend) Unsubscribe(ctx context.Context, sh walletgate.ScriptHash) error {
	s, err := index.ParseScriptHash(sh)
	if err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
	return nil
}

// onChange runs on the index's sync loop after each round that changed
// something.
func (b *Backend) onChange(ch index.Change) {
	if ch.NewTip {
		b.publish(walletgate.Event{Kind: walletgate.EventBlock, Coin: b.coin, Tip: ch.Tip})
	}
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	var check []index.SH
	b.mu.Lock()
	if ch.All {
		for s := range b.subs {
			check = append(check, s)
		}
	} else {
		for _, s := range ch.Scripts {
			if _, ok := b.subs[s]; ok {
				check = append(check, s)
			}
		}
	}
	b.mu.Unlock()
	for _, s := range check {
		st, err := b.idx.Status(s)
		if err != nil {
			continue // the store failed: the next round checks again
		}
		b.mu.Lock()
		last, ok := b.subs[s]
		if ok && last != st {
			b.subs[s] = st
		}
		b.mu.Unlock()
		if ok && last != st {
			b.publish(walletgate.Event{Kind: walletgate.EventScriptHash, Coin: b.coin, ScriptHash: s.ScriptHash(), Status: st})
		}
	}
}

func (b *Backend) publish(ev walletgate.Event) {
	if b.sink != nil {
		b.sink.Publish(ev)
	}
}
