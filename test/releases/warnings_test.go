package releases

import (
	"slices"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// sortedStderr is stderr's lines sorted: Helm logs values conflicts in Go
// map order.
func sortedStderr(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestWarningsMatchHelm3: install, upgrade (plain and --reuse-values) and
// `get values --all` of a deprecated chart, with user values whose types
// conflict with the chart's, print on stderr what Helm 3.22 prints: its
// deprecation warning and its coalesce.go log lines.
func TestWarningsMatchHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "old", map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: old\nversion: 0.1.0\ndeprecated: true\n",
		"values.yaml": "replicas: 2\nimage: nginx:1.0\nresources:\n  limits: {cpu: 100m}\nextra: plain\n",
	})
	ns := cluster.Namespace(t)
	steps := [][]string{
		{"install", "@", chart, "--set", "resources=none,extra.a=1"},
		{"upgrade", "@", chart, "--set", "resources.limits=flat"},
		{"upgrade", "@", chart, "--reuse-values", "--set", "extra.b=2"},
		{"get", "values", "@", "--all"},
	}
	warned := 0
	for _, step := range steps {
		var res [2]result
		for i, c := range []*client{ours, helm3} {
			args := slices.Clone(step)
			args[slices.Index(args, "@")] = c.name + "-rel"
			res[i] = c.run(t, append(args, "-n", ns)...)
		}
		if res[1].code != 0 {
			t.Fatalf("helm %v: %s", step, res[1].stderr)
		}
		if strings.Contains(res[1].stderr, "coalesce.go:") {
			warned++
		}
		if res[0].code != 0 || sortedStderr(res[0].stderr) != sortedStderr(res[1].stderr) {
			t.Errorf("helm %s: stderr\nours (exit %d):\n%s\nhelm 3.22:\n%s", strings.Join(step, " "), res[0].code, res[0].stderr, res[1].stderr)
		}
	}
	if warned < 3 {
		t.Errorf("Helm warned of conflicts in %d steps only: the values no longer conflict", warned)
	}
}
