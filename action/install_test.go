package action_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/release/driver"
	"github.com/chartd/chartd/values"
)

// A release lives in Helm's Secret, in its own namespace, and goes through
// install, upgrade, rollback and uninstall with Helm's statuses.
func TestLifecycle(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ctx := context.Background()
	ch := writeChart(t, "web", "0.1.0", map[string]string{
		"values.yaml":               "replicas: 3\nimage: nginx:1.0\n",
		"templates/deployment.yaml": deploymentTpl,
		"templates/NOTES.txt":       "hello {{ .Release.Name }}",
	})
	r := install(t, cfg, "web", ch, values.Values{"image": "nginx:1.1"})
	if r.Info.Status != release.StatusDeployed || r.Version != 1 || r.Info.Notes != "hello web" {
		t.Fatalf("install: status %s version %d notes %q", r.Info.Status, r.Version, r.Info.Notes)
	}

	s, err := cluster.Clientset(t).CoreV1().Secrets(ns).Get(ctx, "sh.helm.release.v1.web.v1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != "helm.sh/release.v1" {
		t.Errorf("secret type %q", s.Type)
	}
	for k, want := range map[string]string{"name": "web", "owner": "helm", "status": "deployed", "version": "1"} {
		if s.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, s.Labels[k], want)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(string(s.Data["release"]))
	if err != nil || len(raw) < 3 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("data.release is not base64(gzip(...)): %v", err)
	}
	stored, err := driver.Decode(string(s.Data["release"]))
	if err != nil {
		t.Fatal(err)
	}
	if stored.Config["image"] != "nginx:1.1" || !strings.Contains(stored.Manifest, "image: nginx:1.1") {
		t.Errorf("stored config %v, manifest %q", stored.Config, stored.Manifest)
	}
	d := get(t, deployments, ns, "web")
	if d.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" ||
		d.GetAnnotations()["meta.helm.sh/release-name"] != "web" ||
		d.GetAnnotations()["meta.helm.sh/release-namespace"] != ns {
		t.Errorf("ownership metadata missing: labels %v annotations %v", d.GetLabels(), d.GetAnnotations())
	}

	if _, err := (&action.Install{Cfg: cfg, ReleaseName: "web"}).Run(ctx, ch, nil); !errors.Is(err, action.ErrNameInUse) {
		t.Errorf("second install: %v, want %v", err, action.ErrNameInUse)
	}
	u, err := (&action.Upgrade{Cfg: cfg, ReuseValues: true}).Run(ctx, "web", ch, values.Values{"replicas": 2})
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 2 || u.Config["image"] != "nginx:1.1" || u.Config["replicas"] != 2 {
		t.Errorf("upgrade --reuse-values: version %d config %v", u.Version, u.Config)
	}
	if got := replicas(t, ns, "web"); got != 2 {
		t.Errorf("replicas after upgrade = %d", got)
	}
	rb, err := (&action.Rollback{Cfg: cfg, Version: 1}).Run(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Version != 3 || rb.Info.Description != "Rollback to 1" || rb.Info.RollbackRevision != 1 {
		t.Errorf("rollback: version %d description %q rollback_revision %d", rb.Version, rb.Info.Description, rb.Info.RollbackRevision)
	}
	h, err := (&action.History{Cfg: cfg}).Run(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range h {
		got = append(got, string(x.Info.Status)+":"+x.Info.Description)
	}
	want := []string{"superseded:Install complete", "superseded:Upgrade complete", "deployed:Rollback to 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	if _, err := (&action.Uninstall{Cfg: cfg, KeepHistory: true}).Run(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if exists(t, deployments, ns, "web") {
		t.Error("deployment survived uninstall")
	}
	last, err := (&action.Get{Cfg: cfg}).Run(ctx, "web")
	if err != nil || last.Info.Status != release.StatusUninstalled {
		t.Fatalf("after uninstall --keep-history: %v %v", last, err)
	}
	if _, err := (&action.Install{Cfg: cfg, ReleaseName: "web", Replace: true}).Run(ctx, ch, nil); err != nil {
		t.Fatalf("install --replace: %v", err)
	}
	if _, err := (&action.Uninstall{Cfg: cfg}).Run(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Releases.History(ctx, "web"); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("history after uninstall: %v", err)
	}
	if _, err := (&action.Uninstall{Cfg: cfg}).Run(ctx, "web"); err == nil || err.Error() != "uninstall: Release not loaded: web: release: not found" {
		t.Errorf("uninstall of a missing release: %v", err)
	}
	if r, err := (&action.Uninstall{Cfg: cfg, IgnoreNotFound: true}).Run(ctx, "web"); err != nil || r != nil {
		t.Errorf("--ignore-not-found: %v %v", r, err)
	}
}

func replicas(t *testing.T, ns, name string) int64 {
	t.Helper()
	d := get(t, deployments, ns, name)
	n, _, _ := unstructuredInt(d.Object, "spec", "replicas")
	return n
}

func unstructuredInt(obj map[string]any, path ...string) (int64, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false, nil
		}
		cur = m[p]
	}
	n, ok := cur.(int64)
	return n, ok, nil
}

// Helm 3's first scenario: scaled to 0 out of band, a rollback to the
// revision that said 3 brings 3 back (a 2-way patch would see no change).
func TestRollbackUndoesOutOfBandScale(t *testing.T) {
	ns := cluster.Namespace(t)
	cfg := config(t, ns)
	ctx := context.Background()
	ch := writeChart(t, "app", "0.1.0", map[string]string{
		"values.yaml": "replicas: 3\nimage: nginx:1.0\n", "templates/deployment.yaml": deploymentTpl,
	})
	install(t, cfg, "app", ch, nil)
	// kubectl scale --replicas=0, through the scale subresource.
	_, err := dyn(t).Resource(deployments).Namespace(ns).Patch(ctx, "app", types.MergePatchType,
		[]byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}, "scale")
	if err != nil {
		t.Fatal(err)
	}
	if got := replicas(t, ns, "app"); got != 0 {
		t.Fatalf("scaled to %d", got)
	}
	if _, err := (&action.Rollback{Cfg: cfg, Version: 1}).Run(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if got := replicas(t, ns, "app"); got != 3 {
		t.Errorf("replicas after rollback = %d, want 3", got)
	}
}

// Helm 3's second scenario: a sidecar injected out of band survives an
// upgrade of the main container's image.
func TestUpgradeKeepsInjectedSidecar(t *testing.T) {
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
	if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "app", ch, values.Values{"image": "nginx:2.0"}); err != nil {
		t.Fatal(err)
	}
	d := get(t, deployments, ns, "app")
	cs, _, _ := unstructuredSlice(d.Object, "spec", "template", "spec", "containers")
	got := map[string]string{}
	for _, c := range cs {
		m := c.(map[string]any)
		got[m["name"].(string)] = m["image"].(string)
	}
	if diff := cmp.Diff(map[string]string{"app": "nginx:2.0", "sidecar": "envoy:1"}, got); diff != "" {
		t.Errorf("containers after upgrade (-want +got):\n%s", diff)
	}
}

func unstructuredSlice(obj map[string]any, path ...string) ([]any, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[p]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}
