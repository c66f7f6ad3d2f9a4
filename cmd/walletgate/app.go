package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/bitweb"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/config"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/inmem"
	"github.com/walletgate/walletgate/metrics"
	"github.com/walletgate/walletgate/peerchannels"
	"github.com/walletgate/walletgate/peerchannels/headers"
	"github.com/walletgate/walletgate/peerchannels/indexer"
	"github.com/walletgate/walletgate/postgres"
	"github.com/walletgate/walletgate/socketio"
	"github.com/walletgate/walletgate/sqlite"
	"github.com/walletgate/walletgate/wsapi"
)

// app is everything serve builds from the config.
type app struct {
	main    http.Handler
	extra   []listener
	closers []closer
	// background tasks run for the life of the server (subscription loops,
	// ping loops); each returns when its context ends.
	background []func(ctx context.Context) error
	// critical tasks must run until shutdown: one that returns early
	// (an intake that cannot listen, a worker whose store is gone) stops
	// the server with exit code 2, as cryptoassets' service monitor did,
	// so a supervisor restarts it instead of it running half-deaf.
	critical []task
	// shutdowns run when shutdown starts, beside the drain: the socket
	// servers tell their clients to go away (server.OnShutdown).
	shutdowns []task
	// streamPaths are the long-poll path prefixes, exempt from the write
	// deadline (server.Options.StreamPaths).
	streamPaths []string
	coins       map[string]*coinApp
	deposits    *depositApp
	// ready channels close when a background task is live (for example the
	// peer-channel notice subscription); serve waits for them before it
	// accepts requests, so no acknowledged write can miss its listeners.
	ready []<-chan struct{}
}

// coinApp is one served coin.
type coinApp struct {
	name    string
	params  *chain.Params
	backend walletgate.Backend
	wallet  *chainview.Service
	rest    http.Handler
	// blocks receives the backend's block events (besides the wallet
	// service), so deposit confirmations advance on each block.
	blocks *walletgate.EventRelay
}

// task is a named critical background task.
type task struct {
	name string
	run  func(ctx context.Context) error
}

type listener struct {
	name, addr string
	handler    http.Handler
}

type closer struct {
	name string
	c    io.Closer
}

func (a *app) onClose(name string, c io.Closer) { a.closers = append(a.closers, closer{name, c}) }

// buildApp wires stores, backends and handlers from cfg. On error it closes
// what it had opened.
func buildApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *app, err error) {
	a := &app{coins: map[string]*coinApp{}}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	m := metrics.New()
	mux := healthMux()
	mux.Handle("GET /metrics", m.Handler())

	store, notifier, depositStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.onClose("store", store)

	for _, c := range cfg.Coins {
		ca, err := buildCoin(ctx, cfg.DataDir, c, log)
		if err != nil {
			return nil, err
		}
		a.coins[c.Name] = ca
		a.onClose("backend "+c.Name, ca.backend)
		a.onClose("wallet "+c.Name, ca.wallet)
		mux.Handle("/v1/"+c.Name+"/", m.Wrap("bitweb", http.StripPrefix("/v1/"+c.Name, ca.rest)))
		if n, ok := ca.backend.(interface{ Notify() }); ok {
			// The node's blocknotify/walletnotify hook:
			// blocknotify=curl -s -X POST http://127.0.0.1:PORT/v1/<coin>/notify
			mux.Handle("POST /v1/"+c.Name+"/notify", notifyHook(n.Notify))
		}
	}

	h, err := wirePush(a, cfg, mux, m, log)
	if err != nil {
		return nil, err
	}
	if a.deposits, err = wireDeposits(ctx, a, cfg, depositStore, mux, m, h, log); err != nil {
		return nil, err
	}
	if a.deposits != nil {
		for name, ca := range a.coins {
			coin := name
			ca.blocks.SetTarget(walletgate.EventSinkFunc(func(walletgate.Event) { a.deposits.kick(coin) }))
		}
	}

	mux.Handle("/", m.Wrap("bitweb", a.coins[cfg.DefaultCoin].rest))
	var sharedPC http.Handler // the peer channels, when on the main listener
	if cfg.PeerChannels.Enabled {
		pcfg, err := peerchannels.ConfigFromEnv(cfg.Lookup)
		if err != nil {
			return nil, fmt.Errorf("peer channels: %w", err)
		}
		pc, err := peerchannels.New(pcfg, store, notifier, log.With("surface", "peerchannels"))
		if err != nil {
			return nil, fmt.Errorf("peer channels: %w", err)
		}
		a.background = append(a.background, pc.Run)
		a.ready = append(a.ready, pc.Ready())
		a.shutdowns = append(a.shutdowns, task{"peer channels", pc.Shutdown})
		if err := wireProxies(ctx, a, pcfg, pc, store, log); err != nil {
			return nil, err
		}
		ph := m.Wrap("peerchannels", pc.Handler())
		if cfg.PeerChannels.Listen != "" {
			a.extra = append(a.extra, listener{"peerchannels", cfg.PeerChannels.Listen, ph})
		} else {
			sharedPC = ph
		}
	}
	a.main = splitPaths(sharedPC, mux)
	return a, nil
}

