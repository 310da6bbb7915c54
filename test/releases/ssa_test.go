package releases

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// kubectl runs the control plane's kubectl against the test cluster.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	dir, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "kubectl"), args...)
	cmd.Env = []string{"KUBECONFIG=" + cluster.Kubeconfig(t), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// managers lists the managedFields entries of the Deployment as
// "manager/operation".
func managers(t *testing.T, ns, name string) []string {
	t.Helper()
	d, err := cluster.Clientset(t).AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range d.ManagedFields {
		// The Deployment controller's own writes (its status, and the
		// revision annotation it stamps when it gets to the object) are
		// no client's, and land whenever it runs.
		if m.Subresource == "" && m.Manager != "kube-controller-manager" {
			out = append(out, m.Manager+"/"+string(m.Operation))
		}
	}
	slices.Sort(out)
	return out
}

func replicas(t *testing.T, ns, name string) int32 {
	t.Helper()
	d, err := cluster.Clientset(t).AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// --server-side installs and upgrades by server-side apply with field
// manager "helm", as Helm 4 does, and records apply_method ssa; without it
// the client applies client-side (Helm 3's default) and records csa; a
// client-side release upgraded with --server-side has its managed fields
// migrated, so "helm" owns them through Apply alone; auto keeps the method.
func TestServerSideApply(t *testing.T) {
	ours, _, helm4 := clients(t)
	chart := writeChart(t, "web", nil)
	t.Run("install and upgrade", func(t *testing.T) {
		ns := cluster.Namespace(t)
		ours.must(t, "install", "web", chart, "-n", ns, "--server-side")
		if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
			t.Fatalf("managers after install --server-side: %v", got)
		}
		if m := storedRaw(t, ns, "web", 1)["apply_method"]; m != "ssa" {
			t.Fatalf("apply_method %v", m)
		}
		if out := helm4.must(t, "get", "metadata", "web", "-n", ns); !strings.Contains(out, "APPLY_METHOD: server-side apply\n") {
			t.Errorf("helm4 get metadata:\n%s", out)
		}
		// auto follows the recorded ssa.
		ours.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0")
		if got := image(t, ns, "web"); got != "nginx:2.0" {
			t.Errorf("image %q", got)
		}
		if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
			t.Errorf("managers after upgrade: %v", got)
		}
		if m := storedRaw(t, ns, "web", 2)["apply_method"]; m != "ssa" {
			t.Errorf("upgrade (auto) apply_method %v", m)
		}
		// Helm 4 reads our ssa release and upgrades it with its default,
		// auto, by server-side apply too.
		helm4.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:3.0")
		if got := image(t, ns, "web"); got != "nginx:3.0" {
			t.Errorf("after helm4 upgrade: image %q", got)
		}
		if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
			t.Errorf("managers after helm4 upgrade: %v", got)
		}
		if m := storedRaw(t, ns, "web", 3)["apply_method"]; m != "ssa" {
			t.Errorf("helm4 apply_method %v", m)
		}
		// and ours reads Helm 4's, with auto again server-side.
		ours.must(t, "rollback", "web", "1", "-n", ns)
		if got := image(t, ns, "web"); got != "nginx:1.0" {
			t.Errorf("after rollback: image %q", got)
		}
		if m := storedRaw(t, ns, "web", 4)["apply_method"]; m != "ssa" {
			t.Errorf("rollback apply_method %v", m)
		}
	})
	t.Run("client-side by default, then switched", func(t *testing.T) {
		ns := cluster.Namespace(t)
		ours.must(t, "install", "web", chart, "-n", ns)
		if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Update"}) {
			t.Fatalf("managers after install: %v", got)
		}
		if m := storedRaw(t, ns, "web", 1)["apply_method"]; m != "csa" {
			t.Fatalf("apply_method %v", m)
		}
		if out := helm4.must(t, "get", "metadata", "web", "-n", ns); !strings.Contains(out, "APPLY_METHOD: client-side apply\n") {
			t.Errorf("helm4 get metadata:\n%s", out)
		}
		ours.must(t, "upgrade", "web", chart, "-n", ns, "--server-side=true", "--set", "replicas=3")
		if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
			t.Errorf("managers after the switch: %v (want the Update entry migrated)", got)
		}
		if got := replicas(t, ns, "web"); got != 3 {
			t.Errorf("replicas %d", got)
		}
		if m := storedRaw(t, ns, "web", 2)["apply_method"]; m != "ssa" {
			t.Errorf("apply_method %v", m)
		}
	})
}

