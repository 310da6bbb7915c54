package releases

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// hookPod is a Pod hook template.
func hookPod(name, event, weight, policy string) string {
	s := fmt.Sprintf("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  annotations:\n    helm.sh/hook: %s\n    helm.sh/hook-weight: %q\n", name, event, weight)
	if policy != "" {
		s += "    helm.sh/hook-delete-policy: " + policy + "\n"
	}
	return s + "spec:\n  restartPolicy: Never\n  containers: [{name: t, image: busybox}]\n"
}

// hookJob is a Job hook template that fails on its first failed pod.
func hookJob(name, event, weight, policy string) string {
	s := fmt.Sprintf("---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\n  annotations:\n    helm.sh/hook: %s\n    helm.sh/hook-weight: %q\n", name, event, weight)
	if policy != "" {
		s += "    helm.sh/hook-delete-policy: " + policy + "\n"
	}
	return s + "spec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: t, image: busybox}]\n"
}

// eventHooks are ConfigMap hooks, one per lifecycle event, recording the
// revision they were rendered for.
const eventHooks = `{{- range list "pre-install" "post-install" "pre-upgrade" "post-upgrade" "pre-rollback" "post-rollback" "pre-delete" "post-delete" }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ev-{{ . }}
  annotations:
    helm.sh/hook: {{ . }}
data:
  rev: {{ $.Release.Revision | quote }}
{{- end }}
`

func hookedChart(t *testing.T) string {
	return writeChart(t, "hooked", map[string]string{
		"templates/deployment.yaml": "",
		"templates/events.yaml":     eventHooks,
		"templates/pods.yaml": hookPod("c-pre", "pre-install", "-5", "") + hookPod("b-pre", "pre-install", "1", "") +
			hookPod("a-pre", "pre-install", "1", "") + hookJob("job-pre", "pre-install", "0", "hook-succeeded") +
			hookPod("post", "post-install", "0", "hook-succeeded,hook-failed"),
	})
}

// objects lists the namespace's ConfigMaps (with their data), Pods and
// Jobs, as "Kind/name[ data]".
func objects(t *testing.T, ns string) []string {
	t.Helper()
	cs, ctx := cluster.Clientset(t), context.Background()
	var out []string
	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cms.Items {
		if c.Name != "kube-root-ca.crt" {
			out = append(out, fmt.Sprintf("ConfigMap/%s %v", c.Name, c.Data))
		}
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Labels["job-name"] == "" {
			out = append(out, "Pod/"+p.Name)
		}
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		if j.DeletionTimestamp == nil {
			out = append(out, "Job/"+j.Name)
		}
	}
	sort.Strings(out)
	return out
}

