package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/blockio"
	"github.com/walletgate/walletgate/config"
	"github.com/walletgate/walletgate/depositapi"
	"github.com/walletgate/walletgate/deposits"
	"github.com/walletgate/walletgate/metrics"
	"github.com/walletgate/walletgate/nodewallet"
	"github.com/walletgate/walletgate/nullwallet"
	"github.com/walletgate/walletgate/outbox"
	"github.com/walletgate/walletgate/status"
	"github.com/walletgate/walletgate/walletnotify"
	"github.com/walletgate/walletgate/withdrawals"
)

// depositApp is the cryptoassets.core part of the app: one tracker for
// every coin that tracks deposits, the walletnotify intakes feeding it and
// one outbox worker per event handler.
type depositApp struct {
	tracker *deposits.Tracker
	wallets map[string]walletgate.WalletBackend
	workers []*outbox.Worker
	// broadcaster sends queued withdrawals of the coins whose wallet can
	// send; nil when none can.
	broadcaster *withdrawals.Broadcaster
	// blocks asks the tracker to poll a coin now; the chain backend's
	// block events send here so confirmations advance without waiting for
	// the poll period.
	blocks map[string]chan struct{}
}

// WalletNotify hands a walletnotify of a tracked coin to the tracker.
func (d *depositApp) WalletNotify(ctx context.Context, coin, txid string) error {
	if err := d.tracks(coin); err != nil {
		return err
	}
	return d.tracker.WalletNotify(ctx, coin, txid)
}

// BlockNotify hands a blocknotify of a tracked coin to the tracker.
func (d *depositApp) BlockNotify(ctx context.Context, coin, blockHash string) error {
	if err := d.tracks(coin); err != nil {
		return err
	}
	return d.tracker.BlockNotify(ctx, coin, blockHash)
}

// CreateAddress makes and watches an address through the coin's wallet.
func (d *depositApp) CreateAddress(ctx context.Context, coin, account, externalID string) (walletgate.Watch, error) {
	if err := d.tracks(coin); err != nil {
		return walletgate.Watch{}, err
	}
	return d.tracker.CreateAddress(ctx, coin, account, externalID)
}

// tracks is ENotFound, naming the coins that do, for a coin that does not
// track deposits.
func (d *depositApp) tracks(coin string) error {
	if _, ok := d.wallets[coin]; ok {
		return nil
	}
	return walletgate.Errorf(walletgate.ENotFound, "coin %q does not track deposits (coins that do: %s)", coin, strings.Join(d.tracker.Coins(), ", "))
}

// wake tells every outbox worker that events were queued.
func (d *depositApp) wake(string, []walletgate.TxUpdate) {
	for _, w := range d.workers {
		w.Wake()
	}
}

