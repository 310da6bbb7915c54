package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/loadtest"
	"github.com/chartd/chartd/internal/testutil/objstore"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// loadBounds are the load run's caps: 50 clients for 60 s (the issue's),
// or CHARTD_LOAD_CLIENTS and CHARTD_LOAD_DURATION (a Go duration) for a
// shorter look.
func loadBounds() (int, time.Duration) {
	clients, dur := 50, 60*time.Second
	if v, err := strconv.Atoi(os.Getenv("CHARTD_LOAD_CLIENTS")); err == nil && v >= 1 {
		clients = v
	}
	if v, err := time.ParseDuration(os.Getenv("CHARTD_LOAD_DURATION")); err == nil && v > 0 {
		dur = v
	}
	return clients, dur
}

// BenchmarkLoadReplicas runs the bounded mixed load (package loadtest)
// against two replicas on one PostgreSQL and one MinIO bucket, then the
// same load against one replica, and reports p50/p99 per operation, the
// throughput of each run and their ratio. Target: 0 errors, and every push
// answered 201 readable from both replicas at the end (0 lost writes).
func BenchmarkLoadReplicas(b *testing.B) {
	root, _ := filepath.Abs("../..")
	bin, err := procs.Build(root, "./cmd/chartd", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	clients, dur := loadBounds()
	for i := 0; i < b.N; i++ {
		pg := pgtest.Start(b)
		s3 := objstore.StartMinIO(b)
		bucket := s3.URL(s3.Bucket(b))
		replica := func() string {
			return procs.StartChartdWith(b, bin, procs.ChartdOptions{Env: s3.Env(), DataDir: b.TempDir()},
				"--database-url="+pg.DSN(), "--storage-url="+bucket, "--depth=1").URL
		}
		reps := []string{replica(), replica()}
		ctx := context.Background()
		run := func(label, tenant string, on []string) *loadtest.Report {
			rep, err := loadtest.Run(ctx, loadtest.Config{Replicas: on, Clients: clients, Duration: dur, Tenant: tenant, Seed: 10})
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s, %d clients:\n%s", label, clients, rep.Table())
			for j, e := range rep.Errors {
				if j == 20 {
					b.Errorf("... %d errors in all", len(rep.Errors))
					break
				}
				b.Error(e)
			}
			// Every write is checked on both replicas, whichever took it.
			lost := rep.Verify(ctx, reps, tenant)
			for _, e := range lost {
				b.Error(e)
			}
			results(b).add("load", label, map[string]any{
				"clients": clients, "seconds": dur.Seconds(), "requests": rep.Requests(), "rps": rep.Throughput(),
				"errors": len(rep.Errors), "writes": len(rep.Written), "lost_writes": len(lost), "latency": latencies(rep),
			})
			return rep
		}
		two := run("2 replicas", "two", reps)
		one := run("1 replica", "one", reps[:1])
		ratio := two.Throughput() / one.Throughput()
		b.Logf("throughput: 2 replicas %.0f req/s, 1 replica %.0f req/s: ratio %.2f (on %d shared cores)",
			two.Throughput(), one.Throughput(), ratio, numCPU())
		b.ReportMetric(two.Throughput(), "req/s-2-replicas")
		b.ReportMetric(one.Throughput(), "req/s-1-replica")
		b.ReportMetric(ratio, "throughput-2-vs-1")
		b.ReportMetric(float64(len(two.Errors)+len(one.Errors)), "errors")
		results(b).ratio("load: throughput 2 replicas / 1 replica", ratio, 0, "")
	}
}

// latencies is p50/p99 per operation in milliseconds.
func latencies(r *loadtest.Report) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for op := range r.Latencies {
		out[op] = map[string]float64{
			"p50_ms": float64(r.Quantile(op, 0.5).Microseconds()) / 1000,
			"p99_ms": float64(r.Quantile(op, 0.99).Microseconds()) / 1000,
			"count":  float64(len(r.Latencies[op])),
		}
	}
	return out
}
