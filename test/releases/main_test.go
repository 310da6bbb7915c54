// Package releases runs our helm client and real Helm v3.22.0 and v4.3.1
// as processes against one real control plane, and checks that each
// manages the releases the others made and that ours prints what Helm 3
// prints.
package releases

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// ourHelm is the path of our client, built once in TestMain.
var ourHelm string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "releases-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if ourHelm, err = procs.Build(filepath.Join(root, "..", ".."), "./cmd/helm", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return cluster.Main(m)
}

// client runs one helm binary with an isolated HOME and the test cluster.
type client struct {
	name string
	bin  string
	env  []string
}

func clients(t *testing.T) (ours, helm3, helm4 *client) {
	t.Helper()
	env := append(peers.Env(t.TempDir()), "KUBECONFIG="+cluster.Kubeconfig(t))
	return &client{"ours", ourHelm, env},
		&client{"helm3", peers.Path(t, "helm"), env},
		&client{"helm4", peers.Path(t, "helm4"), env}
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *client) run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return result{out.String(), errOut.String(), code}
}

// must runs and fails the test unless the command succeeded.
func (c *client) must(t *testing.T, args ...string) string {
	t.Helper()
	r := c.run(t, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", c.name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// writeChart writes a chart directory and returns its path.
func writeChart(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	all := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\nappVersion: \"1.0\"\nannotations:\n  team: x\n",
		"values.yaml": "replicas: 2\nimage: nginx:1.0\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
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
`,
		"templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  image: {{ .Values.image | quote }}\n",
		"templates/NOTES.txt": "Release {{ .Release.Name }} revision {{ .Release.Revision }}.\n",
		"templates/test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers: [{name: t, image: busybox}]\n",
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
	return dir
}

func writeFile(p, body string) error { return os.WriteFile(p, []byte(body), 0o644) }
