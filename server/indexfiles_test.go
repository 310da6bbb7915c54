package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// indexForms fetches every encoding of a tenant's index: body and ETag
// per (path, Accept-Encoding).
func fetchForms(t *testing.T, ts *testServer, repo string) map[string]resp {
	t.Helper()
	out := map[string]resp{}
	prefix := "/"
	if repo != "" {
		prefix = "/" + repo + "/"
	}
	for _, file := range []string{"index.yaml", "index.json"} {
		for _, enc := range []string{"identity", "gzip"} {
			r := ts.do(t, "GET", prefix+file, nil, map[string]string{"Accept-Encoding": enc})
			if r.status != 200 {
				t.Fatalf("GET %s (%s): %d %s", file, enc, r.status, r.body)
			}
			if got := r.header.Get("Content-Length"); got != fmt.Sprint(len(r.body)) {
				t.Fatalf("GET %s (%s): Content-Length %s for %d bytes", file, enc, got, len(r.body))
			}
			out[file+" "+enc] = r
		}
	}
	// Each gzip form is its identity form, compressed.
	for _, file := range []string{"index.yaml", "index.json"} {
		zr, err := gzip.NewReader(bytes.NewReader(out[file+" gzip"].body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, out[file+" identity"].body) {
			t.Fatalf("%s: the gzip form does not inflate to the identity form (%v)", file, err)
		}
	}
	return out
}

func misses(ts *testServer) float64 {
	return testutil.ToFloat64(ts.srv.index.s.metrics.ops.indexMisses)
}

// renderings lists the renderings kept for a tenant: the .meta files.
func renderings(t *testing.T, ts *testServer, repo string) []string {
	t.Helper()
	dir, err := ts.srv.index.directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	metas, _ := filepath.Glob(filepath.Join(ts.srv.index.tenantDir(dir, repo), "*.meta"))
	return metas
}

// A restarted server serves the index it served before, byte for byte and
// with the same ETags, without rendering anything; the next upload renders
// only the new version, and the result is what rendering every version
// from scratch gives.
func TestIndexSurvivesRestart(t *testing.T) {
	for _, budget := range []int64{256 << 20, 1} { // in memory, and from files
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) {
			dir := t.TempDir()
			small := func(c *Config) { c.IndexCacheSize = budget }
			ts := newTestServerIn(t, dir, small, nil)
			for i := range 5 {
				if r := ts.upload(t, "/api/charts", charttest.Chart(fmt.Sprintf("app%d", i%2), fmt.Sprintf("1.%d.0", i), nil)); r.status != 201 {
					t.Fatalf("upload: %d %s", r.status, r.body)
				}
			}
			before := fetchForms(t, ts, "")
			if misses(ts) != 1 {
				t.Fatalf("first server rendered %v times, want 1", misses(ts))
			}
			ts.Close()
			ts.st.Close()

			ts = newTestServerIn(t, dir, small, nil)
			after := fetchForms(t, ts, "")
			for k, r := range before {
				if !bytes.Equal(after[k].body, r.body) || after[k].header.Get("ETag") != r.header.Get("ETag") {
					t.Errorf("%s changed across the restart (ETag %s → %s)", k, r.header.Get("ETag"), after[k].header.Get("ETag"))
				}
			}
			if m := misses(ts); m != 0 {
				t.Errorf("the restarted server rendered %v times, want 0", m)
			}

			if r := ts.upload(t, "/api/charts", charttest.Chart("app1", "2.0.0", nil)); r.status != 201 {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			reused := fetchForms(t, ts, "")
			if got := renderings(t, ts, ""); len(got) != 1 {
				t.Errorf("tenant keeps %d renderings after a rebuild, want 1: %v", len(got), got)
			}
			// From scratch: a server with an empty index directory over
			// a copy of the same data.
			ts.Close()
			ts.st.Close()
			if err := os.RemoveAll(ts.srv.cfg.indexDir()); err != nil {
				t.Fatal(err)
			}
			ts = newTestServerIn(t, dir, small, nil)
			fresh := fetchForms(t, ts, "")
			// generated is the newest version's upload time, so the bytes
			// are the same, not only the versions.
			for _, k := range []string{"index.yaml identity", "index.json identity"} {
				if !bytes.Equal(reused[k].body, fresh[k].body) {
					t.Errorf("%s: a rebuild reusing the kept versions differs from rendering them all:\n%s\n---\n%s", k, reused[k].body, fresh[k].body)
				}
			}
		})
	}
}

// Files of the index directory that go missing or are cut short are
// noticed, and the index rendered again: never served short.
func TestIndexFilesDamaged(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServerIn(t, dir, func(c *Config) { c.IndexCacheSize = 1 }, nil)
	for i := range 3 {
		if r := ts.upload(t, "/api/charts", charttest.Chart("app", fmt.Sprintf("1.%d.0", i), nil)); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	}
	want := fetchForms(t, ts, "")
	meta := renderings(t, ts, "")
	if len(meta) != 1 {
		t.Fatalf("renderings: %v", meta)
	}
	yamlFile := meta[0][:len(meta[0])-len(".meta")] + ".yaml"

	// Removed under a running server: the GET renders again.
	if err := os.Remove(yamlFile); err != nil {
		t.Fatal(err)
	}
	got := fetchForms(t, ts, "")
	if !bytes.Equal(loadIndexKeys(t, got["index.yaml identity"].body), loadIndexKeys(t, want["index.yaml identity"].body)) {
		t.Error("the index rendered again lists other versions")
	}

	// Cut short while stopped: the restarted server does not trust it.
	ts.Close()
	ts.st.Close()
	meta, _ = filepath.Glob(filepath.Join(filepath.Dir(meta[0]), "*.meta"))
	if len(meta) != 1 {
		t.Fatalf("renderings after the rebuild: %v", meta)
	}
	yamlFile = meta[0][:len(meta[0])-len(".meta")] + ".yaml"
	if err := os.Truncate(yamlFile, 10); err != nil {
		t.Fatal(err)
	}
	ts = newTestServerIn(t, dir, func(c *Config) { c.IndexCacheSize = 1 }, nil)
	got = fetchForms(t, ts, "")
	if n := len(got["index.yaml identity"].body); n < 100 {
		t.Fatalf("served %d bytes of a cut-short index", n)
	}
	if m := misses(ts); m != 1 {
		t.Errorf("rendered %v times after the damage, want 1", m)
	}
}

// loadIndexKeys is the index's entries, without its generated time.
func loadIndexKeys(t *testing.T, b []byte) []byte {
	t.Helper()
	idx := loadIndex(t, b)
	var lines []string
	for name, vs := range idx.Entries {
		for _, v := range vs {
			lines = append(lines, fmt.Sprintf("%s %s %s\n", name, v.Version, v.Digest))
		}
	}
	slices.Sort(lines)
	return []byte(strings.Join(lines, ""))
}

// An index directory that cannot be used (here a file stands where it
// should be) costs memory and a warning, never the index.
func TestIndexDirUnusable(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ts := newTestServerLog(t, func(c *Config) { c.IndexDir = blocker }, slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 3 {
		if r := ts.upload(t, "/api/charts", charttest.Chart("app", fmt.Sprintf("1.%d.0", i), nil)); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	}
	got := fetchForms(t, ts, "")
	if n := len(loadIndex(t, got["index.yaml identity"].body).Entries["app"]); n != 3 {
		t.Fatalf("index lists %d versions, want 3", n)
	}
	if !strings.Contains(logs.String(), "index directory unusable") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}
