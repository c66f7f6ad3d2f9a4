package peerchannels

import (
	"context"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/inmem"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

// backend opens a fresh store and the notifier that goes with it.
type backend func(t testing.TB) (walletgate.ChannelStore, walletgate.ChannelNotifier)

func sqliteBackend(t testing.TB) (walletgate.ChannelStore, walletgate.ChannelNotifier) {
	return openSQLite(t), inmem.NewChannelNotifier()
}

// postgresBackend opens a store on a fresh database, with the LISTEN/NOTIFY
// notifier, or skips (fails under WALLETGATE_REQUIRE_ALL) without one.
func postgresBackend(t testing.TB) (walletgate.ChannelStore, walletgate.ChannelNotifier) {
	t.Helper()
	st := openPostgres(t, testenv.PostgresDB(t))
	return st, st.Notifier()
}

func openPostgres(t testing.TB, url string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// e2eTests run through a real HTTP server on every store.
var e2eTests = []struct {
	name string
	fn   func(*testing.T, backend)
}{
	{"Register", e2eRegister},
	{"RegisterErrors", e2eRegisterErrors},
	{"GetAccountAndDisabled", e2eGetAccountAndDisabled},
	{"CreateChannel", e2eCreateChannel},
	{"CreateChannelErrors", e2eCreateChannelErrors},
	{"Href", e2eHref},
	{"ManageChannels", e2eManageChannels},
	{"ManageTokens", e2eManageTokens},
	{"BearerAndTokenClasses", e2eBearerAndTokenClasses},
	{"WriteMessage", e2eWriteMessage},
	{"SequencedWrite", e2eSequencedWrite},
	{"ReadMessages", e2eReadMessages},
	{"RevokedTokenGetsNoCopies", e2eRevokedTokenGetsNoCopies},
	{"HeadMessages", e2eHeadMessages},
	{"MessagePermissions", e2eMessagePermissions},
	{"MarkMessages", e2eMarkMessages},
	{"DeleteMessages", e2eDeleteMessages},
	{"BodiesAnyContentType", e2eBodiesAnyContentType},
	{"NotifySocket", e2eNotifySocket},
	{"AccountSocket", e2eAccountSocket},
	{"SocketPings", e2eSocketPings},
	{"SlowSocketClosed", e2eSlowSocketClosed},
	{"AccountSocketCloseHooks", e2eAccountSocketCloseHooks},
}

func TestSQLite(t *testing.T) {
	for _, tc := range e2eTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, sqliteBackend) })
	}
}

func TestPostgres(t *testing.T) {
	testenv.PostgresURL(t)
	for _, tc := range e2eTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, postgresBackend) })
	}
}

// Routing and discovery do not touch the store: SQLite only.
func TestRootAndEndpoints(t *testing.T) { e2eRootAndEndpoints(t, sqliteBackend) }
func TestExtraRoutes(t *testing.T)      { e2eExtraRoutes(t, sqliteBackend) }
