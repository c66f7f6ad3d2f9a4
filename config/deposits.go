package config

import (
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Walletnotify intake types (spec/cryptoassets.md §4).
const (
	NotifyHTTP             = "http"
	NotifyPipe             = "pipe"
	NotifyRedis            = "redis"
	NotifyBlockIOWebhook   = "blockio_webhook"
	NotifyBlockIOWebsocket = "blockio_websocket"
)

// Event handler types (spec/cryptoassets.md §8).
const (
	EventHTTP    = "http"
	EventScript  = "script"
	EventRedis   = "redis"
	EventSockets = "sockets"
	EventFunc    = "func"
)

// classAliases maps cryptoassets.core's dotted class names to walletgate's
// types, so an existing cryptoassets YAML file keeps working. Both the full
// name and the "cryptoassets.core."-less form the docs abbreviate to are
// accepted.
var classAliases = map[string]map[string]string{
	"backend": {
		"cryptoassets.core.backend.bitcoind.Bitcoind":       BackendNode,
		"cryptoassets.core.backend.blockio.BlockIo":         BackendBlockIO,
		"cryptoassets.core.backend.null.DummyCoinBackend":   BackendNull,
		"cryptoassets.core.backend.electrumx.ElectrumX":     BackendElectrumX,
		"cryptoassets.core.backend.electrum.ElectrumX":      BackendElectrumX,
		"cryptoassets.core.backend.bitcoind.BitcoindLegacy": BackendNode,
	},
	"walletnotify": {
		"cryptoassets.core.backend.httpwalletnotify.HTTPWalletNotifyHandler":       NotifyHTTP,
		"cryptoassets.core.backend.pipewalletnotify.PipedWalletNotifyHandler":      NotifyPipe,
		"cryptoassets.core.backend.rediswalletnotify.RedisWalletNotifyHandler":     NotifyRedis,
		"cryptoassets.core.backend.blockiowebhook.BlockIoWebhookNotifyHandler":     NotifyBlockIOWebhook,
		"cryptoassets.core.backend.blockiowebsocket.BlockIoWebsocketNotifyHandler": NotifyBlockIOWebsocket,
	},
	"event": {
		"cryptoassets.core.event.http.HTTPEventHandler":        EventHTTP,
		"cryptoassets.core.event.script.ScriptEventHandler":    EventScript,
		"cryptoassets.core.event.python.InProcessEventHandler": EventFunc,
	},
}

// resolveClass returns the walletgate type for a cryptoassets class name of
// kind ("backend", "walletnotify", "event").
func resolveClass(kind, class string) (string, error) {
	m := classAliases[kind]
	if t, ok := m[class]; ok {
		return t, nil
	}
	if t, ok := m["cryptoassets.core."+class]; ok {
		return t, nil
	}
	known := make([]string, 0, len(m))
	for k := range m {
		known = append(known, k)
	}
	slices.Sort(known)
	return "", fmt.Errorf("unknown %s class %q (known: %s)", kind, class, strings.Join(known, ", "))
}

// Deposits are the deposit tracker's settings (spec/cryptoassets.md §7, §9).
type Deposits struct {
	// AdminKey authenticates the deposit API (/v1/{coin}/watch, ...); empty
	// leaves that API unmounted while deposits are still tracked.
	AdminKey string `yaml:"admin_key"`
	// PollInterval is the confirmation poll period (60 s).
	PollInterval Duration `yaml:"poll_interval"`
	// FetchTimeout bounds each wallet call of the tracker (30 s).
	FetchTimeout Duration `yaml:"fetch_timeout"`
	// BroadcastPeriod is how often queued sends are batched and sent (30 s;
	// cryptoassets' service.broadcast_period).
	BroadcastPeriod Duration `yaml:"broadcast_period"`
	// Outbox tunes event delivery.
	Outbox Outbox `yaml:"outbox"`
}

// Outbox tunes the txupdate delivery workers (one per handler).
type Outbox struct {
	// Batch is how many events one claim takes (100).
	Batch int `yaml:"batch"`
	// Lease is how long a claimed event is hidden from other workers
	// (30 s); it must exceed the slowest handler timeout.
	Lease Duration `yaml:"lease"`
	// Poll is how often a worker looks for due events when nothing woke
	// it, e.g. events queued by another instance (2 s).
	Poll Duration `yaml:"poll"`
	// MinBackoff and MaxBackoff bound the wait before retrying a handler
	// that failed; it doubles per consecutive failure (1 s, 5 m).
	MinBackoff Duration `yaml:"min_backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
}

// StatusServer is cryptoassets' operator status page.
type StatusServer struct {
	IP   string `yaml:"ip"`
	Port int    `yaml:"port"`
}

// Service holds cryptoassets' service section.
type Service struct {
	// BroadcastPeriod: see Deposits.BroadcastPeriod.
	BroadcastPeriod Duration `yaml:"broadcast_period"`
	// Logging is cryptoassets' dictConfig; accepted and ignored (walletgate
	// logs with server.log_format and server.log_level).
	Logging yaml.Node `yaml:"logging"`
}

// Wallet is a node backend's wallet: where deposit addresses are made and
// wallet transactions read (getnewaddress, gettransaction,
// listtransactions). Its presence turns deposit tracking on for the coin.
type Wallet struct {
	// URL of the wallet RPC; empty uses the backend's url (Bitcoin Core
	// serves both). btcwallet listens on a port of its own.
	URL string `yaml:"url"`
	// Name selects a wallet of a multi-wallet Core node (/wallet/<name>).
	Name string `yaml:"name"`
	// Kind is core, btcwallet or empty to detect.
	Kind string `yaml:"kind"`
	// Account is btcwallet's account for new addresses ("default").
	Account string `yaml:"account"`
	// AddressType is getnewaddress's type (legacy, bech32, p2sh-segwit).
	AddressType string `yaml:"address_type"`
	// CookieFile is Core's .cookie when the URL has no credentials.
	CookieFile string `yaml:"cookie_file"`
}

// Walletnotify is one walletnotify intake of a coin (spec §4). The options
// are one flat block; keys that do not apply to the type are refused.
type Walletnotify struct {
	Type  string `yaml:"type"`
	Class string `yaml:"class"`
	// http, blockio_webhook: where to listen.
	IP   string `yaml:"ip"`
	Port int    `yaml:"port"`
	// pipe
	Fname string   `yaml:"fname"`
	Mode  FileMode `yaml:"mode"`
	// redis (URL replaces host/port/db/username/password when set)
	Host     string `yaml:"host"`
	DB       int    `yaml:"db"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Channel  string `yaml:"channel"`
	// redis URL; blockio_webhook public secret URL; blockio_websocket
	// endpoint (wss://n.block.io/).
	URL string `yaml:"url"`
}

// Walletnotifies reads either one intake (a mapping, cryptoassets' form) or
// a list of them.
type Walletnotifies []Walletnotify

// UnmarshalYAML accepts a mapping or a sequence of mappings.
func (w *Walletnotifies) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		var one Walletnotify
		if err := n.Decode(&one); err != nil {
			return err
		}
		*w = Walletnotifies{one}
		return nil
	case yaml.SequenceNode:
		var many []Walletnotify
		if err := n.Decode(&many); err != nil {
			return err
		}
		*w = many
		return nil
	}
	return fmt.Errorf("line %d: walletnotify must be a mapping or a list of mappings", n.Line)
}

