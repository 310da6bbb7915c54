package releases

import (
	"context"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// waitChart is the test chart with a Service, and a ConfigMap that only
// --set extra=true renders (to see what a failed upgrade leaves behind).
func waitChart(t *testing.T) string {
	return writeChart(t, "web", map[string]string{
		"templates/svc.yaml":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {app: {{ .Release.Name }}}\n  ports: [{port: 80}]\n",
		"templates/extra.yaml": "{{ if .Values.extra }}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata: {a: b}\n{{ end }}\n",
	})
}

// readyReplicas is how many pods of the Deployment's ReplicaSet that runs
// image the ReplicaSet controller counts ready: what Helm 3's rule
// reads (the Deployment's own status may follow a moment later).
func readyReplicas(t *testing.T, ns, image string) int32 {
	t.Helper()
	l, err := cluster.Clientset(t).AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range l.Items {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return rs.Status.ReadyReplicas
		}
	}
	return 0
}

// --wait (legacy: Helm 3's rules) and --wait=watcher return once the
// Deployment is ready, which here happens only through the real
// ReplicaSet and Deployment controllers after its pods are marked Ready;
// Helm 3's --wait and Helm 4's --wait=watcher agree on the same chart.
func TestWaitForDeploymentReady(t *testing.T) {
	ours, helm3, helm4 := clients(t)
	chart := waitChart(t)
	for _, tc := range []struct {
		c    *client
		wait string
	}{
		{ours, "--wait"}, {ours, "--wait=watcher"}, {ours, "--wait=legacy"}, {helm3, "--wait"}, {helm4, "--wait=watcher"},
	} {
		ns := cluster.Namespace(t)
		cluster.MarkPodsReady(t, cluster.Clientset(t), ns)
		out := tc.c.must(t, "install", "web", chart, "-n", ns, tc.wait, "--timeout", "90s")
		if !strings.Contains(out, "STATUS: deployed") {
			t.Errorf("%s install %s: %s", tc.c.name, tc.wait, out)
		}
		if got := readyReplicas(t, ns, "nginx:1.0"); got != 2 {
			t.Errorf("%s install %s returned with %d of 2 replicas ready", tc.c.name, tc.wait, got)
		}
		// An upgrade to a new image waits for the new ReplicaSet.
		tc.c.must(t, "upgrade", "web", chart, "-n", ns, tc.wait, "--timeout", "90s", "--set", "image=nginx:2.0")
		if got := readyReplicas(t, ns, "nginx:2.0"); got != 2 {
			t.Errorf("%s upgrade %s returned with %d of 2 new replicas ready", tc.c.name, tc.wait, got)
		}
	}
}

// Without a kubelet nothing becomes ready: the wait ends at --timeout
// with Helm 3's "context deadline exceeded" (ours then names what was
// not ready), and the release is failed, as Helm 3 leaves it.
func TestWaitTimesOut(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := waitChart(t)
	for _, tc := range []struct {
		c       *client
		wait    string
		details string
	}{
		{helm3, "--wait", ""},
		{ours, "--wait", "Deployment %s/web: 0 out of 2 expected pods are ready"},
		{ours, "--wait=watcher", "Deployment %s/web: not ready. status: InProgress"},
	} {
		ns := cluster.Namespace(t)
		start := time.Now()
		r := tc.c.run(t, "install", "web", chart, "-n", ns, tc.wait, "--timeout", "3s")
		took := time.Since(start)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: INSTALLATION FAILED: context deadline exceeded") {
			t.Errorf("%s %s: exit %d, %q", tc.c.name, tc.wait, r.code, r.stderr)
		}
		if want := strings.ReplaceAll(tc.details, "%s", ns); !strings.Contains(r.stderr, want) {
			t.Errorf("%s %s: %q does not name what was not ready (%q)", tc.c.name, tc.wait, r.stderr, want)
		}
		if took < 3*time.Second || took > 30*time.Second {
			t.Errorf("%s %s --timeout 3s took %v", tc.c.name, tc.wait, took)
		}
		h := history(t, helm3, ns, "web")
		if len(h) != 1 || !strings.HasPrefix(h[0], `1:failed:Release "web" failed: context deadline exceeded`) {
			t.Errorf("%s %s: history %+v", tc.c.name, tc.wait, h)
		}
	}
}

