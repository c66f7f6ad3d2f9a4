package socketio_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// FuzzPollingPayload posts arbitrary payloads to a live polling session
// (joined to "/", so Socket.IO packets reach the event handlers): the
// server must answer every POST with "ok" or one of the Engine.IO errors,
// never crash, and leave the session either open or cleanly gone.
func FuzzPollingPayload(f *testing.F) {
	for _, s := range []string{
		"40", "6", "3", "1", "2probe", "5", "bAQID", "4zzz",
		"40\x1e42[\"subscribe\",{\"address\":\"web1qxyz\"}]\x1e42[\"unsubscribe\",{\"addresses\":[1]}]",
		"451-[\"subscribe\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
		"4213[\"subscribe_account\",{\"account\":\"a\",\"key\":\"k\"}]",
		"40/nope,\x1e41\x1e40/btc,{\"token\":1}",
		"\x1e\x1e", "42[\"subscribe\"", "4" + strings.Repeat("9", 30) + "[\"x\"]",
	} {
		f.Add(s)
	}
	e := newTestEnv(f, hub.Config{}, socketio.Config{MaxPayload: 4096, SubscribeInterval: time.Nanosecond, WatchTimeout: time.Second})
	f.Fuzz(func(t *testing.T, payload string) {
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
		open := rec.Body.String()
		i := strings.Index(open, `"sid":"`)
		if rec.Code != http.StatusOK || i < 0 {
			t.Fatalf("handshake %d %q", rec.Code, open)
		}
		sid := open[i+7 : i+27]
		post := func(body string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(body)))
			return rec
		}
		if r := post("40"); r.Code != http.StatusOK {
			t.Fatalf("connect: %d %q", r.Code, r.Body)
		}
		r := post(payload)
		switch {
		case r.Code == http.StatusOK && r.Body.String() == "ok":
		case r.Code == http.StatusRequestEntityTooLarge && len(payload) > 4096:
		case r.Code == http.StatusBadRequest && r.Body.String() == `{"code":3,"message":"Bad request"}`:
		default:
			t.Fatalf("POST %q: %d %q", payload, r.Code, r.Body)
		}
		// Whatever happened, the session can be closed (or is gone).
		if r := post("1"); r.Code != http.StatusOK && r.Code != http.StatusBadRequest {
			t.Fatalf("close after %q: %d %q", payload, r.Code, r.Body)
		}
	})
}