// wirePush builds the event hub and the two push transports: Socket.IO at
// /socket.io/ (namespace "/" is the default coin, "/<coin>" each other coin)
// and the plain WebSocket API at /ws (?coin= picks the coin; also
// /v1/<coin>/ws).
func wirePush(a *app, cfg *config.Config, mux *http.ServeMux, m *metrics.Metrics, log *slog.Logger) (*hub.Hub, error) {
	// Account subscriptions (txupdate push) are opened with the admin
	// key; without one they are refused as disabled.
	var accountKey func(coin, account, key string) bool
	if cfg.Deposits.AdminKey != "" {
		accountKey = adminKeyCheck(cfg.Deposits.AdminKey)
	}
	h := hub.New(hub.Config{AccountKey: accountKey, Logger: log.With("surface", "push")})
	a.onClose("hub", h)
	for _, c := range cfg.Coins {
		if err := h.AddCoin(c.Name, a.coins[c.Name].wallet); err != nil {
			return nil, fmt.Errorf("push hub: %w", err)
		}
	}
	sio := socketio.New(h, socketio.Config{Logger: log.With("surface", "socket.io")})
	a.onClose("socket.io", sio)
	a.shutdowns = append(a.shutdowns, task{"socket.io", sio.Shutdown})
	ws := map[string]*wsapi.Server{}
	for _, c := range cfg.Coins {
		dec := hub.ChainDecoder(a.coins[c.Name].params)
		nsp := "/" + c.Name
		if c.Name == cfg.DefaultCoin {
			nsp = "/"
		}
		if err := sio.Serve(nsp, c.Name, dec); err != nil {
			return nil, fmt.Errorf("socket.io namespace %s: %w", nsp, err)
		}
		w, err := wsapi.New(h, c.Name, dec, wsapi.Config{Logger: log.With("surface", "ws", "coin", c.Name)})
		if err != nil {
			return nil, fmt.Errorf("/ws for %s: %w", c.Name, err)
		}
		a.onClose("ws "+c.Name, w)
		a.shutdowns = append(a.shutdowns, task{"ws " + c.Name, w.Shutdown})
		ws[c.Name] = w
		mux.Handle("/v1/"+c.Name+"/ws", m.Wrap("ws", w))
	}
	mux.Handle(sio.Config().Path, m.Wrap("socket.io", sio))
	a.streamPaths = append(a.streamPaths, sio.Config().Path)
	mux.Handle("/ws", m.Wrap("ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coin := r.URL.Query().Get("coin")
		if coin == "" {
			coin = cfg.DefaultCoin
		}
		srv, ok := ws[coin]
		if !ok {
			http.Error(w, fmt.Sprintf("unknown coin %q", coin), http.StatusNotFound)
			return
		}
		srv.ServeHTTP(w, r)
	})))
	return h, nil
}

// wireProxies adds the headers and indexer APIs (proxy mode) to the peer
// channel service when EXPOSE_HEADER_SV_APIS / EXPOSE_INDEXER_APIS ask for
// them; otherwise their routes stay 404 as in the reference server.
func wireProxies(ctx context.Context, a *app, pcfg peerchannels.Config, pc *peerchannels.Service, store storeCloser, log *slog.Logger) error {
	pcfg = pcfg.WithDefaults()
	if pcfg.ExposeHeaderSVAPIs {
		src, err := headers.NewHeaderSV(headers.HeaderSVConfig{URL: pcfg.HeaderSVURL})
		if err != nil {
			return fmt.Errorf("headers proxy: %w", err)
		}
		h, err := headers.New(headers.Config{Source: src, Pusher: pc, Logger: log.With("surface", "headers")})
		if err != nil {
			return fmt.Errorf("headers proxy: %w", err)
		}
		h.Register(pc.Router().Handle)
		a.background = append(a.background, h.Run)
		a.shutdowns = append(a.shutdowns, task{"headers tips", h.Shutdown})
	}
	if pcfg.ExposeIndexerAPIs {
		idx, err := indexer.New(indexer.Config{URL: pcfg.IndexerURL, Store: store, Sockets: pc, Logger: log.With("surface", "indexer")})
		if err != nil {
			return fmt.Errorf("indexer proxy: %w", err)
		}
		idx.Register(pc.Router().Handle)
		pc.OnAccountSocketClosed(idx.AccountSocketClosed)
		a.background = append(a.background, idx.Run)
		a.extra = append(a.extra, listener{"indexer-callbacks",
			net.JoinHostPort(pcfg.InternalHost, strconv.Itoa(pcfg.InternalPort)), idx.InternalHandler()})
	}
	if _, err := store.PruneTipFilters(ctx, time.Now()); err != nil {
		return fmt.Errorf("prune expired tip filters: %w", err)
	}
	return nil
}

