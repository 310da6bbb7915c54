package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/storage"
)

// testServer is chartd over real stores (SQLite and a file bucket) in a temp dir.
type testServer struct {
	*httptest.Server
	dir string
	srv *Server
	st  *Stores
}

func newTestServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	return newTestServerLog(t, mutate, nil)
}

// newTestServerLog is newTestServer with the server logging to log.
func newTestServerLog(t *testing.T, mutate func(*Config), log *slog.Logger) *testServer {
	t.Helper()
	return newTestServerIn(t, t.TempDir(), mutate, log)
}

// newTestServerIn is a test server over the data directory dir, which may
// hold an earlier server's data: a restart.
func newTestServerIn(t *testing.T, dir string, mutate func(*Config), log *slog.Logger) *testServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.GCInterval = 0
	if mutate != nil {
		mutate(&cfg)
	}
	ctx := context.Background()
	st, err := OpenStores(ctx, &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, _, err := NewWithStores(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	// The http.Server chartd runs, with the configured timeouts.
	hs := httptest.NewUnstartedServer(s)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hs.Config = newHTTPServer(&cfg, s, log)
	hs.Start()
	t.Cleanup(hs.Close)
	return &testServer{Server: hs, dir: dir, srv: s, st: st}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (ts *testServer) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) resp {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// A bare transport: no transparent gzip, so tests see what was sent.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func (ts *testServer) upload(t *testing.T, path string, tgz []byte) resp {
	return ts.do(t, http.MethodPost, path, bytes.NewReader(tgz), nil)
}

func multipartBody(t *testing.T, fields map[string][]byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, data := range fields {
		w, err := mw.CreateFormFile(name, name+".bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// storedFiles counts committed blob objects: what "stores nothing" is measured by.
func (ts *testServer) storedFiles(t *testing.T) int {
	t.Helper()
	n := 0
	root := filepath.Join(ts.dir, "storage", "blobs")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		// Staging and spent names beside a blob are the store's own
		// bookkeeping, not blobs.
		rel, _ := filepath.Rel(filepath.Dir(root), p)
		if _, blob := storage.DigestOfKey(filepath.ToSlash(rel)); blob && !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func loadIndex(t *testing.T, b []byte) *index.File {
	t.Helper()
	f, err := index.Load(b)
	if err != nil {
		t.Fatalf("index does not load: %v\n%s", err, b)
	}
	return f
}

func TestUploadThenIndexReadYourWrites(t *testing.T) {
	ts := newTestServer(t, nil)
	tgz := charttest.Chart("alpha", "1.2.3", nil)
	if r := ts.upload(t, "/api/charts", tgz); r.status != 201 || string(r.body) != `{"saved":true}` {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/index.yaml", nil, nil)
	if r.status != 200 {
		t.Fatalf("index: %d", r.status)
	}
	idx := loadIndex(t, r.body)
	vs := idx.Entries["alpha"]
	if len(vs) != 1 {
		t.Fatalf("entries: %+v", idx.Entries)
	}
	sum := sha256.Sum256(tgz)
	if vs[0].Digest != hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s, want sha256 of the tgz", vs[0].Digest)
	}
	if vs[0].URLs[0] != "charts/alpha-1.2.3.tgz" {
		t.Errorf("urls %v", vs[0].URLs)
	}
	dl := ts.do(t, "GET", "/charts/alpha-1.2.3.tgz", nil, nil)
	if dl.status != 200 || !bytes.Equal(dl.body, tgz) {
		t.Fatalf("download: %d, %d bytes", dl.status, len(dl.body))
	}
	if again := ts.upload(t, "/api/charts", tgz); again.status != 409 || !strings.Contains(string(again.body), "file already exists") {
		t.Errorf("re-upload: %d %s", again.status, again.body)
	}
}

func TestConcurrentUploadsOneWinner(t *testing.T) {
	ts := newTestServer(t, nil)
	const n = 12
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Different bytes for the same version: a real race, not dedup.
			tgz := charttest.Chart("race", "1.0.0", map[string]string{"README.md": fmt.Sprint(i)})
			req, _ := http.NewRequest("POST", ts.URL+"/api/charts", bytes.NewReader(tgz))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		}(i)
	}
	wg.Wait()
	created, conflict := 0, 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 409:
			conflict++
		}
	}
	if created != 1 || conflict != n-1 {
		t.Fatalf("codes %v: want exactly one 201 and %d 409", codes, n-1)
	}
}

func TestBadInputStoresNothing(t *testing.T) {
	// 150 MiB of zeros compress to a few hundred KiB: far under the upload
	// limit, far over the decompressed cap.
	bomb := func() []byte {
		return charttest.Archive(charttest.Entry{Name: "b/Chart.yaml", Body: "apiVersion: v2\nname: b\nversion: 1.0.0\n"},
			charttest.Entry{Name: "b/zeros", Body: strings.Repeat("\x00", 150<<20)})
	}
	tests := []struct {
		name   string
		body   []byte
		ctype  string
		status int
		want   string
	}{
		{"not gzip", []byte("hello, world"), "", 400, ""},
		{"gzip but not tar", gzipOf([]byte("plain text, not a tarball at all")), "", 400, ""},
		{"no Chart.yaml", charttest.Archive(charttest.Entry{Name: "x/values.yaml", Body: "a: 1\n"}), "", 400, "Chart.yaml"},
		{"invalid Chart.yaml", charttest.Archive(charttest.Entry{Name: "x/Chart.yaml", Body: "name: [\n"}), "", 400, ""},
		{"no version", charttest.Archive(charttest.Entry{Name: "x/Chart.yaml", Body: "apiVersion: v2\nname: x\n"}), "", 400, "version"},
		{"bad semver", charttest.Chart("x", "one.two", nil), "", 400, ""},
		{"absolute path", charttest.Archive(charttest.Entry{Name: "/etc/Chart.yaml", Body: "apiVersion: v2\nname: x\nversion: 1.0.0\n"}), "", 400, ""},
		{"dot dot", charttest.Archive(charttest.Entry{Name: "x/Chart.yaml", Body: "apiVersion: v2\nname: x\nversion: 1.0.0\n"},
			charttest.Entry{Name: "x/../../evil", Body: "pwned"}), "", 400, ""},
		{"symlink", charttest.Archive(charttest.Entry{Name: "x/Chart.yaml", Body: "apiVersion: v2\nname: x\nversion: 1.0.0\n"},
			charttest.Entry{Name: "x/link", Typeflag: '2', Linkname: "/etc/passwd"}), "", 400, ""},
		{"decompression bomb", bomb(), "", 413, ""},
	}
	ts := newTestServer(t, func(c *Config) { c.MaxUploadSize = 64 << 20 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.upload(t, "/api/charts", tt.body)
			if tt.status != 0 && r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if r.status < 400 || r.status >= 500 {
				t.Fatalf("status %d: bad input must be a 4xx: %s", r.status, r.body)
			}
			var e map[string]string
			if err := json.Unmarshal(r.body, &e); err != nil || e["error"] == "" {
				t.Fatalf("want a JSON error body, got %s", r.body)
			}
			if tt.want != "" && !strings.Contains(e["error"], tt.want) {
				t.Errorf("error %q does not mention %q", e["error"], tt.want)
			}
			if n := ts.storedFiles(t); n != 0 {
				t.Errorf("%d blobs stored after a rejected upload", n)
			}
		})
	}
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func TestUploadTooLarge(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxUploadSize = 1024 })
	tgz := charttest.Chart("big", "1.0.0", map[string]string{"README.md": randomText(8192)})
	r := ts.upload(t, "/api/charts", tgz)
	if r.status != 413 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if n := ts.storedFiles(t); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
}