// kick asks the tracker to poll coin soon; it never blocks.
func (d *depositApp) kick(coin string) {
	if ch, ok := d.blocks[coin]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// callbacks are the in-process event handlers a YAML file may name
// (cryptoassets' InProcessEventHandler): Go cannot import a Python dotted
// path, so the binary offers named functions instead.
func callbacks(log *slog.Logger) map[string]outbox.Func {
	return map[string]outbox.Func{
		"walletgate.log": {Fn: func(ctx context.Context, name string, ev walletgate.TxUpdate, data []byte) error {
			log.Info("txupdate", "event_id", ev.EventID, "coin", ev.Coin, "account", ev.Account, "address", ev.Address,
				"txid", ev.TxID, "amount", walletgate.FormatSats(ev.Amount), "confirmations", ev.Confirmations, "credited", ev.Credited)
			return nil
		}},
	}
}

// wireDeposits builds deposit tracking when a coin tracks deposits: wallet
// backends, the tracker, event workers (registered before the tracker
// runs, so no event is queued without them), walletnotify intakes, and the
// deposit API when an admin key is set.
func wireDeposits(ctx context.Context, a *app, cfg *config.Config, store walletgate.DepositStore, mux *http.ServeMux, m *metrics.Metrics, publisher outbox.AccountPublisher, log *slog.Logger) (*depositApp, error) {
	var coins []config.Coin
	for _, c := range cfg.Coins {
		if c.TracksDeposits() {
			coins = append(coins, c)
		}
	}
	if len(coins) == 0 {
		if len(cfg.Events) > 0 {
			log.Warn("events are configured but no coin tracks deposits (give a node backend a wallet, or use blockio or null)")
		}
		return nil, nil
	}
	dlog := log.With("surface", "deposits")
	d := &depositApp{wallets: map[string]walletgate.WalletBackend{}, blocks: map[string]chan struct{}{}}

	// Handlers first: Register must run before the first ApplyTx.
	if len(cfg.Events) == 0 {
		dlog.Warn("no event handlers configured: deposits are tracked but nobody is told (add an events section)")
	}
	o := cfg.Deposits.Outbox
	for _, ec := range cfg.Events {
		h, closer, err := buildHandler(ec, cfg, publisher, log)
		if err != nil {
			return nil, fmt.Errorf("events.%s: %w", ec.Name, err)
		}
		if closer != nil {
			a.onClose("event handler "+ec.Name, closer)
		}
		w := outbox.NewWorker(store, h, outbox.WorkerOptions{
			Batch:      o.Batch,
			Lease:      o.Lease.D(),
			Poll:       o.Poll.D(),
			MinBackoff: o.MinBackoff.D(),
			MaxBackoff: o.MaxBackoff.D(),
			Logger:     dlog.With("handler", ec.Name),
		})
		if err := w.Register(ctx); err != nil {
			return nil, err
		}
		d.workers = append(d.workers, w)
		a.critical = append(a.critical, task{"event worker " + ec.Name, w.Run})
	}

	tracked := make(map[string]deposits.Coin, len(coins))
	for _, c := range coins {
		wb, err := buildWallet(c)
		if err != nil {
			return nil, fmt.Errorf("coin %s wallet: %w", c.Name, err)
		}
		if cl, ok := wb.(interface{ Close() }); ok {
			a.onClose("wallet backend "+c.Name, closerFunc(func() error { cl.Close(); return nil }))
		}
		d.wallets[c.Name] = wb
		tracked[c.Name] = deposits.Coin{Wallet: wb, CreditAt: c.CreditConfirmations, MaxConfirmations: c.MaxConfirmations}
	}
	t, err := deposits.New(store, tracked, deposits.Options{
		PollInterval: cfg.Deposits.PollInterval.D(),
		FetchTimeout: cfg.Deposits.FetchTimeout.D(),
		OnEvents:     d.wake,
		Logger:       dlog, // the tracker names the coin on each line
	})
	if err != nil {
		return nil, err
	}
	d.tracker = t
	a.critical = append(a.critical, task{"deposit tracker", t.Run})
	for _, c := range coins {
		blocks := make(chan struct{}, 1)
		d.blocks[c.Name] = blocks
		coin := c.Name
		a.critical = append(a.critical, task{"block poller " + coin, func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-blocks:
				}
				if err := t.BlockNotify(ctx, coin, ""); err != nil && ctx.Err() == nil {
					dlog.Warn("deposits: poll after a new block had failures", "coin", coin, "err", err)
				}
			}
		}})
	}

	if err := wireIntakes(a, cfg, coins, d, d.wallets, log); err != nil {
		return nil, err
	}
	bstore, senders, err := wireWithdrawals(a, cfg, d, store, dlog)
	if err != nil {
		return nil, err
	}

	if err := wireStatus(a, cfg, coins, d, store, log); err != nil {
		return nil, err
	}
	if cfg.Deposits.AdminKey == "" {
		dlog.Warn("deposit API not mounted: set deposits.admin_key or WALLETGATE_ADMIN_KEY to register addresses over HTTP")
		return d, nil
	}
	networks := map[string]string{}
	for _, c := range coins {
		networks[c.Name] = c.Network
	}
	api, err := depositapi.New(depositapi.Config{
		AdminKey: cfg.Deposits.AdminKey,
		Store:    store,
		Creator:  d,
		Networks: networks,
		Timeout:  cfg.Deposits.FetchTimeout.D(),
		// Sends are refused for coins whose wallet cannot send (block.io
		// withdrawals are not built), instead of queueing forever.
		Broadcasts: sendableStore{bstore, senders},
	})
	if err != nil {
		return nil, err
	}
	h := m.Wrap("deposits", api)
	for _, c := range coins {
		for _, p := range depositRoutes {
			mux.Handle("/v1/"+c.Name+p, h)
		}
	}
	return d, nil
}

