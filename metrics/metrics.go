// Package metrics defines walletgate's Prometheus metrics in one place and
// the HTTP middleware that records them. Each server gets its own registry
// (no global default registry), so tests can run many servers in one process.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/walletgate/walletgate/server"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// New registers walletgate's collectors, plus the Go runtime and process
// collectors, on a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "walletgate", Name: "http_requests_total",
			Help: "HTTP requests served, by surface and status code.",
		}, []string{"surface", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "walletgate", Name: "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by surface.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"surface"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "walletgate", Name: "http_requests_in_flight",
			Help: "HTTP requests being served now (long polls and upgrades included).",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Wrap records requests to h under surface ("bitweb", "peerchannels", ...).
// The label is the surface, not the path: paths carry addresses and txids,
// and a label per address would grow without bound. Upgraded connections
// count as 101 when the upgrade happens.
func (m *Metrics) Wrap(surface string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inflight.Inc()
		defer m.inflight.Dec()
		sw := server.NewStatusWriter(w)
		start := time.Now()
		h.ServeHTTP(sw, r)
		m.duration.WithLabelValues(surface).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(surface, strconv.Itoa(sw.Status())).Inc()
	})
}
