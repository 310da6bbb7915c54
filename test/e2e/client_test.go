package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// TestClientAgainstChartd drives our helm through the repository and OCI
// flows against chartd, with real Helm sharing the same configuration and
// reading back what ours wrote.
func TestClientAgainstChartd(t *testing.T) {
	realHelm := peers.Path(t, "helm")
	cfg := filepath.Join(t.TempDir(), "chartd.yaml")
	conf := "users:\n- name: ci\n  password: s3cret\n  grants:\n  - tenant: team\n    actions: [pull, push]\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startChartd(t, t.TempDir(), "--depth=1", "--config="+cfg)
	host := strings.TrimPrefix(srv.URL, "http://")
	h := newHelmEnv(t)
	pkg := filepath.Join(h.dir, "webapp-1.0.0.tgz")
	if err := os.WriteFile(pkg, charttest.Chart("webapp", "1.0.0", nil), 0o644); err != nil {
		t.Fatal(err)
	}

	// Classic repository: add with credentials, push through the
	// ChartMuseum API by repository name, search with both clients.
	h.run(t, bins.helm, "repo", "add", "team", srv.URL+"/team", "--username", "ci", "--password", "s3cret")
	if out := h.run(t, bins.helm, "push", pkg, "team"); out != "Pushing webapp-1.0.0.tgz to team...\nDone.\n" {
		t.Errorf("push: %q", out)
	}
	if _, errOut, err := h.try(bins.helm, "push", pkg, "team"); err == nil || !strings.HasPrefix(errOut, "Error: 409: ") {
		t.Errorf("second push: %v %q", err, errOut)
	}
	// chartd refuses ?force overwrites by default (ChartMuseum allows them),
	// and the plugin's error text comes through unchanged.
	if _, errOut, err := h.try(bins.helm, "push", pkg, "team", "--force"); err == nil || !strings.HasPrefix(errOut, "Error: 409: ") {
		t.Errorf("forced push: %v %q", err, errOut)
	}
	h.run(t, bins.helm, "repo", "update")
	ours := h.run(t, bins.helm, "search", "repo", "webapp", "-l")
	if theirs := h.run(t, realHelm, "search", "repo", "webapp", "-l"); ours != theirs || !strings.Contains(ours, "team/webapp") {
		t.Errorf("search: ours %q real %q", ours, theirs)
	}
	dest := t.TempDir()
	h.run(t, bins.helm, "pull", "team/webapp", "-d", dest)
	if got, _ := os.ReadFile(filepath.Join(dest, "webapp-1.0.0.tgz")); string(got) != string(mustRead(t, pkg)) {
		t.Error("pulled archive differs from the pushed one")
	}

	// OCI: login, push by us, pull by real Helm with our stored credentials.
	h.run(t, bins.helm, "registry", "login", host, "-u", "ci", "-p", "s3cret", "--plain-http")
	_, pushed, err := h.try(bins.helm, "push", pkg, "oci://"+host+"/team", "--plain-http")
	if err != nil || !strings.Contains(pushed, "Digest: sha256:") {
		t.Fatalf("oci push: %v %s", err, pushed)
	}
	odest := t.TempDir()
	_, pulled, err := h.try(realHelm, "pull", "oci://"+host+"/team/webapp", "--plain-http", "-d", odest)
	if err != nil || lastDigest(pulled) != lastDigest(pushed) {
		t.Errorf("real helm pull: %v\npushed %s\npulled %s", err, pushed, pulled)
	}
	h.run(t, bins.helm, "registry", "logout", host)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lastDigest(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "Digest: ") {
			return l
		}
	}
	return ""
}
