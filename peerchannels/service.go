package peerchannels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/walletgate/walletgate"
)

// Service is the peer-channels HTTP service: accounts, channels, tokens,
// messages and their websockets, over a ChannelStore. Notices travel
// through the ChannelNotifier so sockets on every process sharing a
// database hear every write.
type Service struct {
	cfg      Config
	store    walletgate.ChannelStore
	notifier walletgate.ChannelNotifier
	log      *slog.Logger
	router   *Router
	sockets  *socketRegistry
	channels *channelCache

	ready     chan struct{}
	readyOnce sync.Once
}

// New builds the service. cfg gets its defaults (Config.WithDefaults) and
// must then validate. log may be nil to discard logs.
func New(cfg Config, store walletgate.ChannelStore, notifier walletgate.ChannelNotifier, log *slog.Logger) (*Service, error) {
	if store == nil || notifier == nil {
		return nil, errors.New("peer channels: a store and a notifier are required")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("peer channels configuration: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, store: store, notifier: notifier, log: log, router: NewRouter(), sockets: newSocketRegistry(cfg.CloseHookTimeout), channels: newChannelCache(cfg.ChannelCacheSize), ready: make(chan struct{})}
	s.routes()
	if cfg.Extra != nil {
		cfg.Extra(s.router)
	}
	return s, nil
}

// Config returns the settings in force, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Handler serves the external API. Mount it at the root of a listener: the
// reference paths are absolute.
func (s *Service) Handler() http.Handler { return s.router }

// Router is the service's router, for packages that add routes after New
// (register before serving).
func (s *Service) Router() *Router { return s.router }

// Run delivers channel notices to this process's websockets until ctx
// ends, then closes every socket and returns nil. Without Run no socket
// hears a write. It returns the notifier's error at once if the
// subscription cannot be made. Ready is closed once the subscription is
// live. Call Run once.
func (s *Service) Run(ctx context.Context) error {
	defer s.sockets.shutdown()
	if err := s.notifier.SubscribeChannelNotices(ctx, s.sockets.dispatch); err != nil {
		return fmt.Errorf("peer channels: subscribe to channel notices: %w", err)
	}
	s.readyOnce.Do(func() { close(s.ready) })
	<-ctx.Done()
	return nil
}

// Ready is closed once Run's notice subscription is live: every write
// after that reaches the sockets.
func (s *Service) Ready() <-chan struct{} { return s.ready }

func (s *Service) routes() {
	rt := s.router
	rt.HandleFunc(http.MethodGet, "/", s.root)
	rt.HandleFunc(http.MethodGet, "/api/v1/endpoints", s.endpoints)

	rt.HandleFunc(http.MethodPost, "/api/v1/account/register", s.register)
	rt.HandleFunc(http.MethodPost, "/api/v1/account/key", s.register)
	rt.HandleFunc(http.MethodGet, "/api/v1/account", s.getAccount)

	rt.HandleFunc(http.MethodPost, "/api/v1/channel/manage", s.createChannel)
	rt.HandleGETOnly("/api/v1/channel/manage/list", http.HandlerFunc(s.listChannels))
	rt.HandleFunc(http.MethodGet, "/api/v1/channel/manage/{id}", s.getChannel)
	rt.HandleFunc(http.MethodPost, "/api/v1/channel/manage/{id}", s.amendChannel)
	rt.HandleFunc(http.MethodDelete, "/api/v1/channel/manage/{id}", s.deleteChannel)
	rt.HandleFunc(http.MethodPost, "/api/v1/channel/manage/{id}/api-token", s.createToken)
	rt.HandleFunc(http.MethodGet, "/api/v1/channel/manage/{id}/api-token", s.listTokens)
	rt.HandleFunc(http.MethodGet, "/api/v1/channel/manage/{id}/api-token/{tokenid}", s.getToken)
	rt.HandleFunc(http.MethodDelete, "/api/v1/channel/manage/{id}/api-token/{tokenid}", s.revokeToken)

	rt.HandleFunc(http.MethodGet, "/api/v1/channel/{id}", s.getMessages)
	rt.HandleFunc(http.MethodHead, "/api/v1/channel/{id}", s.headMessages)
	rt.HandleFunc(http.MethodPost, "/api/v1/channel/{id}", s.writeMessage)
	rt.HandleFunc(http.MethodPost, "/api/v1/channel/{id}/{sequence}", s.markMessage)
	rt.HandleFunc(http.MethodDelete, "/api/v1/channel/{id}/{sequence}", s.deleteMessage)
	rt.HandleFunc(http.MethodGet, "/api/v1/channel/{id}/notify", s.notifySocket)
	rt.HandleFunc(http.MethodGet, "/api/v1/web-socket", s.accountSocket)
}

// root is the liveness text clients probe.
func (s *Service) root(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ElectrumSV Reference Server"))
}

// endpointTimeFormat carries microseconds, as the reference's isoformat()+"Z".
const endpointTimeFormat = "2006-01-02T15:04:05.000000Z"

type endpointJSON struct {
	APIType    string `json:"apiType"`
	APIVersion int    `json:"apiVersion"`
	BaseURL    string `json:"baseUrl"`
}

// indexerEndpointJSON spells its key baseURL, as the reference does.
type indexerEndpointJSON struct {
	APIType    string       `json:"apiType"`
	APIVersion int          `json:"apiVersion"`
	BaseURL    string       `json:"baseURL"`
	Pricing    *pricingJSON `json:"pricing,omitempty"`
}

type pricingJSON struct {
	Data struct {
		Satoshis int `json:"satoshis"`
		Bytes    int `json:"bytes"`
	} `json:"data"`
}

// endpoints is GET /api/v1/endpoints, the discovery document.
func (s *Service) endpoints(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now().UTC()
	eps := []any{
		endpointJSON{"bsvapi.account", 1, "/api/v1/account"},
		endpointJSON{"bsvapi.channel", 1, "/api/v1/channel"},
		endpointJSON{"bsvapi.websocket", 1, "/api/v1/web-socket"},
	}
	if s.cfg.ExposeHeaderSVAPIs {
		eps = append(eps,
			endpointJSON{"bsvapi.headers", 1, "/api/v1/headers"},
			endpointJSON{"bsvapi.network", 1, "/api/v1/network"})
	}
	if s.cfg.ExposeIndexerAPIs {
		restoration := &pricingJSON{}
		restoration.Data.Satoshis, restoration.Data.Bytes = 4524, 10000000
		eps = append(eps,
			indexerEndpointJSON{APIType: "bsvapi.transaction", APIVersion: 1, BaseURL: "/api/v1/transaction"},
			indexerEndpointJSON{APIType: "bsvapi.merkle-proof", APIVersion: 1, BaseURL: "/api/v1/merkle-proof"},
			indexerEndpointJSON{APIType: "bsvapi.output-spend", APIVersion: 1, BaseURL: "/api/v1/output-spend"},
			indexerEndpointJSON{APIType: "bsvapi.restoration", APIVersion: 1, BaseURL: "/api/v1/restoration", Pricing: restoration})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"apiType":    "bsvapi.endpoint",
		"apiVersion": 1,
		// The reference hard-codes http://127.0.0.1:47124 whatever its
		// listener; this names the address clients actually reach.
		"baseUrl":    s.cfg.publicBase(r),
		"timestamp":  now.Format(endpointTimeFormat),
		"expiryTime": now.Add(24 * time.Hour).Format(endpointTimeFormat),
		"endpoints":  eps,
	})
}
