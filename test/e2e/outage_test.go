package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/pgtest"
)

// failFast bounds how long any request may take while a store is down: a
// replica must answer 503 promptly, not wait on a dead server. The bound
// leaves room for the AWS SDK's standard retries (3 attempts, with up to 1
// and 2 s of jittered backoff) on each of the object-store calls a request
// makes before it gives up: an upload measured 5.1 s under a loaded CI
// run. The client's own timeout is longer still, so a hang shows as a slow
// answer or an error, never as a pass.
const failFast = 10 * time.Second

// outcome is one request of a load run.
type outcome struct {
	op, replica string
	status      int
	retryAfter  string
	took        time.Duration
	err         error
	outage      bool // sent while the store was down
}

// sendDuring sends req and records what came back. It counts as a request of
// the outage only if it was both sent and answered while down says so.
func sendDuring(client *http.Client, req *http.Request, op, replica string, down *atomic.Bool) outcome {
	o := outcome{op: op, replica: replica, outage: down.Load()}
	start := time.Now()
	res, err := client.Do(req)
	o.took, o.err = time.Since(start), err
	if err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		o.status, o.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
	}
	o.outage = o.outage && down.Load()
	return o
}

// TestPostgresRestartUnderLoad stops PostgreSQL while clients read and
// upload through two replicas, and starts it again. During the outage
// every request is answered fast: 503 with Retry-After (or the cached
// answer); afterwards both replicas serve and accept again on their own,
// and every upload that was answered 201 is in both replicas' index.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := pgtest.Start(t)
	c := newReplicated(t, pg.DSN())
	reps := map[string]string{"A": c.replica(t).URL, "B": c.replica(t).URL}
	upload(t, reps["A"]+"/api/t/charts", charttest.Chart("load", "0.0.1", nil))

	client := &http.Client{Timeout: 3 * failFast}
	var (
		down     atomic.Bool
		stop     atomic.Bool
		mu       sync.Mutex
		results  []outcome
		created  []string
		seq      atomic.Int64
		wg       sync.WaitGroup
		inOutage atomic.Int64
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				name := []string{"A", "B"}[(w+i)%2]
				base := reps[name]
				var req *http.Request
				op, version := "index", ""
				if i%2 == 0 {
					req, _ = http.NewRequest("GET", base+"/t/index.yaml", nil)
				} else {
					op, version = "upload", fmt.Sprintf("1.0.%d", seq.Add(1))
					req, _ = http.NewRequest("POST", base+"/api/t/charts", bytes.NewReader(charttest.Chart("load", version, nil)))
				}
				o := sendDuring(client, req, op, name, &down)
				mu.Lock()
				results = append(results, o)
				if o.status == 201 {
					created = append(created, version)
				}
				mu.Unlock()
				if o.outage {
					inOutage.Add(1)
				}
			}
		}()
	}
	// Some traffic before, during and after the outage.
	waitFor(t, func() bool { return seq.Load() > 10 })
	pg.Stop(t)
	down.Store(true)
	waitFor(t, func() bool { return inOutage.Load() >= 16 })
	down.Store(false)
	pg.Restart(t)
	restarted := time.Now()
	// Recovery on their own: each replica accepts an upload again.
	for name, base := range reps {
		waitFor(t, func() bool {
			res, err := client.Post(base+"/api/t/charts", "application/octet-stream",
				bytes.NewReader(charttest.Chart("load", fmt.Sprintf("2.0.%d", seq.Add(1)), nil)))
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == 201 || res.StatusCode == 409
		})
		t.Logf("replica %s accepts uploads %v after PostgreSQL restarted", name, time.Since(restarted).Round(time.Millisecond))
	}
	stop.Store(true)
	wg.Wait()

	var outage, unavailable int
	for _, o := range results {
		switch {
		case o.err != nil:
			t.Errorf("%s via %s: %v after %v", o.op, o.replica, o.err, o.took)
		case o.took > failFast:
			t.Errorf("%s via %s took %v (status %d): not failing fast", o.op, o.replica, o.took, o.status)
		case o.status == 503:
			unavailable++
			if o.retryAfter == "" {
				t.Errorf("%s via %s: 503 without Retry-After", o.op, o.replica)
			}
		case o.status == 200 && o.op == "index", o.status == 201 && o.op == "upload":
		default:
			t.Errorf("%s via %s: status %d (outage %t)", o.op, o.replica, o.status, o.outage)
		}
		if o.outage {
			outage++
		}
	}
	t.Logf("%d requests, %d during the outage, %d answered 503", len(results), outage, unavailable)
	if unavailable == 0 {
		t.Error("no request was refused during the outage: the outage was never seen")
	}
	// No lost writes: every 201 is in both indexes.
	for name, base := range reps {
		have := map[string]bool{}
		for _, e := range getIndex(t, base+"/t/index.yaml").Entries["load"] {
			have[e.Version] = true
		}
		for _, v := range created {
			if !have[v] {
				t.Errorf("replica %s lacks load %s, which was answered 201", name, v)
			}
		}
	}
}

