package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/ocitest"
)

func fileDigest(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestOCIMatchesHelm: pushes by either client give the same manifest digest
// for the same archive, and pulls by either client get the same bytes.
func TestOCIMatchesHelm(t *testing.T) {
	h := newHarness(t)
	reg := ocitest.Start(t, "", "")
	host := reg.Host
	src := filepath.Join(h.dir, "demo")
	h.must(h.ours("create", src))
	if err := os.WriteFile(filepath.Join(src, "Chart.yaml"), []byte("apiVersion: v2\nname: demo\nversion: 1.0.0+abc\nappVersion: \"1\"\ndescription: d\nhome: https://example.com\nsources: [https://src]\nmaintainers:\n- name: Me\n  email: me@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgDir := filepath.Join(h.dir, "pkg")
	h.must(h.helm("package", src, "-d", pkgDir))
	tgz := filepath.Join(pkgDir, "demo-1.0.0+abc.tgz")

	rh := h.must(h.helm("push", tgz, "oci://"+host+"/helm", "--plain-http"))
	ro := h.must(h.ours("push", tgz, "oci://"+host+"/ours", "--plain-http"))
	if strings.ReplaceAll(ro.stderr, "/ours/", "/helm/") != rh.stderr || ro.stdout != rh.stdout {
		t.Errorf("push output:\nours %+v\nhelm %+v", ro, rh)
	}
	mh, dh := reg.Manifest(t, "helm/demo", "1.0.0_abc")
	mo, do := reg.Manifest(t, "ours/demo", "1.0.0_abc")
	if dh == "" || dh != do {
		t.Errorf("manifest digests differ: helm %s ours %s\nhelm: %s\nours: %s", dh, do, mh, mo)
	}

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"by tag", []string{"oci://" + host + "/helm/demo", "--version", "1.0.0+abc"}},
		{"newest", []string{"oci://" + host + "/ours/demo"}},
		{"constraint", []string{"oci://" + host + "/ours/demo", "--version", "^1"}},
		{"by digest", []string{"oci://" + host + "/helm/demo@" + dh}},
		{"untar", []string{"oci://" + host + "/helm/demo", "--untar"}},
		{"missing", []string{"oci://" + host + "/helm/nope"}},
		{"missing version", []string{"oci://" + host + "/helm/demo", "--version", "2.0.0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			od, hd := filepath.Join(h.dir, "o", tt.name), filepath.Join(h.dir, "h", tt.name)
			for _, d := range []string{od, hd} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ro := h.ours(append([]string{"pull", "--plain-http", "-d", od}, tt.args...)...)
			rh := h.helm(append([]string{"pull", "--plain-http", "-d", hd}, tt.args...)...)
			if ro.code != rh.code || ro.stdout != rh.stdout {
				t.Fatalf("ours %+v\nhelm %+v", ro, rh)
			}
			if ro.code == 0 && ro.stderr != rh.stderr {
				t.Errorf("stderr: ours %q helm %q", ro.stderr, rh.stderr)
			}
			if diff := cmpTrees(tree(t, od), tree(t, hd)); diff != "" {
				t.Error(diff)
			}
		})
	}
	if got := fileDigest(t, tgz); got == "" {
		t.Fatal("no digest")
	}
}

// TestRegistryLoginSharedWithHelm: credentials stored by our login let real
// Helm push, and Helm's stored credentials let us pull.
func TestRegistryLoginSharedWithHelm(t *testing.T) {
	h := newHarness(t)
	host := ocitest.Start(t, "alice", "s3cret").Host
	src := filepath.Join(h.dir, "demo")
	h.must(h.ours("create", src))
	h.must(h.ours("package", src, "-d", h.dir))
	tgz := filepath.Join(h.dir, "demo-0.1.0.tgz")

	wrong := []string{"registry", "login", host, "-u", "alice", "-p", "wrong", "--plain-http"}
	if ro, rh := h.ours(wrong...), h.helm(wrong...); ro.code != 1 || ro != rh {
		t.Errorf("login with a wrong password:\nours %+v\nhelm %+v", ro, rh)
	}
	r := h.must(h.oursIn("s3cret\n", "registry", "login", host, "-u", "alice", "--password-stdin", "--plain-http"))
	if r.stdout != "" || r.stderr != "Login Succeeded\n" {
		t.Errorf("login output %+v", r)
	}
	// Logging out and in again through both clients prints the same.
	for _, args := range [][]string{{"registry", "logout", host}, {"registry", "logout", host}, {"registry", "login", host, "-u", "alice", "-p", "s3cret", "--plain-http"}} {
		if ro, rh := h.ours(args...), h.helm(args...); ro != rh {
			t.Errorf("%v: ours %+v helm %+v", args, ro, rh)
		}
	}
	h.must(h.helm("push", tgz, "oci://"+host+"/c", "--plain-http"))
	h.must(h.ours("registry", "logout", host))
	if r := h.helm("pull", "oci://"+host+"/c/demo", "--plain-http", "-d", h.dir); r.code == 0 {
		t.Error("helm pulled after our logout")
	}
	h.must(h.helm("registry", "login", host, "-u", "alice", "-p", "s3cret", "--plain-http"))
	out := filepath.Join(h.dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	h.must(h.ours("pull", "oci://"+host+"/c/demo", "--plain-http", "-d", out))
	if fileDigest(t, filepath.Join(out, "demo-0.1.0.tgz")) != fileDigest(t, tgz) {
		t.Error("pulled archive differs from the pushed one")
	}
}
