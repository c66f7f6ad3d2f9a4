package index

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/rpc"
)

// Options are the index's settings; zero values take the defaults noted.
type Options struct {
	// Path is the store file, e.g. <data dir>/<coin>/index.db. Required.
	Path string
	// StartHeight is the first block indexed; history before it is not
	// seen. Default 0 (the whole chain).
	StartHeight int64
	// PollInterval is how often the node is asked for a new tip and
	// mempool even when a push channel is configured. Default 2 s.
	PollInterval time.Duration
	// MaxReorgDepth is how many recent blocks keep undo data; a deeper
	// reorg stops the index with an error. Default 100.
	MaxReorgDepth int64
	// FetchParallel bounds getblock requests in flight during catch-up.
	// Default 4 (btcd admits 10 RPC clients by default).
	FetchParallel int
	// FetchWindow is how many blocks are fetched ahead and committed in one
	// store transaction during catch-up. Default 32.
	FetchWindow int
	// MempoolBatch is how many transactions one getrawtransaction batch
	// asks for when new mempool transactions appear. Default 200.
	MempoolBatch int
	// ProgressEvery is how often catch-up logs height, blocks/s and ETA.
	// Default 10 s.
	ProgressEvery time.Duration
	// WebsocketURL is btcd's notification endpoint (ws://host:port/ws);
	// empty disables it. WebsocketUser/Pass are sent as basic auth.
	WebsocketURL  string
	WebsocketUser string
	WebsocketPass string
	// ZMQEndpoints are Bitcoin Core's ZMQ publishers (the addresses of
	// -zmqpubhashblock and -zmqpubrawtx, e.g. tcp://127.0.0.1:28332); empty
	// disables ZMQ.
	ZMQEndpoints []string
	// Logger receives progress and errors. Default slog.Default().
	Logger *slog.Logger
	// OnChange is called after every sync round that changed something,
	// from the sync loop; it must not block for long.
	OnChange func(Change)
}

func (o *Options) setDefaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.MaxReorgDepth <= 0 {
		o.MaxReorgDepth = 100
	}
	if o.FetchParallel <= 0 {
		o.FetchParallel = 4
	}
	if o.FetchWindow <= 0 {
		o.FetchWindow = 32
	}
	if o.MempoolBatch <= 0 {
		o.MempoolBatch = 200
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Change is what one sync round changed.
type Change struct {
	Tip    walletgate.Tip
	NewTip bool // blocks were connected or disconnected
	Reorg  bool // blocks were disconnected
	// All means so many blocks were applied that the touched scripts were
	// not collected: every script may have changed.
	All     bool
	Scripts []SH // scripts whose history, balance or mempool part changed
}

// Index is walletgate's own address index over one node.
type Index struct {
	opts Options
	node *rpc.Client
	db   *bolt.DB
	log  *slog.Logger
	mem  atomic.Pointer[mempool]
	kick chan struct{}

	syncMu sync.Mutex                     // one sync round at a time; guards memRaw
	memRaw map[chainhash.Hash]*wire.MsgTx // mempool txs as fetched, reused across rounds
	synced atomic.Bool                    // a round has completed
	nodeH  atomic.Int64                   // the node's height at the last round
	ready  chan struct{}                  // closed after the first completed round
	once   sync.Once
}

// Open opens (or creates) the store at opts.Path. It does not contact the
// node; Sync or Run does.
func Open(node *rpc.Client, opts Options) (*Index, error) {
	opts.setDefaults()
	if opts.Path == "" {
		return nil, walletgate.Errorf(walletgate.EInvalid, "index: Options.Path is empty")
	}
	if opts.StartHeight < 0 {
		return nil, walletgate.Errorf(walletgate.EInvalid, "index: start height %d is negative", opts.StartHeight)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("index: create directory for %s: %w", opts.Path, err)
	}
	// The map freelist and an unsynced freelist are what etcd runs large
	// stores with: commits stop rewriting a freelist that grows with the
	// file, and after a crash bbolt rebuilds it by scanning (data pages are
	// still fsynced with the meta page, so commits stay atomic).
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", opts.Path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		db.Close()
		return nil, err
	}
	x := &Index{opts: opts, node: node, db: db, log: opts.Logger, kick: make(chan struct{}, 1),
		memRaw: map[chainhash.Hash]*wire.MsgTx{}, ready: make(chan struct{})}
	x.mem.Store(emptyMempool())
	x.nodeH.Store(-1)
	return x, nil
}

// Close closes the store. Run must have returned.
func (x *Index) Close() error { return x.db.Close() }

// Notify asks the sync loop to poll now; it never blocks. It is the hook
// for Core's -blocknotify and walletnotify, and for push channels.
func (x *Index) Notify() {
	select {
	case x.kick <- struct{}{}:
	default:
	}
}

// Synced reports whether a sync round has completed since Open.
func (x *Index) Synced() bool { return x.synced.Load() }

// Ready is closed once the first sync round has completed.
func (x *Index) Ready() <-chan struct{} { return x.ready }

// NodeHeight is the node's height seen by the last sync round, -1 before.
func (x *Index) NodeHeight() int64 { return x.nodeH.Load() }

// Run syncs until ctx ends: at once, then every PollInterval or when
// Notify is called or a push channel reports news. Errors are logged and
// retried at the next tick. It returns ctx's error.
func (x *Index) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if x.opts.WebsocketURL != "" {
		wg.Go(func() { x.runWebsocket(ctx) })
	}
	if len(x.opts.ZMQEndpoints) > 0 {
		wg.Go(func() { x.runZMQ(ctx) })
	}
	t := time.NewTicker(x.opts.PollInterval)
	defer t.Stop()
	for {
		if err := x.Sync(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("index sync failed; retrying", "path", x.opts.Path, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-x.kick:
		}
	}
}
