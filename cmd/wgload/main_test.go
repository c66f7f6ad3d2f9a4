package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:21223/info", true},
		{"http://localhost:1/x", true},
		{"http://[::1]:80/", true},
		{"http://127.8.9.10/", true},
		{"http://10.0.0.1/", false},
		{"http://192.168.1.1/", false},
		{"http://example.com/", false},
		{"ftp://127.0.0.1/", false},
		{"::", false},
	}
	for _, tt := range tests {
		if err := checkLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestRunCountsRequestsAndStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := run(ctx, []string{srv.URL + "/ok", srv.URL + "/bad"}, 4, 200, time.Second)
	if r.Requests != 200 {
		t.Fatalf("requests = %d, want exactly the 200 asked for", r.Requests)
	}
	if r.NonOK != 100 {
		t.Fatalf("non-2xx = %d, want 100 (every other request hits /bad)", r.NonOK)
	}
	if r.P50ms <= 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms {
		t.Fatalf("percentiles out of order: %+v", r)
	}
}
