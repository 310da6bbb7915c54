package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/objstore"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// TestReplicasOnPostgres runs two chartd replicas on one PostgreSQL and one
// S3 bucket (MinIO): writes through either are read through the other at
// once, and concurrent uploads of one version across replicas give one 201.
// A chartd with an embedded database is refused on their store.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	s3 := objstore.StartMinIO(t)
	bucket := s3.URL(s3.Bucket(t))
	args := []string{"--database-url=" + dsn, "--storage-url=" + bucket, "--depth=1"}
	replica := func() *procs.Proc {
		return chartdWith(t, procs.ChartdOptions{Env: s3.Env(), DataDir: t.TempDir()}, args...)
	}
	a, b := replica(), replica()

	if code, body := httpDo(t, "POST", a.URL+"/api/t/charts", bytes.NewReader(charttest.Chart("shared", "1.0.0", nil)), nil); code != 201 {
		t.Fatalf("upload via A: %d %s", code, body)
	}
	// Read-your-writes across replicas: B's index already has it.
	if idx := getIndex(t, b.URL+"/t/index.yaml"); len(idx.Entries["shared"]) != 1 {
		t.Fatalf("B does not see A's upload: %+v", idx.Entries)
	}

	const n = 10
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			url := a.URL
			if i%2 == 1 {
				url = b.URL
			}
			tgz := charttest.Chart("contended", "2.0.0", map[string]string{"README.md": fmt.Sprint(i)})
			res, err := http.Post(url+"/api/t/charts", "application/octet-stream", bytes.NewReader(tgz))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		}(i)
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 409:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if created != 1 {
		t.Fatalf("codes %v: want exactly one 201 across replicas", codes)
	}

	// OCI through A, index and pull through B; delete through B, gone in A.
	h := newHelmEnv(t)
	pkg := filepath.Join(h.dir, "viaoci-0.1.0.tgz")
	if err := os.WriteFile(pkg, charttest.Chart("viaoci", "0.1.0", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	helm := peers.Path(t, "helm")
	h.run(t, helm, "push", pkg, "oci://"+hostOf(a.URL)+"/t", "--plain-http")
	if idx := getIndex(t, b.URL+"/t/index.yaml"); len(idx.Entries["viaoci"]) != 1 {
		t.Errorf("B's index lacks the OCI push to A: %+v", idx.Entries)
	}
	h.run(t, helm, "pull", "oci://"+hostOf(b.URL)+"/t/viaoci", "--version", "0.1.0", "--plain-http", "-d", t.TempDir())
	if code, body := httpDo(t, "DELETE", b.URL+"/api/t/charts/shared/1.0.0", nil, nil); code != 200 {
		t.Fatalf("delete via B: %d %s", code, body)
	}
	if idx := getIndex(t, a.URL+"/t/index.yaml"); len(idx.Entries["shared"]) != 0 {
		t.Errorf("A still lists a version deleted via B")
	}
	// Both replicas render the same content to the same bytes, so a
	// client revalidates its copy against either one.
	var tags [2]string
	for i, u := range []string{a.URL, b.URL} {
		res, err := http.Get(u + "/t/index.yaml")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		tags[i] = res.Header.Get("ETag")
	}
	if tags[0] == "" || tags[0] != tags[1] {
		t.Errorf("the replicas' ETags for one index differ: %q and %q", tags[0], tags[1])
	}
	req, _ := http.NewRequest("GET", b.URL+"/t/index.yaml", nil)
	req.Header.Set("If-None-Match", tags[0])
	if res, err := http.DefaultTransport.RoundTrip(req); err != nil {
		t.Error(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusNotModified {
		t.Errorf("B answered A's ETag with %d, want 304", res.StatusCode)
	}
	// The store's metadata is the shared database's: an embedded one
	// would serve a stale view of it.
	refused(t, procs.ChartdOptions{Env: s3.Env(), DataDir: t.TempDir()}, []string{"kept by a shared database", "--database-url"},
		"--storage-url="+bucket, "--depth=1")
	if strings.Contains(a.Logs()+b.Logs(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s\n%s", a.Logs(), b.Logs())
	}
}
