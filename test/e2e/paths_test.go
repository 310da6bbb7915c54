package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// TestRepositoryPathsBelowTheTenant pushes with real Helm to a repository
// path below the tenant, as distribution, Harbor and GHCR allow, and reads
// the same repository through its classic face (/<path>/index.yaml), with
// `helm repo add` and `helm pull`; and the other way round.
func TestRepositoryPathsBelowTheTenant(t *testing.T) {
	helm := peers.Path(t, "helm")
	for _, tt := range []struct {
		name  string
		args  []string
		path  string // below the tenant
		other string // the tenant's own repository
	}{
		{"depth 0", nil, "org", ""},
		{"depth 1", []string{"--depth=1"}, "team/sub", "team"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startChartd(t, t.TempDir(), tt.args...)
			host := hostOf(srv.URL)
			h := newHelmEnv(t)

			tgz := charttest.Chart("deep", "1.2.0+b.3", nil)
			pkg := filepath.Join(h.dir, "deep-1.2.0+b.3.tgz")
			if err := os.WriteFile(pkg, tgz, 0o644); err != nil {
				t.Fatal(err)
			}
			h.run(t, helm, "push", pkg, "oci://"+host+"/"+tt.path, "--plain-http")
			// The classic face of the same repository.
			h.run(t, helm, "repo", "add", "deep", srv.URL+"/"+tt.path)
			dest := t.TempDir()
			h.run(t, helm, "pull", "deep/deep", "--version", "1.2.0+b.3", "-d", dest)
			got, err := os.ReadFile(filepath.Join(dest, "deep-1.2.0+b.3.tgz"))
			if err != nil || !bytes.Equal(got, tgz) {
				t.Fatalf("helm pull through %s/index.yaml: %v", tt.path, err)
			}
			// It is that repository's, not the tenant's.
			tenantIndex := srv.URL + "/index.yaml"
			if tt.other != "" {
				tenantIndex = srv.URL + "/" + tt.other + "/index.yaml"
			}
			if idx := getIndex(t, tenantIndex); len(idx.Entries["deep"]) != 0 {
				t.Errorf("the chart of %s is listed in the tenant's index too", tt.path)
			}

			// The ChartMuseum API at the same path, pulled over OCI.
			api := charttest.Chart("flat", "0.1.0", nil)
			if code, b := httpDo(t, "POST", srv.URL+"/api/"+tt.path+"/charts", bytes.NewReader(api), nil); code != 201 {
				t.Fatalf("upload to /api/%s/charts: %d %s", tt.path, code, b)
			}
			dest = t.TempDir()
			h.run(t, helm, "pull", "oci://"+host+"/"+tt.path+"/flat", "--version", "0.1.0", "--plain-http", "-d", dest)
			if got, err := os.ReadFile(filepath.Join(dest, "flat-0.1.0.tgz")); err != nil || !bytes.Equal(got, api) {
				t.Fatalf("helm pull over OCI of an API upload below the tenant: %v", err)
			}
			h.run(t, helm, "repo", "update")
			if s := h.run(t, helm, "search", "repo", "deep/flat"); !strings.Contains(s, "0.1.0") {
				t.Errorf("helm search repo deep/flat:\n%s", s)
			}

			// A path segment chartd's own routes use is refused, saying why.
			reserved := strings.TrimPrefix(tt.other+"/charts", "/")
			_, stderr, err := h.try(helm, "push", pkg, "oci://"+host+"/"+reserved, "--plain-http")
			if err == nil || !strings.Contains(stderr, "reserved") {
				t.Errorf("push below a reserved segment: %v\n%s", err, stderr)
			}
			t.Logf("helm push to oci://%s/%s: %s", host, reserved, strings.TrimSpace(stderr))
		})
	}
}
