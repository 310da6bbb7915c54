package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagesInterchangeable: a chart packaged by one client reads the
// same in the other (show, template), and both package with the same
// messages.
func TestPackagesInterchangeable(t *testing.T) {
	h := newHarness(t)
	src := filepath.Join(h.dir, "demo")
	h.must(h.helm("create", src))
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("# Demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "crds"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "crds", "crd.yaml"), []byte("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: xs.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	od, hd := filepath.Join(h.dir, "o"), filepath.Join(h.dir, "h")
	ro := h.must(h.ours("package", src, "-d", od, "--version", "1.2.3", "--app-version", "9.9"))
	rh := h.must(h.helm("package", src, "-d", hd, "--version", "1.2.3", "--app-version", "9.9"))
	if strings.ReplaceAll(ro.stdout, od, "D") != strings.ReplaceAll(rh.stdout, hd, "D") {
		t.Errorf("package stdout: ours %q helm %q", ro.stdout, rh.stdout)
	}
	ours, theirs := filepath.Join(od, "demo-1.2.3.tgz"), filepath.Join(hd, "demo-1.2.3.tgz")
	for _, args := range [][]string{
		{"show", "chart"}, {"show", "values"}, {"show", "readme"}, {"show", "crds"}, {"show", "all"}, {"inspect", "chart"},
		{"template", "rel"}, {"template", "rel", "--include-crds", "--set", "replicaCount=3", "--namespace", "ns"},
		{"template", "rel", "-s", "templates/service.yaml", "--is-upgrade", "--kube-version", "1.29.0", "-a", "x.example.com/v1"},
		{"template", "rel", "-s", "templates/nope.yaml"},
	} {
		// Every reader on every archive, and on the directory, agrees.
		want := h.helm(append(args, theirs)...)
		for _, target := range []string{ours, theirs} {
			for _, run := range []func(...string) result{h.ours, h.helm} {
				if got := run(append(args, target)...); got != want {
					t.Errorf("%s %s:\ngot  %+v\nwant %+v", strings.Join(args, " "), target, got, want)
				}
			}
		}
	}
	if r := h.helm("lint", ours); r.code != 0 {
		t.Errorf("helm lint of our package: %+v", r)
	}
	// Bad input fails as Helm does.
	for _, args := range [][]string{
		{"package", src, "--version", "x.y"},
		{"package", filepath.Join(h.dir, "missing")},
		{"show", "chart", filepath.Join(h.dir, "missing")},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro.code != rh.code || ro.code == 0 {
			t.Errorf("%v: ours %+v helm %+v", args, ro, rh)
		}
	}
}

// TestLintMatchesHelm: lint reports and exit codes match Helm's on a clean
// scaffold, an archive, a broken chart and a chart missing dependencies.
func TestLintMatchesHelm(t *testing.T) {
	h := newHarness(t)
	good := filepath.Join(h.dir, "good")
	h.must(h.ours("create", good))
	h.must(h.ours("package", good, "-d", h.dir))
	bad := filepath.Join(h.dir, "bad")
	h.must(h.ours("create", bad))
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bad, "Chart.yaml"), "apiVersion: v3\nname: bad\nversion: one\nicon: nope\nmaintainers:\n- name: x\n  email: notmail\nsources: [\"::\"]\n")
	write(filepath.Join(bad, "values.yaml"), "x: [\n")
	deps := filepath.Join(h.dir, "deps")
	h.must(h.ours("create", deps))
	write(filepath.Join(deps, "Chart.yaml"), "apiVersion: v2\nname: deps\nversion: 0.1.0\nicon: https://example.com/i.png\ndependencies:\n- name: missing\n  version: 1.0.0\n  repository: https://example.com\n")
	for _, args := range [][]string{
		{"lint", good},
		{"lint", good, "--strict"},
		{"lint", good, "--quiet"},
		{"lint", filepath.Join(h.dir, "good-0.1.0.tgz")},
		{"lint", bad},
		{"lint", deps},
		{"lint", deps, "--strict"},
		{"lint", good, bad},
		{"lint", filepath.Join(h.dir, "nothing")},
		{"lint", good, "--set", "image.tag=x", "-f", filepath.Join(good, "values.yaml")},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh {
			t.Errorf("helm %s:\nours %+v\nhelm %+v", strings.Join(args, " "), ro, rh)
		}
	}
}
