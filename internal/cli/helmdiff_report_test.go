package cli

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
)

// The report is helm-diff's header over a unified diff (whole objects by
// default, -C lines around changes otherwise), or helm-diff's simple
// lines; --detailed-exitcode turns changes into exit 2, silently.
func TestDiffReport(t *testing.T) {
	y := func(v string) string { return "a: 1\nb: " + v + "\nc: 3\nd: 4\n" }
	changes := []action.Change{
		{Key: "ns, web, Deployment (apps)", API: "apps", Kind: "Deployment", Namespace: "ns", Name: "web", Type: action.ChangeModify, Before: y("1"), After: y("2")},
		{Key: "ns, gone, ConfigMap (v1)", API: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "gone", Type: action.ChangeRemove, Before: "k: v\n"},
		{Key: "ns, new, ConfigMap (v1)", API: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "new", Type: action.ChangeAdd, After: "k: v\n"},
	}
	for _, tc := range []struct {
		name string
		f    diffFlags
		want string
	}{
		{"whole objects", diffFlags{Context: -1, Output: "diff"}, `ns, web, Deployment (apps) has changed:
--- live
+++ upgrade
@@ -1,4 +1,4 @@
 a: 1
-b: 1
+b: 2
 c: 3
 d: 4
ns, gone, ConfigMap (v1) has been removed:
--- live
+++ upgrade
@@ -1 +0,0 @@
-k: v
ns, new, ConfigMap (v1) has been added:
--- live
+++ upgrade
@@ -0,0 +1 @@
+k: v
`},
		{"one line of context", diffFlags{Context: 1, Output: "diff"}, `ns, web, Deployment (apps) has changed:
--- live
+++ upgrade
@@ -1,3 +1,3 @@
 a: 1
-b: 1
+b: 2
 c: 3
ns, gone, ConfigMap (v1) has been removed:
--- live
+++ upgrade
@@ -1 +0,0 @@
-k: v
ns, new, ConfigMap (v1) has been added:
--- live
+++ upgrade
@@ -0,0 +1 @@
+k: v
`},
		{"simple", diffFlags{Output: "simple"}, `ns, web, Deployment (apps) to be changed.
ns, gone, ConfigMap (v1) to be removed.
ns, new, ConfigMap (v1) to be added.
Plan: 1 to add, 1 to change, 1 to destroy, 0 to change ownership.
`},
		{"json", diffFlags{Output: "json"}, `[
  {
    "api": "apps",
    "kind": "Deployment",
    "namespace": "ns",
    "name": "web",
    "change": "MODIFY"
  },
  {
    "api": "v1",
    "kind": "ConfigMap",
    "namespace": "ns",
    "name": "gone",
    "change": "REMOVE"
  },
  {
    "api": "v1",
    "kind": "ConfigMap",
    "namespace": "ns",
    "name": "new",
    "change": "ADD"
  }
]
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, detailed := range []bool{false, true} {
				var out bytes.Buffer
				f := tc.f
				f.DetailedExitCode = detailed
				cmd := &cobra.Command{}
				err := f.report(cmd, &out, changes, "live", "upgrade")
				if diff := cmp.Diff(tc.want, out.String()); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				var ec exitCoder
				switch {
				case !detailed && err != nil:
					t.Errorf("without --detailed-exitcode: %v", err)
				case detailed && (!errors.As(err, &ec) || ec.ExitCode() != 2 || !cmd.SilenceErrors):
					t.Errorf("--detailed-exitcode: %v, silenced %v", err, cmd.SilenceErrors)
				}
			}
		})
	}
	// No changes: nothing printed, exit 0 even with --detailed-exitcode.
	var out bytes.Buffer
	f := diffFlags{Context: -1, Output: "diff", DetailedExitCode: true}
	if err := f.report(&cobra.Command{}, &out, nil, "a", "b"); err != nil || out.Len() != 0 {
		t.Errorf("no changes: %v %q", err, out.String())
	}
}