// notifyHook makes the index look at the node now instead of at the next
// poll. It is only a hint, so it carries no data; it is refused off loopback
// because the node that calls it runs on the same host. A reverse proxy on
// the same host connects from loopback too, so a request that a proxy
// forwarded (it names its client in a forwarding header) is refused as well.
func notifyHook(notify func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "the notify hook only accepts calls from this host", http.StatusForbidden)
			return
		}
		for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
			if r.Header.Get(h) != "" {
				http.Error(w, "the notify hook only accepts calls from this host, not through a proxy ("+h+" is set)", http.StatusForbidden)
				return
			}
		}
		notify()
		w.WriteHeader(http.StatusNoContent)
	})
}

// splitPaths sends the ElectrumSV paths (/api/v1/… and the bare /
// liveness text) to pc, when pc is served on this listener, exactly as they
// came: the reference server (aiohttp) answers 404 for
// /api/v1/channel//manage and redirects nothing. Every other path goes to
// mux with runs of slashes merged, because the Bitweb server answers
// //info as /info while ServeMux would redirect it.
func splitPaths(pc, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if pc != nil && (p == "/" || strings.HasPrefix(p, "/api/v1/")) {
			pc.ServeHTTP(w, r)
			return
		}
		if strings.Contains(p, "//") {
			r2 := *r
			u := *r.URL
			u.Path, u.RawPath = mergeSlashes(p), mergeSlashes(u.RawPath)
			r2.URL = &u
			r = &r2
		}
		mux.ServeHTTP(w, r)
	})
}

// mergeSlashes replaces every run of slashes in p with one.
func mergeSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// storeCloser is a ChannelStore that can be closed.
type storeCloser interface {
	walletgate.ChannelStore
	io.Closer
}

// openStore opens PostgreSQL when DATABASE_URL says so, else SQLite under
// the data directory, and the matching cross-process notifier.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (storeCloser, walletgate.ChannelNotifier, walletgate.DepositStore, error) {
	u := cfg.Database.URL
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		st, err := postgres.Open(ctx, u, postgres.Options{Logger: log.With("store", "postgres")})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		log.Info("store", "kind", "postgres")
		return st, st.Notifier(), st.Deposits(postgres.DepositOptions{SerializationRetries: cfg.Database.TransactionRetries}), nil
	}
	path := sqlitePath(u)
	if path == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, nil, nil, fmt.Errorf("create data directory %s: %w", cfg.DataDir, err)
		}
		path = cfg.DataPath("walletgate.sqlite")
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	log.Info("store", "kind", "sqlite", "path", path)
	return st, inmem.NewChannelNotifier(), st, nil
}

// sqlitePath reads "sqlite:PATH" and SQLAlchemy's "sqlite:///relative" and
// "sqlite:////absolute" (cryptoassets' database.url).
func sqlitePath(u string) string {
	p := strings.TrimPrefix(u, "sqlite:")
	if strings.HasPrefix(p, "//") {
		p = strings.TrimPrefix(p, "//")
		p = strings.TrimPrefix(p, "/") // sqlite:///x is x; sqlite:////x is /x
	}
	return p
}

// buildCoin builds one coin's address rules, backend, wallet service and
// REST handler.
func buildCoin(ctx context.Context, dataDir string, c config.Coin, log *slog.Logger) (*coinApp, error) {
	params, err := chain.Lookup(c.Name, c.Network)
	if err != nil {
		return nil, fmt.Errorf("coin %s: %w", c.Name, err)
	}
	if params, err = applyOverrides(params, c); err != nil {
		return nil, fmt.Errorf("coin %s: %w", c.Name, err)
	}
	sink, blocks := &walletgate.EventRelay{}, &walletgate.EventRelay{}
	clog := log.With("coin", c.Name)
	backend, err := openBackend(ctx, dataDir, c, sink, clog)
	if err != nil {
		return nil, fmt.Errorf("coin %s: %w", c.Name, err)
	}
	svc := chainview.New(backend, chainview.Config{FetchTimeout: c.Backend.Timeout.D()})
	sink.SetTarget(walletgate.EventSinkFunc(func(ev walletgate.Event) {
		svc.Publish(ev)
		if ev.Kind == walletgate.EventBlock {
			blocks.Publish(ev)
		}
	}))
	rest := bitweb.New(svc, bitweb.ChainDecoder(params), bitweb.Config{
		FixedFeeSatoshis: c.FixedFeeSatoshis,
		RequestTimeout:   c.Backend.Timeout.D(),
	}, clog.With("surface", "bitweb"))
	return &coinApp{name: c.Name, params: params, backend: backend, wallet: svc, rest: rest, blocks: blocks}, nil
}

// startBackground runs the app's background tasks; the returned group's
// Wait returns when all have stopped after ctx ends. When a critical task
// returns before ctx ends, died is called once with its name and error.
func (a *app) startBackground(ctx context.Context, log *slog.Logger, died func(name string, err error)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, f := range a.background {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.Error("background task stopped", "err", err)
			}
		}()
	}
	var once sync.Once
	for _, t := range a.critical {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := t.run(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = fmt.Errorf("returned without an error")
			}
			log.Error("critical task died; stopping", "task", t.name, "err", err)
			once.Do(func() { died(t.name, err) })
		}()
	}
	return &wg
}

// close closes what buildApp opened, for start-up failures.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i].c.Close()
	}
}
