package server

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/testutil/charttest"
)

// kept returns the tenants whose rendering the cache keeps, most recently
// used first, and checks the accounting: what is charged is what is kept.
func (c *indexCache) kept(t *testing.T) ([]string, int64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var repos []string
	var sum int64
	for e := c.lru.Front(); e != nil; e = e.Next() {
		ti := e.Value.(*tenantIndex)
		repos = append(repos, ti.repo)
		ti.mu.Lock()
		cur := ti.current.Load()
		if cur == nil {
			t.Errorf("tenant %q is in the LRU with nothing kept", ti.repo)
		} else if want := cur.size(); ti.size != want {
			t.Errorf("tenant %q charged %d for %d bytes", ti.repo, ti.size, want)
		}
		ti.mu.Unlock()
		sum += ti.size
	}
	if sum != c.used {
		t.Errorf("used %d, but the kept tenants add up to %d", c.used, sum)
	}
	if c.used > c.budget {
		t.Errorf("used %d over the budget %d", c.used, c.budget)
	}
	return repos, c.used
}

func (c *indexCache) setBudget(b int64) {
	c.mu.Lock()
	c.budget = b
	c.mu.Unlock()
}

// getIndex fetches a tenant's index and checks it lists the chart versions.
func getIndex(t *testing.T, ts *testServer, repo string, versions int) {
	t.Helper()
	r := ts.do(t, "GET", "/"+repo+"/index.yaml", nil, nil)
	if r.status != 200 {
		t.Fatalf("GET %s index: %d %s", repo, r.status, r.body)
	}
	if n := len(loadIndex(t, r.body).Entries["app"]); n != versions {
		t.Fatalf("%s index lists %d versions, want %d", repo, n, versions)
	}
}

// Over the budget, the least recently used tenant goes first; a read
// counts as a use.
func TestIndexCacheEvictsLeastRecentlyUsed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Depth = 1 })
	for _, repo := range []string{"ta", "tb", "tc"} {
		if r := ts.upload(t, "/api/"+repo+"/charts", charttest.Chart("app", "1.0.0", nil)); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	}
	c := ts.srv.index
	getIndex(t, ts, "ta", 1)
	_, one := c.kept(t)
	if one == 0 {
		t.Fatal("nothing kept after a GET")
	}
	// The three tenants' indexes are the same size: room for two.
	c.setBudget(2*one + one/2)
	steps := []struct {
		get  string
		kept []string
	}{
		{"tb", []string{"tb", "ta"}},
		{"ta", []string{"ta", "tb"}}, // a hit makes ta the most recent
		{"tc", []string{"tc", "ta"}}, // so tb goes
		{"tb", []string{"tb", "tc"}}, // and served again, rebuilt, ta goes
		{"tb", []string{"tb", "tc"}},
	}
	for i, st := range steps {
		getIndex(t, ts, st.get, 1)
		got, used := c.kept(t)
		if diff := cmp.Diff(st.kept, got); diff != "" {
			t.Errorf("step %d (GET %s): kept (-want +got):\n%s", i, st.get, diff)
		}
		// The generated timestamps differ in length by a few bytes.
		if used < 2*one-32 || used > 2*one+32 {
			t.Errorf("step %d: used %d, want about %d", i, used, 2*one)
		}
	}
	// A new version re-renders tc: its charge follows its new size (with
	// room for it to stay in memory).
	c.setBudget(10 * one)
	if r := ts.upload(t, "/api/tc/charts", charttest.Chart("app", "1.1.0", nil)); r.status != 201 {
		t.Fatalf("upload: %d", r.status)
	}
	getIndex(t, ts, "tc", 2)
	c.mu.Lock()
	tc := c.tenants["tc"]
	c.mu.Unlock()
	if got, _ := c.kept(t); len(got) == 0 || got[0] != "tc" || tc.size <= one+32 {
		t.Errorf("tc grew: kept %v, tc charged %d (one version: %d)", got, tc.size, one)
	}
}

