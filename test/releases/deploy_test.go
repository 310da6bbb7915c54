package releases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// deployObjects decodes the objects of a multi-document manifest file.
func deployObjects(t *testing.T, b []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// resourceOf maps the kinds deploy/ uses to their resources: a fixed table,
// so an unexpected kind fails the test instead of being skipped.
func resourceOf(t *testing.T, o *unstructured.Unstructured) schema.GroupVersionResource {
	t.Helper()
	gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]string{"Deployment": "deployments", "Service": "services", "ConfigMap": "configmaps",
		"Secret": "secrets", "PersistentVolumeClaim": "persistentvolumeclaims", "ServiceAccount": "serviceaccounts"}[o.GetKind()]
	if res == "" {
		t.Fatalf("no resource known for kind %s: add it to the table", o.GetKind())
	}
	return gv.WithResource(res)
}

// checkCreated fails unless every object of objs exists in ns, as the
// apiserver stored it.
func checkCreated(t *testing.T, ns string, objs []*unstructured.Unstructured) {
	t.Helper()
	dc := dynamic.NewForConfigOrDie(cluster.RESTConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range objs {
		got, err := dc.Resource(resourceOf(t, o)).Namespace(ns).Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s %s not created: %v", o.GetKind(), o.GetName(), err)
			continue
		}
		if got.GetUID() == "" {
			t.Errorf("%s %s has no uid", o.GetKind(), o.GetName())
		}
	}
}

// TestDeployManifestsApplyToACluster applies each of deploy/kubernetes's
// manifest files with kubectl's server-side apply and strict field
// validation (so a misspelt or unknown field is refused, not dropped),
// then finds every object in the cluster. No images can be pulled, so the
// pods never run: what is tested is that the apiserver accepts and stores
// the manifests as written.
func TestDeployManifestsApplyToACluster(t *testing.T) {
	dir, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(dir, "kubectl")
	files, err := filepath.Glob(filepath.Join(peers.Root(t), "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("manifests: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ns := cluster.Namespace(t)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs := deployObjects(t, b)
			if len(objs) < 3 {
				t.Fatalf("only %d objects in %s", len(objs), f)
			}
			for _, args := range [][]string{
				{"apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=chartd-test", "-n", ns, "-f", f},
				{"apply", "--server-side", "--validate=strict", "--field-manager=chartd-test", "-n", ns, "-f", f},
			} {
				cmd := exec.Command(kubectl, args...)
				cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig(t))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			checkCreated(t, ns, objs)
		})
	}
}

// TestChartdChartInstalledAndPublished installs the chart of chartd itself
// (deploy/chart/chartd) into the test cluster with our client, in both of
// its modes; then packages it, publishes it with our client to a running
// chartd over both protocols, and installs it from there into the cluster.
func TestChartdChartInstalledAndPublished(t *testing.T) {
	ours, _, _ := clients(t)
	chartDir := filepath.Join(peers.Root(t), "deploy", "chart", "chartd")
	mustRun := func(args ...string) string {
		t.Helper()
		r := ours.run(t, args...)
		if r.code != 0 {
			t.Fatalf("helm %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	// The rendered objects, to find in the cluster after the install.
	rendered := func(ns string, args ...string) []*unstructured.Unstructured {
		t.Helper()
		return deployObjects(t, []byte(mustRun(append([]string{"template", "chartd", chartDir, "-n", ns}, args...)...)))
	}
	for _, tc := range []struct {
		name string
		set  []string
	}{
		{"embedded", nil},
		{"replicated", []string{"--set", "mode=replicated", "--set", "replicated.databaseURL=postgres://u:p@db:5432/chartd",
			"--set", "replicated.storageURL=s3://charts?region=us-east-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := cluster.Namespace(t)
			out := mustRun(append([]string{"install", "chartd", chartDir, "-n", ns}, tc.set...)...)
			if !strings.Contains(out, "STATUS: deployed") {
				t.Errorf("install printed:\n%s", out)
			}
			checkCreated(t, ns, rendered(ns, tc.set...))
			if st := mustRun("status", "chartd", "-n", ns); !strings.Contains(st, "STATUS: deployed") {
				t.Errorf("status:\n%s", st)
			}
			mustRun("uninstall", "chartd", "-n", ns)
		})
	}

	// Published to a running chartd with our client, both ways ...
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	bin, err := procs.Build(root, "./cmd/chartd", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := procs.StartChartd(t, bin, t.TempDir(), "--depth=1")
	pkgDir := t.TempDir()
	mustRun("package", chartDir, "-d", pkgDir)
	tgzs, _ := filepath.Glob(filepath.Join(pkgDir, "chartd-*.tgz"))
	if len(tgzs) != 1 {
		t.Fatalf("package made %v", tgzs)
	}
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(tgzs[0]), "chartd-"), ".tgz")
	host := strings.TrimPrefix(srv.URL, "http://")
	mustRun("push", tgzs[0], "oci://"+host+"/ops", "--plain-http")
	mustRun("push", tgzs[0], srv.URL+"/web")
	for _, idx := range []string{"/ops/index.yaml", "/web/index.yaml"} {
		res, err := httpGet(srv.URL + idx)
		if err != nil || !strings.Contains(res, "chartd-"+version+".tgz") {
			t.Errorf("%s lacks the published chart: %v\n%s", idx, err, res)
		}
	}
	// ... and installed from there: over OCI, and from the repository.
	ns := cluster.Namespace(t)
	mustRun("install", "from-oci", "oci://"+host+"/ops/chartd", "--version", version, "--plain-http", "-n", ns)
	mustRun("install", "from-repo", "chartd", "--repo", srv.URL+"/web", "--version", version, "-n", ns)
	list := mustRun("list", "-n", ns)
	for _, rel := range []string{"from-oci", "from-repo"} {
		if !strings.Contains(list, rel) {
			t.Errorf("list lacks %s:\n%s", rel, list)
		}
	}
	checkCreated(t, ns, deployObjects(t, []byte(mustRun("template", "from-oci", chartDir, "-n", ns))))
}

func httpGet(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return string(b), err
}