// --wait=watcher judges custom resources by their conditions (kstatus),
// which Helm 3's rules do not look at: a Gadget whose Ready condition is
// False holds the watcher until the test, playing its controller, sets
// it True. (The CRD has no status subresource, so the chart can create
// the Gadget not ready.)
func TestWaitWatcherCustomResource(t *testing.T) {
	ours, _, _ := clients(t)
	group := strings.ToLower(cluster.UniqueName("w")) + ".example.com"
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.` + group + `
spec:
  group: ` + group + `
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
	chart := writeChart(t, "gadget", map[string]string{
		"crds/gadget.yaml":          crd,
		"templates/deployment.yaml": "",
		"templates/gadget.yaml":     "apiVersion: " + group + "/v1\nkind: Gadget\nmetadata:\n  name: g\nspec: {size: 1}\nstatus:\n  conditions: [{type: Ready, status: \"False\", reason: Starting}]\n",
	})
	dyn, err := dynamic.NewForConfig(cluster.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	t.Cleanup(func() {
		_ = dyn.Resource(crdGVR).Delete(context.Background(), "gadgets."+group, metav1.DeleteOptions{})
	})
	gadgets := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "gadgets"}

	ns := cluster.Namespace(t)
	r := ours.run(t, "install", "w", chart, "-n", ns, "--wait=watcher", "--timeout", "3s")
	if want := "Gadget " + ns + "/g: not ready. status: InProgress"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("install --wait=watcher of a Gadget never Ready: exit %d %q, want %q", r.code, r.stderr, want)
	}
	// Helm 3's rules have none for a Gadget: a legacy wait passes it.
	ours.must(t, "install", "legacy", chart, "-n", cluster.Namespace(t), "--wait", "--timeout", "20s")

	ns = cluster.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := dyn.Resource(gadgets).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	patched := make(chan error, 1)
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Added {
				_, err := dyn.Resource(gadgets).Namespace(ns).Patch(ctx, "g", types.MergePatchType,
					[]byte(`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done"}]}}`), metav1.PatchOptions{})
				patched <- err
				return
			}
		}
	}()
	ours.must(t, "install", "w", chart, "-n", ns, "--wait=watcher", "--timeout", "60s")
	if err := <-patched; err != nil {
		t.Fatal(err)
	}
}

// uninstall --wait waits until the objects are gone: a finalizer holds a
// ConfigMap until the test removes it; with a short --timeout, ours and
// Helm 3 both report the deadline.
func TestUninstallWait(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", map[string]string{
		"templates/held.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n",
	})
	cs := cluster.Clientset(t)
	release := func(ns string) {
		_, err := cs.CoreV1().ConfigMaps(ns).Patch(context.Background(), "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	}
	for _, c := range []*client{helm3, ours} {
		ns := cluster.Namespace(t)
		c.must(t, "install", "web", chart, "-n", ns)
		r := c.run(t, "uninstall", "web", "-n", ns, "--wait", "--timeout", "2s")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: uninstallation completed with 1 error(s): context deadline exceeded") {
			t.Errorf("%s uninstall --wait, held: exit %d %q", c.name, r.code, r.stderr)
		}
		release(ns)
	}
	for _, wait := range []string{"--wait", "--wait=watcher"} {
		ns := cluster.Namespace(t)
		ours.must(t, "install", "web", chart, "-n", ns)
		go func() {
			// Let the uninstall begin its wait, then lift the hold.
			w, err := cs.CoreV1().ConfigMaps(ns).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=held"})
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Stop()
			for ev := range w.ResultChan() {
				if m, ok := ev.Object.(metav1.Object); ok && m.GetDeletionTimestamp() != nil {
					release(ns)
					return
				}
			}
		}()
		ours.must(t, "uninstall", "web", "-n", ns, wait, "--timeout", "60s")
		if _, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("uninstall %s returned with the held ConfigMap still there (%v)", wait, err)
		}
	}
}

