package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/objstore"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// The store-identity cases of design invariant 7, each with the real
// chartd binary: the metadata follows its store, a database that is not the
// store's is refused, a fresh database over a full store gets everything
// back, and one embedded database serves one process on one store.

func chartdWith(t *testing.T, o procs.ChartdOptions, args ...string) *procs.Proc {
	t.Helper()
	return procs.StartChartdWith(t, bins.chartd, o, args...)
}

// refused runs a chartd that must refuse to start, with a message holding
// every one of want.
func refused(t *testing.T, o procs.ChartdOptions, want []string, args ...string) {
	t.Helper()
	out, err := procs.RunChartd(t, bins.chartd, o, args...)
	if err == nil {
		t.Fatalf("chartd started; want a refusal mentioning %q:\n%s", want, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("refusal does not say %q:\n%s", w, out)
		}
	}
}

func upload(t *testing.T, url string, tgz []byte) {
	t.Helper()
	if code, b := httpDo(t, "POST", url, bytes.NewReader(tgz), nil); code != 201 {
		t.Fatalf("upload to %s: %d %s", url, code, b)
	}
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	code, b := httpDo(t, "GET", url, nil, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, b)
	}
	return b
}

func versions(t *testing.T, url string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, vs := range getIndex(t, url).Entries {
		for _, v := range vs {
			out[name] = append(out[name], v.Version)
		}
	}
	return out
}

