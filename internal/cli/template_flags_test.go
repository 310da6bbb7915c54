package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes files (slash paths) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTemplateInstallFlagsMatchHelm: template is an install dry run, so
// --debug prints the output that is not valid YAML (as its error message
// promises), --dependency-update fetches missing dependencies first, and
// install's flags are accepted as Helm accepts them. Stdout and the exit
// code are Helm's; stderr too, except under --debug, where Helm's debug
// log lines carry timestamps and source lines and only the error line is
// compared.
func TestTemplateInstallFlagsMatchHelm(t *testing.T) {
	h := newHarness(t)
	writeFiles(t, h.dir, map[string]string{
		"bad/Chart.yaml":          "apiVersion: v2\nname: bad\nversion: 0.1.0\n",
		"bad/templates/x.yaml":    "a: b\n  c: : d\n",
		"bad/templates/blank.txt": "{{/* nothing */}}\n",
		"fails/Chart.yaml":        "apiVersion: v2\nname: fails\nversion: 0.1.0\n",
		"fails/templates/x.yaml":  "{{ fail \"no\" }}\n",
		"sub/Chart.yaml":          "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
		"sub/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n",
		"par/Chart.yaml":          "apiVersion: v2\nname: par\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.2.0\n  repository: file://../sub\n",
		"par/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: par\n",
	})
	par := filepath.Join(h.dir, "par")
	at := func(n string) string { return filepath.Join(h.dir, n) }
	reset := func() {
		os.RemoveAll(filepath.Join(par, "charts"))
		os.Remove(filepath.Join(par, "Chart.lock"))
	}
	cases := [][]string{
		{"template", at("bad")},
		{"template", at("bad"), "--debug"},
		{"template", at("fails")},
		{"template", at("fails"), "--debug"},
		{"template", "x", par},
		{"template", "x", par, "--dependency-update"},
		{"template", "x", at("sub"), "--dry-run=server", "--replace", "--description", "d", "--labels", "a=b", "--skip-crds",
			"--take-ownership", "--atomic", "--wait", "--wait-for-jobs", "--create-namespace", "--timeout", "1s", "--force", "--hide-notes",
			"--disable-openapi-validation"},
		{"template", "x", at("sub"), "--dry-run=bogus"},
	}
	same := 0
	for _, args := range cases {
		reset()
		rh := h.helm(args...)
		reset()
		ro := h.ours(args...)
		debug := args[len(args)-1] == "--debug"
		if debug {
			rh.stderr, ro.stderr = errorLine(rh.stderr), errorLine(ro.stderr)
		}
		if ro != rh {
			t.Errorf("helm %s:\nours (%d):\n%s%s\nhelm (%d):\n%s%s", strings.Join(args, " "), ro.code, ro.stdout, ro.stderr, rh.code, rh.stdout, rh.stderr)
			continue
		}
		same++
		if args[len(args)-1] == "--dependency-update" {
			if _, err := os.Stat(filepath.Join(par, "charts", "sub-0.2.0.tgz")); err != nil {
				t.Errorf("--dependency-update did not fetch the dependency: %v", err)
			}
		}
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}

// errorLine is the "Error: " line of stderr.
func errorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "Error: ") {
			return l
		}
	}
	return ""
}
