package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrapCountsBySurfaceAndCode(t *testing.T) {
	m := New()
	h := m.Wrap("bitweb", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	for _, p := range []string{"/info", "/info", "/missing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`walletgate_http_requests_total{code="200",surface="bitweb"} 2`,
		`walletgate_http_requests_total{code="404",surface="bitweb"} 1`,
		`walletgate_http_request_duration_seconds_count{surface="bitweb"} 3`,
		`walletgate_http_requests_in_flight 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestTwoRegistriesDoNotClash(t *testing.T) {
	a, b := New(), New()
	a.Wrap("x", http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), `surface="x"`) {
		t.Fatal("a request counted in one registry showed up in another")
	}
}
