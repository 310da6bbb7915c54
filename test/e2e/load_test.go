package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/loadtest"
	"github.com/chartd/chartd/internal/testutil/pgtest"
)

// TestLoadShort is the CI-sized run of the load benchmark (test/bench
// BenchmarkLoadReplicas): two replicas on PostgreSQL and MinIO, 10 clients
// for 5 s mixing index.yaml GETs with and without an ETag, downloads, OCI
// pulls and pushes over both protocols. Target: no error, and every push
// answered 201 readable from both replicas afterwards.
func TestLoadShort(t *testing.T) {
	c := newReplicated(t, pgtest.DSN(t))
	reps := []string{c.replica(t).URL, c.replica(t).URL}
	ctx := context.Background()
	rep, err := loadtest.Run(ctx, loadtest.Config{Replicas: reps, Clients: 10, Duration: 5 * time.Second, Tenant: "t", Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Table())
	for i, e := range rep.Errors {
		if i == 20 {
			t.Errorf("... %d errors in all", len(rep.Errors))
			break
		}
		t.Error(e)
	}
	if len(rep.Written) == 0 || rep.Requests() < 100 {
		t.Fatalf("the run did almost nothing: %d requests, %d writes", rep.Requests(), len(rep.Written))
	}
	for _, e := range rep.Verify(ctx, reps, "t") {
		t.Error(e)
	}
}
