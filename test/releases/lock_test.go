package releases

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// killMidway starts c with args, waits until the hook pod named pod
// exists (the operation is then under way, waiting for it), and kills
// the client with SIGKILL, as a lost CI runner or an OOM kill would.
func killMidway(t *testing.T, c *client, ns, pod string, args ...string) {
	t.Helper()
	signalMidway(t, c, ns, pod, syscall.SIGKILL, args...)
}

// signalMidway is killMidway with another signal; it returns what the
// client printed to stderr.
func signalMidway(t *testing.T, c *client, ns, pod string, sig os.Signal, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The pod is the hook's own, or its Job's.
	sel := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod).String()}
	if job, ok := strings.CutPrefix(pod, "job/"); ok {
		sel = metav1.ListOptions{LabelSelector: "job-name=" + job}
	}
	w, err := cluster.Clientset(t).CoreV1().Pods(ns).Watch(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for e := range w.ResultChan() {
		if e.Type == watch.Added {
			break
		}
	}
	if ctx.Err() != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("%v: the hook pod %s never appeared", args, pod)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("%v finished before it was killed", args)
	}
	return stderr.String()
}

// A client killed mid-upgrade, waiting for a hook Job that never
// completes, leaves the release pending-upgrade: ours, Helm 3.22 and 4.3 refuse
// to upgrade it, with the same words; rollback to the last deployed
// revision recovers it, and Helm 3 upgrades it again.
func TestKilledUpgradeLocksAndRollbackRecovers(t *testing.T) {
	ours, helm3, helm4 := clients(t)
	chart := writeChart(t, "locked", map[string]string{"templates/deployment.yaml": "", "templates/hook.yaml": hookJob("hang-job", "pre-upgrade", "0", "")})
	ns := cluster.Namespace(t)
	runKubelet(t, ns)
	ours.must(t, "install", "l", chart, "-n", ns)
	killMidway(t, ours, ns, "job/hang-job", "upgrade", "l", chart, "-n", ns, "--set", "image=v2")
	if diff := cmp.Diff([]string{"1:deployed:Install complete", "2:pending-upgrade:Preparing upgrade"}, history(t, ours, ns, "l")); diff != "" {
		t.Fatalf("history after the kill (-want +got):\n%s", diff)
	}
	if got := helm3.must(t, "list", "-n", ns, "--pending", "-q"); got != "l\n" {
		t.Errorf("helm 3 list --pending: %q", got)
	}
	refusal := map[string]result{}
	for _, c := range []*client{ours, helm3, helm4} {
		refusal[c.name] = c.run(t, "upgrade", "l", chart, "-n", ns, "--no-hooks")
	}
	want := result{stderr: "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n", code: 1}
	for name, r := range refusal {
		if r.stderr != want.stderr || r.code != want.code {
			t.Errorf("%s upgrade of a pending release: exit %d %q", name, r.code, r.stderr)
		}
	}
	if got := ours.must(t, "rollback", "l", "-n", ns); got != "Rollback was a success! Happy Helming!\n" {
		t.Errorf("rollback: %q", got)
	}
	wantHist := []string{"1:superseded:Install complete", "2:failed:pending-upgrade interrupted: marked failed by Rollback to 1", "3:deployed:Rollback to 1"}
	if diff := cmp.Diff(wantHist, history(t, helm3, ns, "l")); diff != "" {
		t.Errorf("history after rollback, read by helm 3 (-want +got):\n%s", diff)
	}
	helm3.must(t, "upgrade", "l", chart, "-n", ns, "--no-hooks")
}

