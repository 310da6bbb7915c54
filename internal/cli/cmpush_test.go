package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// fakeCM records uploads the way a ChartMuseum-API server receives them.
type fakeCM struct {
	mu      sync.Mutex
	uploads []upload
	status  int
	body    string
}

type upload struct {
	path, query, user string
	fields            map[string]string // field -> file name
	sizes             map[string]int
}

func (f *fakeCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/index.yaml") {
		fmt.Fprint(w, "apiVersion: v1\nentries: {}\nserverInfo:\n  contextPath: /ctx\n")
		return
	}
	u, _, _ := r.BasicAuth()
	up := upload{path: r.URL.Path, query: r.URL.RawQuery, user: u, fields: map[string]string{}, sizes: map[string]int{}}
	if err := r.ParseMultipartForm(1 << 20); err == nil {
		for field, fhs := range r.MultipartForm.File {
			fh := fhs[0]
			file, _ := fh.Open()
			b, _ := io.ReadAll(file)
			up.fields[field] = fh.Filename
			up.sizes[field] = len(b)
		}
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, up)
	status, body := f.status, f.body
	f.mu.Unlock()
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func TestPushChartMuseumAPI(t *testing.T) {
	h := newHarness(t)
	cm := &fakeCM{status: http.StatusCreated, body: `{"saved":true}`}
	srv := httptest.NewServer(cm)
	defer srv.Close()
	src := filepath.Join(h.dir, "demo")
	h.must(h.ours("create", src))
	h.must(h.ours("package", src, "-d", h.dir))
	tgz := filepath.Join(h.dir, "demo-0.1.0.tgz")

	// The repository entry's credentials are used; its URL includes the
	// context path and the tenant.
	rf := fmt.Sprintf("repositories:\n- name: cm\n  url: %s/ctx/org/team\n  username: u1\n  password: p1\n", srv.URL)
	if err := os.MkdirAll(filepath.Join(h.dir, "config", "helm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "config", "helm", "repositories.yaml"), []byte(rf), 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.must(h.ours("push", tgz, "cm"))
	if r.stdout != "Pushing demo-0.1.0.tgz to cm...\nDone.\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if err := os.WriteFile(tgz+".prov", []byte("signature"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.must(h.ours("push", tgz, srv.URL+"/ctx/org/team", "--force", "--username", "u2", "--password", "p2"))

	cm.status, cm.body = http.StatusConflict, `{"error":"file already exists"}`
	r = h.ours("push", tgz, "cm")
	if r.code != 1 || r.stderr != "Error: 409: file already exists\n" {
		t.Errorf("conflict: %+v", r)
	}
	cm.status, cm.body = http.StatusInternalServerError, `oops`
	r = h.ours("push", tgz, "cm")
	if r.code != 1 || r.stderr != "Error: 500: could not properly parse response JSON: oops\n" {
		t.Errorf("bad body: %+v", r)
	}

	if len(cm.uploads) != 4 {
		t.Fatalf("%d uploads", len(cm.uploads))
	}
	first, second := cm.uploads[0], cm.uploads[1]
	if first.path != "/ctx/api/org/team/charts" || first.query != "" || first.user != "u1" || first.fields["chart"] != "demo-0.1.0.tgz" || len(first.fields) != 1 {
		t.Errorf("first upload %+v", first)
	}
	if second.path != "/ctx/api/org/team/charts" || second.query != "force" || second.user != "u2" || second.fields["prov"] != "demo-0.1.0.tgz.prov" || second.sizes["prov"] != len("signature") {
		t.Errorf("second upload %+v", second)
	}
}

// TestPushToRealChartMuseum: our built-in cm-push against the real
// ChartMuseum, then real Helm installs from what we pushed.
func TestPushToRealChartMuseum(t *testing.T) {
	h := newHarness(t)
	port := freePort(t)
	storage := filepath.Join(h.dir, "cm-storage")
	cmd := exec.Command(peers.Path(t, "chartmuseum"), "--port", port, "--listen-host", "127.0.0.1",
		"--storage", "local", "--storage-local-rootdir", storage, "--context-path", "/ctx", "--depth", "1",
		"--basic-auth-user", "u", "--basic-auth-pass", "p")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + port
	waitHealthy(t, base+"/ctx/health")

	src := filepath.Join(h.dir, "demo")
	h.must(h.ours("create", src))
	h.must(h.ours("package", src, "-d", h.dir))
	tgz := filepath.Join(h.dir, "demo-0.1.0.tgz")
	repoURL := base + "/ctx/team"
	h.must(h.helm("repo", "add", "cm", repoURL, "--username", "u", "--password", "p"))
	r := h.must(h.ours("push", tgz, "cm"))
	if r.stdout != "Pushing demo-0.1.0.tgz to cm...\nDone.\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	r = h.ours("push", tgz, "cm")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: 409: ") {
		t.Errorf("second push: %+v", r)
	}
	h.must(h.ours("push", tgz, "cm", "--force"))
	h.must(h.helm("repo", "update"))
	hs, ours := h.helm("search", "repo", "demo"), h.ours("search", "repo", "demo")
	if hs != ours || !strings.Contains(hs.stdout, "cm/demo") {
		t.Errorf("search after push: helm %+v ours %+v", hs, ours)
	}
	if err := os.MkdirAll(filepath.Join(h.dir, "pulled"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.must(h.helm("pull", "cm/demo", "-d", filepath.Join(h.dir, "pulled")))
	if fileDigest(t, filepath.Join(h.dir, "pulled", "demo-0.1.0.tgz")) != fileDigest(t, tgz) {
		t.Error("helm pulled different bytes than we pushed")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// waitHealthy polls url until it answers 200: the peer process gives no
// other readiness signal.
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not become healthy", url)
		case <-tick.C:
		}
	}
}
