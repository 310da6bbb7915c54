package cli_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTLSRepository: --ca-file and --insecure-skip-tls-verify behave as in
// Helm against an HTTPS repository with a private CA.
func TestTLSRepository(t *testing.T) {
	h := newHarness(t)
	dir, _ := fixtureRepo(t, h)
	srv := httptest.NewUnstartedServer(http.FileServer(http.Dir(dir)))
	// The failed handshakes below are expected; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	h.must(h.ours("repo", "index", dir, "--url", srv.URL))
	ca := filepath.Join(h.dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without trust both fail the same way.
	ro, rh := h.ours("repo", "add", "tls", srv.URL), h.helm("repo", "add", "tls", srv.URL)
	if ro.code != 1 || rh.code != 1 || !strings.Contains(ro.stderr, "certificate") {
		t.Errorf("untrusted:\nours %+v\nhelm %+v", ro, rh)
	}
	h.must(h.ours("repo", "add", "tls", srv.URL, "--ca-file", ca))
	h.must(h.helm("repo", "add", "tls2", srv.URL, "--insecure-skip-tls-verify"))
	// Repositories update in parallel: compare the lines, not their order.
	sorted := func(s string) string {
		l := strings.Split(s, "\n")
		slices.Sort(l)
		return strings.Join(l, "\n")
	}
	if ro, rh := h.ours("repo", "update"), h.helm("repo", "update"); sorted(ro.stdout) != sorted(rh.stdout) || ro.code != 0 || rh.code != 0 {
		t.Errorf("repo update:\nours %+v\nhelm %+v", ro, rh)
	}
	if ro, rh := h.ours("search", "repo", "tls"), h.helm("search", "repo", "tls"); ro != rh {
		t.Errorf("search:\nours %+v\nhelm %+v", ro, rh)
	}
	// A repository's insecure flag covers its index, not downloads.
	if ro, rh := h.ours("pull", "tls2/beta", "-d", h.dir), h.helm("pull", "tls2/beta", "-d", h.dir); ro.code != 1 || ro != rh {
		t.Errorf("pull from an insecure repository:\nours %+v\nhelm %+v", ro, rh)
	}
	for _, ref := range []string{"tls/alpha", "tls2/beta --insecure-skip-tls-verify"} {
		od, hd := filepath.Join(h.dir, "o", ref), filepath.Join(h.dir, "h", ref)
		for _, d := range []string{od, hd} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		args := append([]string{"pull"}, strings.Fields(ref)...)
		h.must(h.ours(append(args, "-d", od)...))
		h.must(h.helm(append(args, "-d", hd)...))
		if diff := cmpTrees(tree(t, od), tree(t, hd)); diff != "" {
			t.Error(diff)
		}
	}
}
