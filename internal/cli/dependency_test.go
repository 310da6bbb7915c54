package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var generatedRe = regexp.MustCompile(`(?m)^generated: .*$`)

// TestDependencyMatchesHelm: dependency update/build/list give Helm's
// output, the same Chart.lock digest and the same charts/ contents.
func TestDependencyMatchesHelm(t *testing.T) {
	h := newHarness(t)
	_, url := fixtureRepo(t, h)
	h.must(h.helm("repo", "add", "fx", url))

	mk := func(dir string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		h.must(h.ours("create", filepath.Join(dir, "parent")))
		h.must(h.ours("create", filepath.Join(dir, "localdep")))
		cy := "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n" +
			"- name: alpha\n  version: ^0.1.0\n  repository: " + url + "\n" +
			"- name: beta\n  version: \">=2.0.0 <3\"\n  repository: \"@fx\"\n" +
			"- name: localdep\n  version: 0.1.0\n  repository: file://../localdep\n"
		if err := os.WriteFile(filepath.Join(dir, "parent", "Chart.yaml"), []byte(cy), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	od, hd := filepath.Join(h.dir, "dep-ours"), filepath.Join(h.dir, "dep-helm")
	mk(od)
	mk(hd)
	op, hp := filepath.Join(od, "parent"), filepath.Join(hd, "parent")

	norm := func(r result, dir string) result {
		r.stdout = strings.ReplaceAll(r.stdout, dir, "DIR")
		r.stderr = strings.ReplaceAll(r.stderr, dir, "DIR")
		return r
	}
	check := func(args ...string) {
		t.Helper()
		ro := norm(h.ours(append(args, op)...), od)
		rh := norm(h.helm(append(args, hp)...), hd)
		if ro != rh {
			t.Errorf("helm %s:\nours %+v\nhelm %+v", strings.Join(args, " "), ro, rh)
		}
	}
	check("dependency", "list")
	check("dependency", "update")
	lo, _ := os.ReadFile(filepath.Join(op, "Chart.lock"))
	lh, _ := os.ReadFile(filepath.Join(hp, "Chart.lock"))
	if generatedRe.ReplaceAllString(string(lo), "") != generatedRe.ReplaceAllString(string(lh), "") || len(lh) == 0 {
		t.Errorf("Chart.lock:\nours:\n%s\nhelm:\n%s", lo, lh)
	}
	to, th := tree(t, filepath.Join(op, "charts")), tree(t, filepath.Join(hp, "charts"))
	// Archives from the repository are the same bytes; local ones are
	// packaged by each client (Helm stamps the time), so compare names.
	to["localdep-0.1.0.tgz"], th["localdep-0.1.0.tgz"] = "local", "local"
	if diff := cmpTrees(to, th); diff != "" {
		t.Errorf("charts/:\n%s", diff)
	}
	check("dependency", "list")

	// Each client builds from the other's lock file.
	if err := os.WriteFile(filepath.Join(op, "Chart.lock"), lh, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hp, "Chart.lock"), lo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{op, hp} {
		if err := os.RemoveAll(filepath.Join(p, "charts")); err != nil {
			t.Fatal(err)
		}
	}
	check("dependency", "build")
	check("dependency", "list")
	// An edited Chart.yaml makes the lock stale for both.
	for _, p := range []string{op, hp} {
		b, _ := os.ReadFile(filepath.Join(p, "Chart.yaml"))
		if err := os.WriteFile(filepath.Join(p, "Chart.yaml"), []byte(strings.Replace(string(b), "^0.1.0", "^0.2.0", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check("dependency", "build")
	// Both render the parent with its dependencies the same way.
	check("template", "rel")

	// package -u updates the dependencies first, with the same output.
	for _, p := range []string{op, hp} {
		b, _ := os.ReadFile(filepath.Join(p, "Chart.yaml"))
		if err := os.WriteFile(filepath.Join(p, "Chart.yaml"), []byte(strings.Replace(string(b), "^0.2.0", "^0.1.0", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ro := norm(h.ours("package", "-u", op, "-d", od), od)
	rh := norm(h.helm("package", "-u", hp, "-d", hd), hd)
	if ro != rh {
		t.Errorf("package -u:\nours %+v\nhelm %+v", ro, rh)
	}
}
