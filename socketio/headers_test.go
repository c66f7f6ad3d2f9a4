package socketio_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/hub"
	"github.com/walletgate/walletgate/socketio"
)

// The answers below are what zishang520/socket.io v3.0.2 (the library this
// package replaced) sent for each request, recorded from the server before
// the change; two deliberate differences are noted where they are: the
// open packet's fields come in the reference server's order, and a
// user agent that gets X-XSS-Protection gets it once.

const (
	hCORS    = "Access-Control-Allow-Origin: *"
	hLen     = "Content-Length: =body"
	hNoStore = "Cache-Control: no-store"
	hPayload = "Content-Type: text/plain; charset=UTF-8"
	hJSON    = "Content-Type: application/json"
)

const openBody = `0{"sid":"SID","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`

func TestPollingWire(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	addr := e.ts.Listener.Addr().String()
	const P = "/socket.io/?EIO=4&transport=polling"
	origin := map[string]string{"Origin": "http://wallet.example"}
	for _, tc := range []struct {
		name, req string
		status    int
		headers   []string
		body      string
	}{
		{"handshake", httpRequest("GET", P, nil, ""), 200, []string{hCORS, hNoStore, hLen, hPayload}, openBody},
		{"handshake from a page", httpRequest("GET", P+"&t=Px1a", origin, ""), 200, []string{hCORS, hNoStore, hLen, hPayload}, openBody},
		{"handshake from IE", httpRequest("GET", P, map[string]string{"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Trident/7.0)"}, ""), 200,
			[]string{hCORS, hNoStore, hLen, hPayload, "X-Xss-Protection: 0"}, openBody},
		{"preflight", httpRequest("OPTIONS", P, map[string]string{"Origin": "http://wallet.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, ""), 204,
			[]string{"Access-Control-Allow-Headers: content-type", "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE", hCORS, "Vary: Access-Control-Request-Headers"}, ""},
		{"bare preflight", httpRequest("OPTIONS", P+"&sid=nope", nil, ""), 204,
			[]string{"Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE", hCORS}, ""},
		{"unknown sid", httpRequest("GET", P+"&sid=nope", origin, ""), 400, []string{hCORS, hLen, hJSON}, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid POST", httpRequest("POST", P+"&sid=nope", nil, "40"), 400, []string{hCORS, hLen, hJSON}, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown transport", httpRequest("GET", "/socket.io/?EIO=4&transport=flashsocket", nil, ""), 400, []string{hCORS, hLen, hJSON}, `{"code":0,"message":"Transport unknown"}`},
		{"no transport", httpRequest("GET", "/socket.io/?EIO=4", nil, ""), 400, []string{hCORS, hLen, hJSON}, `{"code":0,"message":"Transport unknown"}`},
		{"webtransport", httpRequest("GET", "/socket.io/?EIO=4&transport=webtransport", nil, ""), 400, []string{hCORS, hLen, hJSON}, `{"code":0,"message":"Transport unknown"}`},
		{"POST handshake", httpRequest("POST", P, nil, "40"), 400, []string{hCORS, hLen, hJSON}, `{"code":2,"message":"Bad handshake method"}`},
		{"websocket without upgrade", httpRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil, ""), 400, []string{hCORS, hLen, hJSON}, `{"code":3,"message":"Bad request"}`},
		{"EIO=3", httpRequest("GET", "/socket.io/?EIO=3&transport=polling", nil, ""), 400, []string{hCORS, hLen, "Content-Type: text/plain"},
			`"The client is using an unsupported version of the Socket.IO or Engine.IO protocols"`},
		{"websocket upgrade, unknown sid", strings.Replace(httpRequest("GET", "/socket.io/?EIO=4&transport=websocket&sid=nope",
			map[string]string{"Upgrade": "websocket", "Sec-Websocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-Websocket-Version": "13"}, ""), "Connection: close", "Connection: Upgrade", 1),
			400, []string{hCORS, hLen, "Content-Type: text/plain; charset=utf-8"}, "Session ID unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rawRequest(t, addr, tc.req)
			want := rawResponse{status: tc.status, headers: tc.headers, body: tc.body}
			if got.String() != want.String() {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}

	t.Run("session", func(t *testing.T) {
		S := P + "&sid=" + pollHandshake(t, e.ts.URL)
		for _, step := range []struct {
			req     string
			status  int
			headers []string
			body    string
		}{
			{httpRequest("POST", S, map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, "40"), 200, []string{hCORS, hNoStore, hLen, "Content-Type: text/html"}, "ok"},
			{httpRequest("GET", S, origin, ""), 200, []string{hCORS, hNoStore, hLen, hPayload}, `40{"sid":"SID"}`},
			{httpRequest("POST", S, nil, strings.Repeat("6", 1_000_001)), 413, []string{hCORS, hLen}, ""},
			{httpRequest("POST", "/socket.io/?EIO=4&transport=websocket&sid="+S[strings.LastIndex(S, "=")+1:], nil, "6"), 400, []string{hCORS, hLen, hJSON}, `{"code":3,"message":"Bad request"}`},
			{httpRequest("PUT", S, nil, "6"), 500, []string{hCORS, hLen}, ""},
			{httpRequest("POST", S, nil, "40/nope,"), 200, []string{hCORS, hNoStore, hLen, "Content-Type: text/html"}, "ok"},
			{httpRequest("GET", S, nil, ""), 200, []string{hCORS, hNoStore, hLen, hPayload}, `44/nope,{"message":"Invalid namespace"}`},
		} {
			got := rawRequest(t, addr, step.req)
			want := rawResponse{status: step.status, headers: step.headers, body: step.body}
			if got.String() != want.String() {
				t.Fatalf("%.60q: got\n%s\nwant\n%s", step.req, got, want)
			}
		}
	})
}

// TestPollingCompression: a payload of CompressionThreshold bytes or more
// is compressed with the first of gzip and deflate the client accepts.
func TestPollingCompression(t *testing.T) {
	e := newTestEnv(t, hub.Config{}, socketio.Config{})
	a, sc := e.addr(t, 1)
	var us []walletgate.UTXO
	for i := range 30 { // a balance_changed of about 5 kB
		us = append(us, walletgate.UTXO{TxHash: fmt.Sprintf("%064x", i), Height: 10, Value: 1})
	}
	e.be.SetUnspent(sc.Hash, us)
	addr := e.ts.Listener.Addr().String()
	for _, tc := range []struct{ accept, encoding string }{
		{"gzip, deflate, br, zstd", "gzip"},
		{"deflate", "deflate"},
		{"br", ""},
		{"", ""},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			S := "/socket.io/?EIO=4&transport=polling&sid=" + pollHandshake(t, e.ts.URL)
			ae := map[string]string{}
			if tc.accept != "" {
				ae["Accept-Encoding"] = tc.accept
			}
			rawRequest(t, addr, httpRequest("POST", S, nil, "40"))
			if got := rawRequest(t, addr, httpRequest("GET", S, ae, "")); got.body != `40{"sid":"SID"}` || strings.Contains(got.String(), "Content-Encoding") {
				t.Fatalf("a small payload: %s", got)
			}
			rawRequest(t, addr, httpRequest("POST", S, nil, `42["subscribe",{"address":"`+a+`"}]`))
			var body string
			for !strings.Contains(body, "balance_changed") { // subscribed may come first, alone
				got := rawRequest(t, addr, httpRequest("GET", S, ae, ""))
				body = got.body
				enc := ""
				for _, h := range got.headers {
					if v, ok := strings.CutPrefix(h, "Content-Encoding: "); ok {
						enc = v
					}
				}
				var r io.Reader = strings.NewReader(body)
				switch enc {
				case "gzip":
					zr, err := gzip.NewReader(r)
					if err != nil {
						t.Fatal(err)
					}
					r = zr
				case "deflate":
					r = flate.NewReader(r)
				}
				plain, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				body = string(plain)
				if want := map[bool]string{true: tc.encoding, false: ""}[len(plain) >= 1024]; enc != want {
					t.Fatalf("%d bytes sent with Content-Encoding %q, want %q", len(plain), enc, want)
				}
				if len(plain) < 1024 {
					continue
				}
				if !bytes.Contains(plain, []byte(`42["balance_changed",{"balance":0,"confirmed":0,"unconfirmed":0,"pending_out":0,"utxos":[{"txid":"`)) {
					t.Fatalf("decoded payload %.120q", plain)
				}
			}
		})
	}
}
