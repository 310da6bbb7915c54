package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/procs"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// searchSizes are the corpus sizes, in versions; every chart has
// searchVersionsPerChart of them, in searchTenants tenants, so a query for
// one chart finds as much at both sizes and only the haystack grows.
var searchSizes = []int{1_000, 100_000}

const (
	searchVersionsPerChart = 10
	searchTenants          = 10
	searchRequests         = 2000
	// maxSearchP99Ratio is the target: p99 at 100k versions at
	// most twice p99 at 1k.
	maxSearchP99Ratio = 2.0
)

// BenchmarkSearch measures chartd's search API at 1,000 and 100,000
// versions: p50 and p99 of /api/v1/search and of the Monocular search
// (`helm search hub`), each request for one chart chosen at random, by
// name or by keyword. The corpus is written straight into the metadata
// database (not uploaded: 100,000 uploads would take most of an hour), in
// a data directory chartd created, and chartd is then started on it.
func BenchmarkSearch(b *testing.B) {
	root, _ := filepath.Abs("../..")
	bin, err := procs.Build(root, "./cmd/chartd", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		p99 := map[int]time.Duration{}
		for _, n := range searchSizes {
			dir := b.TempDir()
			// chartd makes the store (and its identity) first.
			procs.StartChartd(b, bin, dir, "--gc-interval=0", "--depth=1").Stop()
			seed := time.Now()
			seedSearch(b, filepath.Join(dir, "chartd.db"), n)
			b.Logf("%d versions: seeded in %v", n, time.Since(seed).Round(time.Millisecond))
			cd := procs.StartChartd(b, bin, dir, "--gc-interval=0", "--depth=1")
			charts := n / searchVersionsPerChart
			c := &http.Client{}
			rng := mrand.New(mrand.NewPCG(1, uint64(n)))
			var api, hub []time.Duration
			for r := 0; r < searchRequests; r++ {
				k := rng.IntN(charts)
				if r%2 == 0 {
					api = append(api, timedSearch(b, c, fmt.Sprintf("%s/api/v1/search?q=svc%06d", cd.URL, k), fmt.Sprintf("svc%06d", k)))
				} else {
					hub = append(hub, timedSearch(b, c, fmt.Sprintf("%s/api/chartsvc/v1/charts/search?q=kw%06d", cd.URL, k), fmt.Sprintf("svc%06d", k)))
				}
			}
			// A search without words (`helm search hub` alone) lists the
			// first charts by name; it is reported, not part of the target.
			var list []time.Duration
			for r := 0; r < searchRequests/10; r++ {
				list = append(list, timedSearch(b, c, cd.URL+"/api/chartsvc/v1/charts/search?q=", "svc000000"))
			}
			cd.Stop()
			b.Logf("%d versions: search without words p50 %v p99 %v", n, quantile(list, 0.5), quantile(list, 0.99))
			all := append(append([]time.Duration(nil), api...), hub...)
			p99[n] = quantile(all, 0.99)
			b.Logf("%d versions: /api/v1/search p50 %v p99 %v; monocular p50 %v p99 %v; all p50 %v p99 %v",
				n, quantile(api, 0.5), quantile(api, 0.99), quantile(hub, 0.5), quantile(hub, 0.99), quantile(all, 0.5), p99[n])
			b.ReportMetric(float64(quantile(all, 0.5).Microseconds()), fmt.Sprintf("p50-us-%d", n))
			b.ReportMetric(float64(p99[n].Microseconds()), fmt.Sprintf("p99-us-%d", n))
		}
		ratio := p99[searchSizes[1]].Seconds() / p99[searchSizes[0]].Seconds()
		b.ReportMetric(ratio, "p99-100k/1k")
		b.Logf("p99(100k)/p99(1k) = %.2f (target at most %.1f)", ratio, maxSearchP99Ratio)
		if ratio > maxSearchP99Ratio {
			b.Errorf("search p99 at %d versions is %.2f× that at %d", searchSizes[1], ratio, searchSizes[0])
		}
	}
}

// timedSearch runs one search and checks that it found the chart.
func timedSearch(b *testing.B, c *http.Client, url, want string) time.Duration {
	b.Helper()
	start := time.Now()
	res, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
		b.Fatalf("%s: %d %.300s", url, res.StatusCode, body)
	}
	return d
}

// seedSearch writes the search corpus of n versions into the database at path.
func seedSearch(b *testing.B, path string, n int) {
	b.Helper()
	tenants := make([]string, searchTenants)
	for t := range tenants {
		tenants[t] = fmt.Sprintf("team%02d", t)
	}
	seedVersions(b, path, tenants, n, func(i int) seeded {
		k, v := i/searchVersionsPerChart, i%searchVersionsPerChart
		name, version := fmt.Sprintf("svc%06d", k), fmt.Sprintf("1.%d.0", v)
		meta := fmt.Appendf(nil, `{"apiVersion":"v2","name":%q,"version":%q,"description":"Service %d of the fleet","keywords":["kw%06d","fleet"],"annotations":{"tier":"t%d"}}`,
			name, version, k, k, k%7)
		return seeded{tenant: k % searchTenants, name: name, version: version, meta: meta}
	})
}

// seeded is one version seedVersions writes: the index of its tenant
// among seedVersions' tenant paths, name, version, Chart.yaml as JSON,
// and the archive's digest (a made-up one when zero).
type seeded struct {
	tenant        int
	name, version string
	meta          []byte
	tgz           digest.Digest
}

// seedVersions writes n versions, as version(i) describes them, into the
// database at path, in the given tenant paths, in batches of one
// transaction each. The blobs are named, not stored: the benchmarks read
// none, and the database is opened without a blob store to check them.
func seedVersions(b *testing.B, path string, tenantPaths []string, n int, version func(i int) seeded) {
	b.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var tenants []storage.Tenant
	for _, p := range tenantPaths {
		tn, err := db.EnsureTenant(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		tenants = append(tenants, tn)
	}
	const batch = 5000
	var cs []storage.Chart
	for i := 0; i < n; i++ {
		sv := version(i)
		name, meta := sv.name, sv.meta
		d := func(kind string) digest.Digest { return digest.FromString(fmt.Sprintf("%s %d", kind, i)) }
		if sv.tgz == "" {
			sv.tgz = d("tgz")
		}
		cv := storage.ChartVersion{TenantID: tenants[sv.tenant].ID, Name: name, Version: sv.version,
			Digest: sv.tgz, Size: 1000, Metadata: meta, Created: time.Now(),
			ManifestDigest: d("manifest"), ManifestSize: 500, ConfigDigest: d("config"), ConfigSize: int64(len(meta))}
		cs = append(cs, storage.Chart{Version: cv, Tag: sv.version, Manifest: storage.Manifest{Digest: cv.ManifestDigest, Size: cv.ManifestSize,
			MediaType: "application/vnd.oci.image.manifest.v1+json", ConfigDigest: cv.ConfigDigest,
			ConfigMediaType: "application/vnd.cncf.helm.config.v1+json", Blobs: []digest.Digest{cv.ConfigDigest, cv.Digest}}})
		if len(cs) == batch || i == n-1 {
			if err := db.PutCharts(ctx, cs, storage.PutOptions{Link: true}); err != nil {
				b.Fatal(err)
			}
			cs = cs[:0]
		}
	}
}
