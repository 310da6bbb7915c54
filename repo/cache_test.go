package repo_test

import (
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/repo"
)

// indexServer serves testdata/index.yaml behind basic auth, gzipped when the
// client accepts it, and records what it saw.
type indexServer struct {
	gzipped atomic.Bool
	authed  atomic.Bool
	hits    atomic.Int32
}

func (s *indexServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	u, p, ok := r.BasicAuth()
	if !ok || u != "user" || p != "pass" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.authed.Store(true)
	if r.URL.Path != "/charts/index.yaml" {
		http.NotFound(w, r)
		return
	}
	data, _ := os.ReadFile("testdata/index.yaml")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		s.gzipped.Store(true)
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(data)
		_ = zw.Close()
		return
	}
	_, _ = w.Write(data)
}

func TestCacheUpdateAndLoad(t *testing.T) {
	s := &indexServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := repo.Cache{Dir: filepath.Join(t.TempDir(), "repository")}
	e := &repo.Entry{Name: "r", URL: srv.URL + "/charts", Username: "user", Password: "pass"}
	idx, err := c.Update(context.Background(), e, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !s.gzipped.Load() {
		t.Error("the index was not requested with Accept-Encoding: gzip")
	}
	raw, _ := os.ReadFile("testdata/index.yaml")
	cached, err := os.ReadFile(c.IndexPath("r"))
	if err != nil || string(cached) != string(raw) {
		t.Fatalf("cached index differs from the served bytes (%v)", err)
	}
	names, _ := os.ReadFile(c.ChartsPath("r"))
	if string(names) != "alpine\nnginx\n" {
		t.Errorf("charts.txt = %q", names)
	}
	loaded, err := c.Load("r")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(idx, loaded); diff != "" {
		t.Errorf("Load differs from Update (-want +got):\n%s", diff)
	}

	// Another client (real Helm) rewrites the index: the parsed cache must
	// not be trusted any more.
	changed := strings.Replace(string(raw), "version: 1.0.0", "version: 1.0.1", 1)
	if err := os.WriteFile(c.IndexPath("r"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err = c.Load("r")
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.Entries["nginx"][0].Version; got != "1.0.1" {
		t.Errorf("after the index changed, Load returned nginx %s (stale parsed cache)", got)
	}
	// A corrupt parsed cache is ignored, not fatal.
	if err := os.WriteFile(c.ParsedPath("r"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load("r"); err != nil {
		t.Errorf("Load with a corrupt parsed cache: %v", err)
	}
	if err := c.Remove("r"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{c.IndexPath("r"), c.ChartsPath("r"), c.ParsedPath("r")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Remove", p)
		}
	}
}

func TestCacheUpdateErrors(t *testing.T) {
	s := &indexServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := repo.Cache{Dir: t.TempDir()}
	_, err := c.Update(context.Background(), &repo.Entry{Name: "r", URL: srv.URL + "/charts"}, time.Minute)
	var se *repo.StatusError
	if err == nil || !asStatus(err, &se) || se.Code != http.StatusUnauthorized {
		t.Fatalf("Update without credentials: %v", err)
	}
	if want := "failed to fetch " + srv.URL + "/charts/index.yaml : 401 Unauthorized"; err.Error() != want {
		t.Errorf("error text %q, want Helm's %q", err, want)
	}
}

func TestCredentialsStayOnTheRepositoryHost(t *testing.T) {
	var sawAuth atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			sawAuth.Store(true)
		}
	}))
	defer other.Close()
	for _, passAll := range []bool{false, true} {
		sawAuth.Store(false)
		g, err := repo.NewGetter(repo.HTTPOptions{URL: "http://repo.invalid/charts", Username: "u", Password: "p", PassCredentialsAll: passAll})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Get(context.Background(), other.URL+"/x.tgz"); err != nil {
			t.Fatal(err)
		}
		if sawAuth.Load() != passAll {
			t.Errorf("PassCredentialsAll=%v: credentials sent to another host = %v", passAll, sawAuth.Load())
		}
	}
}

// TestCacheRevalidatesWithETag: a second update of an unchanged index is a
// 304, and the cache stays usable; JSON is asked for and parsed.
func TestCacheRevalidatesWithETag(t *testing.T) {
	var full, notModified atomic.Int32
	body := `{"apiVersion":"v1","entries":{"demo":[{"name":"demo","version":"1.0.0","urls":["demo-1.0.0.tgz"]}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "application/json") || strings.Contains(r.Header.Get("Accept"), "yaml") {
			t.Errorf("Accept %q does not prefer JSON", r.Header.Get("Accept"))
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := repo.Cache{Dir: t.TempDir()}
	e := &repo.Entry{Name: "r", URL: srv.URL}
	for range 3 {
		idx, err := c.Update(context.Background(), e, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if cv, err := idx.Get("demo", ""); err != nil || cv.Version != "1.0.0" {
			t.Fatalf("Get = %v, %v", cv, err)
		}
	}
	if full.Load() != 1 || notModified.Load() != 2 {
		t.Errorf("%d full downloads, %d revalidations; want 1 and 2", full.Load(), notModified.Load())
	}
	// Once the index file changes under us (real Helm rewrote it), the
	// ETag no longer vouches for it.
	if err := os.WriteFile(c.IndexPath("r"), []byte(body+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(context.Background(), e, time.Minute); err != nil {
		t.Fatal(err)
	}
	if full.Load() != 2 {
		t.Errorf("stale cache was revalidated instead of downloaded (%d full downloads)", full.Load())
	}
}
