package action_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/release"
)

const configMapTpl = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  a: "1"
`

// Objects that exist without this release's ownership metadata are
// refused with Helm's message, and nothing is created or stored; with
// --take-ownership they are adopted.
func TestOwnership(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ctx := context.Background()
	cs := cluster.Clientset(t)
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "own-cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ch := writeChart(t, "own", "0.1.0", map[string]string{
		"templates/cm.yaml":  configMapTpl,
		"templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-svc\nspec:\n  ports: [{port: 80}]\n",
	})
	_, err := (&action.Install{Cfg: cfg, ReleaseName: "own"}).Run(ctx, ch, nil)
	want := `Unable to continue with install: ConfigMap "own-cm" in namespace "` + ns +
		`" exists and cannot be imported into the current release: invalid ownership metadata; label validation error: missing key "app.kubernetes.io/managed-by": must be set to "Helm"; annotation validation error: missing key "meta.helm.sh/release-name": must be set to "own"; annotation validation error: missing key "meta.helm.sh/release-namespace": must be set to "` + ns + `"`
	if err == nil || err.Error() != want {
		t.Fatalf("install over a foreign object:\n got %v\nwant %s", err, want)
	}
	if exists(t, services, ns, "own-svc") {
		t.Error("the service was created although the install was refused")
	}
	if _, err := cfg.Releases.History(ctx, "own"); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("a refused install was stored: %v", err)
	}
	if _, err := (&action.Install{Cfg: cfg, ReleaseName: "own", TakeOwnership: true}).Run(ctx, ch, nil); err != nil {
		t.Fatalf("--take-ownership: %v", err)
	}
	cm := get(t, configmaps, ns, "own-cm")
	if cm.GetAnnotations()["meta.helm.sh/release-name"] != "own" || cm.Object["data"].(map[string]any)["a"] != "1" {
		t.Errorf("adopted configmap: %v", cm.Object)
	}
	// Another release may not take the object either.
	other := writeChart(t, "other", "0.1.0", map[string]string{"templates/cm.yaml": strings.ReplaceAll(configMapTpl, "{{ .Release.Name }}", "own")})
	_, err = (&action.Install{Cfg: cfg, ReleaseName: "other"}).Run(ctx, other, nil)
	if err == nil || !strings.Contains(err.Error(), `key "meta.helm.sh/release-name" must equal "other": current value is "own"`) {
		t.Errorf("install over another release's object: %v", err)
	}
}

// CRDs from crds/ are installed first and never deleted; objects with
// helm.sh/resource-policy: keep survive uninstall; the rest go.
func TestCRDsAndKeepPolicy(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ctx := context.Background()
	group := cluster.UniqueName("g") + ".example.com"
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.` + group + `
spec:
  group: ` + group + `
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
	ch := writeChart(t, "crd", "0.1.0", map[string]string{
		"crds/widget.yaml":    crd,
		"templates/cr.yaml":   "apiVersion: " + group + "/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: {{ .Values.size | default 1 }}\n",
		"templates/keep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    helm.sh/resource-policy: keep\n",
		"templates/cm.yaml":   configMapTpl,
	})
	t.Cleanup(func() {
		_ = dyn(t).Resource(crds).Delete(context.Background(), "widgets."+group, metav1.DeleteOptions{})
	})
	install(t, cfg, "crd", ch, nil)
	widgets := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
	if !exists(t, widgets, ns, "w1") {
		t.Fatal("the custom resource was not created")
	}
	// An upgrade of a custom resource goes through a JSON merge patch.
	if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "crd", ch, map[string]any{"size": 5}); err != nil {
		t.Fatal(err)
	}
	w := get(t, widgets, ns, "w1")
	if w.Object["spec"].(map[string]any)["size"] != int64(5) {
		t.Errorf("widget after upgrade: %v", w.Object["spec"])
	}
	res, err := (&action.Uninstall{Cfg: cfg}).Run(ctx, "crd")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kept) != 1 || res.Kept[0] != "[ConfigMap] kept" {
		t.Errorf("kept = %q", res.Kept)
	}
	if !exists(t, crds, "", "widgets."+group) {
		t.Error("the CRD was deleted")
	}
	if !exists(t, configmaps, ns, "kept") {
		t.Error("the keep-annotated configmap was deleted")
	}
	if exists(t, configmaps, ns, "crd-cm") || exists(t, widgets, ns, "w1") {
		t.Error("release objects survived uninstall")
	}
}