// TestObjectStorageOutage kills MinIO under a running replica: uploads fail
// at once and clearly (503 with Retry-After), /ready says the storage is
// unreachable, and the index.yaml the replica has cached keeps being
// served (and revalidated). When MinIO is back, uploads succeed again.
func TestObjectStorageOutage(t *testing.T) {
	c := newReplicated(t, pgtest.DSN(t))
	a := c.replica(t)
	upload(t, a.URL+"/api/t/charts", charttest.Chart("kept", "1.0.0", nil))
	res, err := http.Get(a.URL + "/t/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cached, _ := io.ReadAll(res.Body)
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" {
		t.Fatalf("index before the outage: %d, ETag %q", res.StatusCode, etag)
	}

	c.s3.Kill()
	client := &http.Client{Timeout: 3 * failFast}
	timed := func(method, url string, body []byte, hdr map[string]string) (*http.Response, []byte, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s during the outage: %v", method, url, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, b, time.Since(start)
	}
	for _, up := range []struct{ name, url string }{
		{"ChartMuseum upload", a.URL + "/api/t/charts"},
		{"OCI blob push", a.URL + "/v2/t/kept/blobs/uploads/?digest=" + digest.FromBytes(charttest.Chart("kept", "2.0.0", nil)).String()},
	} {
		res, body, took := timed("POST", up.url, charttest.Chart("kept", "2.0.0", nil), map[string]string{"Content-Type": "application/octet-stream"})
		if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || took > failFast {
			t.Errorf("%s with the bucket down: %d (Retry-After %q) after %v: %s; want a fast 503 with Retry-After",
				up.name, res.StatusCode, res.Header.Get("Retry-After"), took, body)
		}
	}
	if res, body, _ := timed("GET", a.URL+"/ready", nil, nil); res.StatusCode != 503 || !bytes.Contains(body, []byte(`"storage":"unreachable"`)) {
		t.Errorf("/ready with the bucket down: %d %s", res.StatusCode, body)
	}
	if res, body, took := timed("GET", a.URL+"/t/index.yaml", nil, nil); res.StatusCode != 200 || !bytes.Equal(body, cached) {
		t.Errorf("cached index.yaml with the bucket down: %d after %v, same bytes %t", res.StatusCode, took, bytes.Equal(body, cached))
	}
	if res, _, _ := timed("GET", a.URL+"/t/index.yaml", nil, map[string]string{"If-None-Match": etag}); res.StatusCode != 304 {
		t.Errorf("revalidation with the bucket down: %d, want 304", res.StatusCode)
	}
	if res, body, took := timed("GET", a.URL+"/t/charts/kept-1.0.0.tgz", nil, nil); res.StatusCode != 503 || took > failFast {
		t.Errorf("chart download with the bucket down: %d after %v: %s; want a fast 503", res.StatusCode, took, body)
	}

	c.s3.Restart(t)
	waitFor(t, func() bool {
		res, err := client.Get(a.URL + "/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	upload(t, a.URL+"/api/t/charts", charttest.Chart("kept", "2.0.0", nil))
	if got := download(t, a.URL+"/t/charts/kept-1.0.0.tgz"); !bytes.Equal(got, charttest.Chart("kept", "1.0.0", nil)) {
		t.Error("the chart stored before the outage changed")
	}
}
