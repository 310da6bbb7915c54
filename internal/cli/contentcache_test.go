package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// cachePath is where Helm 4 keeps a chart of this digest.
func cachePath(root, digest string) string {
	return filepath.Join(root, digest[:2], digest+".chart")
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestContentCacheLikeHelm4: installs and templates from a repository
// keep the chart in the content cache under the index's digest, as Helm
// 4.3 does, and a later template is served from it when the repository no
// longer serves the archive; --content-cache and HELM_CONTENT_CACHE move
// it. Where Helm 4 stores whatever a lying server sends under the digest
// the index claims (poisoning the cache), ours checks the bytes first,
// refuses them, and stores nothing.
func TestContentCacheLikeHelm4(t *testing.T) {
	h := newHarness(t)
	repoDir := filepath.Join(h.dir, "repo")
	for _, name := range []string{"good", "other"} {
		src := filepath.Join(h.dir, "src", name)
		writeFiles(t, src, map[string]string{
			"Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n",
		})
		h.must(h.helm("package", src, "-d", repoDir))
	}
	h.must(h.helm("repo", "index", repoDir))
	good, _ := os.ReadFile(filepath.Join(repoDir, "good-0.1.0.tgz"))
	other, _ := os.ReadFile(filepath.Join(repoDir, "other-0.1.0.tgz"))
	index, _ := os.ReadFile(filepath.Join(repoDir, "index.yaml"))
	if !strings.Contains(string(index), sha(good)) {
		t.Fatalf("index lacks the digest of good: %s", index)
	}
	// The liar's index claims good's digest for "other" too.
	lying := strings.Replace(string(index), sha(other), sha(good), 1)
	var gone atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/index.yaml":
			w.Write([]byte(lying))
		case gone.Load():
			http.NotFound(w, r)
		default:
			http.ServeFile(w, r, filepath.Join(repoDir, filepath.Base(r.URL.Path)))
		}
	}))
	t.Cleanup(srv.Close)
	h.must(h.ours("repo", "add", "r", srv.URL))

	run := func(who string, env []string, args ...string) result {
		if who == "helm4" {
			return h.peer("helm4", env, args...)
		}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			h.vars[k] = v
		}
		defer func() {
			for _, kv := range env {
				k, _, _ := strings.Cut(kv, "=")
				delete(h.vars, k)
			}
		}()
		return h.ours(args...)
	}
	for _, who := range []string{"helm4", "ours"} {
		gone.Store(false)
		flagDir := filepath.Join(h.dir, who, "flag")
		envDir := filepath.Join(h.dir, who, "env")
		r := run(who, nil, "template", "x", "r/good", "--content-cache", flagDir)
		if r.code != 0 {
			t.Fatalf("%s template r/good: %+v", who, r)
		}
		if b, err := os.ReadFile(cachePath(flagDir, sha(good))); err != nil || sha(b) != sha(good) {
			t.Errorf("%s: --content-cache holds no verified copy of good: %v", who, err)
		}
		if r := run(who, []string{"HELM_CONTENT_CACHE=" + envDir}, "template", "x", "r/good"); r.code != 0 {
			t.Fatalf("%s template with HELM_CONTENT_CACHE: %+v", who, r)
		}
		if _, err := os.Stat(cachePath(envDir, sha(good))); err != nil {
			t.Errorf("%s: HELM_CONTENT_CACHE not used: %v", who, err)
		}
		// Served from the cache once the repository stops serving it.
		gone.Store(true)
		if r := run(who, nil, "template", "x", "r/good", "--content-cache", flagDir); r.code != 0 || !strings.Contains(r.stdout, "name: good") {
			t.Errorf("%s: not served from the content cache: %+v", who, r)
		}
		gone.Store(false)

		// The liar: "other" with good's digest, into a fresh cache.
		liarDir := filepath.Join(h.dir, who, "liar")
		r = run(who, nil, "template", "x", "r/other", "--content-cache", liarDir)
		stored, err := os.ReadFile(cachePath(liarDir, sha(good)))
		switch who {
		case "helm4":
			// Documents Helm 4's behaviour: the poisoned entry.
			if err != nil || sha(stored) == sha(good) {
				t.Errorf("helm4 did not store the lying bytes (err %v); the comparison shows nothing", err)
			}
		case "ours":
			if r.code == 0 || !strings.Contains(r.stderr, "does not match the digest the repository index claims") {
				t.Errorf("ours accepted bytes that do not match the index digest: %+v", r)
			}
			if err == nil {
				t.Errorf("ours stored the lying bytes under the claimed digest")
			}
		}
	}
}