// A kubeconfig that may not watch still waits: the legacy strategy falls
// back to polling (Helm 3 never watches, so it needs no such right).
func TestWaitWithoutWatchRight(t *testing.T) {
	ours, helm3, _ := clients(t)
	ctx := context.Background()
	cs := cluster.Clientset(t)
	chart := waitChart(t)
	for _, c := range []*client{ours, helm3} {
		ns := cluster.Namespace(t)
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"", "apps"}, Resources: []string{"*"},
				Verbs: []string{"get", "list", "create", "update", "patch", "delete"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "ci"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ci", Namespace: ns}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "ci", &authv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cc := &client{c.name, c.bin, append(withoutKubeconfig(c.env), "KUBECONFIG="+cluster.KubeconfigWithToken(t, t.TempDir(), tok.Status.Token))}
		cluster.MarkPodsReady(t, cs, ns)
		r := cc.run(t, "install", "web", chart, "-n", ns, "--wait", "--timeout", "90s", "--debug")
		if r.code != 0 {
			t.Fatalf("%s install --wait without watch: exit %d %s", c.name, r.code, r.stderr)
		}
		if c == ours && !strings.Contains(r.stderr, "cannot watch, polling instead") {
			t.Errorf("ours did not fall back to polling:\n%s", r.stderr)
		}
		if got := readyReplicas(t, ns, "nginx:1.0"); got != 2 {
			t.Errorf("%s install --wait without watch returned with %d of 2 replicas ready", c.name, got)
		}
	}
}

// --wait-for-jobs waits until a Job completes (here, through the real Job
// controller once its pod is marked Succeeded); without a pod that
// finishes the wait runs out naming the Job. Helm 3 agrees.
func TestWaitForJobs(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "job", map[string]string{
		"templates/deployment.yaml": "",
		"templates/job.yaml":        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: busybox}]\n",
	})
	cs := cluster.Clientset(t)
	for _, tc := range []struct {
		c       *client
		wait    string
		details string
	}{
		{helm3, "--wait", ""},
		{ours, "--wait", "Job %s/migrate: Job is not completed"},
		{ours, "--wait=watcher", "Job %s/migrate: not ready. status: InProgress"},
	} {
		ns := cluster.Namespace(t)
		r := tc.c.run(t, "install", "j", chart, "-n", ns, tc.wait, "--wait-for-jobs", "--timeout", "3s")
		if want := strings.ReplaceAll(tc.details, "%s", ns); r.code != 1 || !strings.HasPrefix(r.stderr, "Error: INSTALLATION FAILED: context deadline exceeded") || !strings.Contains(r.stderr, want) {
			t.Errorf("%s %s --wait-for-jobs, the job never ends: exit %d %q, want %q", tc.c.name, tc.wait, r.code, r.stderr, want)
		}
		ns = cluster.Namespace(t)
		cluster.MarkPodsSucceeded(t, cs, ns)
		tc.c.must(t, "install", "j", chart, "-n", ns, tc.wait, "--wait-for-jobs", "--timeout", "90s")
		job, err := cs.BatchV1().Jobs(ns).Get(context.Background(), "migrate", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if job.Status.Succeeded != 1 || job.Status.CompletionTime == nil {
			t.Errorf("%s %s --wait-for-jobs returned before the Job completed: %+v", tc.c.name, tc.wait, job.Status)
		}
		// Without --wait-for-jobs a Job is not waited for to complete.
		ns = cluster.Namespace(t)
		tc.c.must(t, "install", "j", chart, "-n", ns, tc.wait, "--timeout", "20s")
	}
}

// A StatefulSet is ready when all its replicas are (the real StatefulSet
// controller creates them one by one, each once the one before is
// Ready), for Helm 3's rules, Helm 3 and the watcher.
func TestWaitStatefulSet(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "db", map[string]string{
		"templates/deployment.yaml": "",
		"templates/sts.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: {{ .Values.image }}}]
`,
	})
	cs := cluster.Clientset(t)
	for _, tc := range []struct {
		c    *client
		wait string
	}{{helm3, "--wait"}, {ours, "--wait"}, {ours, "--wait=watcher"}} {
		ns := cluster.Namespace(t)
		cluster.MarkPodsReady(t, cs, ns)
		for _, args := range [][]string{{"install", "db", chart}, {"upgrade", "db", chart, "--set", "image=nginx:2.0"}} {
			tc.c.must(t, append(args, "-n", ns, tc.wait, "--timeout", "90s")...)
			sts, err := cs.AppsV1().StatefulSets(ns).Get(context.Background(), "db", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sts.Status.ReadyReplicas != 2 || sts.Status.UpdatedReplicas != 2 {
				t.Errorf("%s %s %s returned with %d ready, %d updated of 2", tc.c.name, args[0], tc.wait, sts.Status.ReadyReplicas, sts.Status.UpdatedReplicas)
			}
		}
	}
}
