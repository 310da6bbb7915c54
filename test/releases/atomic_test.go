package releases

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// exists tells whether ConfigMap name is in ns.
func exists(t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := cluster.Clientset(t).CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// cutDetails drops what ours adds after Helm 3's "context deadline
// exceeded" (the objects not ready), to compare the rest.
func cutDetails(s string) string {
	const m = "context deadline exceeded"
	if i := strings.Index(s, m); i >= 0 {
		return s[:i+len(m)]
	}
	return s
}

// install --atomic (Helm 4: --rollback-on-failure) uninstalls a release
// whose wait failed: no objects, no history, Helm 3's message.
func TestAtomicInstall(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := waitChart(t)
	cs := cluster.Clientset(t)
	for _, tc := range []struct {
		c    *client
		flag string
	}{{helm3, "--atomic"}, {ours, "--atomic"}, {ours, "--rollback-on-failure"}} {
		ns := cluster.Namespace(t)
		r := tc.c.run(t, "install", "web", chart, "-n", ns, tc.flag, "--timeout", "3s")
		want := "Error: INSTALLATION FAILED: release web failed, and has been uninstalled due to atomic being set: context deadline exceeded"
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("%s install %s: exit %d %q", tc.c.name, tc.flag, r.code, r.stderr)
		}
		secrets, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
		if err != nil || len(secrets.Items) != 0 {
			t.Errorf("%s install %s left %d release records (%v)", tc.c.name, tc.flag, len(secrets.Items), err)
		}
		if _, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s install %s left the Deployment (%v)", tc.c.name, tc.flag, err)
		}
		if exists(t, ns, "web-cm") {
			t.Errorf("%s install %s left the ConfigMap", tc.c.name, tc.flag)
		}
	}
}

// upgrade --atomic rolls a failed upgrade back: the history shows the
// failed revision and then "Rollback to 1", as Helm 3's does, and the
// live objects are revision 1's (the image, and no ConfigMap that only
// the failed revision had).
func TestAtomicUpgrade(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := waitChart(t)
	cs := cluster.Clientset(t)
	hist := map[string][]string{}
	for _, c := range []*client{helm3, ours} {
		ns := cluster.Namespace(t)
		stop := cluster.MarkPodsReady(t, cs, ns)
		c.must(t, "install", "web", chart, "-n", ns, "--wait", "--timeout", "90s")
		stop() // the new image's pods never become ready
		r := c.run(t, "upgrade", "web", chart, "-n", ns, "--atomic", "--timeout", "3s", "--set", "image=nginx:2.0", "--set", "extra=true")
		want := "Error: UPGRADE FAILED: release web failed, and has been rolled back due to atomic being set: context deadline exceeded"
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("%s upgrade --atomic: exit %d %q", c.name, r.code, r.stderr)
		}
		for _, h := range history(t, helm3, ns, "web") {
			hist[c.name] = append(hist[c.name], cutDetails(h))
		}
		d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.0" || image(t, ns, "web") != "nginx:1.0" {
			t.Errorf("%s: after the rollback the Deployment runs %s, the ConfigMap says %s", c.name, img, image(t, ns, "web"))
		}
		if exists(t, ns, "web-extra") {
			t.Errorf("%s: the failed revision's ConfigMap is still there", c.name)
		}
	}
	want := []string{"1:superseded:Install complete", `2:failed:Upgrade "web" failed: context deadline exceeded`, "3:deployed:Rollback to 1"}
	if diff := cmp.Diff(want, hist["helm3"]); diff != "" {
		t.Errorf("helm 3's history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hist["helm3"], hist["ours"]); diff != "" {
		t.Errorf("history after upgrade --atomic (-helm3 +ours):\n%s", diff)
	}
}

// upgrade --cleanup-on-fail deletes what the failed upgrade created, as
// Helm 3 does; without it the new object stays.
func TestCleanupOnFail(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := waitChart(t)
	for _, tc := range []struct {
		c       *client
		cleanup bool
	}{{helm3, true}, {ours, true}, {helm3, false}, {ours, false}} {
		ns := cluster.Namespace(t)
		tc.c.must(t, "install", "web", chart, "-n", ns)
		args := []string{"upgrade", "web", chart, "-n", ns, "--wait", "--timeout", "3s", "--set", "extra=true"}
		if tc.cleanup {
			args = append(args, "--cleanup-on-fail")
		}
		r := tc.c.run(t, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: UPGRADE FAILED: context deadline exceeded") {
			t.Errorf("%s upgrade (cleanup %v): exit %d %q", tc.c.name, tc.cleanup, r.code, r.stderr)
		}
		if got := exists(t, ns, "web-extra"); got == tc.cleanup {
			t.Errorf("%s upgrade (cleanup %v): the new ConfigMap exists: %v", tc.c.name, tc.cleanup, got)
		}
		h := history(t, helm3, ns, "web")
		if len(h) != 2 || cutDetails(h[1]) != `2:failed:Upgrade "web" failed: context deadline exceeded` {
			t.Errorf("%s upgrade (cleanup %v): history %q", tc.c.name, tc.cleanup, h)
		}
	}
}

// rollback --wait that runs out fails the new revision, as Helm 3 does.
func TestRollbackWait(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := waitChart(t)
	hist := map[string][]string{}
	for _, c := range []*client{helm3, ours} {
		ns := cluster.Namespace(t)
		c.must(t, "install", "web", chart, "-n", ns)
		c.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0")
		r := c.run(t, "rollback", "web", "1", "-n", ns, "--wait", "--timeout", "3s")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: release web failed: context deadline exceeded") {
			t.Errorf("%s rollback --wait: exit %d %q", c.name, r.code, r.stderr)
		}
		for _, h := range history(t, helm3, ns, "web") {
			hist[c.name] = append(hist[c.name], cutDetails(h))
		}
	}
	if diff := cmp.Diff(hist["helm3"], hist["ours"]); diff != "" {
		t.Errorf("history after rollback --wait ran out (-helm3 +ours):\n%s", diff)
	}
	if len(hist["helm3"]) != 3 || hist["helm3"][2] != `3:failed:Release "web" failed: context deadline exceeded` {
		t.Errorf("helm 3's history: %q", hist["helm3"])
	}
}

// An interrupted install --atomic (Ctrl-C during its wait) still cleans
// up: the uninstall runs outside the cancelled context, as Helm 3's does.
// The signal goes once the Deployment's first pod exists, by when the
// install is (almost always) waiting; either way it must clean up.
func TestAtomicInstallInterrupted(t *testing.T) {
	ours, _, _ := clients(t)
	chart := waitChart(t)
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t)
	w, err := cs.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cmd := exec.Command(ours.bin, "install", "web", chart, "-n", ns, "--atomic", "--timeout", "5m")
	cmd.Env = ours.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-w.ResultChan()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "has been uninstalled due to atomic being set") || !strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("interrupted install --atomic: %v %q", err, stderr.String())
	}
	t.Logf("interrupted: %s", stderr.String())
	secrets, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil || len(secrets.Items) != 0 {
		t.Errorf("interrupted install --atomic left %d release records (%v)", len(secrets.Items), err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("interrupted install --atomic left the Deployment (%v)", err)
	}
}
