package peerchannels

import (
	"strings"
	"testing"

	"github.com/walletgate/walletgate/inmem"
)

func env2lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigFromEnv(t *testing.T) {
	c, err := ConfigFromEnv(env2lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ExternalHost != "127.0.0.1" || c.ExternalPort != 47124 || c.HrefHost != "127.0.0.1" || c.HrefPort != 47124 ||
		c.MaxMessageContentLength != 65536 || c.ExposeHeaderSVAPIs || c.ExposeIndexerAPIs ||
		c.HeaderSVURL != "http://127.0.0.1:33444" || c.IndexerURL != "http://127.0.0.1:49241" || c.Network != "regtest" ||
		c.PingInterval.Seconds() != 30 || c.MaxRequestBodyBytes != 1<<20 {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = ConfigFromEnv(env2lookup(map[string]string{
		"EXTERNAL_HOST": "0.0.0.0", "EXTERNAL_PORT": "55666", "HREF_HOST": "pc.example", "HREF_PORT": "443",
		"MAX_MESSAGE_CONTENT_LENGTH": "1000", "EXPOSE_HEADER_SV_APIS": "0", "EXPOSE_INDEXER_APIS": "",
		"HEADER_SV_URL": "http://h:1", "INDEXER_URL": "https://i:2", "NETWORK": "mainnet",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ExternalHost != "0.0.0.0" || c.ExternalPort != 55666 || c.HrefHost != "pc.example" || c.HrefPort != 443 ||
		c.MaxMessageContentLength != 1000 || !c.ExposeHeaderSVAPIs || c.ExposeIndexerAPIs ||
		c.HeaderSVURL != "http://h:1" || c.IndexerURL != "https://i:2" || c.Network != "mainnet" {
		t.Fatalf("set values: %+v", c)
	}
	// Every bad value is named in one error.
	_, err = ConfigFromEnv(env2lookup(map[string]string{
		"EXTERNAL_PORT": "x", "HREF_PORT": "70000", "MAX_MESSAGE_CONTENT_LENGTH": "0",
		"HEADER_SV_URL": "ftp://h", "NETWORK": "moon",
	}))
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, name := range []string{"EXTERNAL_PORT", "HREF_PORT", "MAX_MESSAGE_CONTENT_LENGTH", "header sv url", "moon"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{SendQueue: -1}, openSQLite(t), inmem.NewChannelNotifier(), nil); err == nil || !strings.Contains(err.Error(), "send queue") {
		t.Fatalf("New with a negative queue: %v", err)
	}
	if _, err := New(Config{}, nil, inmem.NewChannelNotifier(), nil); err == nil {
		t.Fatal("New without a store accepted")
	}
}

// A store failure is a 500 that names nothing internal, on the websocket
// handshake too (not a misleading 401).
func TestStoreFailureIs500(t *testing.T) {
	e := newEnv(t)
	key, _ := e.account()
	ch := e.channel(key, "")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body, token string }{
		{"GET", "/api/v1/channel/manage/list", "", key},
		{"POST", "/api/v1/channel/" + ch.ID, "{}", ch.AccessTokens[0].Token},
	} {
		r := e.req(c.method, c.path, c.body, append(auth(c.token), "Content-Type", "application/json")...)
		want(t, c.method+" "+c.path+" on a closed store", r, 500, "500: Internal Server Error")
	}
	r := e.req("GET", "/api/v1/web-socket?token="+key, "")
	want(t, "account socket on a closed store", r, 500, "500: Internal Server Error")
}