// hookRuns reads the stored hooks' last runs through c's status -o json:
// "name phase" with whether the times are set.
func hookRuns(t *testing.T, c *client, ns, name string) []string {
	t.Helper()
	var r struct {
		Hooks []struct {
			Name    string `json:"name"`
			LastRun struct {
				StartedAt   string `json:"started_at"`
				CompletedAt string `json:"completed_at"`
				Phase       string `json:"phase"`
			} `json:"last_run"`
		} `json:"hooks"`
	}
	if err := json.Unmarshal([]byte(c.must(t, "status", name, "-n", ns, "-o", "json")), &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range r.Hooks {
		out = append(out, fmt.Sprintf("%s %q started=%v completed=%v", h.Name, h.LastRun.Phase, h.LastRun.StartedAt != "", h.LastRun.CompletedAt != ""))
	}
	sort.Strings(out)
	return out
}

// Hooks run at each event in Helm's order, are deleted by their policies,
// and record their last run, exactly as with Helm 3.22 on the same chart;
// Helm 3.22 reads the hooks ours stored.
func TestHooksMatchHelm3(t *testing.T) {
	ours, helm3, helm4 := clients(t)
	chart := hookedChart(t)
	nsOurs, nsHelm := cluster.Namespace(t), cluster.Namespace(t)
	k := runKubelet(t, nsOurs, nsHelm)
	steps := [][]string{
		{"install", "h", chart},
		{"upgrade", "h", chart, "--set", "image=v2"},
		{"rollback", "h", "1"},
		{"uninstall", "h", "--keep-history"},
	}
	for i, step := range steps {
		out := map[string]string{}
		for _, x := range []struct {
			c  *client
			ns string
		}{{ours, nsOurs}, {helm3, nsHelm}} {
			x.c.must(t, append(step, "-n", x.ns)...)
			out[x.c.name] = strings.Join(objects(t, x.ns), "\n")
		}
		if diff := cmp.Diff(out["helm3"], out["ours"]); diff != "" {
			t.Errorf("after %s: objects differ (-helm3 +ours):\n%s", step[0], diff)
		}
		if i == 0 {
			want := []string{"c-pre", "job/job-pre", "a-pre", "b-pre", "post"}
			if diff := cmp.Diff(want, k.pods(nsHelm)); diff != "" {
				t.Errorf("helm3's hook order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, k.pods(nsOurs)); diff != "" {
				t.Errorf("our hook order (-want +got):\n%s", diff)
			}
			// Helm 3 reads our hooks' runs as it reads its own.
			if diff := cmp.Diff(hookRuns(t, helm3, nsHelm, "h"), hookRuns(t, helm3, nsOurs, "h")); diff != "" {
				t.Errorf("hook runs (-helm3's +ours, read by helm 3):\n%s", diff)
			}
			if diff := cmp.Diff(hookRuns(t, helm3, nsHelm, "h"), hookRuns(t, helm4, nsOurs, "h")); diff != "" {
				t.Errorf("hook runs (-helm3's read by helm 3, +ours read by helm 4.3):\n%s", diff)
			}
			got, want2 := ours.must(t, "get", "hooks", "h", "-n", nsOurs), helm3.must(t, "get", "hooks", "h", "-n", nsHelm)
			if got != want2 || !strings.Contains(got, "# Source: hooked/templates/pods.yaml") {
				t.Errorf("get hooks: ours\n%s\nhelm 3.22:\n%s", got, want2)
			}
			if cross := helm3.must(t, "get", "hooks", "h", "-n", nsOurs); cross != got {
				t.Errorf("helm 3 get hooks of ours:\n%s", cross)
			}
		}
	}
	if got := objects(t, nsOurs); !strings.Contains(strings.Join(got, "\n"), "ConfigMap/ev-post-delete") {
		t.Errorf("post-delete hook did not run: %v", got)
	}
}

// --no-hooks runs none, on each command.
func TestNoHooks(t *testing.T) {
	ours, _, _ := clients(t)
	chart := hookedChart(t)
	ns := cluster.Namespace(t)
	k := runKubelet(t, ns)
	for _, step := range [][]string{
		{"install", "h", chart}, {"upgrade", "h", chart}, {"rollback", "h", "1"}, {"uninstall", "h", "--keep-history"},
	} {
		ours.must(t, append(step, "-n", ns, "--no-hooks")...)
	}
	for _, o := range objects(t, ns) {
		if strings.HasPrefix(o, "ConfigMap/ev-") || strings.HasPrefix(o, "Pod/") || strings.HasPrefix(o, "Job/") {
			t.Errorf("hook object %s exists after --no-hooks", o)
		}
	}
	if p := k.pods(ns); len(p) != 0 {
		t.Errorf("hook pods ran: %v", p)
	}
}

// A failed or timed-out hook fails the operation with Helm 3.22's message
// and exit code, leaves the release in Helm's state, and deletes what its
// policy says.
func TestHookFailureMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	cases := []struct {
		name  string
		hooks string
		// setup runs before the failing command, which is the last.
		setup [][]string
		run   []string
	}{
		{name: "pre-install pod", hooks: hookPod("bad-pod", "pre-install", "0", ""), run: []string{"install", "h"}},
		{name: "pre-install pod hook-failed", hooks: hookPod("ok", "pre-install", "0", "hook-succeeded") + hookPod("bad-pod", "pre-install", "1", "hook-failed"), run: []string{"install", "h"}},
		{name: "pre-install job", hooks: hookJob("bad-job", "pre-install", "0", ""), run: []string{"install", "h"}},
		{name: "timeout", hooks: hookPod("hang-pod", "pre-install", "0", ""), run: []string{"install", "h", "--timeout", "1s"}},
		{name: "post-upgrade", hooks: hookPod("bad-up", "post-upgrade", "0", ""), setup: [][]string{{"install", "h"}}, run: []string{"upgrade", "h"}},
		{name: "pre-upgrade job", hooks: hookJob("bad-upjob", "pre-upgrade", "0", "hook-failed"), setup: [][]string{{"install", "h"}}, run: []string{"upgrade", "h"}},
		{name: "pre-delete", hooks: hookPod("bad-del", "pre-delete", "0", ""), setup: [][]string{{"install", "h"}}, run: []string{"uninstall", "h"}},
		{name: "refused by the apiserver", hooks: hookPod("Not_A_Name", "pre-install", "0", ""), run: []string{"install", "h"}},
		{name: "unknown kind", hooks: "---\napiVersion: example.com/v1\nkind: Missing\nmetadata:\n  name: m\n  annotations:\n    helm.sh/hook: pre-install\n", run: []string{"install", "h"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chart := writeChart(t, "failing", map[string]string{"templates/deployment.yaml": "", "templates/hooks.yaml": tc.hooks})
			type outcome struct {
				Code            int
				Stderr, Objects string
				History         []string
				// Runs are the hooks' recorded runs, read by Helm 3.
				Runs []string
			}
			got := map[string]outcome{}
			nsOurs, nsHelm := cluster.Namespace(t), cluster.Namespace(t)
			runKubelet(t, nsOurs, nsHelm)
			for _, x := range []struct {
				c  *client
				ns string
			}{{ours, nsOurs}, {helm3, nsHelm}} {
				for _, s := range tc.setup {
					x.c.must(t, append(withChart(s, chart), "-n", x.ns)...)
				}
				r := x.c.run(t, append(withChart(tc.run, chart), "-n", x.ns)...)
				got[x.c.name] = outcome{r.code, r.stderr, strings.Join(objects(t, x.ns), "\n"), history(t, ours, x.ns, "h"), hookRuns(t, helm3, x.ns, "h")}
			}
			if diff := cmp.Diff(got["helm3"], got["ours"]); diff != "" {
				t.Errorf("(-helm3 +ours):\n%s", diff)
			}
			if got["ours"].Code == 0 || !strings.Contains(got["ours"].Stderr, "failed") && !strings.Contains(got["ours"].Stderr, "timed out") {
				t.Errorf("the command did not fail: %+v", got["ours"])
			}
		})
	}
}

// withChart puts the chart after the release name of install and upgrade.
func withChart(args []string, chart string) []string {
	if args[0] == "install" || args[0] == "upgrade" {
		return append([]string{args[0], args[1], chart}, args[2:]...)
	}
	return args
}

// A failed pre-rollback hook fails the rollback with Helm's message and
// marks its revision failed; Helm 3.22 leaves it pending-rollback, which
// locks the release (helm#10549): the one place ours differs on purpose.
func TestRollbackHookFailure(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "failing", map[string]string{"templates/deployment.yaml": "", "templates/hooks.yaml": hookPod("bad-rb", "pre-rollback", "0", "")})
	last := map[string]string{}
	stderr := map[string]string{}
	for _, c := range []*client{ours, helm3} {
		ns := cluster.Namespace(t)
		runKubelet(t, ns)
		c.must(t, "install", "h", chart, "-n", ns)
		c.must(t, "upgrade", "h", chart, "-n", ns)
		r := c.run(t, "rollback", "h", "1", "-n", ns)
		if r.code != 1 {
			t.Errorf("%s rollback: exit %d", c.name, r.code)
		}
		stderr[c.name] = r.stderr
		h := history(t, ours, ns, "h")
		last[c.name] = h[len(h)-1]
	}
	if stderr["ours"] != stderr["helm3"] || stderr["ours"] != "Error: 1 error occurred:\n\t* pod bad-rb failed\n\n\n" {
		t.Errorf("stderr: ours %q, helm 3.22 %q", stderr["ours"], stderr["helm3"])
	}
	want := map[string]string{
		"ours":  "3:failed:Rollback \"h\" failed: 1 error occurred:\n\t* pod bad-rb failed\n\n",
		"helm3": "3:pending-rollback:Rollback to 1",
	}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("the rollback revision (-want +got):\n%s", diff)
	}
}

// helm.sh/hook-output-log-policy asks for a hook pod's logs; where the
// apiserver cannot serve them (no kubelet here: real log text cannot be
// tested) the failure is reported on stderr and the hook still counts, as
// with Helm 3.22.
func TestHookOutputLogPolicy(t *testing.T) {
	ours, helm3, _ := clients(t)
	pod := strings.Replace(hookPod("logged-far", "pre-install", "0", ""), "spec:\n", "spec:\n  nodeName: no-kubelet\n", 1)
	pod = strings.Replace(pod, "    helm.sh/hook-weight", "    helm.sh/hook-output-log-policy: hook-succeeded\n    helm.sh/hook-weight", 1)
	chart := writeChart(t, "logged", map[string]string{"templates/deployment.yaml": "", "templates/hooks.yaml": pod})
	for _, c := range []*client{ours, helm3} {
		ns := cluster.Namespace(t)
		runKubelet(t, ns)
		r := c.run(t, "install", "h", chart, "-n", ns)
		if r.code != 0 || !strings.Contains(r.stderr, "error outputting logs for hook failure") ||
			!strings.Contains(r.stderr, "Failed to stream pod logs for pod: logged-far, container: t") {
			t.Errorf("%s: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
	}
}
