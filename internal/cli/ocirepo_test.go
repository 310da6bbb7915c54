package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/ocitest"
)

// pushCharts pushes name-version archives with real Helm below ns, and
// returns each archive's sha256 by file name.
func pushCharts(t *testing.T, h *harness, host, ns string, charts [][2]string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, c := range charts {
		name, version := c[0], c[1]
		data := charttest.Chart(name, version, map[string]string{
			"Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: " + version + "\nappVersion: \"a" + version + "\"\ndescription: the " + name + " chart\n",
		})
		p := filepath.Join(h.dir, name+"-"+version+".tgz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		h.must(h.helm("push", p, "oci://"+host+"/"+ns, "--plain-http"))
		sums[filepath.Base(p)] = fileDigest(t, p)
	}
	return sums
}

// TestOCIRepository: an OCI namespace added as a repository is searched by
// `search repo` and pulled from as REPO/CHART, through _catalog and
// tags/list of a registry that has no chartd search API. Real Helm, which
// refuses such repositories, keeps working on the shared configuration.
func TestOCIRepository(t *testing.T) {
	h := newHarness(t)
	reg := ocitest.Start(t, "", "")
	sums := pushCharts(t, h, reg.Host, "team", [][2]string{
		{"demo", "1.0.0"}, {"demo", "1.1.0"}, {"demo", "2.0.0-rc.1"}, {"other", "0.1.0"},
	})
	// Outside the namespace, and deeper inside it: neither is listed.
	pushCharts(t, h, reg.Host, "elsewhere", [][2]string{{"stray", "1.0.0"}})
	pushCharts(t, h, reg.Host, "team/sub", [][2]string{{"deep", "1.0.0"}})

	if r := h.helm("repo", "add", "teamoci", "oci://"+reg.Host+"/team"); r.code == 0 {
		t.Fatalf("real Helm added an OCI repository; the premise of this feature is gone:\n%+v", r)
	}
	out := h.must(h.ours("repo", "add", "teamoci", "oci://"+reg.Host+"/team", "--plain-http")).stdout
	if out != "\"teamoci\" has been added to your repositories\n" {
		t.Errorf("repo add: %q", out)
	}

	type row struct {
		Name        string `json:"name"`
		Version     string `json:"version"`
		AppVersion  string `json:"app_version"`
		Description string `json:"description"`
	}
	search := func(args ...string) []row {
		t.Helper()
		var rows []row
		r := h.must(h.ours(append([]string{"search", "repo", "-o", "json"}, args...)...))
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		return rows
	}
	for _, tt := range []struct {
		args []string
		want []row
	}{
		{[]string{"teamoci/"}, []row{{"teamoci/demo", "1.1.0", "a1.1.0", "the demo chart"}, {"teamoci/other", "0.1.0", "a0.1.0", "the other chart"}}},
		{[]string{"demo", "--versions"}, []row{{"teamoci/demo", "1.1.0", "a1.1.0", "the demo chart"}, {"teamoci/demo", "1.0.0", "a1.0.0", "the demo chart"}}},
		{[]string{"demo", "--devel"}, []row{{"teamoci/demo", "2.0.0-rc.1", "a2.0.0-rc.1", "the demo chart"}}},
		{[]string{"demo", "--version", "~1.0.0"}, []row{{"teamoci/demo", "1.0.0", "a1.0.0", "the demo chart"}}},
		{[]string{"stray"}, []row{}},
		{[]string{"deep"}, []row{}},
	} {
		if diff := cmp.Diff(tt.want, search(tt.args...)); diff != "" {
			t.Errorf("search repo %v (-want +got):\n%s", tt.args, diff)
		}
	}
	table := h.must(h.ours("search", "repo", "teamoci/other")).stdout
	if !strings.Contains(table, "teamoci/other\t0.1.0        \ta0.1.0     \tthe other chart") {
		t.Errorf("search repo table:\n%s", table)
	}

	// Pull by REPO/CHART, with and without a version.
	dest := filepath.Join(h.dir, "pulled")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	h.must(h.ours("pull", "teamoci/demo", "--version", "1.0.0", "-d", dest))
	h.must(h.ours("pull", "teamoci/other", "-d", dest))
	for _, f := range []string{"demo-1.0.0.tgz", "other-0.1.0.tgz"} {
		if got := fileDigest(t, filepath.Join(dest, f)); got != sums[f] {
			t.Errorf("pulled %s has sha256 %s, pushed %s", f, got, sums[f])
		}
	}
	if r := h.ours("pull", "teamoci/demo", "--version", "9.9.9", "-d", dest); r.code == 0 || !strings.Contains(r.stderr, `chart "demo" matching 9.9.9 not found in teamoci index`) {
		t.Errorf("pull of a missing version: %+v", r)
	}

	// A new push shows after repo update.
	pushCharts(t, h, reg.Host, "team", [][2]string{{"demo", "1.2.0"}})
	h.must(h.ours("repo", "update", "teamoci"))
	if got := search("teamoci/demo"); len(got) != 1 || got[0].Version != "1.2.0" {
		t.Errorf("after repo update: %+v", got)
	}

	// Real Helm works on the shared configuration: it lists and updates
	// its own repositories and never sees the OCI one.
	repoDir := filepath.Join(h.dir, "httprepo")
	h.must(h.helm("repo", "index", mkRepoDir(t, repoDir)))
	srv := fileServer(t, repoDir)
	h.must(h.helm("repo", "add", "web", srv.URL))
	if out := h.must(h.helm("repo", "list", "-o", "json")).stdout; strings.Contains(out, "teamoci") || !strings.Contains(out, `"web"`) {
		t.Errorf("real Helm repo list: %s", out)
	}
	h.must(h.helm("repo", "update"))
	var listed []struct{ Name, URL string }
	if err := json.Unmarshal([]byte(h.must(h.ours("repo", "list", "-o", "json")).stdout), &listed); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range listed {
		names = append(names, l.Name)
	}
	if !slices.Equal(names, []string{"web", "teamoci"}) {
		t.Errorf("our repo list: %+v", listed)
	}
	// Both kinds update together; a name is unique across both files.
	h.must(h.ours("repo", "update"))
	if r := h.ours("repo", "add", "web", "oci://"+reg.Host+"/team", "--plain-http"); r.code == 0 {
		t.Error("an OCI repository took the name of an HTTP one")
	}
	h.must(h.ours("repo", "remove", "teamoci"))
	if r := h.ours("pull", "teamoci/demo", "-d", dest); r.code == 0 || !strings.Contains(r.stderr, "repo teamoci not found") {
		t.Errorf("pull after remove: %+v", r)
	}
	h.must(h.helm("repo", "list"))
}

// mkRepoDir writes one chart archive into dir for a plain HTTP repository.
func mkRepoDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web-1.0.0.tgz"), charttest.Chart("web", "1.0.0", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOCIRepositoryAuth: a registry that requires credentials is listed
// with the repository's own, and without them the error says what was
// refused.
func TestOCIRepositoryAuth(t *testing.T) {
	h := newHarness(t)
	reg := ocitest.Start(t, "alice", "s3cret")
	h.must(h.helm("registry", "login", reg.Host, "--username", "alice", "--password", "s3cret", "--plain-http"))
	pushCharts(t, h, reg.Host, "team", [][2]string{{"demo", "1.0.0"}})
	h.must(h.helm("registry", "logout", reg.Host))

	r := h.ours("repo", "add", "locked", "oci://"+reg.Host+"/team", "--plain-http")
	if r.code == 0 || !strings.Contains(r.stderr, "_catalog") || !strings.Contains(r.stderr, "does not allow listing") {
		t.Errorf("repo add without credentials: %+v", r)
	}
	h.must(h.ours("repo", "add", "locked", "oci://"+reg.Host+"/team", "--plain-http", "--username", "alice", "--password", "s3cret"))
	if out := h.must(h.ours("search", "repo", "locked/demo")).stdout; !strings.Contains(out, "locked/demo") {
		t.Errorf("search repo:\n%s", out)
	}
	dest := filepath.Join(h.dir, "pulled")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	h.must(h.ours("pull", "locked/demo", "-d", dest))
	if _, err := os.Stat(filepath.Join(dest, "demo-1.0.0.tgz")); err != nil {
		t.Error(err)
	}
}