// A client killed mid-install leaves the release pending-install: a second
// install is refused, and unlock marks the revision failed so that
// install --replace works.
func TestKilledInstallLocksAndUnlockRecovers(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "locked", map[string]string{"templates/deployment.yaml": "", "templates/hook.yaml": hookPod("hang-in", "pre-install", "0", "")})
	ns := cluster.Namespace(t)
	runKubelet(t, ns)
	killMidway(t, ours, ns, "hang-in", "install", "l", chart, "-n", ns)
	if diff := cmp.Diff([]string{"1:pending-install:Initial install underway"}, history(t, ours, ns, "l")); diff != "" {
		t.Fatalf("history after the kill (-want +got):\n%s", diff)
	}
	r := ours.run(t, "install", "l", chart, "-n", ns, "--replace", "--no-hooks")
	if r.code != 1 || r.stderr != "Error: INSTALLATION FAILED: another operation (install/upgrade/rollback) is in progress\n" {
		t.Errorf("second install: exit %d %q", r.code, r.stderr)
	}
	// Helm 3 words it as for any existing name.
	if r := helm3.run(t, "install", "l", chart, "-n", ns, "--replace", "--no-hooks"); r.code != 1 || r.stderr != "Error: INSTALLATION FAILED: cannot re-use a name that is still in use\n" {
		t.Errorf("helm 3 second install: exit %d %q", r.code, r.stderr)
	}
	if got := ours.must(t, "unlock", "l", "-n", ns); got != "Release \"l\" unlocked: revision 1 marked failed (pending-install interrupted: marked failed by unlock)\n" {
		t.Errorf("unlock: %q", got)
	}
	if r := ours.run(t, "unlock", "l", "-n", ns); r.code != 1 || r.stderr != "Error: release \"l\" (revision 1, failed) is not pending: nothing to unlock\n" {
		t.Errorf("second unlock: exit %d %q", r.code, r.stderr)
	}
	ours.must(t, "install", "l", chart, "-n", ns, "--replace", "--no-hooks")
	if diff := cmp.Diff([]string{"1:superseded:superseded by new release", "2:deployed:Install complete"}, history(t, helm3, ns, "l")); diff != "" {
		t.Errorf("history after unlock and install --replace (-want +got):\n%s", diff)
	}
}

// Ctrl-C (SIGINT) or SIGTERM in the middle of an upgrade fails it and
// records the revision failed, as Helm 3.22 does: no lock is left behind.
func TestInterruptedUpgradeLeavesNoLock(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "locked", map[string]string{"templates/deployment.yaml": "", "templates/hook.yaml": hookPod("hang-up", "pre-upgrade", "0", "")})
	for _, x := range []struct {
		c   *client
		sig os.Signal
	}{{ours, os.Interrupt}, {helm3, os.Interrupt}, {ours, syscall.SIGTERM}, {helm3, syscall.SIGTERM}} {
		c := x.c
		ns := cluster.Namespace(t)
		runKubelet(t, ns)
		c.must(t, "install", "l", chart, "-n", ns)
		stderr := signalMidway(t, c, ns, "hang-up", x.sig, "upgrade", "l", chart, "-n", ns)
		h := history(t, ours, ns, "l")
		if len(h) != 2 || !strings.HasPrefix(h[1], "2:failed:Upgrade \"l\" failed: ") || !strings.Contains(h[1], "context canceled") {
			t.Errorf("%s: history after %v: %q (stderr %q)", c.name, x.sig, h, stderr)
		}
		t.Logf("%s: %q; %q", c.name, stderr, h)
		c.must(t, "upgrade", "l", chart, "-n", ns, "--no-hooks")
	}
}

// While an upgrade is in progress (waiting for its hook), a second
// upgrade and an install are refused with Helm's words, and the first
// completes as if nothing happened.
func TestSecondOperationRefusedWhileInProgress(t *testing.T) {
	ours, _, _ := clients(t)
	chart := writeChart(t, "locked", map[string]string{"templates/deployment.yaml": "", "templates/hook.yaml": hookPod("hang-live", "pre-upgrade", "0", "")})
	ns := cluster.Namespace(t)
	runKubelet(t, ns)
	ours.must(t, "install", "l", chart, "-n", ns)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := cluster.Clientset(t)
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "hang-live").String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first := exec.Command(ours.bin, "upgrade", "l", chart, "-n", ns, "--set", "image=v2")
	first.Env = ours.env
	var out strings.Builder
	first.Stdout, first.Stderr = &out, &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for e := range w.ResultChan() {
		if e.Type == watch.Added {
			break
		}
	}
	for _, args := range [][]string{{"upgrade", "l", chart}, {"install", "l", chart, "--replace"}} {
		r := ours.run(t, append(args, "-n", ns, "--no-hooks")...)
		if r.code != 1 || !strings.HasSuffix(r.stderr, "FAILED: another operation (install/upgrade/rollback) is in progress\n") {
			t.Errorf("%s during an upgrade: exit %d %q", args[0], r.code, r.stderr)
		}
	}
	// The hook finishes, as a kubelet would report it.
	if _, err := cs.CoreV1().Pods(ns).Patch(ctx, "hang-live", types.MergePatchType, []byte(`{"status":{"phase":"Succeeded"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first upgrade: %v\n%s", err, out.String())
	}
	if diff := cmp.Diff([]string{"1:superseded:Install complete", "2:deployed:Upgrade complete"}, history(t, ours, ns, "l")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}