func cpTree(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// TestMetadataFollowsALocalStore: with ChartMuseum's flags only, the
// database lives in the store, so a restart from another directory serves
// the store's charts, including those adopted from ChartMuseum, and two
// stores started from one directory keep apart.
func TestMetadataFollowsALocalStore(t *testing.T) {
	store := t.TempDir()
	cm := startChartMuseum(t, store)
	upload(t, cm.URL+"/api/charts", charttest.Chart("fromcm", "1.0.0", nil))
	cm.Kill()

	flags := []string{"--storage=local", "--storage-local-rootdir=" + store}
	w1, w2 := t.TempDir(), t.TempDir()
	a := chartdWith(t, procs.ChartdOptions{Dir: w1}, flags...)
	upload(t, a.URL+"/api/charts", charttest.Chart("fromchartd", "1.0.0", nil))
	a.Stop()
	if _, err := os.Stat(filepath.Join(store, "_chartd", "db", "chartd.db")); err != nil {
		t.Errorf("the database is not in the store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w1, "data")); !os.IsNotExist(err) {
		t.Errorf("chartd wrote ./data in its working directory: %v", err)
	}
	b := chartdWith(t, procs.ChartdOptions{Dir: w2}, flags...)
	want := map[string][]string{"fromcm": {"1.0.0"}, "fromchartd": {"1.0.0"}}
	if diff := cmp.Diff(want, versions(t, b.URL+"/index.yaml")); diff != "" {
		t.Errorf("restart from another directory (-want +got):\n%s", diff)
	}
	b.Stop()

	// Two stores, one working directory, at once: each its own database,
	// so one version name holds different charts in each.
	other := t.TempDir()
	one := chartdWith(t, procs.ChartdOptions{Dir: w1}, flags...)
	two := chartdWith(t, procs.ChartdOptions{Dir: w1}, "--storage=local", "--storage-local-rootdir="+other)
	c1, c2 := charttest.Chart("same", "1.0.0", map[string]string{"README.md": "one"}), charttest.Chart("same", "1.0.0", map[string]string{"README.md": "two"})
	upload(t, one.URL+"/api/charts", c1)
	upload(t, two.URL+"/api/charts", c2)
	if got := download(t, one.URL+"/charts/same-1.0.0.tgz"); !bytes.Equal(got, c1) {
		t.Error("store one serves another store's chart")
	}
	if got := download(t, two.URL+"/charts/same-1.0.0.tgz"); !bytes.Equal(got, c2) {
		t.Error("store two serves another store's chart")
	}
	if v := versions(t, two.URL+"/index.yaml"); len(v) != 1 {
		t.Errorf("store two lists another store's charts: %v", v)
	}
}

// TestStoreIdentityRefusals: every way a database and a store can fail to
// belong together is refused at start with a message saying what to do.
func TestStoreIdentityRefusals(t *testing.T) {
	// A populated store (its database inside), and a copy of that database
	// as it was before the store moved on.
	base := t.TempDir()
	flagsFor := func(store string) []string { return []string{"--storage=local", "--storage-local-rootdir=" + store} }
	s := chartdWith(t, procs.ChartdOptions{}, flagsFor(base)...)
	upload(t, s.URL+"/api/charts", charttest.Chart("first", "1.0.0", nil))
	s.Stop()
	oldDB := t.TempDir()
	cpTree(t, filepath.Join(base, "_chartd", "db"), oldDB)

	// fresh returns a private copy of the populated store.
	fresh := func(t *testing.T) string {
		dir := t.TempDir()
		cpTree(t, base, dir)
		return dir
	}

	t.Run("second process on one embedded database", func(t *testing.T) {
		store := fresh(t)
		chartdWith(t, procs.ChartdOptions{}, flagsFor(store)...)
		refused(t, procs.ChartdOptions{}, []string{"in use by process", "one process serves an embedded database", "--database-url=postgres://"}, flagsFor(store)...)
	})
	t.Run("database of another store", func(t *testing.T) {
		store, data := fresh(t), t.TempDir()
		// A database made for an empty store, then pointed at this one.
		empty := chartdWith(t, procs.ChartdOptions{DataDir: data}, flagsFor(t.TempDir())...)
		empty.Stop()
		refused(t, procs.ChartdOptions{DataDir: data}, []string{"belongs to store", "Each store needs its own database", "--data-dir"}, flagsFor(store)...)
	})
	t.Run("store without its identity", func(t *testing.T) {
		store := fresh(t)
		if err := os.Remove(filepath.Join(store, "_chartd", "store-id")); err != nil {
			t.Fatal(err)
		}
		refused(t, procs.ChartdOptions{}, []string{"has no chartd identity", "--storage flags"}, flagsFor(store)...)
	})
	t.Run("empty database over blobs without a journal", func(t *testing.T) {
		store := fresh(t)
		for _, p := range []string{"db", "journal", "snapshot", "store-id"} {
			if err := os.RemoveAll(filepath.Join(store, "_chartd", p)); err != nil {
				t.Fatal(err)
			}
		}
		refused(t, procs.ChartdOptions{}, []string{"holds chartd blobs but no metadata journal", "point chartd at its database"}, flagsFor(store)...)
	})
	t.Run("stale database", func(t *testing.T) {
		store := fresh(t)
		// The database is lost; a fresh one is rebuilt and the store moves on.
		if err := os.RemoveAll(filepath.Join(store, "_chartd", "db")); err != nil {
			t.Fatal(err)
		}
		s := chartdWith(t, procs.ChartdOptions{}, flagsFor(store)...)
		upload(t, s.URL+"/api/charts", charttest.Chart("second", "1.0.0", nil))
		s.Stop()
		// The old database comes back: it knows nothing of "second".
		db := filepath.Join(store, "_chartd", "db")
		if err := os.RemoveAll(db); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(db, 0o755); err != nil {
			t.Fatal(err)
		}
		cpTree(t, oldDB, db)
		refused(t, procs.ChartdOptions{}, []string{"is stale", "another database has written", "Move this database away"}, flagsFor(store)...)
	})
}

// TestStatelessRestartOnMinIO runs chartd as ChartMuseum runs in a pod
// without a volume: S3 and an embedded database on ephemeral disk. Charts
// pushed through both protocols (a signed one with its .prov, an OCI
// artifact with extra tags, a trusted key) are all served again after a
// kill -9 and a start on an empty data directory; the store then carries
// on, and a second pod on the bucket is refused.
func TestStatelessRestartOnMinIO(t *testing.T) {
	s3 := objstore.StartMinIO(t)
	bucket := s3.Bucket(t)
	flags := []string{"--storage=amazon", "--storage-amazon-bucket=" + bucket, "--storage-amazon-endpoint=" + s3.Endpoint,
		"--storage-amazon-region=us-east-1", "--depth=1"}
	pod := func(dataDir string) procs.ChartdOptions { return procs.ChartdOptions{Env: s3.Env(), DataDir: dataDir} }
	helm, oras := peers.Path(t, "helm"), peers.Path(t, "oras")
	h := newHelmEnv(t)

	a := chartdWith(t, pod(t.TempDir()), flags...)
	host := hostOf(a.URL)
	upload(t, a.URL+"/api/t/charts", charttest.Chart("plain", "1.0.0", nil))
	upload(t, a.URL+"/api/t/charts", charttest.Chart("plain", "1.1.0", nil))
	key := newGPGKey(t, "Signer", "")
	tgz, prov := signedPackage(t, h, key, "signed", "0.3.0")
	if code, b := uploadSigned(t, a.URL+"/api/t/charts", tgz, prov); code != 201 {
		t.Fatalf("signed upload: %d %s", code, b)
	}
	if code, b := httpDo(t, "POST", a.URL+"/api/t/keys", bytes.NewReader(key.gpg(t, nil, "--export", "--armor", key.name)), nil); code != 201 {
		t.Fatalf("add key: %d %s", code, b)
	}
	pkg := filepath.Join(h.dir, "viaoci-2.0.0+b.1.tgz")
	if err := os.WriteFile(pkg, charttest.Chart("viaoci", "2.0.0+b.1", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(t, helm, "push", pkg, "oci://"+host+"/t", "--plain-http")
	if err := os.WriteFile(filepath.Join(h.dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(t, oras, "push", "--plain-http", host+"/t/files:v1", "notes.txt:text/plain")
	h.run(t, oras, "tag", "--plain-http", host+"/t/files:v1", "stable", "latest")
	if code, b := httpDo(t, "DELETE", a.URL+"/api/t/charts/plain/1.1.0", nil, nil); code != 200 {
		t.Fatalf("delete: %d %s", code, b)
	}
	before := observe(t, a.URL)
	for _, k := range []string{"signed-0.3.0.tgz.prov", "plain-1.0.0.tgz", "viaoci-2.0.0+b.1.tgz", "t/files:v1", "t/files:stable",
		"t/files:latest", "t/viaoci:2.0.0_b.1", "t/signed:0.3.0"} {
		if before[k] == "" {
			t.Fatalf("nothing seen of %s before the restart: %v", k, before)
		}
	}
	if !strings.Contains(before["keys"], "fingerprint") || strings.Contains(before["index"], `"1.1.0"`) {
		t.Fatalf("keys or deletion not seen before the restart: %s %s", before["keys"], before["index"])
	}
	a.Kill()

	b := chartdWith(t, pod(t.TempDir()), flags...)
	if diff := cmp.Diff(before, observe(t, b.URL)); diff != "" {
		t.Errorf("after a stateless restart (-before +after):\n%s", diff)
	}
	if !strings.Contains(b.Logs(), "recovered the store's metadata from its journal") {
		t.Errorf("no recovery logged:\n%s", b.Logs())
	}
	h.run(t, helm, "pull", "oci://"+hostOf(b.URL)+"/t/viaoci", "--version", "2.0.0+b.1", "--plain-http", "-d", t.TempDir())

	// A second pod on the bucket, with its own embedded database.
	refused(t, pod(t.TempDir()), []string{"store in use", "--database-url=postgres://"}, flags...)

	// The store carries on from the rebuilt database, and survives again.
	upload(t, b.URL+"/api/t/charts", charttest.Chart("plain", "1.2.0", nil))
	b.Kill()
	c := chartdWith(t, pod(t.TempDir()), flags...)
	if got := versions(t, c.URL+"/t/index.yaml")["plain"]; !cmp.Equal(got, []string{"1.2.0", "1.0.0"}) {
		t.Errorf("plain after a second restart: %v", got)
	}
	if strings.Contains(a.Logs()+b.Logs()+c.Logs(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s\n%s\n%s", a.Logs(), b.Logs(), c.Logs())
	}
}

// observe is what a client can see of tenant t: the index entries, every
// chart and .prov, the keys, the catalog, and each repository's tags with
// the manifests they name.
func observe(t *testing.T, base string) map[string]string {
	t.Helper()
	out := map[string]string{}
	idx := getIndex(t, base+"/t/index.yaml")
	entries, _ := json.Marshal(idx.Entries)
	out["index"] = string(entries)
	for name, vs := range idx.Entries {
		for _, v := range vs {
			file := name + "-" + v.Version + ".tgz"
			out[file] = sha256Hex(download(t, base+"/t/charts/"+file))
			if code, b := httpDo(t, "GET", base+"/t/charts/"+file+".prov", nil, nil); code == 200 {
				out[file+".prov"] = string(b)
			}
		}
	}
	out["keys"] = string(download(t, base+"/api/t/keys"))
	catalog := download(t, base+"/v2/_catalog")
	out["catalog"] = string(catalog)
	var cat struct{ Repositories []string }
	if err := json.Unmarshal(catalog, &cat); err != nil {
		t.Fatal(err)
	}
	accept := map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"}
	for _, repo := range cat.Repositories {
		tags := download(t, base+"/v2/"+repo+"/tags/list")
		out[repo+" tags"] = string(tags)
		var tl struct{ Tags []string }
		if err := json.Unmarshal(tags, &tl); err != nil {
			t.Fatal(err)
		}
		for _, tag := range tl.Tags {
			code, m := httpDo(t, "GET", base+"/v2/"+repo+"/manifests/"+tag, nil, accept)
			if code != 200 {
				t.Fatalf("manifest %s:%s: %d", repo, tag, code)
			}
			out[repo+":"+tag] = string(m)
		}
	}
	return out
}

// TestChartMuseumStorageFlagsOnRealServers: each cloud driver, reached
// through ChartMuseum's flags, against a real server: charts pushed both
// ways are served, and again after a restart on an empty data directory.
func TestChartMuseumStorageFlagsOnRealServers(t *testing.T) {
	cases := []struct {
		name  string
		start func(t *testing.T) (objstore.Server, func(bucket string) []string)
	}{
		{"amazon-minio", func(t *testing.T) (objstore.Server, func(string) []string) {
			s := objstore.StartMinIO(t)
			return s, func(b string) []string {
				return []string{"--storage=amazon", "--storage-amazon-bucket=" + b, "--storage-amazon-endpoint=" + s.Endpoint,
					"--storage-amazon-region=us-east-1", "--storage-amazon-prefix=charts"}
			}
		}},
		{"microsoft-azurite", func(t *testing.T) (objstore.Server, func(string) []string) {
			s := objstore.StartAzurite(t)
			return s, func(b string) []string { return []string{"--storage=microsoft", "--storage-microsoft-container=" + b} }
		}},
		{"google-fake-gcs-server", func(t *testing.T) (objstore.Server, func(string) []string) {
			s := objstore.StartFakeGCS(t)
			return s, func(b string) []string {
				return []string{"--storage=google", "--storage-google-bucket=" + b, "--storage-google-prefix=charts"}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, flagsFor := tc.start(t)
			env := srv.Env()
			if tc.name == "microsoft-azurite" {
				// ChartMuseum's Azure flags name only the container; the
				// emulator's endpoint comes from the SDK's environment.
				az := srv.(*objstore.Azurite)
				env = append(env, "AZURE_STORAGE_DOMAIN="+az.Host, "AZURE_STORAGE_PROTOCOL=http")
			}
			flags := flagsFor(srv.Bucket(t))
			h := newHelmEnv(t)
			a := chartdWith(t, procs.ChartdOptions{Env: env, DataDir: t.TempDir()}, flags...)
			api := charttest.Chart("viaapi", "1.0.0", nil)
			upload(t, a.URL+"/api/charts", api)
			pkg := filepath.Join(h.dir, "viaoci-0.1.0.tgz")
			oci := charttest.Chart("viaoci", "0.1.0", nil)
			if err := os.WriteFile(pkg, oci, 0o644); err != nil {
				t.Fatal(err)
			}
			h.run(t, peers.Path(t, "helm"), "push", pkg, "oci://"+hostOf(a.URL), "--plain-http")
			a.Kill()
			b := chartdWith(t, procs.ChartdOptions{Env: env, DataDir: t.TempDir()}, flags...)
			want := map[string][]string{"viaapi": {"1.0.0"}, "viaoci": {"0.1.0"}}
			if diff := cmp.Diff(want, versions(t, b.URL+"/index.yaml")); diff != "" {
				t.Errorf("index after restart (-want +got):\n%s", diff)
			}
			if got := download(t, b.URL+"/charts/viaapi-1.0.0.tgz"); !bytes.Equal(got, api) {
				t.Error("API chart differs")
			}
			if got := download(t, b.URL+"/charts/viaoci-0.1.0.tgz"); !bytes.Equal(got, oci) {
				t.Error("OCI chart differs")
			}
		})
	}
}

// TestSharedDatabaseTakesOverAnEmbeddedStore: a store served with an
// embedded database moves to PostgreSQL. While the embedded chartd holds
// the store, the shared one is refused; once it stopped, the first replica
// rebuilds the shared database from the journal, and from then on an
// embedded database is refused on the store.
func TestSharedDatabaseTakesOverAnEmbeddedStore(t *testing.T) {
	s3 := objstore.StartMinIO(t)
	bucket := "--storage-url=" + s3.URL(s3.Bucket(t))
	embedded := procs.ChartdOptions{Env: s3.Env(), DataDir: t.TempDir()}
	a := chartdWith(t, embedded, bucket)
	upload(t, a.URL+"/api/charts", charttest.Chart("moved", "1.0.0", nil))
	shared := procs.ChartdOptions{Env: s3.Env(), DataDir: t.TempDir()}
	pg := "--database-url=" + pgtest.DSN(t)
	refused(t, shared, []string{"store in use by another chartd with an embedded database", "stop it before serving"}, bucket, pg)
	a.Stop()

	r := chartdWith(t, shared, bucket, pg)
	if got := versions(t, r.URL+"/index.yaml"); !cmp.Equal(got, map[string][]string{"moved": {"1.0.0"}}) {
		t.Errorf("shared database after the move: %v", got)
	}
	if !strings.Contains(r.Logs(), "recovered the store's metadata from its journal") {
		t.Errorf("no recovery logged:\n%s", r.Logs())
	}
	r.Stop()
	refused(t, embedded, []string{"kept by a shared database", "--database-url"}, bucket)
}
