package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMiscMatchesHelm covers env, version, jsonpath, output-dir, --prov,
// corrupt caches and authenticated repositories against real Helm.
func TestMiscMatchesHelm(t *testing.T) {
	h := newHarness(t)
	dir, url := fixtureRepo(t, h)

	// env: everything but HELM_BIN (the program path) is Helm's.
	ro, rh := h.must(h.ours("env")), h.must(h.helm("env"))
	strip := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "HELM_BIN=") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(ro.stdout) != strip(rh.stdout) {
		t.Errorf("env:\nours %s\nhelm %s", ro.stdout, rh.stdout)
	}
	for _, args := range [][]string{
		{"env", "HELM_REPOSITORY_CACHE"},
		{"env", "NOPE"},
		{"--namespace", "x", "env", "HELM_NAMESPACE"},
		{"--repository-config", "/r.yaml", "env", "HELM_REPOSITORY_CONFIG"},
		{"show", "values", filepath.Join(dir, "alpha-0.1.0.tgz"), "--jsonpath", "{.image.repository}"},
		{"show", "values", filepath.Join(dir, "alpha-0.1.0.tgz"), "--jsonpath", "{.service.port}:{.replicaCount}"},
	} {
		if ro, rh := h.ours(args...), h.helm(args...); ro != rh {
			t.Errorf("helm %s:\nours %+v\nhelm %+v", strings.Join(args, " "), ro, rh)
		}
	}

	// template --output-dir writes the same files.
	od, hd := filepath.Join(h.dir, "tpl-o"), filepath.Join(h.dir, "tpl-h")
	ro = h.ours("template", "rel", filepath.Join(dir, "alpha-0.1.0.tgz"), "--output-dir", od)
	rh = h.helm("template", "rel", filepath.Join(dir, "alpha-0.1.0.tgz"), "--output-dir", hd)
	if strings.ReplaceAll(ro.stdout, od, "D") != strings.ReplaceAll(rh.stdout, hd, "D") || ro.code != rh.code {
		t.Errorf("template --output-dir:\nours %+v\nhelm %+v", ro, rh)
	}
	if diff := cmpTrees(tree(t, od), tree(t, hd)); diff != "" {
		t.Error(diff)
	}

	// A corrupt cache gives Helm's warnings and the other repositories'
	// results.
	h.must(h.ours("repo", "add", "good", url))
	h.must(h.ours("repo", "add", "broken", url))
	if err := os.WriteFile(filepath.Join(h.dir, "cache", "helm", "repository", "broken-index.yaml"), []byte("entries: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ro, rh := h.ours("search", "repo", "alpha"), h.helm("search", "repo", "alpha"); ro.stdout != rh.stdout || ro.code != rh.code || !strings.Contains(ro.stderr, `WARNING: Repo "broken" is corrupt or missing. Try 'helm repo update'.`) {
		t.Errorf("corrupt cache:\nours %+v\nhelm %+v", ro, rh)
	}

	// --prov fetches the provenance file without verifying it.
	if err := os.WriteFile(filepath.Join(dir, "alpha-0.2.0.tgz.prov"), []byte("not really signed"), 0o644); err != nil {
		t.Fatal(err)
	}
	po, ph := filepath.Join(h.dir, "prov-o"), filepath.Join(h.dir, "prov-h")
	for _, d := range []string{po, ph} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.must(h.ours("pull", "good/alpha", "--prov", "-d", po))
	h.must(h.helm("pull", "good/alpha", "--prov", "-d", ph))
	if diff := cmpTrees(tree(t, po), tree(t, ph)); diff != "" {
		t.Error(diff)
	}
}

// TestAuthenticatedRepository: credentials from --username and
// --password-stdin are stored in Helm's format and used by both clients.
func TestAuthenticatedRepository(t *testing.T) {
	h := newHarness(t)
	dir, _ := fixtureRepo(t, h)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	// The fixture's index points at another server; index this one.
	h.must(h.ours("repo", "index", dir, "--url", srv.URL))

	for _, args := range [][]string{{"repo", "add", "auth", srv.URL}, {"repo", "add", "auth", srv.URL, "--username", "u", "--password", "wrong"}} {
		if ro, rh := h.ours(args...), h.helm(args...); ro != rh || ro.code != 1 {
			t.Errorf("%v:\nours %+v\nhelm %+v", args, ro, rh)
		}
	}
	h.must(h.oursIn("p\n", "repo", "add", "auth", srv.URL, "--username", "u", "--password-stdin"))
	b, err := os.ReadFile(filepath.Join(h.dir, "config", "helm", "repositories.yaml"))
	if err != nil || !strings.Contains(string(b), "password: p\n") || !strings.Contains(string(b), "username: u\n") {
		t.Fatalf("repositories.yaml: %s (%v)", b, err)
	}
	od, hd := filepath.Join(h.dir, "ao"), filepath.Join(h.dir, "ah")
	for _, d := range []string{od, hd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.must(h.helm("repo", "update"))
	h.must(h.ours("pull", "auth/beta", "-d", od))
	h.must(h.helm("pull", "auth/beta", "-d", hd))
	if diff := cmpTrees(tree(t, od), tree(t, hd)); diff != "" {
		t.Error(diff)
	}
	if ro, rh := h.ours("search", "repo", "auth/"), h.helm("search", "repo", "auth/"); ro != rh {
		t.Errorf("search:\nours %+v\nhelm %+v", ro, rh)
	}
}
