package plugins

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// getScript is a downloader: it logs how it was called, then serves
// fake://charts/<file> from $FAKE_ROOT.
const getScript = `#!/bin/sh
{
  printf 'CALL'; for a in "$@"; do printf ' [%s]' "$a"; done; echo
  env | grep -E '^HELM_PLUGIN_|^HELM_NAMESPACE=' | sort
} >> "$FAKE_LOG"
case "$4" in
  fake://charts/*) cat "$FAKE_ROOT/${4#fake://charts/}" ;;
  fake2://charts/*) cat "$FAKE_ROOT/${4#fake2://charts/}" ;;
  *) echo "unknown URL $4" >&2; exit 1 ;;
esac
`

// distinctCalls is a downloader log with repeated calls (and their
// environment lines) kept once.
func distinctCalls(log string) string {
	var out []string
	seen := map[string]bool{}
	for _, call := range strings.Split(log, "CALL ") {
		if !seen[call] {
			seen[call] = true
			out = append(out, call)
		}
	}
	return strings.Join(out, "CALL ")
}

// TestDownloaderPluginLikeHelm3: repo add, pull and dependency update fetch
// fake:// URLs through a downloader plugin, called as Helm 3.22 calls it,
// with the same results.
func TestDownloaderPluginLikeHelm3(t *testing.T) {
	shared := t.TempDir()
	writeFiles(t, filepath.Join(shared, "src"), map[string]string{
		"fakeget/plugin.yaml": `name: fakeget
version: 0.3.0
description: serves fake:// URLs
downloaders:
  - command: "bin/get.sh"
    protocols: ["fake", "fake2"]
`,
		"fakeget/bin/get.sh": getScript,
	})
	root := filepath.Join(shared, "charts")
	setup := newHome(t)
	setup.must(setup.helm3("create", filepath.Join(shared, "demo")))
	setup.must(setup.helm3("package", filepath.Join(shared, "demo"), "-d", root))
	setup.must(setup.helm3("repo", "index", root, "--url", "fake://charts"))

	type step struct {
		name string
		args func(h *home) []string
	}
	steps := []step{
		{"install", func(*home) []string {
			return []string{"plugin", "install", filepath.Join(shared, "src", "fakeget")}
		}},
		{"repo add", func(*home) []string {
			return []string{"repo", "add", "fk", "fake://charts", "--username", "u", "--password", "p"}
		}},
		{"repo update", func(*home) []string { return []string{"repo", "update"} }},
		{"search", func(*home) []string { return []string{"search", "repo", "fk/demo"} }},
		{"pull", func(h *home) []string { return []string{"pull", "fk/demo", "-d", filepath.Join(h.dir, "out")} }},
		{"pull URL", func(h *home) []string {
			return []string{"pull", "fake2://charts/demo-0.1.0.tgz", "-d", filepath.Join(h.dir, "out2")}
		}},
		{"pull missing", func(h *home) []string { return []string{"pull", "fake://elsewhere/x.tgz", "-d", h.dir} }},
		{"no handler", func(h *home) []string { return []string{"pull", "nope://charts/demo-0.1.0.tgz", "-d", h.dir} }},
		{"repo add, no handler", func(h *home) []string { return []string{"repo", "add", "np", "nope://charts"} }},
		{"dependency update", func(h *home) []string {
			return []string{"dependency", "update", filepath.Join(h.dir, "parent")}
		}},
		{"dependency update, unmanaged repository", func(h *home) []string {
			return []string{"dependency", "update", filepath.Join(h.dir, "unmanaged")}
		}},
	}
	run := func(bin string) ([]result, []string, *home) {
		h := newHome(t)
		writeFiles(t, filepath.Join(h.dir, "parent"), map[string]string{
			"Chart.yaml": "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n- name: demo\n  version: ~0.1.0\n  repository: fake://charts\n",
		})
		writeFiles(t, filepath.Join(h.dir, "unmanaged"), map[string]string{
			"Chart.yaml": "apiVersion: v2\nname: unmanaged\nversion: 1.0.0\ndependencies:\n- name: demo\n  version: ~0.1.0\n  repository: fake2://charts\n",
		})
		for _, d := range []string{"out", "out2"} {
			if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		log := filepath.Join(h.dir, "get.log")
		extra := []string{"FAKE_ROOT=" + root, "FAKE_LOG=" + log}
		var out []result
		var calls []string // what the downloader logged, per step
		for _, s := range steps {
			out = append(out, normalize(h.run(bin, extra, s.args(h)...), h.dir))
			b, _ := os.ReadFile(log)
			calls = append(calls, strings.ReplaceAll(string(b), h.dir, "<home>"))
			os.Remove(log)
		}
		return out, calls, h
	}
	ours, oursLog, oh := run(bins.helm)
	helm, helmLog, hh := run(setup.peer("helm"))
	for i, s := range steps {
		if diff := cmp.Diff(helm[i], ours[i]); diff != "" {
			t.Errorf("%s (-helm +ours):\n%s", s.name, diff)
		}
		want, got := helmLog[i], oursLog[i]
		if s.name == "dependency update, unmanaged repository" {
			// Helm reads an unmanaged index twice (once to report it,
			// once to find the chart's URL); ours once.
			want, got = distinctCalls(want), distinctCalls(got)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: downloader calls (-helm +ours):\n%s", s.name, diff)
		}
	}
	all := strings.Join(oursLog, "")
	if !strings.Contains(all, "CALL [] [] [] [fake://charts/index.yaml]") || !strings.Contains(all, "HELM_PLUGIN_USERNAME=u") {
		t.Errorf("the downloader was not called as expected:\n%s", all)
	}
	for _, f := range []string{"out/demo-0.1.0.tgz", "out2/demo-0.1.0.tgz", "parent/charts/demo-0.1.0.tgz", "unmanaged/charts/demo-0.1.0.tgz"} {
		want, err := os.ReadFile(filepath.Join(root, "demo-0.1.0.tgz"))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []*home{oh, hh} {
			if got, err := os.ReadFile(filepath.Join(h.dir, f)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s in %s: %v (or different bytes)", f, h.dir, err)
			}
		}
	}
}
