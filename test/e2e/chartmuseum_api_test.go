package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// TestRealHelmAgainstChartd drives real Helm v3.22.0 through the classic
// repository flow against chartd.
func TestRealHelmAgainstChartd(t *testing.T) {
	helm := peers.Path(t, "helm")
	srv := startChartd(t, t.TempDir(), "--depth=1")
	tgz := charttest.Chart("webapp", "1.4.2", map[string]string{"values.yaml": "replicas: 3\nimage: nginx\n"})
	if code, body := httpDo(t, "POST", srv.URL+"/api/team/charts", bytes.NewReader(tgz), nil); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	httpDo(t, "POST", srv.URL+"/api/team/charts", bytes.NewReader(charttest.Chart("webapp", "1.5.0-beta.1", nil)), nil)

	h := newHelmEnv(t)
	h.run(t, helm, "repo", "add", "team", srv.URL+"/team")
	h.run(t, helm, "repo", "update")
	out := h.run(t, helm, "search", "repo", "team/webapp")
	if !strings.Contains(out, "team/webapp") || !strings.Contains(out, "1.4.2") {
		t.Errorf("search repo:\n%s", out)
	}
	if out := h.run(t, helm, "search", "repo", "team/webapp", "--devel"); !strings.Contains(out, "1.5.0-beta.1") {
		t.Errorf("search --devel:\n%s", out)
	}
	dest := t.TempDir()
	h.run(t, helm, "pull", "team/webapp", "--version", "1.4.2", "-d", dest)
	got, err := os.ReadFile(filepath.Join(dest, "webapp-1.4.2.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(tgz)
	if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != hex.EncodeToString(want[:]) {
		t.Error("pulled chart differs from the uploaded one")
	}
	tpl := h.run(t, helm, "template", "rel", "team/webapp", "--version", "1.4.2")
	if !strings.Contains(tpl, "name: rel-cm") || !strings.Contains(tpl, "image: nginx") {
		t.Errorf("template:\n%s", tpl)
	}
	// Helm prints the raw values.yaml followed by a newline of its own.
	if vals := h.run(t, helm, "show", "values", "team/webapp", "--version", "1.4.2"); vals != "replicas: 3\nimage: nginx\n\n" {
		t.Errorf("show values: %q", vals)
	}
}

// TestCmPushPlugin pushes with the real helm-cm-push plugin.
func TestCmPushPlugin(t *testing.T) {
	helm := peers.Path(t, "helm")
	plugin := peers.Path(t, "helm-cm-push")
	srv := startChartd(t, t.TempDir(), "--context-path=/charts")
	h := newHelmEnv(t)
	pdir := filepath.Join(h.dir, "plugins", "helm-push")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(pdir, "helm-cm-push")); err != nil {
		t.Fatal(err)
	}
	manifest := "name: cm-push\nversion: 0.10.4\nusage: Push chart package to ChartMuseum\ndescription: Push chart package to ChartMuseum\ncommand: \"$HELM_PLUGIN_DIR/helm-cm-push\"\n"
	if err := os.WriteFile(filepath.Join(pdir, "plugin.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(h.dir, "pushed-0.3.0.tgz")
	if err := os.WriteFile(pkg, charttest.Chart("pushed", "0.3.0", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(t, helm, "repo", "add", "cm", srv.URL+"/charts")
	// cm-push finds the context path from serverInfo in index.yaml.
	out := h.run(t, helm, "cm-push", pkg, "cm")
	if !strings.Contains(out, "Done") {
		t.Errorf("cm-push output:\n%s", out)
	}
	h.run(t, helm, "repo", "update")
	if out := h.run(t, helm, "search", "repo", "cm/pushed"); !strings.Contains(out, "0.3.0") {
		t.Errorf("pushed chart not found:\n%s", out)
	}
	// Immutable by default: a second push of the same version is refused,
	// even with --force, unless the operator allows it.
	if _, _, err := h.try(helm, "cm-push", pkg, "cm", "--force"); err == nil {
		t.Error("cm-push --force overwrote an immutable version")
	}
}