func randomText(n int) string {
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(byte('a' + x%26))
	}
	return b.String()
}

func TestMultipartFields(t *testing.T) {
	ts := newTestServer(t, nil)
	body, ct := multipartBody(t, map[string][]byte{"wrong": charttest.Chart("m", "1.0.0", nil)})
	r := ts.do(t, "POST", "/api/charts", body, map[string]string{"Content-Type": ct})
	if r.status != 400 || !strings.Contains(string(r.body), "no package or provenance file found in form fields chart and prov") {
		t.Fatalf("wrong field: %d %s", r.status, r.body)
	}
	body, ct = multipartBody(t, map[string][]byte{"chart": charttest.Chart("m", "1.0.0", nil)})
	if r := ts.do(t, "POST", "/api/charts", body, map[string]string{"Content-Type": ct}); r.status != 201 {
		t.Fatalf("multipart upload: %d %s", r.status, r.body)
	}
	body, ct = multipartBody(t, map[string][]byte{"chart": charttest.Chart("m", "1.0.0", nil)})
	if r := ts.do(t, "POST", "/api/charts", body, map[string]string{"Content-Type": ct}); r.status != 409 || !strings.Contains(string(r.body), "chart already exists") {
		t.Fatalf("multipart conflict: %d %s", r.status, r.body)
	}
}

