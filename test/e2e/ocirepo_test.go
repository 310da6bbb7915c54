package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// TestOCIRepositoryOnChartd: our client adds a chartd OCI namespace as a
// repository. It lists it through chartd's search API (not _catalog),
// sees charts that came in through either protocol, sees only what the
// user's grants allow, and pulls REPO/CHART over OCI.
func TestOCIRepositoryOnChartd(t *testing.T) {
	helm := peers.Path(t, "helm")
	cfg := filepath.Join(t.TempDir(), "chartd.yaml")
	conf := "users:\n- name: ci\n  password: s3cret\n  grants:\n  - tenant: team\n    actions: [pull, push]\n  - tenant: other\n    actions: [pull, push]\n" +
		"- name: reader\n  password: r3ad\n  grants:\n  - tenant: team\n    actions: [pull]\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startChartd(t, t.TempDir(), "--depth=1", "--config="+cfg)
	host := hostOf(srv.URL)
	h := newHelmEnv(t)

	// One chart through the ChartMuseum API, one through OCI, and one in a
	// tenant the reader may not read.
	api := charttest.Chart("viaapi", "1.0.0", map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: viaapi\nversion: 1.0.0\nappVersion: \"3\"\ndescription: came through the API\n",
	})
	code, body := httpDo(t, "POST", "http://ci:s3cret@"+host+"/api/team/charts", bytes.NewReader(api), nil)
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	// More versions than one page of /api/v1/charts/<name> holds (100).
	for i := range 120 {
		v := fmt.Sprintf("1.%d.0", i)
		code, body := httpDo(t, "POST", "http://ci:s3cret@"+host+"/api/team/charts", bytes.NewReader(charttest.Chart("many", v, nil)), nil)
		if code != http.StatusCreated {
			t.Fatalf("upload many %s: %d %s", v, code, body)
		}
	}
	h.run(t, helm, "registry", "login", host, "--username", "ci", "--password", "s3cret", "--insecure")
	for _, c := range []struct{ ns, name string }{{"team", "viaoci"}, {"other", "secret"}} {
		p := filepath.Join(h.dir, c.name+"-0.2.0.tgz")
		if err := os.WriteFile(p, charttest.Chart(c.name, "0.2.0", nil), 0o644); err != nil {
			t.Fatal(err)
		}
		h.run(t, helm, "push", p, "oci://"+host+"/"+c.ns, "--plain-http")
	}
	h.run(t, helm, "registry", "logout", host)

	_, errOut, err := h.try(bins.helm, "repo", "add", "team", "oci://"+host+"/team", "--plain-http",
		"--username", "reader", "--password", "r3ad", "--debug")
	if err != nil {
		t.Fatalf("repo add: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "listed the namespace through chartd's search API") {
		t.Errorf("the listing did not use chartd's search API:\n%s", errOut)
	}
	var rows []struct {
		Name, Version, Description string
	}
	out := h.run(t, bins.helm, "search", "repo", "team/", "-o", "json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rows) != 3 || rows[0].Name != "team/many" || rows[0].Version != "1.119.0" || rows[1].Name != "team/viaapi" ||
		rows[1].Description != "came through the API" || rows[2].Name != "team/viaoci" {
		t.Errorf("search repo team/: %s", out)
	}
	if out := h.run(t, bins.helm, "search", "repo", "team/many", "--versions", "-o", "json"); strings.Count(out, `"name":"team/many"`) != 120 {
		t.Errorf("search repo team/many --versions lists %d versions, want 120", strings.Count(out, `"name":"team/many"`))
	}
	// The reader may not read the other tenant: its namespace lists
	// nothing, whether or not it holds charts.
	h.run(t, bins.helm, "repo", "add", "other", "oci://"+host+"/other", "--plain-http", "--username", "reader", "--password", "r3ad")
	h.run(t, bins.helm, "repo", "add", "nowhere", "oci://"+host+"/nowhere", "--plain-http", "--username", "reader", "--password", "r3ad")
	for _, q := range []string{"other/", "nowhere/", "secret"} {
		if out := h.run(t, bins.helm, "search", "repo", q); strings.TrimSpace(out) != "No results found" {
			t.Errorf("search repo %s as reader:\n%s", q, out)
		}
	}

	dest := filepath.Join(h.dir, "pulled")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	h.run(t, bins.helm, "pull", "team/viaapi", "-d", dest)
	got, err := os.ReadFile(filepath.Join(dest, "viaapi-1.0.0.tgz"))
	if err != nil || !bytes.Equal(got, api) {
		t.Errorf("pulled viaapi: %v, %d bytes (uploaded %d)", err, len(got), len(api))
	}
	// Real Helm keeps working on the same configuration.
	if out, _, err := h.try(helm, "repo", "list"); err == nil || strings.Contains(out, "team") {
		t.Errorf("real Helm repo list should see no repositories: %v\n%s", err, out)
	}
}
