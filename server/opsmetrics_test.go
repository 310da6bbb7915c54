package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/internal/testutil/charttest"
)

// metricValue reads one sample of the text exposition: the line whose name
// and labels are exactly series. It fails the test when the series is absent.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in:\n%s", series, body)
	return 0
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := recordRequest(h, http.MethodGet, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestStorageAndCacheMetrics(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.EnableMetrics = true })
	tgz := charttest.Chart("m", "1.0.0", nil)
	if r := ts.upload(t, "/api/charts", tgz); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	for range 3 {
		if r := ts.do(t, http.MethodGet, "/index.yaml", nil, nil); r.status != http.StatusOK {
			t.Fatalf("index: %d", r.status)
		}
	}
	if r := ts.do(t, http.MethodGet, "/charts/m-1.0.0.tgz", nil, nil); r.status != http.StatusOK || !bytes.Equal(r.body, tgz) {
		t.Fatalf("download: %d", r.status)
	}
	ctx := context.Background()
	missing := digest.FromString("nothing")
	if _, err := ts.srv.blobs.Stat(ctx, missing); err == nil {
		t.Fatal("stat of a missing blob succeeded")
	}
	if _, err := ts.srv.blobs.Stat(ctx, digest.FromBytes(tgz)); err != nil {
		t.Fatal(err)
	}

	body := scrape(t, ts.srv)
	for series, min := range map[string]float64{
		`chartd_storage_operations_total{op="push",result="ok"}`:        1,
		`chartd_storage_operations_total{op="fetch",result="ok"}`:       1,
		`chartd_storage_operations_total{op="stat",result="ok"}`:        1,
		`chartd_storage_operations_total{op="stat",result="not_found"}`: 1,
		`chartd_storage_operation_duration_seconds_count{op="push"}`:    1,
		`chartd_index_cache_misses_total`:                               1,
		`chartd_index_cache_hits_total`:                                 2,
	} {
		if got := metricValue(t, body, series); got < min {
			t.Errorf("%s = %v, want >= %v", series, got, min)
		}
	}
	if got := metricValue(t, body, `chartd_index_cache_misses_total`); got != 1 {
		t.Errorf("index cache misses = %v after one upload and three GETs, want 1", got)
	}
}

func TestGCMetrics(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.EnableMetrics = true; c.GCGrace = 0 })
	tgz := charttest.Chart("gone", "1.0.0", nil)
	if r := ts.upload(t, "/api/charts", tgz); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := ts.do(t, http.MethodDelete, "/api/charts/gone/1.0.0", nil, nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	stats, err := ts.srv.collectGarbage(context.Background(), ts.st)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bytes < int64(len(tgz)) {
		t.Fatalf("GC reclaimed %d bytes, want at least the archive's %d", stats.Bytes, len(tgz))
	}
	body := scrape(t, ts.srv)
	for series, want := range map[string]float64{
		`chartd_gc_runs_total{result="ok"}`: 1,
		`chartd_gc_reclaimed_bytes_total`:   float64(stats.Bytes),
		`chartd_gc_deleted_blobs_total`:     float64(stats.Blobs),
	} {
		if got := metricValue(t, body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if got := metricValue(t, body, `chartd_storage_operations_total{op="delete",result="ok"}`); got != float64(stats.Blobs) {
		t.Errorf("delete operations = %v, want the %d blobs GC deleted", got, stats.Blobs)
	}
}

// The dedup figures sum over every tenant: the public /metrics never has
// them; with --metrics-listen, /metrics is served only there, with them.
func TestDedupMetricsOnlyOnPrivateListener(t *testing.T) {
	public := newTestServer(t, func(c *Config) { c.EnableMetrics = true; c.Depth = 1 })
	public.upload(t, "/api/a/charts", charttest.Chart("m", "1.0.0", nil))
	if strings.Contains(scrape(t, public.srv), "chartd_storage_dedup_ratio") {
		t.Error("the public /metrics shows the dedup ratio")
	}

	ts := newTestServer(t, func(c *Config) { c.EnableMetrics = true; c.Depth = 1; c.MetricsListen = "127.0.0.1:0" })
	tgz := charttest.Chart("m", "1.0.0", nil)
	for _, tenant := range []string{"a", "b"} {
		if r := ts.upload(t, "/api/"+tenant+"/charts", tgz); r.status != http.StatusCreated {
			t.Fatalf("upload to %s: %d %s", tenant, r.status, r.body)
		}
	}
	if rec := recordRequest(ts.srv, http.MethodGet, "/metrics"); rec.Code != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with --metrics-listen: %d, want 404", rec.Code)
	}
	srv, ln, err := ts.srv.listenMetrics(ts.srv.cfg.MetricsListen)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	// The OCI faces of the two uploads may differ (their creation time),
	// the archive is shared: the figures are the database's, and the
	// ratio is above 1. (sqldb's TestStorageStats checks the sums exactly.)
	want, err := ts.srv.meta.(storageStatser).StorageStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logical := metricValue(t, body, "chartd_storage_logical_bytes")
	stored := metricValue(t, body, "chartd_storage_stored_bytes")
	if logical != float64(want.Logical) || stored != float64(want.Stored) || stored < float64(len(tgz)) {
		t.Errorf("one chart in two tenants: logical %v, stored %v; want the database's %+v", logical, stored, want)
	}
	if got := metricValue(t, body, "chartd_storage_dedup_ratio"); got != logical/stored || got <= 1 {
		t.Errorf("dedup ratio = %v, want logical/stored = %v > 1", got, logical/stored)
	}
	metricValue(t, body, `chartd_storage_operations_total{op="push",result="ok"}`) // the rest is there too
}

// pushOCI pushes tgz as Helm does over the registry: config and chart
// layer as monolithic uploads, then the manifest under the version's tag.
func pushOCI(t *testing.T, ts *testServer, repo string, tgz []byte) {
	t.Helper()
	if r := putOCIManifest(t, ts, repo, pushOCIBlobs(t, ts, repo, tgz)); r.status != http.StatusCreated {
		t.Fatalf("manifest push: %d %s", r.status, r.body)
	}
}

// ociPush is a push between its blobs and its manifest.
type ociPush struct {
	md     *chart.Metadata
	config ocispec.Descriptor
	layer  ocispec.Descriptor
}

func pushOCIBlobs(t *testing.T, ts *testServer, repo string, tgz []byte) ociPush {
	t.Helper()
	c, err := chart.LoadArchive(context.Background(), bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := helmoci.Config(c.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	blob := func(mt string, b []byte) ocispec.Descriptor {
		d := digest.FromBytes(b)
		r := ts.do(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), bytes.NewReader(b),
			map[string]string{"Content-Type": "application/octet-stream"})
		if r.status != http.StatusCreated {
			t.Fatalf("blob upload: %d %s", r.status, r.body)
		}
		return ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(b))}
	}
	return ociPush{md: c.Metadata, config: blob(helmoci.ConfigMediaType, cfg), layer: blob(helmoci.ChartLayerMediaType, tgz)}
}

