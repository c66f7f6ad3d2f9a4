package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestNotifyHookOnlyFromThisHost(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		header string
		want   int
	}{
		{"loopback v4", "127.0.0.1:5000", "", 204},
		{"loopback v6", "[::1]:5000", "", 204},
		{"another host", "192.0.2.7:5000", "", 403},
		{"through a proxy on this host", "127.0.0.1:5000", "X-Forwarded-For", 403},
		{"through nginx's X-Real-IP", "127.0.0.1:5000", "X-Real-IP", 403},
		{"RFC 7239 Forwarded", "127.0.0.1:5000", "Forwarded", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := notifyHook(func() { called = true })
			r := httptest.NewRequest("POST", "/v1/btc/notify", nil)
			r.RemoteAddr = tt.remote
			if tt.header != "" {
				r.Header.Set(tt.header, "198.51.100.1")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want || called != (tt.want == 204) {
				t.Fatalf("status %d, notified %v; want %d", w.Code, called, tt.want)
			}
		})
	}
}

func TestSplitPaths(t *testing.T) {
	tests := []struct {
		path, wantTo, wantPath string
		shared                 bool
	}{
		{"//info", "mux", "/info", true},
		{"/v1//btc///balance/x", "mux", "/v1/btc/balance/x", true},
		{"/info", "mux", "/info", true},
		{"/", "pc", "/", true},
		{"/api/v1/channel//manage", "pc", "/api/v1/channel//manage", true},
		{"/", "mux", "/", false},
		{"/api/v1/endpoints", "mux", "/api/v1/endpoints", false},
	}
	for _, tt := range tests {
		var to, path string
		record := func(name string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { to, path = name, r.URL.Path })
		}
		var pc http.Handler
		if tt.shared {
			pc = record("pc")
		}
		splitPaths(pc, record("mux")).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.path, nil))
		if to != tt.wantTo || path != tt.wantPath {
			t.Errorf("%s (peer channels shared %v) went to %s as %s, want %s as %s", tt.path, tt.shared, to, path, tt.wantTo, tt.wantPath)
		}
	}
}
