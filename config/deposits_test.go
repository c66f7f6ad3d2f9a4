package config

import (
	"strings"
	"testing"
	"time"
)

// cryptoassetsExample is spec/cryptoassets.md §11's file, unchanged except
// for the pipe and Redis intakes added to cover every class name.
const cryptoassetsExample = `
database:
  url: postgresql://localhost/cryptoassets
  echo: false
  transaction_retries: 3
coins:
  btc:
    testnet: true
    max_confirmation_count: 15
    models: cryptoassets.core.coin.bitcoin.models
    backend:
      class: cryptoassets.core.backend.bitcoind.Bitcoind
      url: http://foo:bar@127.0.0.1:8332/
      timeout: 15
      max_tracked_incoming_confirmations: 20
      walletnotify:
        class: cryptoassets.core.backend.httpwalletnotify.HTTPWalletNotifyHandler
        ip: 127.0.0.1
        port: 28882
  ltc:
    backend:
      class: cryptoassets.core.backend.bitcoind.Bitcoind
      url: http://foo:bar@127.0.0.1:9332/
      walletnotify:
        - class: cryptoassets.core.backend.pipewalletnotify.PipedWalletNotifyHandler
          fname: /tmp/ltc-walletnotify
          mode: 0703
        - class: cryptoassets.core.backend.rediswalletnotify.RedisWalletNotifyHandler
          host: localhost
          port: 6379
          db: 0
          channel: ltc_walletnotify
  doge:
    backend:
      class: cryptoassets.core.backend.blockio.BlockIo
      api_key: xxxx-xxxx-xxxx-xxxx
      pin: secret
      network: dogetest
      walletnotify:
        class: cryptoassets.core.backend.blockiowebsocket.BlockIoWebsocketNotifyHandler
events:
  myapp: {class: cryptoassets.core.event.http.HTTPEventHandler, url: "http://localhost:10000"}
  hook: {class: cryptoassets.core.event.script.ScriptEventHandler, script: "logger txupdate", log_output: true}
  inproc: {class: cryptoassets.core.event.python.InProcessEventHandler, callback: myapp.events.on_event}
status_server: {ip: 127.0.0.1, port: 18881}
service: {broadcast_period: 30}
`

