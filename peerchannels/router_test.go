package peerchannels

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// routeTable is the reference server's URL space plus the proxy routes
// another package adds; each handler answers its own pattern.
func routeTable() *Router {
	rt := NewRouter()
	for _, p := range []struct{ method, pattern string }{
		{"POST", "/api/v1/channel/manage"},
		{"GET", "/api/v1/channel/manage/{id}"},
		{"POST", "/api/v1/channel/manage/{id}"},
		{"GET", "/api/v1/channel/{id}"},
		{"HEAD", "/api/v1/channel/{id}"},
		{"POST", "/api/v1/channel/{id}/{sequence}"},
		{"DELETE", "/api/v1/channel/{id}/{sequence}"},
		{"GET", "/api/v1/channel/{id}/notify"},
		{"GET", "/api/v1/transaction/{txid}"},
		{"POST", "/api/v1/transaction/filter"},
		{"GET", "/api/v1/transaction/filter"},
		{"POST", "/api/v1/transaction/filter:delete"},
		{"GET", "/api/v1/headers/{hash}"},
		{"GET", "/api/v1/headers/tips"},
		{"GET", "/api/v1/headers/tips/websocket"},
		{"GET", "/api/v1/headers/by-height"},
	} {
		pattern, method := p.pattern, p.method
		rt.HandleFunc(method, pattern, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, method+" "+pattern+" id="+r.PathValue("id")+" seq="+r.PathValue("sequence")+
				" txid="+r.PathValue("txid")+" hash="+r.PathValue("hash"))
		})
	}
	rt.HandleGETOnly("/api/v1/channel/manage/list", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "GET /api/v1/channel/manage/list")
	}))
	return rt
}

func TestRouter(t *testing.T) {
	rt := routeTable()
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/v1/channel/manage/list", 200, "GET /api/v1/channel/manage/list"},
		{"HEAD", "/api/v1/channel/manage/list", 200, ""}, // manage/{id} answers, as in aiohttp
		{"GET", "/api/v1/channel/manage/abc", 200, "GET /api/v1/channel/manage/{id} id=abc seq= txid= hash="},
		{"POST", "/api/v1/channel/manage/abc", 200, "POST /api/v1/channel/manage/{id} id=abc seq= txid= hash="},
		{"POST", "/api/v1/channel/manage", 200, "POST /api/v1/channel/manage id= seq= txid= hash="},
		{"POST", "/api/v1/channel/manage/", 404, "404: Not Found"},
		{"GET", "/api/v1/channel/abc/notify", 200, "GET /api/v1/channel/{id}/notify id=abc seq= txid= hash="},
		{"POST", "/api/v1/channel/abc/7", 200, "POST /api/v1/channel/{id}/{sequence} id=abc seq=7 txid= hash="},
		{"DELETE", "/api/v1/channel/abc/notify", 200, "DELETE /api/v1/channel/{id}/{sequence} id=abc seq=notify txid= hash="},
		{"GET", "/api/v1/channel/A-_=%3D", 200, "GET /api/v1/channel/{id} id=A-_== seq= txid= hash="},
		{"HEAD", "/api/v1/channel/abc", 200, ""},
		{"GET", "/api/v1/transaction/filter", 200, "GET /api/v1/transaction/filter id= seq= txid= hash="},
		{"POST", "/api/v1/transaction/filter:delete", 200, "POST /api/v1/transaction/filter:delete id= seq= txid= hash="},
		{"GET", "/api/v1/transaction/ab12", 200, "GET /api/v1/transaction/{txid} id= seq= txid=ab12 hash="},
		{"GET", "/api/v1/headers/tips", 200, "GET /api/v1/headers/tips id= seq= txid= hash="},
		{"GET", "/api/v1/headers/by-height", 200, "GET /api/v1/headers/by-height id= seq= txid= hash="},
		{"GET", "/api/v1/headers/00ff", 200, "GET /api/v1/headers/{hash} id= seq= txid= hash=00ff"},
		{"GET", "/api/v1/headers/tips/websocket", 200, "GET /api/v1/headers/tips/websocket id= seq= txid= hash="},
		{"PUT", "/api/v1/channel/abc", 405, "405: Method Not Allowed"},
		{"GET", "/api/v1/nope", 404, "404: Not Found"},
		{"GET", "/api/v1/channel/abc/", 404, "404: Not Found"},
		{"GET", "/api/v1/channel//notify", 404, "404: Not Found"},
		{"GET", "/", 404, "404: Not Found"},
	} {
		rq := httptest.NewRequest(tc.method, "http://x"+tc.path, nil)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, rq)
		body := w.Body.String()
		if tc.method == "HEAD" {
			body = "" // net/http drops HEAD bodies on the wire
		}
		if w.Code != tc.status || body != tc.body {
			t.Errorf("%s %s: got %d %q, want %d %q", tc.method, tc.path, w.Code, body, tc.status, tc.body)
		}
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, httptest.NewRequest("PUT", "http://x/api/v1/channel/abc", nil))
	if a := w.Header().Get("Allow"); a != "GET,HEAD" {
		t.Errorf("405 Allow header %q", a)
	}
}

