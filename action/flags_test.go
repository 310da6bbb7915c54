package action_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/values"
)

// --force replaces the object with the manifest's: unlike the 3-way merge
// of TestUpgradeKeepsInjectedSidecar, an out-of-band sidecar is dropped.
func TestUpgradeForceReplaces(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ctx := context.Background()
	ch := writeChart(t, "app", "0.1.0", map[string]string{
		"values.yaml": "replicas: 1\nimage: nginx:1.0\n", "templates/deployment.yaml": deploymentTpl,
	})
	install(t, cfg, "app", ch, nil)
	_, err := dyn(t).Resource(deployments).Namespace(ns).Patch(ctx, "app", types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"envoy:1"}]}}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&action.Upgrade{Cfg: cfg, Force: true}).Run(ctx, "app", ch, values.Values{"image": "nginx:2.0"}); err != nil {
		t.Fatal(err)
	}
	cs, _, _ := unstructuredSlice(get(t, deployments, ns, "app").Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 || cs[0].(map[string]any)["image"] != "nginx:2.0" {
		t.Errorf("containers after upgrade --force: %v", cs)
	}
	if _, err := (&action.Rollback{Cfg: cfg, Version: 1, Force: true}).Run(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	cs, _, _ = unstructuredSlice(get(t, deployments, ns, "app").Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 || cs[0].(map[string]any)["image"] != "nginx:1.0" {
		t.Errorf("containers after rollback --force: %v", cs)
	}
}

// Templates see the cluster through lookup (not in a client dry run), and
// .Capabilities are the cluster's.
func TestLookupAndCapabilities(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing"}, Data: map[string]string{"password": "s3cret"}}
	if _, err := cluster.Clientset(t).CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ch := writeChart(t, "lk", "0.1.0", map[string]string{"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: lk
data:
  copied: {{ dig "data" "password" "none" (lookup "v1" "ConfigMap" .Release.Namespace "existing") | quote }}
  missing: {{ (lookup "v1" "ConfigMap" .Release.Namespace "nope") | len | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  apps: {{ .Capabilities.APIVersions.Has "apps/v1/Deployment" | quote }}
`})
	install(t, cfg, "lk", ch, nil)
	data := get(t, configmaps, ns, "lk").Object["data"].(map[string]any)
	want := map[string]any{"copied": "s3cret", "missing": "0", "kube": "v1.35.4", "apps": "true"}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("%s = %v, want %v", k, data[k], v)
		}
	}
	r, err := (&action.Install{Cfg: cfg, ReleaseName: "lk2", DryRun: action.DryRunClient}).Run(ctx, ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `copied: "none"`; !contains(r.Manifest, want) {
		t.Errorf("client dry run looked up the cluster: %s", r.Manifest)
	}
}

// --skip-crds installs no CRD, so the chart's custom resources cannot map.
func TestSkipCRDs(t *testing.T) {
	ns := cluster.Namespace(t)
	group := cluster.UniqueName("skip") + ".example.com"
	ch := writeChart(t, "sk", "0.1.0", map[string]string{
		"crds/c.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things." + group +
			"\nspec:\n  group: " + group + "\n  scope: Namespaced\n  names: {plural: things, kind: Thing}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object}\n",
		"templates/cm.yaml": configMapTpl,
	})
	if _, err := (&action.Install{Cfg: config(t, ns), ReleaseName: "sk", SkipCRDs: true}).Run(context.Background(), ch, nil); err != nil {
		t.Fatal(err)
	}
	if exists(t, crds, "", "things."+group) {
		t.Error("--skip-crds installed the CRD")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
