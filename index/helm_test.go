package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/peers"
)

type searchResult struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"app_version"`
	Description string `json:"description"`
}

// TestRealHelmReadsRenderedIndex serves rendered indexes (YAML and JSON
// forms) over loopback HTTP and has real Helm v3.22 add the repository,
// search it and download a chart through it.
func TestRealHelmReadsRenderedIndex(t *testing.T) {
	helmBin := peers.Path(t, "helm")
	created := time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC)
	f := New(created)
	f.ServerInfo = map[string]interface{}{"contextPath": "/"}
	archives := map[string][]byte{}
	for _, v := range []struct{ name, version, app, desc string }{
		{"demo", "1.0.0", "1.10", `A "quoted" description: with colons`},
		{"demo", "1.10.0", "yes", "Ünicode — description"},
		{"demo", "2.0.0-rc.1", "010", "no"},
		{"yes", "0.1.0", "1e3", "# not a comment"},
	} {
		md := &chart.Metadata{APIVersion: "v2", Name: v.name, Version: v.version, AppVersion: v.app, Description: v.desc}
		var buf bytes.Buffer
		c := &chart.Chart{Metadata: md, Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("kind: ConfigMap\n")}}}
		if err := chart.Write(&buf, c); err != nil {
			t.Fatal(err)
		}
		file := chart.ArchiveName(md)
		archives["/charts/"+file] = buf.Bytes()
		sum := sha256.Sum256(buf.Bytes())
		if err := f.Add(md, file, "charts", hex.EncodeToString(sum[:]), created); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := f.Fragments()
	if err != nil {
		t.Fatal(err)
	}
	var y, j bytes.Buffer
	if err := RenderYAML(&y, f.Header(), entries); err != nil {
		t.Fatal(err)
	}
	if err := RenderJSON(&j, f.Header(), entries); err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{"yaml": y.Bytes(), "json": j.Bytes()}

	mux := http.NewServeMux()
	for form, body := range forms {
		mux.HandleFunc("/"+form+"/index.yaml", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		for p, data := range archives {
			mux.HandleFunc("/"+form+p, func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
		}
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var want []searchResult
	for name, cvs := range f.Entries {
		for _, cv := range cvs {
			want = append(want, searchResult{name, cv.Version, cv.AppVersion, cv.Description})
		}
	}
	sortResults(want)

	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(helmBin, args...)
		cmd.Env = peers.Env(home)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("helm %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	for form := range forms {
		t.Run(form, func(t *testing.T) {
			run("repo", "add", form, srv.URL+"/"+form)
			var got []searchResult
			if err := json.Unmarshal([]byte(run("search", "repo", form+"/", "--versions", "--devel", "-o", "json")), &got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Name = strings.TrimPrefix(got[i].Name, form+"/")
			}
			sortResults(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("helm search repo (-want +got):\n%s", diff)
			}
			// Downloading follows the rendered relative URL.
			if out := run("show", "chart", form+"/demo", "--version", "1.10.0"); !strings.Contains(out, "version: 1.10.0") {
				t.Errorf("helm show chart:\n%s", out)
			}
		})
	}
}

func sortResults(rs []searchResult) {
	sort.Slice(rs, func(a, b int) bool {
		if rs[a].Name != rs[b].Name {
			return rs[a].Name < rs[b].Name
		}
		return rs[a].Version < rs[b].Version
	})
}

// TestRenderMatchesRealHelmRepoIndex: an index.yaml written by real
// `helm repo index`, loaded and re-rendered from fragments, is unchanged
// byte for byte.
func TestRenderMatchesRealHelmRepoIndex(t *testing.T) {
	helmBin := peers.Path(t, "helm")
	home := t.TempDir()
	repo := filepath.Join(home, "repo")
	for _, v := range []struct{ name, version, app, desc string }{
		{"demo", "1.0.0", "1.10", `A "quoted" description: with colons`},
		{"demo", "1.10.0", "yes", "Ünicode — description that is long enough to be folded by the YAML emitter at eighty columns"},
		{"demo", "2.0.0-rc.1", "010", "no"},
		{"other", "0.1.0", "", "# not a comment"},
	} {
		md := &chart.Metadata{APIVersion: "v2", Name: v.name, Version: v.version, AppVersion: v.app, Description: v.desc,
			Keywords: []string{"on", "off"}, Maintainers: []*chart.Maintainer{{Name: "Zoë", Email: "z@example.com"}}}
		if _, err := chart.Save(context.Background(), &chart.Chart{Metadata: md}, repo); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(helmBin, "repo", "index", repo, "--url", "https://charts.example.com/sub")
	cmd.Env = peers.Env(home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helm repo index: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(repo, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries["demo"]) != 3 || len(f.Entries["other"]) != 1 {
		t.Fatalf("helm repo index listed %v", versionsOf(f))
	}
	entries, err := f.Fragments()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := RenderYAML(&got, f.Header(), entries); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("re-rendered helm repo index output differs (-helm +ours):\n%s", diff)
	}
}
