package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateMatchesHelm: the scaffold is byte-identical to real helm create,
// file modes and directories included.
func TestCreateMatchesHelm(t *testing.T) {
	h := newHarness(t)
	ourDir, helmDir := filepath.Join(h.dir, "ours"), filepath.Join(h.dir, "helm")
	for _, d := range []string{ourDir, helmDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"demo", "my.chart_2"} {
		ro := h.must(h.ours("create", filepath.Join(ourDir, name)))
		rh := h.must(h.helm("create", filepath.Join(helmDir, name)))
		if strings.ReplaceAll(ro.stdout, ourDir, "X") != strings.ReplaceAll(rh.stdout, helmDir, "X") {
			t.Errorf("stdout: ours %q, helm %q", ro.stdout, rh.stdout)
		}
		ours, theirs := tree(t, filepath.Join(ourDir, name)), tree(t, filepath.Join(helmDir, name))
		if len(theirs) < 10 {
			t.Fatalf("helm created only %d entries", len(theirs))
		}
		for p, want := range theirs {
			if got, ok := ours[p]; !ok {
				t.Errorf("%s: missing in our scaffold", p)
			} else if got != want {
				t.Errorf("%s: ours %s, helm %s", p, got, want)
			}
		}
		for p := range ours {
			if _, ok := theirs[p]; !ok {
				t.Errorf("%s: not in helm's scaffold", p)
			}
		}
	}
	// Invalid names fail the same way.
	ro, rh := h.ours("create", filepath.Join(ourDir, "bad name")), h.helm("create", filepath.Join(helmDir, "bad name"))
	if ro.code != 1 || rh.code != 1 || lastLine(ro.stderr) != lastLine(rh.stderr) {
		t.Errorf("bad name: ours %d %q, helm %d %q", ro.code, ro.stderr, rh.code, rh.stderr)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// tree maps each path under root to "mode sha256".
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			m[rel] = fi.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[rel] = fmt.Sprintf("%s %s", fi.Mode(), hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixtureRepo makes a directory of charts packaged by real Helm, indexed by
// our `repo index`, and serves it.
func fixtureRepo(t *testing.T, h *harness) (dir, url string) {
	t.Helper()
	src := filepath.Join(h.dir, "src")
	dir = filepath.Join(h.dir, "repo")
	for _, d := range []string{src, dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	charts := []struct{ name, version, appVersion, desc, keywords string }{
		{"alpha", "0.1.0", "1.0", "First chart, about databases", "db"},
		{"alpha", "0.2.0", "1.1", "First chart, about databases", "db"},
		{"alpha", "1.0.0-rc.1", "2.0", "First chart, about databases", "db"},
		{"beta", "2.3.4", "", "A chart with a description that is much longer than fifty characters in total", "web, alpha"},
		{"beta", "10.0.0", "9", "A chart with a description that is much longer than fifty characters in total", "web, alpha"},
		{"gamma-db", "0.0.1+build.7", "x", "Uses alpha internally", ""},
	}
	for _, c := range charts {
		p := filepath.Join(src, c.name)
		_ = os.RemoveAll(p)
		h.must(h.ours("create", p))
		cy := fmt.Sprintf("apiVersion: v2\nname: %s\ndescription: %s\ntype: application\nversion: %s\n", c.name, c.desc, c.version)
		if c.appVersion != "" {
			cy += fmt.Sprintf("appVersion: %q\n", c.appVersion)
		}
		if c.keywords != "" {
			cy += "keywords: [" + c.keywords + "]\n"
		}
		if err := os.WriteFile(filepath.Join(p, "Chart.yaml"), []byte(cy), 0o644); err != nil {
			t.Fatal(err)
		}
		h.must(h.helm("package", p, "-d", dir))
	}
	srv := fileServer(t, dir)
	h.must(h.ours("repo", "index", dir, "--url", srv.URL))
	return dir, srv.URL
}

// TestRepoAndSearchMatchHelm: repositories added by one client work in the
// other, our index loads in Helm, and search output is identical.
func TestRepoAndSearchMatchHelm(t *testing.T) {
	h := newHarness(t)
	_, url := fixtureRepo(t, h)

	ra := h.must(h.ours("repo", "add", "one", url))
	if ra.stdout != "\"one\" has been added to your repositories\n" {
		t.Errorf("repo add stdout %q", ra.stdout)
	}
	h.must(h.helm("repo", "add", "two", url))
	for _, args := range [][]string{
		{"repo", "list"},
		{"repo", "list", "-o", "json"},
		{"repo", "list", "-o", "yaml"},
		{"repo", "add", "one", url},         // same config: skipping
		{"repo", "add", "one", url + "/x/"}, // different config: error
		{"repo", "add", "a/b", url},
		{"repo", "remove", "nope"},
		{"repo", "update", "nope"},
		{"search", "repo"},
		{"search", "repo", "--devel"},
		{"search", "repo", "-l"},
		{"search", "repo", "-l", "--devel"},
		{"search", "repo", "alpha"},
		{"search", "repo", "ALPHA", "--versions"},
		{"search", "repo", "data"},
		{"search", "repo", "web"},
		{"search", "repo", "-r", "^two/(alpha|beta)"},
		{"search", "repo", "-r", "["},
		{"search", "repo", "alpha", "--version", "^0.1"},
		{"search", "repo", "alpha", "--version", ">=0.1.0", "-l"},
		{"search", "repo", "--version", "not a version"},
		{"search", "repo", "beta", "--max-col-width", "20"},
		{"search", "repo", "beta", "--max-col-width", "0"},
		{"search", "repo", "-o", "json", "-l", "--devel"},
		{"search", "repo", "-o", "yaml", "gamma"},
		{"search", "repo", "nothing-matches"},
		{"search", "repo", "nothing-matches", "-o", "json"},
		{"search", "repo", "nothing-matches", "--fail-on-no-result"},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh {
			t.Errorf("helm %s:\nours (%d):\n%s%s\nhelm (%d):\n%s%s", strings.Join(args, " "), ro.code, ro.stdout, ro.stderr, rh.code, rh.stdout, rh.stderr)
		}
	}

	// Helm rewrites a cache file: our parsed cache must notice.
	h.must(h.helm("repo", "update"))
	if ro, rh := h.ours("search", "repo", "-l"), h.helm("search", "repo", "-l"); ro != rh {
		t.Errorf("after helm repo update: ours %q helm %q", ro.stdout, rh.stdout)
	}
	h.must(h.ours("repo", "update"))
	if ro, rh := h.ours("search", "repo", "-l"), h.helm("search", "repo", "-l"); ro != rh {
		t.Errorf("after our repo update: ours %q helm %q", ro.stdout, rh.stdout)
	}
	// Removing through Helm is seen by us and vice versa.
	h.must(h.helm("repo", "remove", "one"))
	h.must(h.ours("repo", "remove", "two"))
	for _, args := range [][]string{{"repo", "list"}, {"search", "repo"}, {"repo", "update"}} {
		if ro, rh := h.ours(args...), h.helm(args...); ro != rh {
			t.Errorf("helm %s: ours %+v, helm %+v", strings.Join(args, " "), ro, rh)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(h.dir, "cache", "helm", "repository")); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("cache files left after removing every repository: %v", names)
	}
}

// TestPullMatchesHelm: the same bytes land on disk through either client.
func TestPullMatchesHelm(t *testing.T) {
	h := newHarness(t)
	_, url := fixtureRepo(t, h)
	h.must(h.ours("repo", "add", "r", url))
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"newest stable", []string{"r/alpha"}},
		{"version", []string{"r/alpha", "--version", "0.1.0"}},
		{"constraint", []string{"r/beta", "--version", "^2"}},
		{"devel", []string{"r/alpha", "--devel"}},
		{"build metadata", []string{"r/gamma-db"}},
		{"repo flag", []string{"beta", "--repo", url}},
		{"url", []string{url + "/alpha-0.2.0.tgz"}},
		{"untar", []string{"r/beta", "--untar", "--untardir", "out"}},
		{"missing chart", []string{"r/nope"}},
		{"missing version", []string{"r/alpha", "--version", "9.9.9"}},
		{"bad ref", []string{"alpha"}},
		{"missing repo", []string{"zz/alpha"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			od, hd := filepath.Join(h.dir, "pull-ours", tt.name), filepath.Join(h.dir, "pull-helm", tt.name)
			for _, d := range []string{od, hd} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ro := h.ours(append([]string{"pull", "-d", od}, tt.args...)...)
			rh := h.helm(append([]string{"pull", "-d", hd}, tt.args...)...)
			if ro.code != rh.code || ro.stdout != rh.stdout || ro.stderr != rh.stderr {
				t.Fatalf("ours %+v\nhelm %+v", ro, rh)
			}
			if diff := cmpTrees(tree(t, od), tree(t, hd)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func cmpTrees(ours, theirs map[string]string) string {
	var b strings.Builder
	for p, w := range theirs {
		if g, ok := ours[p]; !ok || g != w {
			fmt.Fprintf(&b, "%s: ours %q, helm %q\n", p, g, w)
		}
	}
	for p := range ours {
		if _, ok := theirs[p]; !ok {
			fmt.Fprintf(&b, "%s: only ours\n", p)
		}
	}
	return b.String()
}

// `helm template` argument errors come out exactly as real Helm's.
func TestTemplateErrorsMatchHelm(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(t.TempDir(), "tpl")
	h.must(h.helm("create", dir))
	for _, args := range [][]string{
		{"template", "BAD_NAME", dir},
		{"template", strings.Repeat("a", 54), dir},
		{"template", "ok", filepath.Join(dir, "missing")},
		{"template", "ok", dir, "--show-only", "templates/nope.yaml"},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh {
			t.Errorf("helm %s:\nours (%d):\n%s%s\nhelm (%d):\n%s%s", strings.Join(args, " "), ro.code, ro.stdout, ro.stderr, rh.code, rh.stdout, rh.stderr)
		}
	}
}

// TestKubeVersionDefaultMatchesReleasedHelm: without --kube-version, the
// client assumes what a released Helm v3.22.0 does (v1.37.0, stamped from
// its client-go at build time), so a chart that requires a recent cluster
// renders, and .Capabilities reads the same. The real Helm here is built
// with the release's ldflags (make tools); a plain `go install` of Helm
// would report v1.20.0 and fail the comparison.
func TestKubeVersionDefaultMatchesReleasedHelm(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.dir, "kv")
	files := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: kv\nversion: 0.1.0\nkubeVersion: \">= 1.33.0-0\"\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kv\ndata:\n" +
			"  kube: {{ .Capabilities.KubeVersion }}\n  minor: {{ .Capabilities.KubeVersion.Minor | quote }}\n" +
			"  helm: {{ .Capabilities.HelmVersion.Version }}\n  tree: {{ .Capabilities.HelmVersion.GitTreeState | quote }}\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ro, rh := h.ours("template", "rel", dir), h.helm("template", "rel", dir)
	if ro != rh {
		t.Errorf("template:\nours %+v\nhelm %+v", ro, rh)
	}
	if !strings.Contains(ro.stdout, "kube: v1.37.0\n  minor: \"37\"\n  helm: v3.22.0\n  tree: \"clean\"\n") {
		t.Errorf("ours does not assume a released Helm v3.22.0 on Kubernetes v1.37.0:\n%s%s", ro.stdout, ro.stderr)
	}
	if v := h.must(h.helm("version", "--template", "{{.Version}} {{.GitTreeState}}")).stdout; v != "v3.22.0 clean" {
		t.Errorf("the real Helm is not built like the release (make tools): version %q", v)
	}
}
