package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage/sqldb"
)

// TestPostgresFrozenUnderLoad freezes PostgreSQL (SIGSTOP of the
// postmaster and every backend: connections stay open, nothing answers)
// while clients read, pull and upload through a replica, then lets it run on
// (SIGCONT). A stopped server refuses connections and is noticed at once;
// a frozen one is noticed only by chartd's own bound on each database
// call (--db-timeout). During the freeze every request is answered within
// that bound with 503 and Retry-After, never a hang or a 500; afterwards
// the replica serves again without a restart; every upload answered 201
// is readable, and an upload answered 503 is either wholly there (its
// commit was on its way when the server froze, and the server applied it
// on waking) or not at all.
func TestPostgresFrozenUnderLoad(t *testing.T) {
	const dbTimeout = time.Second
	// Two database bounds (a request may meet a second call, such as a
	// new connection, before it gives up) and room for a loaded machine;
	// an upload's write transaction has sqldb.WriteFactor bounds, since a
	// write may queue for its tenant's lock.
	const bound = 2*dbTimeout + 4*time.Second
	const writeBound = (sqldb.WriteFactor+1)*dbTimeout + 4*time.Second
	pg := pgtest.Start(t)
	c := newReplicated(t, pg.DSN())
	base := c.replica(t, fmt.Sprintf("--db-timeout=%v", dbTimeout)).URL
	upload(t, base+"/api/t/charts", charttest.Chart("load", "0.0.1", nil))

	client := &http.Client{Timeout: 3 * writeBound}
	var (
		frozen   atomic.Bool
		stop     atomic.Bool
		mu       sync.Mutex
		results  []outcome
		versions = map[string]int{} // upload's version -> its status
		seq      atomic.Int64
		wg       sync.WaitGroup
		inFreeze atomic.Int64
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				var req *http.Request
				op, version := "index", ""
				switch (w + i) % 3 {
				case 0:
					req, _ = http.NewRequest("GET", base+"/t/index.yaml", nil)
				case 1:
					op, version = "upload", fmt.Sprintf("1.0.%d", seq.Add(1))
					req, _ = http.NewRequest("POST", base+"/api/t/charts", bytes.NewReader(charttest.Chart("load", version, nil)))
				default:
					op = "oci pull"
					req, _ = http.NewRequest("GET", base+"/v2/t/load/manifests/0.0.1", nil)
					req.Header.Set("Accept", ociManifest)
				}
				o := sendDuring(client, req, op, "A", &frozen)
				mu.Lock()
				results = append(results, o)
				if version != "" {
					versions[version] = o.status
				}
				mu.Unlock()
				if o.outage {
					inFreeze.Add(1)
				}
			}
		})
	}
	waitFor(t, func() bool { return seq.Load() > 10 })
	pg.Freeze(t)
	frozen.Store(true)
	frozeAt := time.Now()
	// Without a bound on database calls every worker hangs here, and no
	// request is answered until the thaw.
	if !eventually(20*time.Second, func() bool { return inFreeze.Load() >= 12 }) {
		t.Fatalf("%d requests answered in 20 s of freeze: chartd waits on the frozen database", inFreeze.Load())
	}
	frozen.Store(false)
	pg.Thaw(t)
	thawed := time.Now()
	t.Logf("frozen for %v", thawed.Sub(frozeAt).Round(time.Millisecond))
	// Recovery on its own: the replica accepts an upload again.
	waitFor(t, func() bool {
		v := fmt.Sprintf("2.0.%d", seq.Add(1))
		res, err := client.Post(base+"/api/t/charts", "application/octet-stream", bytes.NewReader(charttest.Chart("load", v, nil)))
		if err != nil {
			return false
		}
		res.Body.Close()
		mu.Lock()
		versions[v] = res.StatusCode
		mu.Unlock()
		return res.StatusCode == 201
	})
	t.Logf("uploads accepted again %v after the thaw", time.Since(thawed).Round(time.Millisecond))
	stop.Store(true)
	wg.Wait()

	counts := map[string]int{}
	slowest := map[string]time.Duration{} // per operation, during the freeze
	var frozenTook []time.Duration
	for _, o := range results {
		counts[fmt.Sprintf("%s %d", o.op, o.status)]++
		switch {
		case o.err != nil:
			t.Errorf("%s: %v after %v", o.op, o.err, o.took)
		case o.took > bound && (o.op != "upload" || o.took > writeBound):
			t.Errorf("%s took %v (status %d): not bounded by --db-timeout", o.op, o.took, o.status)
		case o.status == 503:
			if o.retryAfter == "" {
				t.Errorf("%s: 503 without Retry-After", o.op)
			}
		case o.outage:
			t.Errorf("%s answered %d while PostgreSQL was frozen", o.op, o.status)
		case o.status == 200 && o.op != "upload", o.status == 201 && o.op == "upload":
		default:
			t.Errorf("%s: status %d", o.op, o.status)
		}
		if o.outage {
			frozenTook = append(frozenTook, o.took)
			slowest[o.op] = max(slowest[o.op], o.took)
		}
	}
	slices.Sort(frozenTook)
	t.Logf("%d requests (%v); %d sent and answered during the freeze, in %v to %v (slowest: %v)",
		len(results), counts, len(frozenTook), frozenTook[0].Round(time.Millisecond),
		frozenTook[len(frozenTook)-1].Round(time.Millisecond), slowest)

	// No lost and no half writes.
	have := map[string]bool{}
	for _, e := range getIndex(t, base+"/t/index.yaml").Entries["load"] {
		have[e.Version] = true
	}
	var landed []string
	for v, status := range versions {
		switch {
		case status == 201 && !have[v]:
			t.Errorf("load %s was answered 201 and is not in the index", v)
		case status != 201 && !have[v]:
			if code, _ := httpDo(t, "GET", base+"/t/charts/load-"+v+".tgz", nil, nil); code != 404 {
				t.Errorf("load %s (answered %d) is not in the index, and its archive answers %d", v, status, code)
			}
			continue
		case status != 201:
			landed = append(landed, v)
		}
		if got := download(t, base+"/t/charts/load-"+v+".tgz"); !bytes.Equal(got, charttest.Chart("load", v, nil)) {
			t.Errorf("load %s (answered %d) is listed, but its archive differs", v, status)
		}
		if code, b := httpDo(t, "GET", base+"/v2/t/load/manifests/"+v, nil, map[string]string{"Accept": ociManifest}); code != 200 {
			t.Errorf("load %s (answered %d) is listed, but its OCI manifest answers %d: %s", v, status, code, b)
		}
	}
	t.Logf("%d uploads; %d answered 503 were committed by the server on waking: %v", len(versions), len(landed), landed)
	// And below the API: no row that anything references lacks its object.
	checkBlobsAgree(t, c, false)
	if counts["upload 503"]+counts["index 503"] == 0 {
		t.Error("no request was refused during the freeze: the freeze was never seen")
	}
}

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// eventually polls cond until it holds or d has passed, and reports
// whether it held.
func eventually(d time.Duration, cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return false
		}
	}
	return true
}
