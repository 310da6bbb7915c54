package releases

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/internal/testutil/ocitest"
)

// A chart from an OCI registry installs by tag and by digest.
func TestInstallFromOCI(t *testing.T) {
	ours, helm3, _ := clients(t)
	reg := ocitest.Start(t, "", "")
	dir := t.TempDir()
	helm3.must(t, "package", writeChart(t, "web", nil), "-d", dir)
	r := ours.run(t, "push", filepath.Join(dir, "web-0.1.0.tgz"), "oci://"+reg.Host+"/lib", "--plain-http")
	if r.code != 0 {
		t.Fatalf("push: %s", r.stderr)
	}
	digest := regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(r.stdout + r.stderr)
	if digest == nil {
		t.Fatalf("no digest in push output: %s%s", r.stdout, r.stderr)
	}
	ns := cluster.Namespace(t)
	ours.must(t, "install", "by-tag", "oci://"+reg.Host+"/lib/web", "--version", "0.1.0", "--plain-http", "-n", ns)
	ours.must(t, "install", "by-digest", "oci://"+reg.Host+"/lib/web@"+digest[1], "--plain-http", "-n", ns)
	ours.must(t, "upgrade", "by-tag", "oci://"+reg.Host+"/lib/web", "--plain-http", "-n", ns, "--set", "image=nginx:2.0")
	if got := helm3.must(t, "list", "-n", ns, "-q"); got != "by-digest\nby-tag\n" {
		t.Errorf("helm 3 list: %q", got)
	}
}