// --force-conflicts needs server-side apply, refused in Helm 4's words,
// before anything is written; so is --server-side with --force.
func TestForceConflictsNeedsServerSide(t *testing.T) {
	ours, _, helm4 := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	r := ours.run(t, "install", "web", chart, "-n", ns, "--force-conflicts")
	if want := "Error: INSTALLATION FAILED: invalid client create option(s): forceConflicts enabled when serverSideApply disabled\n"; r.code == 0 || r.stderr != want {
		t.Errorf("install --force-conflicts: exit %d\n%s\nwant %s", r.code, r.stderr, want)
	}
	if out := ours.must(t, "list", "-n", ns, "-q"); out != "" {
		t.Errorf("a release was recorded: %q", out)
	}
	ours.must(t, "install", "web", chart, "-n", ns)
	// Ours refuses before writing anything; Helm 4 (run second) says the
	// same but only after recording a failed revision.
	for i, c := range []*client{ours, helm4} {
		r := c.run(t, "upgrade", "web", chart, "-n", ns, "--server-side=false", "--force-conflicts")
		if r.code == 0 || !strings.Contains(r.stderr, "invalid client update option(s): forceConflicts enabled when serverSideApply disabled") {
			t.Errorf("%s upgrade --server-side=false --force-conflicts: exit %d\n%s", c.name, r.code, r.stderr)
		}
		if h := history(t, ours, ns, "web"); len(h) != 1+i {
			t.Errorf("history after %s's refused upgrade: %v", c.name, h)
		}
	}
	r = ours.run(t, "upgrade", "web", chart, "-n", ns, "--server-side", "--force")
	if want := "invalid operation: cannot use server-side apply and force replace together"; r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("upgrade --server-side --force: exit %d\n%s", r.code, r.stderr)
	}
}

// Before applying anything, server-side apply reports every conflict at
// once, each with the field and the manager that owns it (from the
// apiserver's conflict causes), and records nothing; Helm 4 applies what
// it can and records a failed revision.
// --force-conflicts then takes the fields over.
func TestServerSideConflictsReported(t *testing.T) {
	ours, _, helm4 := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns, "--server-side")
	// Two other managers take fields of two objects.
	kubectl(t, "-n", ns, "scale", "deployment/web", "--replicas=5")
	kubectl(t, "-n", ns, "patch", "configmap/web-cm", "--type=merge", "-p", `{"data":{"image":"hand-edited"}}`, "--field-manager=ops-team")

	r := ours.run(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0,replicas=3")
	if r.code == 0 {
		t.Fatalf("upgrade over conflicts succeeded:\n%s", r.stdout)
	}
	for _, want := range []string{
		"server-side apply would fail, so nothing was applied (2 problem(s)):",
		`ConfigMap ` + ns + `/web-cm: .data.image: conflict with "ops-team" using v1`,
		`Deployment ` + ns + `/web: .spec.replicas: conflict with "kubectl" with subresource "scale" using apps/v1`,
		"--force-conflicts takes them over",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("missing %q in:\n%s", want, r.stderr)
		}
	}
	// Nothing applied, nothing recorded.
	if got := image(t, ns, "web"); got != "hand-edited" {
		t.Errorf("the ConfigMap was written: %q", got)
	}
	if h := history(t, ours, ns, "web"); len(h) != 1 {
		t.Errorf("history: %v", h)
	}
	// Helm 4 names the same conflicts, but only from the applies that
	// failed, after the others went through, and records a failed revision.
	r4 := helm4.run(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0,replicas=3")
	if r4.code == 0 || !strings.Contains(r4.stderr, `conflict with "ops-team" using v1: .data.image`) {
		t.Errorf("helm4: exit %d\n%s", r4.code, r4.stderr)
	}
	if h := history(t, ours, ns, "web"); len(h) != 2 || !strings.HasPrefix(h[1], "2:failed:") {
		t.Errorf("history after Helm 4's upgrade: %v", h)
	}

	ours.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0,replicas=3", "--force-conflicts")
	if got := image(t, ns, "web"); got != "nginx:2.0" {
		t.Errorf("after --force-conflicts: image %q", got)
	}
	if got := replicas(t, ns, "web"); got != 3 {
		t.Errorf("after --force-conflicts: replicas %d", got)
	}
}

// Duplicate env names (helm#31529) are reported for every object up
// front, and nothing is created: no object, no release. Helm 4 fails on
// the same chart with the apiserver's message after creating what came
// before. Client-side apply (Helm 3's) accepts the chart, as Helm 3 does.
func TestServerSideDuplicateKeys(t *testing.T) {
	ours, _, helm4 := clients(t)
	dup := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ .Values.n }}
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: app
        image: nginx
        env:
        - {name: MODE, value: a}
        - {name: MODE, value: b}