// The service's own routes through the real server: liveness text and
// discovery document.
func e2eRootAndEndpoints(t *testing.T, be backend) {
	clk := newClock()
	e := newEnvWith(t, be, func(c *Config) { c.Now = clk.Now })
	want(t, "root", e.req("GET", "/", ""), 200, "ElectrumSV Reference Server")
	r := e.req("GET", "/api/v1/endpoints", "")
	// HREF_HOST/HREF_PORT (127.0.0.1:55666 in the harness) name the
	// address clients reach; the reference hard-coded 127.0.0.1:47124.
	want(t, "endpoints", r, 200, `{"apiType":"bsvapi.endpoint","apiVersion":1,"baseUrl":"http://127.0.0.1:55666",`+
		`"endpoints":[{"apiType":"bsvapi.account","apiVersion":1,"baseUrl":"/api/v1/account"},`+
		`{"apiType":"bsvapi.channel","apiVersion":1,"baseUrl":"/api/v1/channel"},`+
		`{"apiType":"bsvapi.websocket","apiVersion":1,"baseUrl":"/api/v1/web-socket"}],`+
		`"expiryTime":"2026-11-22T12:00:00.000000Z","timestamp":"2026-11-21T12:00:00.000000Z"}`)

	// With none of HREF_*/EXTERNAL_* set, the address the request came
	// to, for baseUrl and hrefs alike; a proxy's X-Forwarded-Proto says
	// https.
	bare := newEnvWith(t, be, func(c *Config) { c.HrefHost, c.HrefPort = "", 0 })
	host := strings.TrimPrefix(bare.srv.URL, "http://")
	var doc struct {
		BaseURL string `json:"baseUrl"`
	}
	bare.req("GET", "/api/v1/endpoints", "").json(t, &doc)
	if doc.BaseURL != "http://"+host {
		t.Errorf("baseUrl %q, want the listener the request came to, http://%s", doc.BaseURL, host)
	}
	bare.req("GET", "/api/v1/endpoints", "", "X-Forwarded-Proto", "https").json(t, &doc)
	if doc.BaseURL != "https://"+host {
		t.Errorf("baseUrl behind a TLS proxy %q, want https://%s", doc.BaseURL, host)
	}
	key, _ := bare.account()
	if ch := bare.channel(key, ""); ch.Href != "http://"+host+"/api/v1/channel/"+ch.ID {
		t.Errorf("href %q, want it on http://%s", ch.Href, host)
	}

	full := newEnvWith(t, be, func(c *Config) { c.Now = clk.Now; c.ExposeHeaderSVAPIs = true; c.ExposeIndexerAPIs = true })
	r = full.req("GET", "/api/v1/endpoints", "")
	for _, s := range []string{
		`{"apiType":"bsvapi.headers","apiVersion":1,"baseUrl":"/api/v1/headers"}`,
		`{"apiType":"bsvapi.network","apiVersion":1,"baseUrl":"/api/v1/network"}`,
		`{"apiType":"bsvapi.transaction","apiVersion":1,"baseURL":"/api/v1/transaction"}`,
		`{"apiType":"bsvapi.restoration","apiVersion":1,"baseURL":"/api/v1/restoration","pricing":{"data":{"satoshis":4524,"bytes":10000000}}}`,
	} {
		if !strings.Contains(r.body, s) {
			t.Errorf("endpoints with headers and indexer lack %s:\n%s", s, r.body)
		}
	}
}

// Config.Extra lets other packages add routes to the same router.
func e2eExtraRoutes(t *testing.T, be backend) {
	e := newEnvWith(t, be, func(c *Config) {
		c.Extra = func(rt *Router) {
			rt.HandleFunc("GET", "/api/v1/headers/{hash}", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "header "+r.PathValue("hash"))
			})
		}
	})
	want(t, "extra route", e.req("GET", "/api/v1/headers/abc", ""), 200, "header abc")
	want(t, "own routes kept", e.req("GET", "/", ""), 200, "ElectrumSV Reference Server")
}

// FuzzRoute: no path or method makes the router panic, and a match
// always fills every wildcard with a non-empty value.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/api/v1/channel/manage/list", "/api/v1/channel/a/1", "/", "//", "/%zz", "/api/v1/channel/%2F/notify", ""} {
		f.Add("GET", s)
	}
	rt := routeTable()
	f.Fuzz(func(t *testing.T, method, path string) {
		h, params, status := rt.Route(method, path)
		if (h != nil) != (status == 200) {
			t.Fatalf("handler %v with status %d", h != nil, status)
		}
		for k, v := range params {
			if v == "" {
				t.Fatalf("empty wildcard %s for %q", k, path)
			}
		}
	})
}