// Objects are created in Helm's kind order: a later kind's object gets a
// later resourceVersion than every object of an earlier kind.
func TestInstallOrder(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ch := writeChart(t, "ord", "0.1.0", map[string]string{
		"values.yaml":      "replicas: 1\nimage: nginx\n",
		"templates/a.yaml": deploymentTpl,
		"templates/b.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports: [{port: 80}]\n",
		"templates/c.yaml": configMapTpl,
		"templates/d.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
		"templates/e.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\n",
	})
	install(t, cfg, "ord", ch, nil)
	order := []int{
		rv(t, get(t, saccounts, ns, "sa")), rv(t, get(t, secrets, ns, "sec")), rv(t, get(t, configmaps, ns, "ord-cm")),
		rv(t, get(t, services, ns, "svc")), rv(t, get(t, deployments, ns, "ord")),
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Errorf("creation order ServiceAccount, Secret, ConfigMap, Service, Deployment broken: resourceVersions %v", order)
		}
	}
}

// A missing namespace is an error naming it, unless --create-namespace;
// one name lives in two namespaces as two releases.
func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	missing := cluster.UniqueName("missing")
	ch := writeChart(t, "ns", "0.1.0", map[string]string{"templates/cm.yaml": configMapTpl})
	_, err := (&action.Install{Cfg: config(t, missing), ReleaseName: "same"}).Run(ctx, ch, nil)
	if err == nil || !strings.Contains(err.Error(), `namespaces "`+missing+`" not found`) {
		t.Fatalf("install into a missing namespace: %v", err)
	}
	t.Cleanup(func() { cluster.DeleteNamespace(t, missing) })
	if _, err := (&action.Install{Cfg: config(t, missing), ReleaseName: "same", CreateNamespace: true}).Run(ctx, ch, nil); err != nil {
		t.Fatalf("--create-namespace: %v", err)
	}
	other := cluster.Namespace(t)
	install(t, config(t, other), "same", ch, nil)
	all := config(t, other)
	all.AllNamespaces()
	rels, err := (&action.List{Cfg: all}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		if r.Name == "same" {
			got = append(got, r.Namespace)
		}
	}
	if len(got) != 2 || got[0] == got[1] {
		t.Errorf("release \"same\" found in namespaces %v, want %s and %s", got, missing, other)
	}
	if !exists(t, configmaps, missing, "same-cm") || !exists(t, configmaps, other, "same-cm") {
		t.Error("objects missing")
	}
}

// A ServiceAccount allowed in one namespace installs there and is refused
// elsewhere with the apiserver's "forbidden", creating nothing there.
func TestPermissionsAreTheKubeconfigs(t *testing.T) {
	ctx := context.Background()
	mine, theirs := cluster.Namespace(t), cluster.Namespace(t)
	rc := serviceAccount(t, mine, []rbacv1.PolicyRule{{APIGroups: []string{"", "apps"}, Resources: []string{"*"}, Verbs: []string{"*"}}})
	cs := cluster.Clientset(t)
	ch := writeChart(t, "perm", "0.1.0", map[string]string{
		"values.yaml": "replicas: 1\nimage: nginx\n", "templates/cm.yaml": configMapTpl, "templates/d.yaml": deploymentTpl,
	})
	if _, err := (&action.Install{Cfg: configFor(t, rc, mine, "secret"), ReleaseName: "perm"}).Run(ctx, ch, nil); err != nil {
		t.Fatalf("install where the Role allows: %v", err)
	}
	_, err := (&action.Install{Cfg: configFor(t, rc, theirs, "secret"), ReleaseName: "perm"}).Run(ctx, ch, nil)
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "system:serviceaccount:"+mine+":deployer") {
		t.Fatalf("install elsewhere: %v, want the apiserver's forbidden", err)
	}
	for _, l := range []func() (int, error){
		func() (int, error) {
			x, err := cs.CoreV1().ConfigMaps(theirs).List(ctx, metav1.ListOptions{})
			return countNot(x.Items, "kube-root-ca.crt"), err
		},
		func() (int, error) {
			x, err := cs.CoreV1().Secrets(theirs).List(ctx, metav1.ListOptions{})
			return len(x.Items), err
		},
		func() (int, error) {
			x, err := cs.AppsV1().Deployments(theirs).List(ctx, metav1.ListOptions{})
			return len(x.Items), err
		},
	} {
		if n, err := l(); err != nil || n != 0 {
			t.Errorf("objects created in the forbidden namespace: %d (%v)", n, err)
		}
	}
}

