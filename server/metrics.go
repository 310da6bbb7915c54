package server

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are per Server: a private registry, so several servers in one
// process (tests) never collide and nothing is global.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	uploads  prometheus.Counter
	deletes  prometheus.Counter
	ops      *opsMetrics
	// observers caches the series per observerKey (requestObservers).
	observers sync.Map
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chartd_http_requests_total", Help: "HTTP requests by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chartd_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"method", "route"}),
		uploads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chartd_chart_uploads_total", Help: "Chart versions saved through the ChartMuseum API.",
		}),
		deletes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chartd_chart_deletes_total", Help: "Chart versions deleted through the ChartMuseum API.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.uploads, m.deletes,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	m.ops = newOpsMetrics(m.reg)
	return m
}

// methodLabel bounds the method label: any method a client invents is
// "other", so requests cannot create series without limit.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// observe records one finished request. route is one of routeLabels.
func (m *metrics) observe(method, route string, code int, d time.Duration) {
	method = methodLabel(method)
	k := observerKey{method: method, route: route, code: code}
	o, ok := m.observers.Load(k)
	if !ok {
		o, _ = m.observers.LoadOrStore(k, requestObservers{
			count:   m.requests.WithLabelValues(method, strconv.Itoa(code)),
			latency: m.latency.WithLabelValues(method, route),
		})
	}
	ro := o.(requestObservers)
	ro.count.Inc()
	ro.latency.Observe(d.Seconds())
}

// observerKey is a request's labels. The method and the route are bounded
// sets, and handlers answer a fixed set of codes, so the cache of
// observers is as small as the series it points to.
type observerKey struct {
	method, route string
	code          int
}

// requestObservers are the series one request's labels pick: resolved
// once, as WithLabelValues hashes the labels and takes the vector's lock
// on every call.
type requestObservers struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusWriter remembers what the access log, the audit lines and the
// metrics report: the status, the bytes written, and the start of an
// error answer's body (its public message).
type statusWriter struct {
	http.ResponseWriter
	code    int
	bytes   int64
	errBody []byte
}

// maxErrBody bounds what is kept of an error answer: both protocols'
// envelopes with their message fit.
const maxErrBody = 1 << 10

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.code >= 400 && len(w.errBody) < maxErrBody {
		w.errBody = append(w.errBody, b[:min(len(b), maxErrBody-len(w.errBody))]...)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the connection's sendfile path for blob and chart
// downloads, which a plain wrapper would hide from io.Copy.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// status is the answered status; a handler that wrote nothing answered 200.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
