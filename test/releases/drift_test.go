package releases

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// helm status --drift lists the objects whose live state differs from the
// release's manifest, found by a server-side dry run, for client-side and
// server-side releases alike: a field the manifest sets changed with
// kubectl shows; a label added out of band (which the manifest does not
// set) and the server's defaults do not; a deleted object is missing.
func TestStatusDrift(t *testing.T) {
	ours, _, _ := clients(t)
	chart := diffChart(t)
	for _, mode := range []string{"--server-side=false", "--server-side=true"} {
		t.Run(mode, func(t *testing.T) {
			ns := cluster.Namespace(t)
			ours.must(t, "install", "web", chart, "-n", ns, mode)
			out := ours.must(t, "status", "web", "-n", ns, "--drift")
			if !strings.HasSuffix(out, "DRIFT: none, the live objects match the release's manifest\n") {
				t.Fatalf("fresh release:\n%s", out)
			}
			kubectl(t, "-n", ns, "label", "deployment/web", "team=ops")
			kubectl(t, "-n", ns, "scale", "deployment/web", "--replicas=7")
			kubectl(t, "-n", ns, "patch", "configmap/web-cm", "--type=merge", "-p", `{"data":{"image":"hand-edited"}}`)
			if err := cluster.Clientset(t).CoreV1().ConfigMaps(ns).Delete(context.Background(), "web-extra", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			out = ours.must(t, "status", "web", "-n", ns, "--drift")
			_, report, _ := strings.Cut(out, "DRIFT: ")
			golden(t, "status-drift", ns, "DRIFT: "+report)
		})
	}
	r := ours.run(t, "status", "web", "-n", "default", "--drift", "-o", "json")
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "--drift prints a table only") {
		t.Errorf("--drift -o json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Custom resources drift too: a client-side release patches them with a
// JSON merge patch from the old manifest, which is empty for the manifest
// itself, so drift enforces the whole manifest instead.
func TestStatusDriftCustomResource(t *testing.T) {
	ours, _, _ := clients(t)
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.drift.example.com
spec:
  group: drift.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
	chart := writeChart(t, "web", map[string]string{
		"crds/widget.yaml":    crd,
		"templates/w.yaml":    "apiVersion: drift.example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n",
		"templates/test.yaml": "",
		"templates/NOTES.txt": "",
	})
	for _, mode := range []string{"--server-side=false", "--server-side=true"} {
		t.Run(mode, func(t *testing.T) {
			ns := cluster.Namespace(t)
			ours.must(t, "install", "web", chart, "-n", ns, mode)
			if out := ours.must(t, "status", "web", "-n", ns, "--drift"); !strings.Contains(out, "DRIFT: none") {
				t.Fatalf("fresh:\n%s", out)
			}
			kubectl(t, "-n", ns, "patch", "widgets.drift.example.com/w", "--type=merge", "-p", `{"spec":{"size":9,"extra":true}}`)
			out := ours.must(t, "status", "web", "-n", ns, "--drift")
			want := "DRIFT: 1 object(s) differ from the release's manifest\n" + ns + ", w, Widget (drift.example.com) has drifted:\n"
			if !strings.Contains(out, want) || !strings.Contains(out, "-  size: 9\n+  size: 3\n") || strings.Contains(out, "extra") && !strings.Contains(out, "   extra: true\n") {
				t.Errorf("drift:\n%s", out)
			}
		})
	}
}
