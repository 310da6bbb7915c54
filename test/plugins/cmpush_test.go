package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/procs"
)

// cmPushManifest is the helm-push plugin's own plugin.yaml, without the
// install hooks that download the binary (the test links the real one).
const cmPushManifest = `name: "cm-push"
version: "0.10.4"
usage: "Push chart package to ChartMuseum"
description: "Push chart package to ChartMuseum"
command: "$HELM_PLUGIN_DIR/bin/helm-cm-push"
downloaders:
- command: "bin/helm-cm-push"
  protocols:
  - "cm"
`

// TestCmPushPluginWithOurClient: the real helm-cm-push binary, installed
// as a plugin with our client, pushes to chartd (finding the repository,
// its credentials and the context path through the HELM_* environment we
// give it), as under Helm 3.22. (Its cm:// downloader speaks HTTPS only,
// so it is left out against a plain-HTTP chartd.)
func TestCmPushPluginWithOurClient(t *testing.T) {
	for name, bin := range map[string]string{"ours": bins.helm, "helm 3.22": newHome(t).peer("helm")} {
		t.Run(name, func(t *testing.T) {
			srv := procs.StartChartd(t, bins.chartd, t.TempDir(), "--context-path=/charts", "--basic-auth-user=u", "--basic-auth-pass=p")
			h := newHome(t)
			src := filepath.Join(h.dir, "helm-push")
			writeFiles(t, src, map[string]string{"plugin.yaml": cmPushManifest})
			if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(h.peer("helm-cm-push"), filepath.Join(src, "bin", "helm-cm-push")); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) result { t.Helper(); return h.must(h.run(bin, nil, args...)) }
			run("plugin", "install", src)
			run("create", filepath.Join(h.dir, "pushed"))
			run("package", filepath.Join(h.dir, "pushed"), "-d", h.dir)
			run("repo", "add", "cm", srv.URL+"/charts", "--username", "u", "--password", "p")
			if r := run("cm-push", filepath.Join(h.dir, "pushed-0.1.0.tgz"), "cm"); r.Stdout != "Pushing pushed-0.1.0.tgz to cm...\nDone.\n" {
				t.Errorf("cm-push: %+v", r)
			}
			// A chart directory, packaged by cm-push, with a new version.
			if r := run("cm-push", filepath.Join(h.dir, "pushed"), "cm", "--version", "0.2.0"); !strings.Contains(r.Stdout, "Done.") {
				t.Errorf("cm-push of a directory: %+v", r)
			}
			if r := h.run(bin, nil, "cm-push", filepath.Join(h.dir, "pushed-0.1.0.tgz"), "cm"); r.Code == 0 {
				t.Errorf("a second push of 0.1.0 succeeded: %+v", r)
			}
			run("repo", "update")
			if r := run("search", "repo", "cm/pushed", "--versions"); !strings.Contains(r.Stdout, "0.2.0") || !strings.Contains(r.Stdout, "0.1.0") {
				t.Errorf("search after cm-push:\n%s", r.Stdout)
			}
		})
	}
}
