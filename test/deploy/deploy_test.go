// Package deploy checks what operators deploy chartd with: the Helm chart
// in deploy/chart/chartd (linted and templated by our client and by real
// Helm, which must agree), the docker-compose file and the plain
// Kubernetes manifests. No images can be pulled here, so the compose file
// and the manifests are checked for syntax and shape, not run.
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
	"github.com/chartd/chartd/server"
)

// ourHelm is cmd/helm, built once in TestMain.
var ourHelm string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chartd-deploy-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	ourHelm, err = procs.Build(filepath.Join(wd, "..", ".."), "./cmd/helm", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func deployDir(t *testing.T) string { return filepath.Join(peers.Root(t), "deploy") }

// helm runs a helm binary in an isolated home and returns its output.
func helm(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = peers.Env(t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// docs decodes a multi-document YAML stream into objects, failing on any
// document without apiVersion, kind and metadata.name.
func docs(t *testing.T, name string, r io.Reader) []*unstructured.Unstructured {
	t.Helper()
	dec := k8syaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m == nil {
			continue // an empty document
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Errorf("%s: a document lacks apiVersion, kind or metadata.name: %v", name, m)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		t.Fatalf("%s: no objects", name)
	}
	return objs
}

func byKind(objs []*unstructured.Unstructured) map[string][]*unstructured.Unstructured {
	m := map[string][]*unstructured.Unstructured{}
	for _, o := range objs {
		m[o.GetKind()] = append(m[o.GetKind()], o)
	}
	return m
}

// checkDeployment checks what every chartd Deployment must have: probes on
// /health and /ready, a non-root, read-only container, a selector that
// selects its pods, and a Service that selects them too.
func checkDeployment(t *testing.T, name string, objs []*unstructured.Unstructured) {
	t.Helper()
	kinds := byKind(objs)
	if len(kinds["Deployment"]) != 1 || len(kinds["Service"]) != 1 {
		t.Fatalf("%s: want one Deployment and one Service, have %v", name, kindNames(objs))
	}
	d := kinds["Deployment"][0].Object
	sel, _, _ := unstructured.NestedStringMap(d, "spec", "selector", "matchLabels")
	podLabels, _, _ := unstructured.NestedStringMap(d, "spec", "template", "metadata", "labels")
	svcSel, _, _ := unstructured.NestedStringMap(kinds["Service"][0].Object, "spec", "selector")
	if len(sel) == 0 || !subset(sel, podLabels) || !subset(svcSel, podLabels) || len(svcSel) == 0 {
		t.Errorf("%s: selector %v / service selector %v do not select pod labels %v", name, sel, svcSel, podLabels)
	}
	if v, _, _ := unstructured.NestedBool(d, "spec", "template", "spec", "securityContext", "runAsNonRoot"); !v {
		t.Errorf("%s: pods may run as root", name)
	}
	containers, _, _ := unstructured.NestedSlice(d, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(containers))
	}
	c := containers[0].(map[string]any)
	for probe, want := range map[string]string{"livenessProbe": "/health", "readinessProbe": "/ready"} {
		if got, _, _ := unstructured.NestedString(c, probe, "httpGet", "path"); got != want {
			t.Errorf("%s: %s path %q, want %q", name, probe, got, want)
		}
	}
	if v, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !v {
		t.Errorf("%s: the root filesystem is writable", name)
	}
	if v, ok, _ := unstructured.NestedBool(c, "securityContext", "allowPrivilegeEscalation"); !ok || v {
		t.Errorf("%s: privilege escalation is not disabled", name)
	}
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func kindNames(objs []*unstructured.Unstructured) []string {
	var s []string
	for _, o := range objs {
		s = append(s, o.GetKind()+"/"+o.GetName())
	}
	return s
}

// checkConfig loads each ConfigMap's config.yaml as chartd would.
func checkConfig(t *testing.T, name string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, cm := range byKind(objs)["ConfigMap"] {
		text, ok, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
		if !ok {
			continue
		}
		p := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := server.DefaultConfig()
		if err := cfg.LoadFile(p); err != nil {
			t.Errorf("%s: chartd cannot load ConfigMap %s: %v", name, cm.GetName(), err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: ConfigMap %s: %v", name, cm.GetName(), err)
		}
	}
}

func TestChart(t *testing.T) {
	chart := filepath.Join(deployDir(t), "chart", "chartd")
	realHelm := peers.Path(t, "helm")
	for _, tc := range []struct {
		name  string
		set   []string
		kinds []string // besides Deployment, Service, ConfigMap
		env   []string // environment the chartd container must get
	}{
		{"embedded", nil, []string{"PersistentVolumeClaim"}, nil},
		{"replicated", []string{"mode=replicated", "replicated.databaseURL=postgres://u:p@db:5432/chartd", "replicated.storageURL=s3://charts?region=x"},
			[]string{"Secret"}, []string{"CHARTD_DATABASE_URL", "CHARTD_STORAGE_URL"}},
		{"replicated with an existing secret", []string{"mode=replicated", "replicated.existingSecret=mine", "replicated.awsSecret=aws"},
			nil, []string{"CHARTD_DATABASE_URL", "CHARTD_STORAGE_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			rendered := map[string]string{}
			for _, bin := range []struct{ name, path string }{{"ours", ourHelm}, {"real", realHelm}} {
				out, errOut, err := helm(t, bin.path, append([]string{"lint", chart}, args...)...)
				if err != nil || strings.Contains(out, "[ERROR]") || !strings.Contains(out, "0 chart(s) failed") {
					t.Errorf("%s helm lint: %v\n%s%s", bin.name, err, out, errOut)
				}
				out, errOut, err = helm(t, bin.path, append([]string{"template", "rel", chart, "--namespace", "ops"}, args...)...)
				if err != nil {
					t.Fatalf("%s helm template: %v\n%s", bin.name, err, errOut)
				}
				rendered[bin.name] = out
			}
			if diff := cmp.Diff(rendered["real"], rendered["ours"]); diff != "" {
				t.Errorf("rendered manifests differ (-real +ours):\n%s", diff)
			}
			objs := docs(t, tc.name, strings.NewReader(rendered["ours"]))
			checkDeployment(t, tc.name, objs)
			checkConfig(t, tc.name, objs)
			kinds := byKind(objs)
			for _, k := range append([]string{"ConfigMap"}, tc.kinds...) {
				if len(kinds[k]) != 1 {
					t.Errorf("want one %s, have %v", k, kindNames(objs))
				}
			}
			for _, k := range []string{"PersistentVolumeClaim", "Secret"} {
				if len(kinds[k]) > 0 && !contains(tc.kinds, k) {
					t.Errorf("unexpected %s in %v", k, kindNames(objs))
				}
			}
			env := containerEnv(kinds["Deployment"][0])
			for _, e := range tc.env {
				if !contains(env, e) {
					t.Errorf("container env %v lacks %s", env, e)
				}
			}
		})
	}

	// Replicated mode without the URLs is refused by both, not rendered
	// into a chartd that crash-loops.
	for _, bin := range []struct{ name, path string }{{"ours", ourHelm}, {"real", realHelm}} {
		_, errOut, err := helm(t, bin.path, "template", "rel", chart, "--set", "mode=replicated")
		if err == nil || !strings.Contains(errOut, "replicated.databaseURL") {
			t.Errorf("%s helm template in replicated mode without URLs: %v %s, want a failure naming replicated.databaseURL", bin.name, err, errOut)
		}
	}
}

func containerEnv(d *unstructured.Unstructured) []string {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	var names []string
	for _, c := range containers {
		env, _, _ := unstructured.NestedSlice(c.(map[string]any), "env")
		for _, e := range env {
			if n, ok := e.(map[string]any)["name"].(string); ok {
				names = append(names, n)
			}
		}
	}
	return names
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir(t), "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs := docs(t, f, bytes.NewReader(b))
			checkDeployment(t, f, objs)
			checkConfig(t, f, objs)
		})
	}
}

// composeFile is the part of the compose specification the test checks.
type composeFile struct {
	Services map[string]struct {
		Image       string            `json:"image"`
		Command     []string          `json:"command"`
		Environment map[string]string `json:"environment"`
		DependsOn   map[string]struct {
			Condition string `json:"condition"`
		} `json:"depends_on"`
		Volumes []string `json:"volumes"`
	} `json:"services"`
	Volumes map[string]any `json:"volumes"`
}

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir(t), "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	// Not strict: compose has many keys this test does not model.
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	for _, name := range []string{"chartd", "postgres", "minio"} {
		svc, ok := c.Services[name]
		if !ok || svc.Image == "" {
			t.Errorf("service %s missing or without an image", name)
		}
	}
	conditions := map[string]bool{"service_started": true, "service_healthy": true, "service_completed_successfully": true}
	for name, svc := range c.Services {
		for dep, d := range svc.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on undefined service %s", name, dep)
			}
			if !conditions[d.Condition] {
				t.Errorf("%s: depends_on %s has condition %q", name, dep, d.Condition)
			}
		}
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s mounts undeclared volume %s", name, src)
				}
			}
		}
	}
	chartd := c.Services["chartd"]
	db, err := url.Parse(chartd.Environment["CHARTD_DATABASE_URL"])
	if err != nil || db.Scheme != "postgres" {
		t.Errorf("CHARTD_DATABASE_URL %q is not a postgres:// URL", chartd.Environment["CHARTD_DATABASE_URL"])
	} else if _, ok := c.Services[db.Hostname()]; !ok {
		t.Errorf("the database host %s is not a service", db.Hostname())
	}
	st, err := url.Parse(chartd.Environment["CHARTD_STORAGE_URL"])
	if err != nil || st.Scheme != "s3" {
		t.Fatalf("CHARTD_STORAGE_URL %q is not an s3:// URL", chartd.Environment["CHARTD_STORAGE_URL"])
	}
	ep, err := url.Parse(st.Query().Get("endpoint"))
	if err != nil || ep.Hostname() != "minio" {
		t.Errorf("the bucket's endpoint %q is not the minio service", st.Query().Get("endpoint"))
	}
	// The flags it is started with are chartd's.
	cfg := server.DefaultConfig()
	if err := cfg.Parse(chartd.Command, func(string) string { return "" }); err != nil {
		t.Errorf("chartd's command %v: %v", chartd.Command, err)
	}
}