func countNot(items []corev1.ConfigMap, skip string) int {
	n := 0
	for _, c := range items {
		if c.Name != skip {
			n++
		}
	}
	return n
}

// The configmap and memory drivers hold releases as the secret driver does.
func TestDrivers(t *testing.T) {
	ctx := context.Background()
	for _, drv := range []string{"configmap", "memory"} {
		t.Run(drv, func(t *testing.T) {
			ns := cluster.Namespace(t)
			cfg := configFor(t, cluster.RESTConfig(t), ns, drv)
			ch := writeChart(t, "drv", "0.1.0", map[string]string{"templates/cm.yaml": configMapTpl})
			install(t, cfg, "drv", ch, nil)
			if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "drv", ch, nil); err != nil {
				t.Fatal(err)
			}
			h, err := (&action.History{Cfg: cfg}).Run(ctx, "drv")
			if err != nil || len(h) != 2 {
				t.Fatalf("history: %d revisions, %v", len(h), err)
			}
			_, err = cluster.Clientset(t).CoreV1().ConfigMaps(ns).Get(ctx, "sh.helm.release.v1.drv.v2", metav1.GetOptions{})
			if (err == nil) != (drv == "configmap") {
				t.Errorf("driver %s: release ConfigMap lookup: %v", drv, err)
			}
		})
	}
}

// --history-max keeps the newest revisions and never drops the deployed one.
func TestMaxHistory(t *testing.T) {
	ns := cluster.Namespace(t)
	ctx := context.Background()
	cfg := configFor(t, cluster.RESTConfig(t), ns, "secret")
	cfg.Releases.MaxHistory = 2
	ch := writeChart(t, "mh", "0.1.0", map[string]string{"templates/cm.yaml": configMapTpl})
	install(t, cfg, "mh", ch, nil)
	for range 3 {
		if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "mh", ch, nil); err != nil {
			t.Fatal(err)
		}
	}
	h, err := (&action.History{Cfg: cfg}).Run(ctx, "mh")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range h {
		got = append(got, r.Version)
	}
	if len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Errorf("revisions kept %v, want [3 4]", got)
	}
}

// serviceAccount makes a ServiceAccount in ns bound to a Role of rules and
// returns a client configuration with its token.
func serviceAccount(t *testing.T, ns string, rules []rbacv1.PolicyRule) *rest.Config {
	t.Helper()
	ctx := context.Background()
	cs := cluster.Clientset(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer"}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "deployer"}, Rules: rules}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "deployer"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: ns}}}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "deployer", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cluster.KubeconfigWithToken(t, t.TempDir(), tok.Status.Token))
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// Objects are read with one LIST per kind when allowed; a Role without
// "list" on them still installs and upgrades, one GET per object.
func TestWithoutListPermission(t *testing.T) {
	ctx := context.Background()
	ns := cluster.Namespace(t)
	rc := serviceAccount(t, ns, []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update", "patch", "delete"}},
	})
	cfg := configFor(t, rc, ns, "secret")
	tpl := "{{- range $i := until 6 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ $i }}\ndata:\n  v: {{ $.Values.v | quote }}\n{{- end }}\n"
	ch := writeChart(t, "nolist", "0.1.0", map[string]string{"values.yaml": "v: a\n", "templates/cm.yaml": tpl})
	install(t, cfg, "nolist", ch, nil)
	if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "nolist", ch, map[string]any{"v": "b"}); err != nil {
		t.Fatalf("upgrade without list: %v", err)
	}
	if got := get(t, configmaps, ns, "cm-5").Object["data"].(map[string]any)["v"]; got != "b" {
		t.Errorf("cm-5 after upgrade: v=%v", got)
	}
}