// depositRoutes are the deposit API's paths under /v1/<coin>; a trailing
// slash covers the subtree.
var depositRoutes = []string{"/watch", "/address", "/deposits", "/accounts/", "/send", "/broadcasts", "/broadcasts/"}

// buildWallet makes the wallet backend of a coin that tracks deposits.
func buildWallet(c config.Coin) (walletgate.WalletBackend, error) {
	b := c.Backend
	switch b.Type {
	case config.BackendNode:
		w := b.Wallet
		u := w.URL
		if u == "" {
			u = b.URL
		}
		cookie := w.CookieFile
		if cookie == "" && w.URL == "" {
			cookie = b.CookieFile
		}
		return nodewallet.New(nodewallet.Config{
			URL:         u,
			CookieFile:  cookie,
			CAFile:      b.CAFile,
			Timeout:     b.Timeout.D(),
			WalletName:  w.Name,
			Kind:        nodewallet.Kind(w.Kind),
			Account:     w.Account,
			AddressType: w.AddressType,
		})
	case config.BackendBlockIO:
		network := b.Network
		if network == "" {
			network = blockioNetwork(c.Name, c.Network)
		}
		return blockio.New(blockio.Config{APIKey: b.APIKey, PIN: b.PIN, Network: network, BaseURL: b.URL, Timeout: b.Timeout.D()})
	case config.BackendNull:
		// A dry run: sends "succeed" with a deterministic fake txid.
		return nullwallet.New(nullwallet.Config{Coin: c.Name, Network: c.Network, FakeSends: true})
	}
	return nil, fmt.Errorf("backend type %s has no wallet", b.Type)
}

// blockioNetwork is block.io's name for a coin's network when the config
// does not give one: "btc" on mainnet, "btctest" otherwise.
func blockioNetwork(coin, network string) string {
	if network == "mainnet" || network == "" {
		return coin
	}
	return coin + "test"
}

