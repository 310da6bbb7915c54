package releases

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// A client killed (SIGKILL) in the middle of `upgrade --wait` (the new
// Deployment applied, its pods never Ready: no kubelet runs) leaves the
// release pending-upgrade. Every client refuses the next upgrade, and a
// rollback to the last deployed revision recovers it, after which real
// Helm 3 upgrades it again.
func TestKilledDuringWaitRecovers(t *testing.T) {
	ours, helm3, helm4 := clients(t)
	chart := writeChart(t, "waitkill", nil)
	ns := cluster.Namespace(t)
	ours.must(t, "install", "w", chart, "-n", ns)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sel := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "w").String()}
	wt, err := cluster.Clientset(t).AppsV1().Deployments(ns).Watch(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	defer wt.Stop()
	cmd := exec.Command(ours.bin, "upgrade", "w", chart, "-n", ns, "--set", "image=nginx:2.0", "--wait", "--timeout", "5m")
	cmd.Env = ours.env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The upgrade has applied its Deployment (generation 2) and waits.
	for e := range wt.ResultChan() {
		if d, ok := e.Object.(*appsv1.Deployment); ok && e.Type == watch.Modified && d.Generation >= 2 {
			break
		}
	}
	if ctx.Err() != nil {
		_ = cmd.Process.Kill()
		t.Fatal("the upgrade never applied its Deployment")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed upgrade exited 0")
	}
	if diff := cmp.Diff([]string{"1:deployed:Install complete", "2:pending-upgrade:Preparing upgrade"}, history(t, helm3, ns, "w")); diff != "" {
		t.Fatalf("history after the kill, read by Helm 3 (-want +got):\n%s", diff)
	}
	for _, c := range []*client{ours, helm3, helm4} {
		r := c.run(t, "upgrade", "w", chart, "-n", ns)
		if r.code != 1 || r.stderr != "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n" {
			t.Errorf("%s upgrade of the pending release: exit %d %q", c.name, r.code, r.stderr)
		}
	}
	ours.must(t, "rollback", "w", "-n", ns)
	want := []string{"1:superseded:Install complete", "2:failed:pending-upgrade interrupted: marked failed by Rollback to 1", "3:deployed:Rollback to 1"}
	if diff := cmp.Diff(want, history(t, helm3, ns, "w")); diff != "" {
		t.Errorf("history after the rollback (-want +got):\n%s", diff)
	}
	d, err := cluster.Clientset(t).AppsV1().Deployments(ns).Get(context.Background(), "w", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.0" {
		t.Errorf("after the rollback the Deployment runs %s, want nginx:1.0", img)
	}
	helm3.must(t, "upgrade", "w", chart, "-n", ns)
}