func putOCIManifest(t *testing.T, ts *testServer, repo string, p ociPush) resp {
	t.Helper()
	mb, err := json.Marshal(helmoci.Manifest(p.md, p.config, p.layer, nil, time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return ts.do(t, http.MethodPut, "/v2/"+repo+"/manifests/"+helmoci.Tag(p.md.Version), bytes.NewReader(mb),
		map[string]string{"Content-Type": ocispec.MediaTypeImageManifest})
}

// A chart pushed over OCI is one chart version with its OCI face: the
// dedup figures count it once (ratio 1), and a second tenant's copy of
// the same chart doubles the logical bytes only.
func TestDedupCountsAnOCIChartOnce(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Depth = 1 })
	tgz := charttest.Chart("o", "1.0.0", nil)
	pushOCI(t, ts, "a/o", tgz)
	st, err := ts.srv.meta.(storageStatser).StorageStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored <= int64(len(tgz)) || st.Logical != st.Stored {
		t.Errorf("one OCI chart: logical %d, stored %d; want equal, above the archive's %d", st.Logical, st.Stored, len(tgz))
	}
	pushOCI(t, ts, "b/o", tgz)
	st2, err := ts.srv.meta.(storageStatser).StorageStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st2.Stored != st.Stored || st2.Logical != 2*st.Logical {
		t.Errorf("the same chart in a second tenant: logical %d stored %d, want %d and %d", st2.Logical, st2.Stored, 2*st.Logical, st.Stored)
	}
}

// A chunked OCI upload counts its chunks and the commit of its blob.
func TestChunkedUploadMetrics(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.EnableMetrics = true })
	r := ts.do(t, http.MethodPost, "/v2/c/blobs/uploads/", nil, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("start upload: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	body := []byte("chunk one, chunk two")
	for _, chunk := range [][]byte{body[:10], body[10:]} {
		r = ts.do(t, http.MethodPatch, loc, bytes.NewReader(chunk), map[string]string{"Content-Type": "application/octet-stream"})
		if r.status != http.StatusAccepted {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		loc = r.header.Get("Location")
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	if r = ts.do(t, http.MethodPut, loc+sep+"digest="+digest.FromBytes(body).String(), nil, nil); r.status != http.StatusCreated {
		t.Fatalf("close upload: %d %s", r.status, r.body)
	}
	out := scrape(t, ts.srv)
	if got := metricValue(t, out, `chartd_storage_operations_total{op="put_part",result="ok"}`); got != 2 {
		t.Errorf("put_part = %v, want 2", got)
	}
	if got := metricValue(t, out, `chartd_storage_operations_total{op="compose",result="ok"}`); got != 1 {
		t.Errorf("compose = %v, want 1", got)
	}
}
