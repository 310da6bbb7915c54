package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestChartsBothWays pushes over OCI and reads through index.yaml, and the
// other way round, with real Helm on both ends.
func TestChartsBothWays(t *testing.T) {
	helm := peers.Path(t, "helm")
	srv := startChartd(t, t.TempDir(), "--depth=1")
	h := newHelmEnv(t)
	host := hostOf(srv.URL)

	// OCI push -> index.yaml.
	tgz := charttest.Chart("ocichart", "0.2.0+build.7", nil)
	pkg := filepath.Join(h.dir, "ocichart-0.2.0+build.7.tgz")
	if err := os.WriteFile(pkg, tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := h.try(helm, "push", pkg, "oci://"+host+"/team", "--plain-http")
	if err != nil {
		t.Fatalf("helm push: %v\n%s", err, stderr)
	}
	// Helm prints the result on stderr.
	if out := stdout + stderr; !strings.Contains(out, "Pushed: "+host+"/team/ocichart:0.2.0_build.7") {
		t.Errorf("helm push output:\n%s", out)
	}
	idx := getIndex(t, srv.URL+"/team/index.yaml")
	vs := idx.Entries["ocichart"]
	if len(vs) != 1 || vs[0].Version != "0.2.0+build.7" {
		t.Fatalf("OCI-pushed chart not in index: %+v", idx.Entries)
	}
	if vs[0].Digest != sha256Hex(tgz) {
		t.Errorf("index digest %s is not the chart layer's %s", vs[0].Digest, sha256Hex(tgz))
	}
	h.run(t, helm, "repo", "add", "team", srv.URL+"/team")
	dest := t.TempDir()
	h.run(t, helm, "pull", "team/ocichart", "--version", "0.2.0+build.7", "-d", dest)
	got, err := os.ReadFile(filepath.Join(dest, "ocichart-0.2.0+build.7.tgz"))
	if err != nil || !bytes.Equal(got, tgz) {
		t.Fatalf("pull through index.yaml: %v", err)
	}

	// ChartMuseum API -> OCI pull.
	api := charttest.Chart("apichart", "1.0.0", nil)
	if code, b := httpDo(t, "POST", srv.URL+"/api/team/charts", bytes.NewReader(api), nil); code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	dest2 := t.TempDir()
	h.run(t, helm, "pull", "oci://"+host+"/team/apichart", "--version", "1.0.0", "--plain-http", "-d", dest2)
	got, err = os.ReadFile(filepath.Join(dest2, "apichart-1.0.0.tgz"))
	if err != nil || !bytes.Equal(got, api) {
		t.Fatalf("OCI pull of an API-uploaded chart: %v", err)
	}
	if tpl := h.run(t, helm, "template", "r", "oci://"+host+"/team/apichart", "--version", "1.0.0", "--plain-http"); !strings.Contains(tpl, "name: r-cm") {
		t.Errorf("template from oci:\n%s", tpl)
	}

	// Delete through one protocol deletes through both.
	if code, b := httpDo(t, "DELETE", srv.URL+"/api/team/charts/apichart/1.0.0", nil, nil); code != 200 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if _, _, err := h.try(helm, "pull", "oci://"+host+"/team/apichart", "--version", "1.0.0", "--plain-http", "-d", t.TempDir()); err == nil {
		t.Error("OCI pull still works after API delete")
	}
	code, b := httpDo(t, "GET", srv.URL+"/v2/team/ocichart/manifests/0.2.0_build.7", nil,
		map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
	if code != 200 {
		t.Fatalf("manifest: %d %s", code, b)
	}
	var m struct {
		Layers []struct{ Digest string } `json:"layers"`
	}
	_ = json.Unmarshal(b, &m)
	code, _ = httpDo(t, "DELETE", srv.URL+"/v2/team/ocichart/manifests/"+manifestDigest(b), nil, nil)
	if code != 202 {
		t.Fatalf("OCI delete: %d", code)
	}
	if idx := getIndex(t, srv.URL+"/team/index.yaml"); len(idx.Entries["ocichart"]) != 0 {
		t.Error("chart still in index after OCI delete")
	}
}

func manifestDigest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestOrasArtifactsAreNotCharts stores a plain file artifact with real oras:
// it is served back but never indexed as a chart.
func TestOrasArtifactsAreNotCharts(t *testing.T) {
	oras := peers.Path(t, "oras")
	srv := startChartd(t, t.TempDir(), "--depth=1")
	h := newHelmEnv(t)
	host := hostOf(srv.URL)
	if err := os.WriteFile(filepath.Join(h.dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(t, oras, "push", "--plain-http", host+"/team/files:v1", "notes.txt:text/plain")
	out := h.run(t, oras, "repo", "tags", "--plain-http", host+"/team/files")
	if strings.TrimSpace(out) != "v1" {
		t.Errorf("tags: %q", out)
	}
	pulled := t.TempDir()
	h.run(t, oras, "pull", "--plain-http", "-o", pulled, host+"/team/files:v1")
	if b, err := os.ReadFile(filepath.Join(pulled, "notes.txt")); err != nil || string(b) != "hello" {
		t.Errorf("pulled %q, %v", b, err)
	}
	if idx := getIndex(t, srv.URL+"/team/index.yaml"); len(idx.Entries) != 0 {
		t.Errorf("artifact indexed as a chart: %+v", idx.Entries)
	}
	// attach + discover: the referrers API.
	if err := os.WriteFile(filepath.Join(h.dir, "sbom.json"), []byte(`{"sbom":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(t, oras, "attach", "--plain-http", "--artifact-type", "application/vnd.example.sbom", host+"/team/files:v1", "sbom.json:application/json")
	out = h.run(t, oras, "discover", "--plain-http", "--format", "json", host+"/team/files:v1")
	if !strings.Contains(out, "application/vnd.example.sbom") {
		t.Errorf("discover:\n%s", out)
	}
}

// TestRegistryLogin uses chartd's own users: real helm and oras log in with
// basic credentials and get scoped tokens from chartd's token endpoint.
func TestRegistryLogin(t *testing.T) {
	helm := peers.Path(t, "helm")
	oras := peers.Path(t, "oras")
	cfg := filepath.Join(t.TempDir(), "chartd.yaml")
	conf := "users:\n- name: ci\n  password: s3cret\n  grants:\n  - tenant: team\n    actions: [pull, push]\n- name: reader\n  password: r3ad\n  grants:\n  - tenant: team\n    actions: [pull]\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startChartd(t, t.TempDir(), "--depth=1", "--config="+cfg)
	host := hostOf(srv.URL)
	h := newHelmEnv(t)
	pkg := filepath.Join(h.dir, "secure-1.0.0.tgz")
	if err := os.WriteFile(pkg, charttest.Chart("secure", "1.0.0", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.try(helm, "push", pkg, "oci://"+host+"/team", "--plain-http"); err == nil {
		t.Fatal("anonymous push accepted")
	}
	if _, _, err := h.try(helm, "registry", "login", host, "--username", "ci", "--password", "wrong", "--insecure"); err == nil {
		t.Error("registry login with a wrong password succeeded")
	}
	h.run(t, helm, "registry", "login", host, "--username", "ci", "--password", "s3cret", "--insecure")
	h.run(t, helm, "push", pkg, "oci://"+host+"/team", "--plain-http")
	if _, _, err := h.try(helm, "push", pkg, "oci://"+host+"/other", "--plain-http"); err == nil {
		t.Error("push to a tenant without a grant accepted")
	}
	o := newHelmEnv(t)
	if _, _, err := o.try(oras, "login", "--plain-http", host, "-u", "reader", "-p", "nope"); err == nil {
		t.Error("oras login with a wrong password succeeded")
	}
	o.run(t, oras, "login", "--plain-http", host, "-u", "reader", "-p", "r3ad")
	if out := o.run(t, oras, "repo", "tags", "--plain-http", host+"/team/secure"); strings.TrimSpace(out) != "1.0.0" {
		t.Errorf("reader tags: %q", out)
	}
	if _, _, err := o.try(oras, "push", "--plain-http", host+"/team/secure:evil", "/dev/null"); err == nil {
		t.Error("read-only user pushed")
	}
	// The ChartMuseum API takes the same users with basic auth.
	if code, _ := httpDo(t, "GET", srv.URL+"/team/index.yaml", nil, nil); code != 401 {
		t.Errorf("anonymous index: %d", code)
	}
}