`
	chart := writeChart(t, "web", map[string]string{
		"templates/dup-a.yaml": strings.Replace(dup, "{{ .Values.n }}", "a", 1),
		"templates/dup-b.yaml": strings.Replace(dup, "{{ .Values.n }}", "b", 1),
	})
	ns := cluster.Namespace(t)
	r := ours.run(t, "install", "web", chart, "-n", ns, "--server-side")
	for _, want := range []string{
		"nothing was applied (2 problem(s))",
		`Deployment ` + ns + `/web-a: .spec.template.spec.containers[name="app"].env: duplicate entries for key [name="MODE"]`,
		`Deployment ` + ns + `/web-b: .spec.template.spec.containers[name="app"].env: duplicate entries for key [name="MODE"]`,
	} {
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d; missing %q in:\n%s", r.code, want, r.stderr)
		}
	}
	cms, err := cluster.Clientset(t).CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=Helm"})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := cluster.Clientset(t).CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items)+len(secrets.Items) != 0 {
		t.Errorf("something was created: %d ConfigMaps, %d release Secrets", len(cms.Items), len(secrets.Items))
	}

	ns4 := cluster.Namespace(t)
	r4 := helm4.run(t, "install", "web", chart, "-n", ns4)
	if r4.code == 0 || !strings.Contains(r4.stderr, `duplicate entries for key [name="MODE"]`) {
		t.Errorf("helm4: exit %d\n%s", r4.code, r4.stderr)
	}
	// Client-side, the chart installs.
	ours.must(t, "install", "web", chart, "-n", cluster.Namespace(t))
}

// liveDeployment is what of a Deployment two clients should make alike in
// two namespaces: labels, annotations, spec and field managers.
func liveDeployment(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	d, err := cluster.Clientset(t).AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The Deployment controller stamps its revision whenever it gets to
	// the object: a race with the comparison, nothing a client wrote.
	delete(d.Annotations, "deployment.kubernetes.io/revision")
	return map[string]any{
		"labels": d.Labels, "annotations": strings.ReplaceAll(fmt.Sprint(d.Annotations), ns, "NS"),
		"spec": d.Spec, "managers": managers(t, ns, name),
	}
}

// Server-side releases interoperate with Helm 4 both ways, and the
// objects ours applies server-side are the ones Helm 4 applies (same
// spec, labels, annotations and field managers); a client-side release
// stays client-side under Helm 4's auto, and once Helm 4 switches it, ours
// follows.
func TestServerSideInteropHelm4(t *testing.T) {
	ours, _, helm4 := clients(t)
	chart := writeChart(t, "web", nil)

	nsOurs, ns4 := cluster.Namespace(t), cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", nsOurs, "--server-side")
	helm4.must(t, "install", "web", chart, "-n", ns4)
	if diff := cmp.Diff(liveDeployment(t, ns4, "web"), liveDeployment(t, nsOurs, "web")); diff != "" {
		t.Errorf("Deployment (-helm4 +ours):\n%s", diff)
	}
	for _, ns := range []string{nsOurs, ns4} {
		if m := storedRaw(t, ns, "web", 1)["apply_method"]; m != "ssa" {
			t.Errorf("%s: apply_method %v", ns, m)
		}
	}
	// Ours upgrades Helm 4's release with auto: server-side.
	ours.must(t, "upgrade", "web", chart, "-n", ns4, "--set", "replicas=4")
	if got := managers(t, ns4, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
		t.Errorf("managers after our upgrade of Helm 4's release: %v", got)
	}
	if m := storedRaw(t, ns4, "web", 2)["apply_method"]; m != "ssa" {
		t.Errorf("apply_method %v", m)
	}
	if got := replicas(t, ns4, "web"); got != 4 {
		t.Errorf("replicas %d", got)
	}

	// A client-side release: Helm 4's auto keeps it client-side.
	ns := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns)
	helm4.must(t, "upgrade", "web", chart, "-n", ns, "--set", "replicas=3")
	if m := storedRaw(t, ns, "web", 2)["apply_method"]; m != "csa" {
		t.Errorf("Helm 4 auto on a csa release recorded %v", m)
	}
	if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Update"}) {
		t.Errorf("managers after Helm 4's client-side upgrade: %v", got)
	}
	helm4.must(t, "upgrade", "web", chart, "-n", ns, "--server-side=true", "--set", "replicas=4")
	ours.must(t, "upgrade", "web", chart, "-n", ns, "--set", "replicas=5")
	if m := storedRaw(t, ns, "web", 4)["apply_method"]; m != "ssa" {
		t.Errorf("ours after Helm 4's switch recorded %v", m)
	}
	if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
		t.Errorf("managers: %v", got)
	}
	if got := replicas(t, ns, "web"); got != 5 {
		t.Errorf("replicas %d", got)
	}
}

// A server-side dry run checks what the real operation would: duplicate
// keys for an install, conflicts for an upgrade; the client-side default
// does neither (Helm 3 accepts both).
func TestServerSideDryRunChecks(t *testing.T) {
	ours, _, _ := clients(t)
	dup := writeChart(t, "web", map[string]string{
		"templates/dup.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\nspec:\n  containers:\n  - name: a\n    image: x\n    env: [{name: A}, {name: A}]\n",
	})
	ns := cluster.Namespace(t)
	r := ours.run(t, "install", "web", dup, "-n", ns, "--server-side", "--dry-run=server")
	if r.code == 0 || !strings.Contains(r.stderr, `Pod `+ns+`/dup: .spec.containers[name="a"].env: duplicate entries for key [name="A"]`) {
		t.Errorf("install dry run: exit %d\n%s", r.code, r.stderr)
	}
	ours.must(t, "install", "web", dup, "-n", ns, "--dry-run=server")

	chart := writeChart(t, "web", nil)
	ours.must(t, "install", "web", chart, "-n", ns, "--server-side")
	kubectl(t, "-n", ns, "scale", "deployment/web", "--replicas=5")
	r = ours.run(t, "upgrade", "web", chart, "-n", ns, "--dry-run=server")
	if r.code == 0 || !strings.Contains(r.stderr, `.spec.replicas: conflict with "kubectl" with subresource "scale"`) {
		t.Errorf("upgrade dry run: exit %d\n%s", r.code, r.stderr)
	}
	ours.must(t, "upgrade", "web", chart, "-n", ns, "--dry-run=server", "--server-side=false")
}

// Duplicate keys and conflicts of one upgrade are reported in one error.
func TestServerSideProblemsTogether(t *testing.T) {
	ours, _, _ := clients(t)
	chart := writeChart(t, "web", map[string]string{
		"values.yaml": "replicas: 2\nimage: nginx:1.0\nenv: []\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
        env: {{ .Values.env | toJson }}
`,
	})
	ns := cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", ns, "--server-side")
	kubectl(t, "-n", ns, "patch", "configmap/web-cm", "--type=merge", "-p", `{"data":{"image":"hand-edited"}}`, "--field-manager=ops-team")
	r := ours.run(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0", "--set-json", `env=[{"name":"A"},{"name":"A"}]`)
	for _, want := range []string{
		"nothing was applied (2 problem(s))",
		`Deployment ` + ns + `/web: .spec.template.spec.containers[name="app"].env: duplicate entries for key [name="A"]`,
		`ConfigMap ` + ns + `/web-cm: .data.image: conflict with "ops-team" using v1`,
	} {
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d; missing %q in:\n%s", r.code, want, r.stderr)
		}
	}
}

