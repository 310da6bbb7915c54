package render_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/values"
)

// TestTemplateWarnings: Template reports what Helm logs while rendering:
// values conflicts (once per coalesce, as Helm coalesces several times),
// unreadable conditions, tags and import-values, and dropped hooks.
func TestTemplateWarnings(t *testing.T) {
	sub := newChart("sub", map[string]interface{}{"cfg": "plain"}, map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"})
	parent := newChart("p", map[string]interface{}{"tags": map[string]interface{}{"t": "yes"}, "on": "maybe"}, map[string]string{
		"templates/hook.yaml": "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: never-heard-of-it\n",
	}, sub)
	parent.Metadata.Dependencies = []*chart.Dependency{{
		Name: "sub", Version: "0.1.0", Condition: "on", Tags: []string{"t"},
		ImportValues: []interface{}{map[string]interface{}{"child": "nope", "parent": "x"}, "missing"},
	}}
	var got []string
	var hooks []string
	_, err := render.Template(context.Background(), parent, values.Values{"sub": map[string]interface{}{"cfg": map[string]interface{}{"a": 1}}}, render.Options{
		ReleaseName: "r",
		Coalesce:    func(w values.Warning) { got = append(got, w.String()) },
		SkippedHook: func(h string) { hooks = append(hooks, h) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// What real Helm 3.22 logs for the same chart and values, in order.
	skipped := "warning: skipped value for p.sub.cfg: Not a table."
	want := []string{
		skipped, // the dependency conditions' coalesce
		"Warning: Tag 't' for chart sub returned non-bool value",
		"Warning: Condition path 'on' for chart sub returned non-bool value",
		`Warning: ImportValues missing table from chart sub: "nope" is not a table`,
		`Warning: ImportValues missing table: "exports" is not a table`,
		// import-values leaves the subchart's defaults in the parent's,
		// so the render values' coalesce meets the conflict twice.
		"warning: destination for p.sub.cfg is a table. Ignoring non-table value (plain)",
		skipped,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"never-heard-of-it"}, hooks); diff != "" {
		t.Errorf("skipped hooks (-want +got):\n%s", diff)
	}
}
