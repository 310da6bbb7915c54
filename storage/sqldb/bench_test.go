package sqldb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// BenchmarkPutChart inserts 5,000 versions of one chart into one
// tenant and reports how much slower the last 500 puts were than the first
// 500 (last500/first500, ideally about 1: nothing in a put scans the
// tenant's versions). Run with -benchtime 1x.
func BenchmarkPutChart(b *testing.B) {
	const total, window = 5000, 500
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			ctx := context.Background()
			var ratio float64
			for range b.N {
				b.StopTimer()
				// No blob Stater: this measures the database, and the rows'
				// blobs need not exist.
				db, err := sqldb.Open(ctx, k.dsn(b), testLogger(b))
				if err != nil {
					b.Fatal(err)
				}
				tn, err := db.EnsureTenant(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var first, last time.Duration
				for i := range total {
					v := fmt.Sprintf("1.%d.%d", i/100, i%100)
					d := func(kind string) digest.Digest { return digest.FromString(kind + v) }
					cv := storage.ChartVersion{
						TenantID: tn.ID, Name: "app", Version: v, Digest: d("tgz"), Size: 1000,
						Metadata:       fmt.Appendf(nil, `{"name":"app","version":%q}`, v),
						ManifestDigest: d("manifest"), ManifestSize: 500, ConfigDigest: d("config"), ConfigSize: 100,
					}
					start := time.Now()
					if err := db.PutChart(ctx, face(cv), storage.PutOptions{Link: true}); err != nil {
						b.Fatal(err)
					}
					el := time.Since(start)
					switch {
					case i < window:
						first += el
					case i >= total-window:
						last += el
					}
				}
				b.StopTimer()
				db.Close()
				ratio = float64(last) / float64(first)
				b.ReportMetric(float64(first)/window/1e3, "µs/put-first500")
				b.ReportMetric(float64(last)/window/1e3, "µs/put-last500")
			}
			b.ReportMetric(ratio, "last500/first500")
		})
	}
}