func TestCryptoassetsYAMLLoads(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.yaml", cryptoassetsExample)
	cfg, err := Load(LoadOptions{ConfigPath: p, DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	btc, _ := cfg.Coin("btc")
	if btc.Network != "testnet" || btc.Backend.Type != BackendNode || btc.Backend.Timeout.D() != 15*time.Second {
		t.Errorf("btc: network %q type %q timeout %v", btc.Network, btc.Backend.Type, btc.Backend.Timeout.D())
	}
	if btc.Backend.Index == nil || *btc.Backend.Index || btc.Backend.Wallet == nil || !btc.TracksDeposits() {
		t.Errorf("a Bitcoind class must be a wallet without a chain index: %+v", btc.Backend)
	}
	if len(btc.Backend.Walletnotify) != 1 || btc.Backend.Walletnotify[0].Type != NotifyHTTP || btc.Backend.Walletnotify[0].Addr() != "127.0.0.1:28882" {
		t.Errorf("btc walletnotify: %+v", btc.Backend.Walletnotify)
	}
	if btc.CreditConfirmations != 3 || btc.MaxConfirmations != 15 {
		t.Errorf("btc confirmations: credit %d max %d", btc.CreditConfirmations, btc.MaxConfirmations)
	}
	ltc, _ := cfg.Coin("ltc")
	if n := ltc.Backend.Walletnotify; len(n) != 2 || n[0].Type != NotifyPipe || n[0].Mode != 0o703 || n[1].Type != NotifyRedis || n[1].Channel != "ltc_walletnotify" {
		t.Errorf("ltc walletnotify: %+v", n)
	}
	doge, _ := cfg.Coin("doge")
	if doge.Backend.Type != BackendBlockIO || doge.Backend.APIKey == "" || doge.Backend.Network != "dogetest" {
		t.Errorf("doge backend: %+v", doge.Backend)
	}
	if w := doge.Backend.Walletnotify; len(w) != 1 || w[0].Type != NotifyBlockIOWebsocket || w[0].URL != "wss://n.block.io/" {
		t.Errorf("doge walletnotify: %+v", w)
	}
	wantEvents := []struct{ name, typ string }{{"myapp", EventHTTP}, {"hook", EventScript}, {"inproc", EventFunc}}
	if len(cfg.Events) != len(wantEvents) {
		t.Fatalf("events: %+v", cfg.Events)
	}
	for i, w := range wantEvents {
		if cfg.Events[i].Name != w.name || cfg.Events[i].Type != w.typ {
			t.Errorf("event %d: %+v, want %s %s", i, cfg.Events[i], w.name, w.typ)
		}
	}
	if cfg.StatusServer == nil || cfg.StatusServer.Port != 18881 {
		t.Errorf("status server: %+v", cfg.StatusServer)
	}
	if cfg.Deposits.BroadcastPeriod.D() != 30*time.Second || cfg.Database.TransactionRetries != 3 {
		t.Errorf("broadcast period %v, retries %d", cfg.Deposits.BroadcastPeriod.D(), cfg.Database.TransactionRetries)
	}
	if cfg.DefaultCoin != "btc" {
		t.Errorf("default coin %q, want the first coin", cfg.DefaultCoin)
	}
}

func TestDepositConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown backend class", "coins:\n  btc:\n    backend: {class: cryptoassets.core.backend.foo.Bar}\n",
			[]string{`coins.btc.backend.class: unknown backend class "cryptoassets.core.backend.foo.Bar"`}},
		{"unknown key in a class block is fatal", "coins:\n  btc:\n    backend: {class: cryptoassets.core.backend.bitcoind.Bitcoind, url: 'http://a:b@h:1/', rpcuser: x}\n",
			[]string{"coins.btc.backend.rpcuser: line 3: unknown key"}},
		{"walletnotify key of another type", "coins:\n  btc:\n    backend:\n      type: 'null'\n      walletnotify: {type: http, fname: /tmp/x}\n",
			[]string{"coins.btc.backend.walletnotify.fname: line 5: not an option"}},
		{"unknown walletnotify class", "coins:\n  btc:\n    backend:\n      type: 'null'\n      walletnotify: {class: cryptoassets.core.backend.smoke.Signal}\n",
			[]string{`unknown walletnotify class "cryptoassets.core.backend.smoke.Signal"`}},
		{"pipe needs fname", "coins:\n  btc:\n    backend:\n      type: 'null'\n      walletnotify: [{type: pipe}]\n",
			[]string{"coins.btc.backend.walletnotify.fname: required"}},
		{"bad pipe mode", "coins:\n  btc:\n    backend:\n      type: 'null'\n      walletnotify: [{type: pipe, fname: /tmp/p, mode: '0799'}]\n",
			[]string{"mode must be octal"}},
		{"walletnotify without a wallet", "coins:\n  btc:\n    backend:\n      type: node\n      url: http://a:b@h:1/\n      walletnotify: {type: http}\n",
			[]string{"coins.btc.backend.walletnotify: needs a backend that tracks deposits"}},
		{"two intakes on one port", "coins:\n  btc:\n    backend:\n      type: 'null'\n      walletnotify: [{type: http, port: 5000}, {type: blockio_webhook, url: 'https://x/y', port: 5000}]\n",
			[]string{"127.0.0.1:5000 is already used by coins.btc.backend.walletnotify[0]", "blockio_webhook needs backend type blockio"}},
		{"blockio needs api key", "coins:\n  doge:\n    backend: {class: cryptoassets.core.backend.blockio.BlockIo, network: dogecoin}\n",
			[]string{"coins.doge.backend.api_key: required", "coins.doge.backend.network: must be one of"}},
		{"event class unknown", "coins: {btc: {backend: {type: 'null'}}}\nevents:\n  a: {class: cryptoassets.core.event.mail.Mail}\n",
			[]string{`events.a.class: unknown event class "cryptoassets.core.event.mail.Mail"`}},
		{"event http needs url", "coins: {btc: {backend: {type: 'null'}}}\nevents:\n  a: {type: http}\n",
			[]string{"events.a.url: required"}},
		{"event key of another type", "coins: {btc: {backend: {type: 'null'}}}\nevents:\n  a: {type: script, script: x, url: 'http://h/'}\n",
			[]string{"events.a.url: line 3: not an option"}},
		{"event redis needs a url", "coins: {btc: {backend: {type: 'null'}}}\nevents:\n  r: {type: redis}\n",
			[]string{"events.r.url: required"}},
		{"bad handler name", "coins: {btc: {backend: {type: 'null'}}}\nevents:\n  'a b': {type: sockets}\n",
			[]string{"events.a b: line 3: a handler name is"}},
		{"short admin key", "coins: {btc: {backend: {type: 'null'}}}\ndeposits: {admin_key: short}\n",
			[]string{"deposits.admin_key: must be at least 16"}},
		{"backoff bounds reversed", "coins: {btc: {backend: {type: 'null'}}}\ndeposits: {outbox: {min_backoff: 10s, max_backoff: 1s}}\n",
			[]string{"deposits.outbox.max_backoff: must be at least min_backoff (10s)"}},
		{"credit above max", "coins:\n  btc: {credit_confirmations: 6, max_confirmation_count: 4, backend: {type: 'null'}}\n",
			[]string{"coins.btc.max_confirmation_count: must be at least credit_confirmations (6)"}},
		{"class contradicts type", "coins:\n  btc:\n    backend: {type: electrumx, class: cryptoassets.core.backend.null.DummyCoinBackend, host: h, port: 1}\n",
			[]string{"class cryptoassets.core.backend.null.DummyCoinBackend means type null, but type says electrumx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := write(t, dir, "f.yaml", tt.yaml)
			_, err := Load(LoadOptions{ConfigPath: p, DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(nil)})
			if err == nil {
				t.Fatalf("want an error")
			}
			text := strings.ReplaceAll(err.Error(), p, "f.yaml")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestNativeDepositConfig(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "f.yaml", `
coins:
  btc:
    network: regtest
    credit_confirmations: 2
    backend:
      type: node
      url: http://u:p@127.0.0.1:18334/
      wallet: {url: 'http://u:p@127.0.0.1:18332/', kind: btcwallet}
      walletnotify:
        - {type: http, port: 0}
  ltc:
    backend:
      type: 'null'
      walletnotify: {type: http, port: 0}
events:
  app: {type: http, url: 'http://127.0.0.1:9/', json: true, secret: s3cret}
  push: {type: sockets}
deposits: {poll_interval: 5s}
`)
	cfg, err := Load(LoadOptions{ConfigPath: p, DotenvPath: write(t, dir, ".env", ""), Getenv: envFrom(map[string]string{"WALLETGATE_ADMIN_KEY": "0123456789abcdef0123"})})
	if err != nil {
		t.Fatal(err)
	}
	btc, _ := cfg.Coin("btc")
	if btc.Backend.Index != nil || btc.Backend.Wallet == nil || btc.Backend.Wallet.Kind != "btcwallet" || btc.CreditConfirmations != 2 {
		t.Errorf("btc: %+v", btc)
	}
	if cfg.Deposits.AdminKey != "0123456789abcdef0123" || cfg.Deposits.PollInterval.D() != 5*time.Second {
		t.Errorf("deposits: %+v", cfg.Deposits)
	}
	if cfg.Deposits.Outbox.Batch != 100 || cfg.Deposits.Outbox.Lease.D() != 30*time.Second {
		t.Errorf("outbox defaults: %+v", cfg.Deposits.Outbox)
	}
	if len(cfg.Events) != 2 || cfg.Events[1].Type != EventSockets {
		t.Errorf("events: %+v", cfg.Events)
	}
}