func TestProvWithoutChart(t *testing.T) {
	ts := newTestServer(t, nil)
	prov := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\napiVersion: v2\nname: ghost\nversion: 1.0.0\n\n...\nfiles:\n  ghost-1.0.0.tgz: sha256:00\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJk\n=abcd\n-----END PGP SIGNATURE-----\n"
	r := ts.do(t, "POST", "/api/prov", strings.NewReader(prov), nil)
	if r.status < 400 || r.status >= 500 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if n := ts.storedFiles(t); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
}

func TestDescribeListDelete(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Depth = 1 })
	for _, v := range []string{"1.0.0", "1.10.0", "1.2.0", "2.0.0-rc.1"} {
		if r := ts.upload(t, "/api/team/charts", charttest.Chart("app", v, nil)); r.status != 201 {
			t.Fatalf("upload %s: %d %s", v, r.status, r.body)
		}
	}
	ts.upload(t, "/api/team/charts", charttest.Chart("zeta", "0.1.0", nil))

	var list map[string][]map[string]any
	r := ts.do(t, "GET", "/api/team/charts?offset=1&limit=1", nil, nil)
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 1 || list["zeta"] == nil {
		t.Fatalf("paged list: %d %s", r.status, r.body)
	}
	var vs []map[string]any
	r = ts.do(t, "GET", "/api/team/charts/app", nil, nil)
	if err := json.Unmarshal(r.body, &vs); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, v := range vs {
		order = append(order, v["version"].(string))
	}
	if strings.Join(order, ",") != "2.0.0-rc.1,1.10.0,1.2.0,1.0.0" {
		t.Errorf("versions not semver-descending: %v", order)
	}
	var latest map[string]any
	r = ts.do(t, "GET", "/api/team/charts/app/latest", nil, nil)
	if json.Unmarshal(r.body, &latest); latest["version"] != "1.10.0" {
		t.Errorf("latest = %v, want newest stable 1.10.0", latest["version"])
	}
	if r := ts.do(t, "GET", "/api/team/charts/app/9.9.9", nil, nil); r.status != 404 ||
		!strings.Contains(string(r.body), "no chart version found for app-9.9.9") {
		t.Errorf("missing version: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/api/team/charts/nope", nil, nil); r.status != 404 || string(r.body) != `{"error":"chart not found"}` {
		t.Errorf("missing chart: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "DELETE", "/api/team/charts/app/1.2.0", nil, nil); r.status != 200 || string(r.body) != `{"deleted":true}` {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	idx := loadIndex(t, ts.do(t, "GET", "/team/index.yaml", nil, nil).body)
	for _, v := range idx.Entries["app"] {
		if v.Version == "1.2.0" {
			t.Error("deleted version still in index")
		}
	}
	if r := ts.do(t, "GET", "/team/charts/app-1.2.0.tgz", nil, nil); r.status != 404 {
		t.Errorf("deleted chart still downloadable: %d", r.status)
	}
	if r := ts.do(t, "GET", "/api/team/charts/app/1.0.0/values", nil, nil); r.status != 200 || !strings.Contains(string(r.body), "replicas: 1") {
		t.Errorf("values: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/api/team/charts/app/1.0.0/templates", nil, nil); r.status != 200 || !strings.Contains(string(r.body), "templates/configmap.yaml") {
		t.Errorf("templates: %d %s", r.status, r.body)
	}
}

func TestIndexCachingAndEncodings(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ContextPath = "/charts" })
	ts.upload(t, "/charts/api/charts", charttest.Chart("c", "1.0.0", nil))
	r := ts.do(t, "GET", "/charts/index.yaml", nil, nil)
	idx := loadIndex(t, r.body)
	if idx.ServerInfo["contextPath"] != "/charts" {
		t.Errorf("serverInfo %v", idx.ServerInfo)
	}
	tag := r.header.Get("ETag")
	if nm := ts.do(t, "GET", "/charts/index.yaml", nil, map[string]string{"If-None-Match": tag}); nm.status != 304 || len(nm.body) != 0 {
		t.Errorf("If-None-Match: %d", nm.status)
	}
	head := ts.do(t, "HEAD", "/charts/index.yaml", nil, nil)
	if head.status != 200 || head.header.Get("Content-Length") != fmt.Sprint(len(r.body)) || head.header.Get("ETag") != tag {
		t.Errorf("HEAD: %d %v", head.status, head.header)
	}
	gz := ts.do(t, "GET", "/charts/index.yaml", nil, map[string]string{"Accept-Encoding": "gzip"})
	if gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", gz.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, r.body) {
		t.Error("gzip body differs from plain body")
	}
	js := ts.do(t, "GET", "/charts/index.json", nil, nil)
	if !json.Valid(js.body) || len(loadIndex(t, js.body).Entries["c"]) != 1 {
		t.Errorf("index.json: %s", js.body)
	}
	// A change invalidates: the next GET sees the new version and a new tag.
	ts.upload(t, "/charts/api/charts", charttest.Chart("c", "1.1.0", nil))
	r2 := ts.do(t, "GET", "/charts/index.yaml", nil, map[string]string{"If-None-Match": tag})
	if r2.status != 200 || len(loadIndex(t, r2.body).Entries["c"]) != 2 {
		t.Errorf("stale index after upload: %d", r2.status)
	}
}