// FileMode reads a permission as an octal string ("0703", "0o703") or a
// number written in octal digits (703, as YAML users write it).
type FileMode fs.FileMode

// UnmarshalYAML parses the octal forms.
func (m *FileMode) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimPrefix(strings.TrimPrefix(n.Value, "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return fmt.Errorf("line %d: mode must be octal permission bits like 0703, got %q", n.Line, n.Value)
	}
	*m = FileMode(v)
	return nil
}

// EventHandler is one txupdate handler (spec §8). The options are one flat
// block; keys that do not apply to the type are refused.
type EventHandler struct {
	// Name is the handler's key under events; it names its outbox, so
	// renaming a handler starts a new, empty queue.
	Name  string `yaml:"-"`
	Type  string `yaml:"type"`
	Class string `yaml:"class"`
	// Timeout bounds one delivery (http 15 s, script 60 s, redis 5 s).
	Timeout Duration `yaml:"timeout"`
	// http: the receiver; redis: redis://… (default: the top-level redis url).
	URL string `yaml:"url"`
	// http: send a JSON body instead of cryptoassets' form.
	JSON bool `yaml:"json"`
	// http: HMAC-SHA256 key for the X-Walletgate-Signature header.
	Secret string `yaml:"secret"`
	// script: run with sh -c, CRYPTOASSETS_EVENT_NAME/_DATA in its env.
	Script    string `yaml:"script"`
	LogOutput bool   `yaml:"log_output"`
	// func: the name of a function registered in the binary.
	Callback string `yaml:"callback"`
	// redis: channel to publish to (outbox.DefaultRedisChannel).
	Channel string `yaml:"channel"`
}