// A rendering too large for the budget is served from its files and kept
// in memory only as its description: one tenant's huge index cannot push
// the others out, nor grow the process.
func TestIndexCacheBudget(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Depth = 1 })
	if r := ts.upload(t, "/api/small/charts", charttest.Chart("app", "1.0.0", nil)); r.status != 201 {
		t.Fatalf("upload: %d", r.status)
	}
	for i := range 30 {
		big := map[string]string{"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: app\nversion: 1.0.%d\ndescription: %s\n", i, randomText(200))}
		if r := ts.upload(t, "/api/huge/charts", charttest.Chart("app", fmt.Sprintf("1.0.%d", i), big)); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	}
	c := ts.srv.index
	getIndex(t, ts, "small", 1)
	_, small := c.kept(t)
	c.setBudget(4 * small) // room for small, not for 30 fat versions
	for range 3 {
		getIndex(t, ts, "huge", 30)
		got, used := c.kept(t)
		if !cmp.Equal(got, []string{"huge", "small"}) || used > small+2*tenantOverhead {
			t.Fatalf("after GET huge: kept %v, %d bytes; want huge's description beside small's %d", got, used, small)
		}
		c.mu.Lock()
		huge := c.tenants["huge"].current.Load()
		c.mu.Unlock()
		for i, d := range huge.docs {
			if d.mem != nil || d.path == "" {
				t.Errorf("huge %s: in memory %d bytes, file %q; want only its file", indexForms[i], len(d.mem), d.path)
			}
		}
	}
	getIndex(t, ts, "small", 1)
	c.setBudget(1)
	if r := ts.upload(t, "/api/small/charts", charttest.Chart("app", "1.1.0", nil)); r.status != 201 {
		t.Fatalf("upload: %d", r.status)
	}
	getIndex(t, ts, "small", 2)
	if got, used := c.kept(t); len(got) != 0 || used != 0 {
		t.Errorf("budget of 1 byte: kept %v, %d bytes", got, used)
	}
}

func TestIndexCacheSizeValidated(t *testing.T) {
	c := DefaultConfig()
	if c.IndexCacheSize != 256<<20 {
		t.Errorf("default index cache %d bytes, want 256 MiB", c.IndexCacheSize)
	}
	c = parsed(t, map[string]string{"CHARTD_INDEX_CACHE_SIZE": "1048576"})
	if c.IndexCacheSize != 1<<20 {
		t.Errorf("CHARTD_INDEX_CACHE_SIZE: %d", c.IndexCacheSize)
	}
	c.IndexCacheSize = 0
	if err := c.Validate(); err == nil {
		t.Error("a zero index cache accepted")
	}
}

// Under a budget that fits one tenant, concurrent GETs of several tenants
// evict each other constantly; every answer is still the tenant's own
// current index, and the accounting adds up afterwards.
func TestIndexCacheConcurrentChurn(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Depth = 1 })
	const tenants = 4
	for i := range tenants {
		for v := 0; v <= i; v++ {
			if r := ts.upload(t, fmt.Sprintf("/api/t%d/charts", i), charttest.Chart("app", fmt.Sprintf("1.0.%d", v), nil)); r.status != 201 {
				t.Fatalf("upload: %d", r.status)
			}
		}
	}
	c := ts.srv.index
	getIndex(t, ts, "t3", 4)
	_, biggest := c.kept(t)
	c.setBudget(biggest + biggest/2)
	var wg sync.WaitGroup
	errs := make(chan error, 8*24)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 24 {
				n := (g + i) % tenants
				res, err := http.Get(fmt.Sprintf("%s/t%d/index.yaml", ts.URL, n))
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				idx, lerr := index.Load(body)
				switch {
				case err != nil || res.StatusCode != 200:
					errs <- fmt.Errorf("t%d: %d %v", n, res.StatusCode, err)
				case lerr != nil:
					errs <- fmt.Errorf("t%d: %v", n, lerr)
				case len(idx.Entries["app"]) != n+1:
					errs <- fmt.Errorf("t%d lists %d versions, want %d", n, len(idx.Entries["app"]), n+1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.kept(t)
}
