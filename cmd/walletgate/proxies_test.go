package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestProxiesAreWired starts the real process with the headers and indexer
// APIs exposed but their upstreams down: the routes exist and answer 503 (as
// the reference server does), the endpoints document lists them, and the
// same routes are 404 on a process that does not expose them.
func TestProxiesAreWired(t *testing.T) {
	bin := buildBinary(t)
	down := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	on := startProc(t, bin, t.TempDir(), freePort(t),
		"EXPOSE_HEADER_SV_APIS=1", "HEADER_SV_URL="+down,
		"EXPOSE_INDEXER_APIS=1", "INDEXER_URL="+down, fmt.Sprintf("INTERNAL_PORT=%d", freePort(t)))
	off := startProc(t, bin, t.TempDir(), freePort(t))

	tests := []struct {
		method, path   string
		onCode, offCod int
	}{
		{"GET", "/api/v1/headers/tips", 503, 404},
		{"GET", "/api/v1/headers/by-height?height=0", 503, 404},
		{"GET", "/api/v1/transaction/" + strings.Repeat("ab", 32), 503, 404},
	}
	for _, tt := range tests {
		if code, body := do(t, tt.method, on.base+tt.path, "", "", nil); code != tt.onCode {
			t.Errorf("exposed %s %s = %d %s, want %d", tt.method, tt.path, code, body, tt.onCode)
		}
		if code, _ := do(t, tt.method, off.base+tt.path, "", "", nil); code != tt.offCod {
			t.Errorf("not exposed %s %s = %d, want %d", tt.method, tt.path, code, tt.offCod)
		}
	}
	_, body := do(t, "GET", on.base+"/api/v1/endpoints", "", "", nil)
	for _, want := range []string{"bsvapi.headers", "bsvapi.transaction", "bsvapi.channel"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("endpoints lack %s: %s", want, body)
		}
	}
	_, body = do(t, "GET", off.base+"/api/v1/endpoints", "", "", nil)
	if strings.Contains(string(body), "bsvapi.headers") {
		t.Errorf("endpoints list headers although they are not exposed: %s", body)
	}
}
