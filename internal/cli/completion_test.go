package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// TestCompletionMatchesHelm: `helm __complete ...`, what the shell
// completion scripts call, prints the same completions and directive as
// real Helm 3.22 for repository names, repo/chart names, chart versions
// and -o values. (Release names need a cluster: test/releases.)
func TestCompletionMatchesHelm(t *testing.T) {
	h := newHarness(t)
	repoDir := filepath.Join(h.dir, "repo")
	for _, c := range []struct{ name, version, app, extra string }{
		{"alpha", "0.1.0", "1.0", ""},
		{"alpha", "0.2.0", "", ""},
		{"beta", "1.0.0", "2.0", "deprecated: true\n"},
	} {
		src := filepath.Join(h.dir, "src", c.name+c.version)
		md := "apiVersion: v2\nname: " + c.name + "\nversion: " + c.version + "\n" + c.extra
		if c.app != "" {
			md += "appVersion: \"" + c.app + "\"\n"
		}
		writeFiles(t, src, map[string]string{"Chart.yaml": md})
		h.must(h.helm("package", src, "-d", repoDir))
	}
	h.must(h.helm("repo", "index", repoDir))
	srv := fileServer(t, repoDir)
	h.must(h.ours("repo", "add", "stable", srv.URL))
	h.must(h.ours("repo", "add", "second", srv.URL+"/"))

	cases := [][]string{
		{"repo", "remove", ""},
		{"repo", "remove", "stable", ""},
		{"repo", "update", "s"},
		{"install", "rel", ""},
		{"install", "rel", "st"},
		{"install", "rel", "stable/"},
		{"install", "rel", "oci://"},
		{"install", "--generate-name", ""},
		{"install", "rel", "stable/alpha", "--version", ""},
		{"install", "rel", "stable/beta", "--version", ""},
		{"template", "rel", "second/"},
		{"upgrade", "rel", "stable/alpha", "--version", ""},
		{"pull", ""},
		{"pull", "stable/alpha", "--version", ""},
		{"show", "values", "st"},
		{"show", "chart", "stable/beta", "--version", ""},
		{"list", "-o", ""},
		{"status", "x", "-o", ""},
		{"search", "repo", "x", "-o", ""},
		{"repo", "list", "-o", ""},
	}
	// Chart arguments also complete local files: both clients run in the
	// same (empty) directory, not in this package's source directory.
	t.Setenv("CHARTD_PEERS", filepath.Dir(peers.Path(t, "helm")))
	t.Chdir(h.dir)
	same := 0
	for _, args := range cases {
		full := append([]string{"__complete"}, args...)
		ro, rh := h.ours(full...), h.helm(full...)
		if ro != rh {
			t.Errorf("helm __complete %s:\nours (%d):\n%s%s\nhelm (%d):\n%s%s", strings.Join(args, " "), ro.code, ro.stdout, ro.stderr, rh.code, rh.stdout, rh.stderr)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}