// eventKeys says which EventHandler keys each type reads.
func eventKeys(typ string) []string {
	switch typ {
	case EventHTTP:
		return []string{"type", "class", "timeout", "url", "json", "secret"}
	case EventScript:
		return []string{"type", "class", "timeout", "script", "log_output"}
	case EventRedis:
		return []string{"type", "class", "timeout", "url", "channel"}
	case EventSockets:
		return []string{"type", "class"}
	case EventFunc:
		return []string{"type", "class", "timeout", "callback"}
	}
	return nil
}

// walletnotifyKeys says which Walletnotify keys each type reads.
func walletnotifyKeys(typ string) []string {
	switch typ {
	case NotifyHTTP:
		return []string{"type", "class", "ip", "port"}
	case NotifyPipe:
		return []string{"type", "class", "fname", "mode"}
	case NotifyRedis:
		return []string{"type", "class", "host", "port", "db", "username", "password", "channel", "url"}
	case NotifyBlockIOWebhook:
		return []string{"type", "class", "url", "ip", "port"}
	case NotifyBlockIOWebsocket:
		return []string{"type", "class", "url"}
	}
	return nil
}

// NotifyTypes lists the walletnotify intake types, sorted.
func NotifyTypes() []string {
	return []string{NotifyBlockIOWebhook, NotifyBlockIOWebsocket, NotifyHTTP, NotifyPipe, NotifyRedis}
}

// EventTypes lists the event handler types, sorted.
func EventTypes() []string {
	return []string{EventFunc, EventHTTP, EventRedis, EventScript, EventSockets}
}

// TracksDeposits reports whether the coin's backend can make addresses and
// read wallet transactions: blockio and null always, node with a wallet.
func (c Coin) TracksDeposits() bool {
	switch c.Backend.Type {
	case BackendBlockIO, BackendNull:
		return true
	case BackendNode:
		return c.Backend.Wallet != nil
	}
	return false
}

// typeOf resolves a block's type from its type or class key, for key
// checking before decoding.
func typeOf(kind string, n *yaml.Node) string {
	var typ, class string
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "type":
			typ = n.Content[i+1].Value
		case "class":
			class = n.Content[i+1].Value
		}
	}
	if typ == "" && class != "" {
		typ, _ = resolveClass(kind, class)
	}
	return typ
}

// resolveType fills typ from class (a cryptoassets name) and reports a
// class that is unknown or contradicts typ.
func resolveType(src, key, kind string, typ, class *string, probs *Problems) {
	if *class == "" {
		return
	}
	t, err := resolveClass(kind, *class)
	if err != nil {
		probs.add(src, key+".class", "%v", err)
		return
	}
	if *typ != "" && *typ != t {
		probs.add(src, key+".class", "class %s means type %s, but type says %s", *class, t, *typ)
		return
	}
	*typ = t
}

