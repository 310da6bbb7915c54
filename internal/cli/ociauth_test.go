package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/ocitest"
)

// TestOCIAuthErrorsMatchHelm: push and pull failures against a registry
// that wants credentials, and push references Helm refuses, read as real
// Helm 3.22's, which scripts match on.
func TestOCIAuthErrorsMatchHelm(t *testing.T) {
	h := newHarness(t)
	host := ocitest.Start(t, "alice", "s3cret").Host
	src := filepath.Join(h.dir, "demo")
	h.must(h.helm("create", src))
	h.must(h.helm("package", src, "-d", h.dir))
	tgz := filepath.Join(h.dir, "demo-0.1.0.tgz")
	cases := [][]string{
		{"push", tgz, "oci://" + host + "/c", "--plain-http"},
		{"push", tgz, "oci://" + host + "/c:1.0", "--plain-http"},
		{"push", tgz, "oci://" + host + "/c@sha256:" + strings.Repeat("a", 64), "--plain-http"},
		{"push", filepath.Join(h.dir, "missing.tgz"), "oci://" + host + "/c", "--plain-http"},
		{"pull", "oci://" + host + "/c/demo", "--version", "0.1.0", "--plain-http", "-d", h.dir},
		{"show", "chart", "oci://" + host + "/c/demo", "--plain-http"},
	}
	same := 0
	for _, args := range cases {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh {
			t.Errorf("helm %s:\nours %+v\nhelm %+v", strings.Join(args, " "), ro, rh)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}
