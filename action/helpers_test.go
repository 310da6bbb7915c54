package action_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }

// config connects to the test cluster for namespace ns.
func config(t *testing.T, ns string) *action.Configuration {
	t.Helper()
	return configFor(t, cluster.RESTConfig(t), ns, "secret")
}

func configFor(t *testing.T, rc *rest.Config, ns, drv string) *action.Configuration {
	t.Helper()
	cfg, err := action.NewFromREST(rc, ns, drv, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeChart writes a chart named name with files (paths relative to the
// chart root) and loads it.
func writeChart(t *testing.T, name, version string, files map[string]string) *chart.Chart {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	all := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: " + version + "\nappVersion: \"1.0\"\n",
	}
	for k, v := range files {
		all[k] = v
	}
	for p, body := range all {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := chart.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func install(t *testing.T, cfg *action.Configuration, name string, ch *chart.Chart, vals values.Values) *release.Release {
	t.Helper()
	r, err := (&action.Install{Cfg: cfg, ReleaseName: name}).Run(context.Background(), ch, vals)
	if err != nil {
		t.Fatalf("install %s: %v", name, err)
	}
	return r
}

func dyn(t *testing.T) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(cluster.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configmaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	services    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	secrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	saccounts   = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	crds        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

func get(t *testing.T, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var ri dynamic.ResourceInterface = dyn(t).Resource(gvr)
	if ns != "" {
		ri = dyn(t).Resource(gvr).Namespace(ns)
	}
	u, err := ri.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u
}

func exists(t *testing.T, gvr schema.GroupVersionResource, ns, name string) bool {
	t.Helper()
	var ri dynamic.ResourceInterface = dyn(t).Resource(gvr)
	if ns != "" {
		ri = dyn(t).Resource(gvr).Namespace(ns)
	}
	u, err := ri.Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	// Deletion is in the background: an object on its way out is gone.
	return u.GetDeletionTimestamp() == nil
}

func rv(t *testing.T, u *unstructured.Unstructured) int {
	t.Helper()
	n, err := strconv.Atoi(u.GetResourceVersion())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const deploymentTpl = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
`
