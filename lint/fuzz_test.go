package lint_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chartd/chartd/lint"
)

// FuzzDir: whatever Chart.yaml, values.yaml and template a chart holds,
// lint reports and never panics.
func FuzzDir(f *testing.F) {
	f.Add([]byte("apiVersion: v2\nname: x\nversion: 0.1.0\n"), []byte("a: 1\n"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"))
	f.Add([]byte("name: [\n"), []byte("a: [\n"), []byte("{{ .Values.a.b.c }}"))
	f.Add([]byte("apiVersion: v1\nname: x\nversion: 1\ntype: library\nmaintainers: [~]\n"), []byte("~"), []byte("  kind: Deployment\n---\nkind: List\nitems: [1]\n"))
	f.Add([]byte("apiVersion: v2\nname: x\nversion: 0.1.0\n"), []byte("global: 1\n"), []byte("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: A_B}\n"))
	f.Fuzz(func(t *testing.T, chartYAML, valuesYAML, tpl []byte) {
		dir := t.TempDir()
		write := func(name string, data []byte) {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("Chart.yaml", chartYAML)
		write("values.yaml", valuesYAML)
		write("templates/t.yaml", tpl)
		write("crds/c.yaml", tpl)
		res := lint.Path(context.Background(), dir, nil, lint.Options{CRDs: true})
		if res.Err != nil {
			t.Fatalf("a directory with Chart.yaml is a chart: %v", res.Err)
		}
		for _, m := range res.Messages {
			if m.Err == nil || m.String() == "" {
				t.Fatalf("empty message %#v", m)
			}
		}
	})
}
