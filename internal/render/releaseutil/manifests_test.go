package releaseutil_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/render/releaseutil"
)

func TestSplitManifests(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{in: "", want: nil},
		{in: "a: 1", want: []string{"a: 1"}},
		{in: "---\na: 1\n---\nb: 2\n", want: []string{"a: 1", "b: 2"}},
		// Helm's separator regexp swallows the blank lines after a "---",
		// so a second "---" right after them stays in the document.
		{in: "a: 1\n---   \n\n---\nb: 2", want: []string{"a: 1", "---\nb: 2"}},
		{in: "a: |\n  x---y\n---\nb: 2", want: []string{"a: |\n  x---y", "b: 2"}},
		{in: "a: 1\n--- # comment\nb: 2", want: []string{"a: 1", "# comment\nb: 2"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, releaseutil.SplitManifests(tt.in)); diff != "" {
			t.Errorf("SplitManifests(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzSplitManifests(f *testing.F) {
	f.Add("a: 1\n---\nb: 2\n")
	f.Add("---\n---\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range releaseutil.SplitManifests(s) {
			if d == "" || d != strings.TrimSpace(d) {
				t.Fatalf("SplitManifests(%q) produced untrimmed or empty document %q", s, d)
			}
		}
	})
}

func TestSortManifests(t *testing.T) {
	files := map[string]string{
		"c/templates/b.yaml":  "kind: Deployment\nmetadata:\n  name: d\n---\nkind: Unknown\n---\nkind: Namespace\n",
		"c/templates/a.yaml":  "kind: Service\n---\nkind: Job\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: pre-install, Post-Upgrade\n    helm.sh/hook-weight: \"3\"\n    helm.sh/hook-delete-policy: Hook-Succeeded\n",
		"c/templates/_p.yaml": "kind: Pod\n",
		"c/templates/e.yaml":  "  \n",
		"c/templates/u.yaml":  "kind: Pod\nmetadata:\n  name: u\n  annotations:\n    helm.sh/hook: bogus\n",
		"c/templates/t.yaml":  "kind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test-success\n",
	}
	hooks, manifests, err := releaseutil.SortManifests(files, releaseutil.InstallOrder())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range manifests {
		kinds = append(kinds, m.Name+":"+m.Kind)
	}
	want := []string{"c/templates/b.yaml:Namespace", "c/templates/a.yaml:Service", "c/templates/b.yaml:Deployment", "c/templates/b.yaml:Unknown"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("manifest order (-want +got):\n%s", diff)
	}
	wantHooks := []*releaseutil.Hook{
		{Name: "t", Kind: "Pod", Path: "c/templates/t.yaml", Manifest: strings.TrimSpace(files["c/templates/t.yaml"]), Events: []string{"test"}, DeletePolicies: []string{}, OutputLogPolicies: []string{}},
		{Name: "h", Kind: "Job", Path: "c/templates/a.yaml", Manifest: strings.TrimSpace(strings.SplitN(files["c/templates/a.yaml"], "---\n", 2)[1]),
			Events: []string{"pre-install", "post-upgrade"}, Weight: 3, DeletePolicies: []string{"hook-succeeded"}, OutputLogPolicies: []string{}},
	}
	if diff := cmp.Diff(wantHooks, hooks); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
	if !hooks[0].IsTest() || hooks[1].IsTest() {
		t.Error("IsTest wrong")
	}

	_, _, err = releaseutil.SortManifests(map[string]string{"c/templates/x.yaml": "a: b: c"}, releaseutil.InstallOrder())
	if err == nil || !strings.HasPrefix(err.Error(), "YAML parse error on c/templates/x.yaml: ") {
		t.Errorf("err = %v", err)
	}
}

// Helm's uninstall order has the kinds of the install order, with Services
// moved ahead of the workloads.
func TestUninstallOrder(t *testing.T) {
	in, un := releaseutil.InstallOrder(), releaseutil.UninstallOrder()
	a, b := slices.Clone(in), slices.Clone(un)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("UninstallOrder has other kinds than InstallOrder: %v", un)
	}
	if slices.Index(un, "Service") > slices.Index(un, "Deployment") || un[0] != "APIService" || un[len(un)-1] != "PriorityClass" {
		t.Errorf("UninstallOrder is not Helm's: %v", un)
	}
}