// buildHandler makes one event handler; the io.Closer, when not nil, is
// what the handler holds open (a Redis client).
func buildHandler(ec config.EventHandler, cfg *config.Config, publisher outbox.AccountPublisher, log *slog.Logger) (outbox.Handler, interface{ Close() error }, error) {
	switch ec.Type {
	case config.EventHTTP:
		h, err := outbox.NewHTTP(outbox.HTTPOptions{Name: ec.Name, URL: ec.URL, Timeout: ec.Timeout.D(), JSON: ec.JSON, Secret: []byte(ec.Secret)})
		return h, nil, err
	case config.EventScript:
		h, err := outbox.NewScript(outbox.ScriptOptions{Name: ec.Name, Script: ec.Script, Timeout: ec.Timeout.D(), LogOutput: ec.LogOutput, Logger: log.With("handler", ec.Name)})
		return h, nil, err
	case config.EventRedis:
		opts, err := redis.ParseURL(ec.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("redis url: %w", err)
		}
		client := redis.NewClient(opts)
		h, err := outbox.NewRedis(outbox.RedisOptions{Name: ec.Name, Client: client, Channel: ec.Channel, Timeout: ec.Timeout.D()})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		return h, client, nil
	case config.EventSockets:
		if publisher == nil {
			return nil, nil, fmt.Errorf("socket delivery is not available in this build")
		}
		return outbox.Sockets{HandlerName: ec.Name, Publisher: publisher}, nil, nil
	case config.EventFunc:
		fns := callbacks(log)
		f, ok := fns[ec.Callback]
		if !ok {
			names := make([]string, 0, len(fns))
			for n := range fns {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, nil, fmt.Errorf("callback %q is not a function of this binary (Python callbacks cannot run here; available: %s)", ec.Callback, strings.Join(names, ", "))
		}
		f.HandlerName = ec.Name
		return f, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown event handler type %q", ec.Type)
}

// wireIntakes starts each coin's walletnotify intakes. HTTP intakes of
// several coins on one address share a listener; the coin is then chosen
// per request (a coin form field or POST /<coin>).
func wireIntakes(a *app, cfg *config.Config, coins []config.Coin, n walletgate.TxNotifier, wallets map[string]walletgate.WalletBackend, log *slog.Logger) error {
	ilog := log.With("surface", "walletnotify")
	httpCoins := map[string][]string{} // addr -> coins, in config order
	var httpAddrs []string
	for _, c := range coins {
		for _, w := range c.Backend.Walletnotify {
			// No coin attribute: the intakes name the coin on the lines
			// that concern one (a shared HTTP intake serves several).
			clog := ilog.With("intake", w.Type)
			switch w.Type {
			case config.NotifyHTTP:
				addr := w.Addr()
				if _, ok := httpCoins[addr]; !ok {
					httpAddrs = append(httpAddrs, addr)
				}
				if !slices.Contains(httpCoins[addr], c.Name) {
					httpCoins[addr] = append(httpCoins[addr], c.Name)
				}
			case config.NotifyPipe:
				p, err := walletnotify.NewPipe(walletnotify.PipeConfig{Path: w.Fname, Mode: fs.FileMode(w.Mode), Coin: c.Name, Logger: clog}, n)
				if err != nil {
					return fmt.Errorf("coin %s walletnotify pipe: %w", c.Name, err)
				}
				a.critical = append(a.critical, task{"walletnotify pipe " + w.Fname, p.Run})
			case config.NotifyRedis:
				r, err := walletnotify.NewRedis(walletnotify.RedisConfig{
					Host: w.Host, Port: w.Port, DB: w.DB, Username: w.Username, Password: w.Password,
					URL: w.URL, Channel: w.Channel, Coin: c.Name, Logger: clog,
				}, n)
				if err != nil {
					return fmt.Errorf("coin %s walletnotify redis: %w", c.Name, err)
				}
				a.critical = append(a.critical, task{"walletnotify redis " + c.Name, r.Run})
			case config.NotifyBlockIOWebhook:
				api, _ := wallets[c.Name].(*blockio.Client)
				h, err := walletnotify.NewWebhook(walletnotify.WebhookConfig{URL: w.URL, Addr: w.Addr(), Coin: c.Name, API: api, Logger: clog}, n)
				if err != nil {
					return fmt.Errorf("coin %s walletnotify blockio_webhook: %w", c.Name, err)
				}
				a.critical = append(a.critical, task{"walletnotify blockio webhook " + c.Name, h.Run})
			case config.NotifyBlockIOWebsocket:
				ws, err := walletnotify.NewWebsocket(walletnotify.WebsocketConfig{URL: w.URL, APIKey: c.Backend.APIKey, Coin: c.Name, Logger: clog}, n)
				if err != nil {
					return fmt.Errorf("coin %s walletnotify blockio_websocket: %w", c.Name, err)
				}
				a.critical = append(a.critical, task{"walletnotify blockio websocket " + c.Name, ws.Run})
			default:
				return fmt.Errorf("coin %s: unknown walletnotify type %q", c.Name, w.Type)
			}
		}
	}
	for _, addr := range httpAddrs {
		hc := walletnotify.HTTPConfig{Addr: addr, Logger: ilog.With("intake", "http", "addr", addr)}
		if cs := httpCoins[addr]; len(cs) == 1 {
			hc.Coin = cs[0]
		} else {
			hc.Coins = cs
		}
		h, err := walletnotify.NewHTTP(hc, n)
		if err != nil {
			return fmt.Errorf("walletnotify http %s: %w", addr, err)
		}
		a.critical = append(a.critical, task{"walletnotify http " + addr, h.Run})
	}
	return nil
}

// adminKeyCheck compares a presented key with the admin key in constant
// time; an empty admin key accepts nothing.
func adminKeyCheck(adminKey string) func(coin, account, key string) bool {
	return func(_, _, key string) bool {
		return adminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(adminKey)) == 1
	}
}

// wireStatus starts cryptoassets' operator status page when status_server
// (or status-server) is configured.
func wireStatus(a *app, cfg *config.Config, coins []config.Coin, d *depositApp, store walletgate.DepositStore, log *slog.Logger) error {
	if cfg.StatusServer == nil {
		return nil
	}
	var sources []status.Source
	for _, c := range coins {
		ws := status.WalletSource{Coin: c.Name, Wallet: d.wallets[c.Name], Notifies: d.tracker}
		if d.broadcaster != nil {
			ws.Broadcasts = d.broadcaster
		}
		sources = append(sources, ws)
	}
	srv, err := status.New(status.Config{
		Addr:             net.JoinHostPort(cfg.StatusServer.IP, strconv.Itoa(cfg.StatusServer.Port)),
		MaxConfirmations: maxConfirmations(coins),
		Logger:           log.With("surface", "status"),
	}, store, sources)
	if err != nil {
		return fmt.Errorf("status server: %w", err)
	}
	a.critical = append(a.critical, task{"status server", srv.Run})
	return nil
}

// maxConfirmations is the largest tracking window of coins, for the status
// page's notion of an open transaction.
func maxConfirmations(coins []config.Coin) int64 {
	var m int64
	for _, c := range coins {
		m = max(m, c.MaxConfirmations)
	}
	return m
}

// wireWithdrawals starts the broadcaster for the coins whose wallet can
// send (spec §9.2): queued sends are batched into one transaction per coin
// every broadcast period. It returns the store's send side and the coins
// that can send.
func wireWithdrawals(a *app, cfg *config.Config, d *depositApp, store walletgate.DepositStore, log *slog.Logger) (walletgate.BroadcastStore, map[string]bool, error) {
	bstore, ok := store.(walletgate.BroadcastStore)
	if !ok {
		return nil, nil, fmt.Errorf("the deposit store %T cannot queue sends", store)
	}
	senders := map[string]walletgate.Sender{}
	can := map[string]bool{}
	for coin, wb := range d.wallets {
		if s, ok := wb.(walletgate.Sender); ok {
			senders[coin] = s
			can[coin] = true
		}
	}
	if len(senders) == 0 {
		return bstore, can, nil
	}
	b, err := withdrawals.New(bstore, senders, withdrawals.Options{
		Period: cfg.Deposits.BroadcastPeriod.D(),
		Logger: log.With("part", "withdrawals"),
	})
	if err != nil {
		return nil, nil, err
	}
	d.broadcaster = b
	a.critical = append(a.critical, task{"broadcaster", b.Run})
	return bstore, can, nil
}

// sendableStore refuses to queue sends for coins whose wallet cannot send.
type sendableStore struct {
	walletgate.BroadcastStore
	can map[string]bool
}

// QueueSend implements walletgate.BroadcastStore.
func (s sendableStore) QueueSend(ctx context.Context, r walletgate.SendRequest, now time.Time) (walletgate.OutgoingTx, error) {
	if !s.can[r.Coin] {
		return walletgate.OutgoingTx{}, walletgate.Errorf(walletgate.ENotImplemented, "coin %s: its wallet backend cannot send (sends need a node wallet)", r.Coin)
	}
	return s.BroadcastStore.QueueSend(ctx, r, now)
}
