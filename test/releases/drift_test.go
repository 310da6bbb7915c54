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
