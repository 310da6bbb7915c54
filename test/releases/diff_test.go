package releases

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

var updateGolden = flag.Bool("update-diff-golden", false, "rewrite testdata/diff/*.golden from this run")

// golden compares out (with the test namespace written NS) with
// testdata/diff/name.golden.
func golden(t *testing.T, name, ns, out string) {
	t.Helper()
	p := filepath.Join("testdata", "diff", name+".golden")
	got := strings.ReplaceAll(out, ns, "NS")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// diffChart has a Deployment, a ConfigMap, a Secret, a ConfigMap that
// exists while extra=true and one that exists while added=true.
func diffChart(t *testing.T) string {
	return writeChart(t, "web", map[string]string{
		"templates/extra.yaml":  "{{ if .Values.extra }}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  k: v\n{{ end }}\n",
		"templates/added.yaml":  "{{ if .Values.added }}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-added\ndata:\n  k: new\n{{ end }}\n",
		"templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-s\nstringData:\n  password: {{ .Values.password | default \"hunter2\" }}\n",
		"values.yaml":           "replicas: 2\nimage: nginx:1.0\nextra: true\nadded: false\n",
	})
}

// helm diff upgrade compares the live objects with what the upgrade would
// make of them, with helm-diff's headers over a unified diff: changed
// values, drift made with kubectl that the upgrade would undo, Secrets
// redacted, a deleted object and a new one. Nothing is written.
// --detailed-exitcode exits 2 on changes and 0 without.
func TestDiffUpgrade(t *testing.T) {
	ours, _, _ := clients(t)
	chart := diffChart(t)
	ns := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns)

	r := ours.run(t, "diff", "upgrade", "web", chart, "-n", ns, "--detailed-exitcode")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("no change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	kubectl(t, "-n", ns, "scale", "deployment/web", "--replicas=5")
	args := []string{"diff", "upgrade", "web", chart, "-n", ns, "-C", "1", "--set", "image=nginx:2.0,extra=false,added=true,password=s3cret"}
	r = ours.run(t, append(args, "--detailed-exitcode")...)
	if r.code != 2 || r.stderr != "" {
		t.Fatalf("changes: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "upgrade", ns, r.stdout)
	if r2 := ours.run(t, args...); r2.code != 0 || r2.stdout != r.stdout {
		t.Errorf("without --detailed-exitcode: exit %d, same output %v", r2.code, r2.stdout == r.stdout)
	}
	if got := replicas(t, ns, "web"); got != 5 {
		t.Errorf("the diff changed replicas: %d", got)
	}
	if h := history(t, ours, ns, "web"); len(h) != 1 {
		t.Errorf("the diff recorded a revision: %v", h)
	}
	// --show-secrets prints the values as stored (base64), as helm-diff's does.
	r = ours.run(t, "diff", "upgrade", "web", chart, "-n", ns, "--show-secrets", "--set", "password=s3cret")
	if !strings.Contains(r.stdout, "-  password: aHVudGVyMg==\n+  password: czNjcmV0\n") {
		t.Errorf("--show-secrets:\n%s", r.stdout)
	}

	// Server-side: the same diff through a dry-run apply.
	ns2 := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns2, "--server-side")
	r = ours.run(t, "diff", "upgrade", "web", chart, "-n", ns2, "-C", "1", "--set", "image=nginx:2.0")
	golden(t, "upgrade-ssa", ns2, r.stdout)
}

// helm diff rollback shows what rolling back would do to the live objects
// (drift included), and helm diff revision compares stored manifests.
func TestDiffRollbackAndRevision(t *testing.T) {
	ours, _, _ := clients(t)
	chart := diffChart(t)
	ns := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns)
	ours.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0,extra=false,added=true")
	kubectl(t, "-n", ns, "patch", "configmap/web-cm", "--type=merge", "-p", `{"data":{"image":"hand-edited"}}`)

	r := ours.run(t, "diff", "rollback", "web", "-n", ns, "-C", "1", "--detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "rollback", ns, r.stdout)
	if h := history(t, ours, ns, "web"); len(h) != 2 {
		t.Errorf("the diff recorded a revision: %v", h)
	}

	r = ours.run(t, "diff", "revision", "web", "1", "2", "-n", ns, "--detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "revision", ns, r.stdout)
	if r1 := ours.must(t, "diff", "revision", "web", "1", "-n", ns); strings.ReplaceAll(r1, "newest", "revision 2") != r.stdout {
		t.Errorf("revision 1 against the newest differs from 1 against 2:\n%s", r1)
	}
	if r := ours.run(t, "diff", "revision", "web", "2", "2", "-n", ns, "--detailed-exitcode"); r.code != 0 || r.stdout != "" {
		t.Errorf("a revision against itself: exit %d\n%s", r.code, r.stdout)
	}
}

// helm-diff's --allow-unreleased (--install) shows a release that does not
// exist as all added; without it the upgrade's error stands. --output
// simple prints one line per object and helm-diff's plan line.
func TestDiffUnreleasedAndSimple(t *testing.T) {
	ours, _, _ := clients(t)
	chart := diffChart(t)
	ns := cluster.Namespace(t)
	r := ours.run(t, "diff", "upgrade", "web", chart, "-n", ns)
	if r.code == 0 || !strings.Contains(r.stderr, `"web" has no deployed releases`) {
		t.Errorf("no release: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, flag := range []string{"--allow-unreleased", "--install"} {
		r = ours.run(t, "diff", "upgrade", "web", chart, "-n", ns, flag, "--output", "simple", "--detailed-exitcode")
		want := "NS, web, Deployment (apps) to be added.\n" +
			"NS, web-cm, ConfigMap (v1) to be added.\n" +
			"NS, web-extra, ConfigMap (v1) to be added.\n" +
			"NS, web-s, Secret (v1) to be added.\n" +
			"Plan: 4 to add, 0 to change, 0 to destroy, 0 to change ownership.\n"
		if got := strings.ReplaceAll(r.stdout, ns, "NS"); r.code != 2 || got != want {
			t.Errorf("%s: exit %d\n%s%s", flag, r.code, got, r.stderr)
		}
	}
	if out := ours.must(t, "list", "-n", ns, "-q"); out != "" {
		t.Errorf("the diff installed: %q", out)
	}
	ours.must(t, "install", "web", chart, "-n", ns)
	r = ours.run(t, "diff", "upgrade", "web", chart, "-n", ns, "--output", "simple", "--set", "extra=false,image=x")
	want := "NS, web, Deployment (apps) to be changed.\n" +
		"NS, web-cm, ConfigMap (v1) to be changed.\n" +
		"NS, web-extra, ConfigMap (v1) to be removed.\n" +
		"Plan: 0 to add, 2 to change, 1 to destroy, 0 to change ownership.\n"
	if got := strings.ReplaceAll(r.stdout, ns, "NS"); r.code != 0 || got != want {
		t.Errorf("simple: exit %d\n%s%s", r.code, got, r.stderr)
	}
}

// Hooks are diffed as helm-diff diffs them, stored against rendered: test
// hooks only with --include-tests, none with --no-hooks.
func TestDiffHooks(t *testing.T) {
	ours, _, _ := clients(t)
	chart := writeChart(t, "web", map[string]string{
		"templates/hook.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations:\n    helm.sh/hook: pre-upgrade\ndata:\n  image: {{ .Values.image | quote }}\n",
		"templates/test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers: [{name: t, image: {{ .Values.image }}}]\n",
	})
	ns := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns)
	simple := func(args ...string) string {
		out := ours.must(t, append([]string{"diff", "upgrade", "web", chart, "-n", ns, "--output", "simple", "--set", "image=nginx:2.0"}, args...)...)
		return strings.ReplaceAll(out, ns, "NS")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "NS, web, Deployment (apps) to be changed.\nNS, web-cm, ConfigMap (v1) to be changed.\nNS, web-hook, ConfigMap (v1) to be changed.\nPlan: 0 to add, 3 to change, 0 to destroy, 0 to change ownership.\n"},
		{[]string{"--include-tests"}, "NS, web, Deployment (apps) to be changed.\nNS, web-cm, ConfigMap (v1) to be changed.\nNS, web-hook, ConfigMap (v1) to be changed.\nNS, web-test, Pod (v1) to be changed.\nPlan: 0 to add, 4 to change, 0 to destroy, 0 to change ownership.\n"},
		{[]string{"--no-hooks"}, "NS, web, Deployment (apps) to be changed.\nNS, web-cm, ConfigMap (v1) to be changed.\nPlan: 0 to add, 2 to change, 0 to destroy, 0 to change ownership.\n"},
	} {
		if got := simple(tc.args...); got != tc.want {
			t.Errorf("%v:\n%s\nwant:\n%s", tc.args, got, tc.want)
		}
	}
}
