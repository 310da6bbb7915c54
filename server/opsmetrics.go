package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// opsMetrics are what an operator watches beyond requests: the blob store's
// operations, garbage collection, and the index cache.
type opsMetrics struct {
	storageOps     *prometheus.CounterVec
	storageLatency *prometheus.HistogramVec
	gcRuns         *prometheus.CounterVec
	gcBytes        prometheus.Counter
	gcBlobs        prometheus.Counter
	indexHits      prometheus.Counter
	indexMisses    prometheus.Counter
}

func newOpsMetrics(reg prometheus.Registerer) *opsMetrics {
	m := &opsMetrics{
		storageOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chartd_storage_operations_total", Help: "Blob store operations by operation and result (ok, not_found, error).",
		}, []string{"op", "result"}),
		storageLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chartd_storage_operation_duration_seconds", Help: "Blob store operation latency (a fetch until the blob is open).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 4, 9),
		}, []string{"op"}),
		gcRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chartd_gc_runs_total", Help: "Garbage collection passes by result (ok, error).",
		}, []string{"result"}),
		gcBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chartd_gc_reclaimed_bytes_total", Help: "Bytes of blobs deleted by garbage collection.",
		}),
		gcBlobs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chartd_gc_deleted_blobs_total", Help: "Blobs deleted by garbage collection.",
		}),
		indexHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chartd_index_cache_hits_total", Help: "index.yaml requests answered from the cache.",
		}),
		indexMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chartd_index_cache_misses_total", Help: "index.yaml requests that rendered the index.",
		}),
	}
	reg.MustRegister(m.storageOps, m.storageLatency, m.gcRuns, m.gcBytes, m.gcBlobs, m.indexHits, m.indexMisses)
	return m
}

// storageOp records one blob store operation.
func (m *opsMetrics) storageOp(op string, start time.Time, err error) {
	result := "ok"
	switch {
	case errors.Is(err, storage.ErrNotFound):
		result = "not_found"
	case err != nil:
		result = "error"
	}
	m.storageOps.WithLabelValues(op, result).Inc()
	m.storageLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// gcRun records one garbage collection pass.
func (m *opsMetrics) gcRun(st sqldb.GCStats, err error) {
	if err != nil {
		m.gcRuns.WithLabelValues("error").Inc()
		return
	}
	m.gcRuns.WithLabelValues("ok").Inc()
	m.gcBytes.Add(float64(st.Bytes))
	m.gcBlobs.Add(float64(st.Blobs))
}

// meteredStore is the blob store with its operations counted. It embeds
// the store, so every other ability (upload parts, listing, sweeping,
// pinging) stays visible to type assertions.
type meteredStore struct {
	*storage.BlobStore
	m *opsMetrics
}

func (s meteredStore) Fetch(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := s.BlobStore.Fetch(ctx, d)
	s.m.storageOp("fetch", start, err)
	return rc, err
}

func (s meteredStore) FetchRange(ctx context.Context, d digest.Digest, offset, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := s.BlobStore.FetchRange(ctx, d, offset, length)
	s.m.storageOp("fetch", start, err)
	return rc, err
}

func (s meteredStore) Push(ctx context.Context, expected digest.Digest, r io.Reader) (storage.Descriptor, error) {
	start := time.Now()
	desc, err := s.BlobStore.Push(ctx, expected, r)
	s.m.storageOp("push", start, err)
	return desc, err
}

func (s meteredStore) Stat(ctx context.Context, d digest.Digest) (storage.Descriptor, error) {
	start := time.Now()
	desc, err := s.BlobStore.Stat(ctx, d)
	s.m.storageOp("stat", start, err)
	return desc, err
}

func (s meteredStore) Delete(ctx context.Context, d digest.Digest) error {
	start := time.Now()
	err := s.BlobStore.Delete(ctx, d)
	s.m.storageOp("delete", start, err)
	return err
}

// PutPart and ComposeParts are a chunked OCI upload's writes: each chunk,
// then the commit of the blob.
func (s meteredStore) PutPart(ctx context.Context, uploadID string, r io.Reader) (string, int64, error) {
	start := time.Now()
	part, n, err := s.BlobStore.PutPart(ctx, uploadID, r)
	s.m.storageOp("put_part", start, err)
	return part, n, err
}

func (s meteredStore) ComposeParts(ctx context.Context, uploadID string, parts []string, expected digest.Digest) (storage.Descriptor, error) {
	start := time.Now()
	desc, err := s.BlobStore.ComposeParts(ctx, uploadID, parts, expected)
	s.m.storageOp("compose", start, err)
	return desc, err
}

// storageStatser is the database's optional ability to sum what is stored
// against what it stands for.
type storageStatser interface {
	StorageStats(ctx context.Context) (sqldb.StorageStats, error)
}

// dedupCollector reports the deduplication figures, read from the database
// at scrape time. They are sums over every tenant, so they are only served
// on the private metrics listener.
type dedupCollector struct {
	db      storageStatser
	logical *prometheus.Desc
	stored  *prometheus.Desc
	ratio   *prometheus.Desc
}

func newDedupCollector(db storageStatser) *dedupCollector {
	return &dedupCollector{
		db:      db,
		logical: prometheus.NewDesc("chartd_storage_logical_bytes", "Bytes of every chart version and manifest, counted once per reference.", nil, nil),
		stored:  prometheus.NewDesc("chartd_storage_stored_bytes", "Bytes of the distinct blobs stored.", nil, nil),
		ratio:   prometheus.NewDesc("chartd_storage_dedup_ratio", "Logical bytes over stored bytes (1 when nothing is stored).", nil, nil),
	}
}

func (c *dedupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.logical
	ch <- c.stored
	ch <- c.ratio
}

// statsTimeout bounds the scrape's query: a slow database must not hang
// the scraper.
const statsTimeout = 5 * time.Second

func (c *dedupCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	st, err := c.db.StorageStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.ratio, err)
		return
	}
	ratio := 1.0
	if st.Stored > 0 {
		ratio = float64(st.Logical) / float64(st.Stored)
	}
	ch <- prometheus.MustNewConstMetric(c.logical, prometheus.GaugeValue, float64(st.Logical))
	ch <- prometheus.MustNewConstMetric(c.stored, prometheus.GaugeValue, float64(st.Stored))
	ch <- prometheus.MustNewConstMetric(c.ratio, prometheus.GaugeValue, ratio)
}

// privateMetricsHandler serves everything the public /metrics does plus
// the global figures: for --metrics-listen only.
func (s *Server) privateMetricsHandler() http.Handler {
	gs := prometheus.Gatherers{s.metrics.reg}
	if db, ok := s.meta.(storageStatser); ok {
		private := prometheus.NewRegistry()
		private.MustRegister(newDedupCollector(db))
		gs = append(gs, private)
	}
	return promhttp.HandlerFor(gs, promhttp.HandlerOpts{})
}

// collectGarbage runs one GC pass through the metered store and records it.
func (s *Server) collectGarbage(ctx context.Context, st *Stores) (sqldb.GCStats, error) {
	var del storage.Deleter = st.Blobs
	if d, ok := s.blobs.(storage.Deleter); ok {
		del = d
	}
	stats, err := st.DB.CollectGarbage(ctx, del, s.cfg.GCGrace)
	s.metrics.ops.gcRun(stats, err)
	return stats, err
}

// listenMetrics serves /metrics with the global figures on its own
// listener (--metrics-listen), meant to be reachable by the scraper only.
func (s *Server) listenMetrics(addr string) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.privateMetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: maxHeaderWait}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln, nil
}
