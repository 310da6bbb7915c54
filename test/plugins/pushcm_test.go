package plugins

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
)

// request is what a ChartMuseum API server sees of one request.
type request struct {
	Method, Path, Query string
	Auth                string            // Authorization
	Headers             map[string]string // the custom token headers
	File                string            // the "chart" part's file name (base)
	Chart               string            // name version appVersion of the uploaded chart
	Fields              []string
}

// recorder is a ChartMuseum API server that records requests.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Headers: map[string]string{}}
	for _, h := range []string{"X-Token", "X-Env"} {
		if v := r.Header.Get(h); v != "" {
			q.Headers[h] = v
		}
	}
	if strings.HasSuffix(r.URL.Path, "/index.yaml") {
		fmt.Fprint(w, "apiVersion: v1\nentries: {}\nserverInfo:\n  contextPath: /ctx\n")
	} else {
		if err := r.ParseMultipartForm(10 << 20); err == nil {
			for field, fhs := range r.MultipartForm.File {
				q.Fields = append(q.Fields, field)
				if field != "chart" {
					continue
				}
				q.File = filepath.Base(fhs[0].Filename)
				f, _ := fhs[0].Open()
				b, _ := io.ReadAll(f)
				if info, err := chart.ReadArchiveMetadata(r.Context(), bytes.NewReader(b), chart.Limits{}); err == nil {
					q.Chart = info.Metadata.Name + " " + info.Metadata.Version + " " + info.Metadata.AppVersion
				}
			}
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"saved":true}`)
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, q)
	rec.mu.Unlock()
}

func (rec *recorder) take() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := rec.reqs
	rec.reqs = nil
	return r
}

// TestPushChartMuseumLikeCmPush: `helm push` to a ChartMuseum-API
// repository sends what the real cm-push plugin (v0.10.4) sends for the
// same flags and variables: a chart directory packaged on the fly,
// --version and --app-version, HELM_REPO_USERNAME/PASSWORD,
// --access-token and --auth-header (and their variables), --context-path
// and HELM_REPO_CONTEXT_PATH, --force.
func TestPushChartMuseumLikeCmPush(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	repoURL := srv.URL + "/ctx/org/team"
	setup := newHome(t)
	chartDir := filepath.Join(t.TempDir(), "demo")
	setup.must(setup.helm3("create", chartDir))
	setup.must(setup.helm3("package", chartDir, "-d", filepath.Dir(chartDir)))
	tgz := filepath.Join(filepath.Dir(chartDir), "demo-0.1.0.tgz")

	homes := map[string]*home{}
	for _, name := range []string{"ours", "cm-push"} {
		h := newHome(t)
		homes[name] = h
		h.must(h.helm3("repo", "add", "cm", repoURL, "--username", "u", "--password", "p"))
		h.must(h.helm3("repo", "add", "open", repoURL))
		src := filepath.Join(h.dir, "helm-push")
		writeFiles(t, src, map[string]string{"plugin.yaml": cmPushManifest})
		if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(h.peer("helm-cm-push"), filepath.Join(src, "bin", "helm-cm-push")); err != nil {
			t.Fatal(err)
		}
		h.must(h.helm3("plugin", "install", src))
	}
	rec.take()
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"archive, repository credentials", nil, []string{tgz, "cm"}},
		{"directory with versions", nil, []string{chartDir, "cm", "--version", "1.2.3", "--app-version", "9.9"}},
		{"archive with a version", nil, []string{tgz, "cm", "--version", "0.2.0"}},
		{"credentials from variables", []string{"HELM_REPO_USERNAME=eu", "HELM_REPO_PASSWORD=ep"}, []string{tgz, "open"}},
		{"flags over variables", []string{"HELM_REPO_USERNAME=eu", "HELM_REPO_PASSWORD=ep"}, []string{tgz, "open", "--username", "fu"}},
		{"access token", nil, []string{tgz, "open", "--access-token", "tok"}},
		{"auth header", nil, []string{tgz, "open", "--access-token", "tok", "--auth-header", "X-Token"}},
		{"token variables", []string{"HELM_REPO_ACCESS_TOKEN=etok", "HELM_REPO_AUTH_HEADER=X-Env"}, []string{tgz, "open"}},
		{"credentials beat a token", nil, []string{tgz, "cm", "--access-token", "tok"}},
		{"URL with context path", nil, []string{tgz, repoURL, "--context-path", "/ctx", "--username", "fu", "--password", "fp"}},
		{"URL, index context path, token", nil, []string{tgz, repoURL, "--access-token", "tok"}},
		{"context path variable", []string{"HELM_REPO_CONTEXT_PATH=/ctx"}, []string{tgz, repoURL}},
		{"force", nil, []string{tgz, "cm", "--force"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			oh, ch := homes["ours"], homes["cm-push"]
			ours := oh.run(bins.helm, c.env, append([]string{"push"}, c.args...)...)
			oursReqs := rec.take()
			cm := ch.run(ch.peer("helm"), c.env, append([]string{"cm-push"}, c.args...)...)
			cmReqs := rec.take()
			if ours.Code != 0 || cm.Code != 0 {
				t.Fatalf("ours %+v\ncm-push %+v", ours, cm)
			}
			if diff := cmp.Diff(cm.Stdout, ours.Stdout); diff != "" {
				t.Errorf("stdout (-cm-push +ours):\n%s", diff)
			}
			if diff := cmp.Diff(cmReqs, oursReqs); diff != "" || len(oursReqs) == 0 {
				t.Errorf("requests (-cm-push +ours):\n%s", diff)
			}
		})
	}
}