// validateDeposits checks the deposit, walletnotify and event settings and
// fills their defaults.
func validateDeposits(cfg *Config, src string) Problems {
	var probs Problems
	d := &cfg.Deposits
	if d.PollInterval == 0 {
		d.PollInterval = Duration(time.Minute)
	}
	if d.FetchTimeout == 0 {
		d.FetchTimeout = Duration(30 * time.Second)
	}
	if d.BroadcastPeriod == 0 {
		d.BroadcastPeriod = cfg.Service.BroadcastPeriod
	}
	if d.BroadcastPeriod == 0 {
		d.BroadcastPeriod = Duration(30 * time.Second)
	}
	if d.Outbox.Batch == 0 {
		d.Outbox.Batch = 100
	}
	if d.Outbox.Batch < 1 || d.Outbox.Batch > 10000 {
		probs.add(src, "deposits.outbox.batch", "must be 1..10000, got %d", d.Outbox.Batch)
	}
	if d.Outbox.Lease == 0 {
		d.Outbox.Lease = Duration(30 * time.Second)
	}
	if d.Outbox.Poll == 0 {
		d.Outbox.Poll = Duration(2 * time.Second)
	}
	if d.Outbox.MinBackoff == 0 {
		d.Outbox.MinBackoff = Duration(time.Second)
	}
	if d.Outbox.MaxBackoff == 0 {
		d.Outbox.MaxBackoff = Duration(5 * time.Minute)
	}
	if d.Outbox.MaxBackoff < d.Outbox.MinBackoff {
		probs.add(src, "deposits.outbox.max_backoff", "must be at least min_backoff (%v)", d.Outbox.MinBackoff.D())
	}
	if d.AdminKey != "" && len(d.AdminKey) < 16 {
		probs.add(src, "deposits.admin_key", "must be at least 16 characters (it guards deposit addresses and sends)")
	}
	if s := cfg.StatusServer; s != nil {
		if s.IP == "" {
			s.IP = "127.0.0.1"
		}
		if s.Port == 0 {
			s.Port = 18881
		}
		if s.Port < 0 || s.Port > 65535 {
			probs.add(src, "status_server.port", "must be 1..65535, got %d", s.Port)
		}
	}

	// HTTP intakes of several coins may share an address (the coin is then
	// picked per request); anything else on one address is a clash.
	type owner struct{ key, typ string }
	listeners := map[string]owner{}
	for i := range cfg.Coins {
		c := &cfg.Coins[i]
		key := "coins." + c.Name
		if c.CreditConfirmations == 0 {
			c.CreditConfirmations = 3
		}
		if c.MaxConfirmations == 0 {
			c.MaxConfirmations = 15
		}
		if c.CreditConfirmations < 1 {
			probs.add(src, key+".credit_confirmations", "must be at least 1, got %d", c.CreditConfirmations)
		}
		if c.MaxConfirmations < c.CreditConfirmations {
			probs.add(src, key+".max_confirmation_count", "must be at least credit_confirmations (%d), got %d", c.CreditConfirmations, c.MaxConfirmations)
		}
		b := &c.Backend
		if b.Type == BackendBlockIO {
			if b.APIKey == "" {
				probs.add(src, key+".backend.api_key", "required for backend type blockio")
			}
		}
		if b.Wallet != nil && b.Wallet.URL != "" {
			if u, err := url.Parse(b.Wallet.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				probs.add(src, key+".backend.wallet.url", "must be an http:// or https:// URL, got %q", b.Wallet.URL)
			}
		}
		if b.Wallet != nil && !slices.Contains([]string{"", "core", "btcwallet"}, b.Wallet.Kind) {
			probs.add(src, key+".backend.wallet.kind", "must be core or btcwallet (or empty to detect), got %q", b.Wallet.Kind)
		}
		if len(b.Walletnotify) > 0 && !c.TracksDeposits() {
			probs.add(src, key+".backend.walletnotify", "needs a backend that tracks deposits (node with a wallet, blockio or null)")
		}
		for j := range b.Walletnotify {
			w := &b.Walletnotify[j]
			wkey := fmt.Sprintf("%s.backend.walletnotify[%d]", key, j)
			if len(b.Walletnotify) == 1 {
				wkey = key + ".backend.walletnotify"
			}
			resolveType(src, wkey, "walletnotify", &w.Type, &w.Class, &probs)
			switch w.Type {
			case NotifyHTTP, NotifyBlockIOWebhook:
				if w.IP == "" {
					w.IP = "127.0.0.1"
				}
				if w.Port == 0 {
					w.Port = 28882
					if w.Type == NotifyBlockIOWebhook {
						w.Port = 33233
					}
				}
				if w.Port < 0 || w.Port > 65535 {
					probs.add(src, wkey+".port", "must be 1..65535, got %d", w.Port)
				}
				addr := w.Addr()
				if other, ok := listeners[addr]; ok && (w.Type != NotifyHTTP || other.typ != NotifyHTTP) {
					probs.add(src, wkey+".port", "%s is already used by %s", addr, other.key)
				} else if !ok {
					listeners[addr] = owner{wkey, w.Type}
				}
				if w.Type == NotifyBlockIOWebhook {
					if b.Type != BackendBlockIO {
						probs.add(src, wkey, "blockio_webhook needs backend type blockio")
					}
					if u, err := url.Parse(w.URL); w.URL == "" || err != nil || u.Host == "" {
						probs.add(src, wkey+".url", "required: the public secret URL block.io posts to, got %q", w.URL)
					}
				}
			case NotifyPipe:
				if w.Fname == "" {
					probs.add(src, wkey+".fname", "required for a pipe intake")
				}
				if w.Mode == 0 {
					w.Mode = 0o703
				}
			case NotifyRedis:
				if w.Host == "" {
					w.Host = "localhost"
				}
				if w.Port == 0 {
					w.Port = 6379
				}
				if w.Channel == "" {
					w.Channel = "bitcoind_walletnotify_pubsub"
				}
				if w.URL != "" && !strings.HasPrefix(w.URL, "redis://") && !strings.HasPrefix(w.URL, "rediss://") {
					probs.add(src, wkey+".url", "must be a redis:// or rediss:// URL, got %q", w.URL)
				}
			case NotifyBlockIOWebsocket:
				if b.Type != BackendBlockIO {
					probs.add(src, wkey, "blockio_websocket needs backend type blockio")
				}
				if w.URL == "" {
					w.URL = "wss://n.block.io/"
				}
			case "":
				probs.add(src, wkey+".type", "required: one of %s (or a cryptoassets class)", strings.Join(NotifyTypes(), ", "))
			default:
				if w.Class == "" {
					probs.add(src, wkey+".type", "unknown walletnotify type %q (known: %s)", w.Type, strings.Join(NotifyTypes(), ", "))
				}
			}
		}
	}

	seen := map[string]bool{}
	for i := range cfg.Events {
		e := &cfg.Events[i]
		key := "events." + e.Name
		if seen[e.Name] {
			probs.add(src, key, "listed twice")
		}
		seen[e.Name] = true
		resolveType(src, key, "event", &e.Type, &e.Class, &probs)
		switch e.Type {
		case EventHTTP:
			if u, err := url.Parse(e.URL); e.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				probs.add(src, key+".url", "required: an http:// or https:// URL, got %q", e.URL)
			}
			if e.Secret != "" && !e.JSON {
				probs.add(src, key+".secret", "signs the JSON body; set json: true as well")
			}
		case EventScript:
			if strings.TrimSpace(e.Script) == "" {
				probs.add(src, key+".script", "required for a script handler")
			}
		case EventRedis:
			if e.URL == "" {
				e.URL = cfg.Redis.URL
			}
			if e.URL == "" {
				probs.add(src, key+".url", "required (or set the top-level redis.url / REDIS_URL)")
			} else if !strings.HasPrefix(e.URL, "redis://") && !strings.HasPrefix(e.URL, "rediss://") {
				probs.add(src, key+".url", "must be a redis:// or rediss:// URL, got %q", e.URL)
			}
		case EventFunc:
			if e.Callback == "" {
				probs.add(src, key+".callback", "required for an in-process handler")
			}
		case EventSockets:
		case "":
			probs.add(src, key+".type", "required: one of %s (or a cryptoassets class)", strings.Join(EventTypes(), ", "))
		default:
			if e.Class == "" {
				probs.add(src, key+".type", "unknown event handler type %q (known: %s)", e.Type, strings.Join(EventTypes(), ", "))
			}
		}
		if e.Timeout < 0 {
			probs.add(src, key+".timeout", "must be positive")
		}
	}
	return probs
}

// Addr is an HTTP or webhook intake's listen address.
func (w Walletnotify) Addr() string {
	return w.IP + ":" + strconv.Itoa(w.Port)
}