// A release Helm 3 made (no apply_method: client-side) switched to
// server-side by ours has Helm 3's field management migrated too (Helm 3
// writes as manager "helm" as well); Helm 3 can still upgrade it after.
func TestServerSideSwitchHelm3Release(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	helm3.must(t, "install", "web", chart, "-n", ns)
	if _, ok := storedRaw(t, ns, "web", 1)["apply_method"]; ok {
		t.Fatal("Helm 3 recorded an apply_method")
	}
	ours.must(t, "upgrade", "web", chart, "-n", ns, "--set", "replicas=3")
	if m := storedRaw(t, ns, "web", 2)["apply_method"]; m != "csa" {
		t.Errorf("auto on Helm 3's release: %v", m)
	}
	ours.must(t, "upgrade", "web", chart, "-n", ns, "--server-side", "--set", "replicas=4")
	if got := managers(t, ns, "web"); !slices.Equal(got, []string{"helm/Apply"}) {
		t.Errorf("managers after the switch: %v", got)
	}
	helm3.must(t, "upgrade", "web", chart, "-n", ns, "--set", "replicas=5")
	if got := replicas(t, ns, "web"); got != 5 {
		t.Errorf("Helm 3 upgrade after the switch: replicas %d", got)
	}
}

// upgrade --install passes --server-side to the install it turns into;
// without it (auto, nothing recorded) the install is client-side.
func TestServerSideUpgradeInstall(t *testing.T) {
	ours, _, _ := clients(t)
	chart := writeChart(t, "web", nil)
	for flag, want := range map[string]string{"--server-side": "ssa", "--server-side=auto": "csa"} {
		ns := cluster.Namespace(t)
		ours.must(t, "upgrade", "--install", "web", chart, "-n", ns, flag)
		if m := storedRaw(t, ns, "web", 1)["apply_method"]; m != want {
			t.Errorf("%s: apply_method %v, want %s", flag, m, want)
		}
		wantManager := map[string]string{"ssa": "helm/Apply", "csa": "helm/Update"}[want]
		if got := managers(t, ns, "web"); !slices.Equal(got, []string{wantManager}) {
			t.Errorf("%s: managers %v", flag, got)
		}
	}
}