func TestBasicAuth(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.BasicAuthUser, c.BasicAuthPass, c.AuthAnonymousGet = "u", "p", true
	})
	if r := ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil)); r.status != 401 ||
		r.header.Get("WWW-Authenticate") != `Basic realm="ChartMuseum"` {
		t.Errorf("anonymous push: %d %v", r.status, r.header)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/charts", bytes.NewReader(charttest.Chart("a", "1.0.0", nil)))
	req.SetBasicAuth("u", "p")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Errorf("authenticated push: %d", res.StatusCode)
	}
	if r := ts.do(t, "GET", "/index.yaml", nil, nil); r.status != 200 {
		t.Errorf("anonymous get: %d", r.status)
	}
	if r := ts.do(t, "GET", "/health", nil, nil); r.status != 200 || string(r.body) != `{"healthy":true}` {
		t.Errorf("health: %d %s", r.status, r.body)
	}
}

func TestAbsoluteChartURL(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ChartURL = "https://charts.example.com"; c.Depth = 1 })
	ts.upload(t, "/api/org/charts", charttest.Chart("a", "1.0.0", nil))
	idx := loadIndex(t, ts.do(t, "GET", "/org/index.yaml", nil, nil).body)
	if got := idx.Entries["a"][0].URLs[0]; got != "https://charts.example.com/org/charts/a-1.0.0.tgz" {
		t.Errorf("url %s", got)
	}
}

// With SQLite the write counter vouches for a cached index, but only for
// a bounded time: a write by another process on the same database (such
// as `chartd import`) is seen once that time is up.
func TestIndexNoticesOutOfProcessWrites(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil))
	if n := len(loadIndex(t, ts.do(t, "GET", "/index.yaml", nil, nil).body).Entries); n != 1 {
		t.Fatalf("entries %d", n)
	}
	// A write that bypasses this process's counter, as another process's would.
	db := ts.srv.meta.(writeCountingDB).DB
	tn, err := db.Tenant(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	cv, err := db.ChartVersion(context.Background(), tn.ID, "a", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	cv.Name, cv.Version = "b", "2.0.0"
	cv.Metadata = []byte(`{"apiVersion":"v2","name":"b","version":"2.0.0"}`)
	face := storage.Manifest{Digest: cv.ManifestDigest, Size: cv.ManifestSize, MediaType: "application/vnd.oci.image.manifest.v1+json",
		ConfigDigest: cv.ConfigDigest, Blobs: []digest.Digest{cv.ConfigDigest, cv.Digest}}
	if err := db.PutChart(context.Background(), storage.Chart{Version: cv, Manifest: face, Tag: "2.0.0"}, storage.PutOptions{Link: true}); err != nil {
		t.Fatal(err)
	}
	ts.srv.index.trust = time.Hour
	if n := len(loadIndex(t, ts.do(t, "GET", "/index.yaml", nil, nil).body).Entries); n != 1 {
		t.Fatalf("within the trust window the cached index is served: %d entries", n)
	}
	ts.srv.index.trust = 0
	if n := len(loadIndex(t, ts.do(t, "GET", "/index.yaml", nil, nil).body).Entries); n != 2 {
		t.Fatalf("after the trust window the other process's write is visible: %d entries", n)
	}
}
