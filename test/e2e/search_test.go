package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// TestHelmSearchHub: stock `helm search hub --endpoint` (Helm 3 and 4)
// finds charts in chartd, whichever protocol pushed them.
func TestHelmSearchHub(t *testing.T) {
	helm := peers.Path(t, "helm")
	helm4 := peers.Path(t, "helm4")
	srv := startChartd(t, t.TempDir(), "--depth=1")
	h := newHelmEnv(t)
	host := hostOf(srv.URL)

	// One chart over the ChartMuseum API, one over OCI with real Helm.
	viaAPI := charttest.Chart("searchable-web", "1.4.2", map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: searchable-web\nversion: 1.4.2\nappVersion: \"9.1\"\ndescription: Quokka web frontend\nkeywords: [quokka]\n",
	})
	if code, body := httpDo(t, "POST", srv.URL+"/api/team/charts", bytes.NewReader(viaAPI), nil); code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	viaOCI := charttest.Chart("searchable-db", "0.3.0", map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: searchable-db\nversion: 0.3.0\nappVersion: \"16\"\ndescription: Quokka database\n",
	})
	pkg := filepath.Join(h.dir, "searchable-db-0.3.0.tgz")
	if err := os.WriteFile(pkg, viaOCI, 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(t, helm, "push", pkg, "oci://"+host+"/team", "--plain-http")

	type row struct {
		URL         string `json:"url"`
		Version     string `json:"version"`
		AppVersion  string `json:"app_version"`
		Description string `json:"description"`
		Repository  struct {
			URL  string `json:"url"`
			Name string `json:"name"`
		} `json:"repository"`
	}
	for _, bin := range []string{helm, helm4, bins.helm} {
		name := filepath.Base(bin)
		if bin == bins.helm {
			name = "ours"
		}
		t.Run(name, func(t *testing.T) {
			// The table, as a user reads it.
			out := h.run(t, bin, "search", "hub", "--endpoint", srv.URL, "quokka")
			for _, want := range []string{"1.4.2", "9.1", "Quokka web frontend", "0.3.0", "Quokka database"} {
				if !strings.Contains(out, want) {
					t.Errorf("search hub output lacks %q:\n%s", want, out)
				}
			}
			// The rows, as a script reads them.
			var rows []row
			js := h.run(t, bin, "search", "hub", "--endpoint", srv.URL, "--list-repo-url", "-o", "json", "database")
			if err := json.Unmarshal([]byte(js), &rows); err != nil {
				t.Fatalf("%v: %s", err, js)
			}
			if len(rows) != 1 || rows[0].Version != "0.3.0" || rows[0].AppVersion != "16" || rows[0].Repository.URL != srv.URL+"/team" || rows[0].Repository.Name != "team" {
				t.Errorf("search hub -o json database: %s", js)
			}
			// A word no chart has finds nothing.
			if out := h.run(t, bin, "search", "hub", "--endpoint", srv.URL, "wombat"); strings.Contains(out, "searchable") {
				t.Errorf("search hub wombat:\n%s", out)
			}
		})
	}
	// Ours prints what real Helm 3 prints, byte for byte.
	for _, args := range [][]string{
		{"quokka"}, {"--list-repo-url", "quokka"}, {"-o", "json", "quokka"}, {"-o", "yaml", "database"},
		{"wombat"}, {"--max-col-width", "10", "quokka"},
	} {
		full := append([]string{"search", "hub", "--endpoint", srv.URL}, args...)
		if want, got := h.run(t, helm, full...), h.run(t, bins.helm, full...); got != want {
			t.Errorf("search hub %v: ours differs from Helm 3\n--- helm\n%s\n--- ours\n%s", args, want, got)
		}
	}
	// Offline, both fail, and ours says why.
	dead := "http://127.0.0.1:1"
	if _, _, err := h.try(helm, "search", "hub", "--endpoint", dead, "x"); err == nil {
		t.Fatal("real Helm's search hub against a closed port succeeded")
	}
	_, errOut, err := h.try(bins.helm, "search", "hub", "--endpoint", dead, "x")
	if err == nil || !strings.Contains(errOut, `unable to perform search against "`+dead+`"`) || !strings.Contains(errOut, "connection refused") {
		t.Errorf("our search hub against a closed port: err=%v\n%s", err, errOut)
	}
	if out, _, err := h.try(bins.helm, "search", "hub", "--endpoint", srv.URL, "--fail-on-no-result", "wombat"); err == nil {
		t.Errorf("--fail-on-no-result with nothing found succeeded:\n%s", out)
	}
}
