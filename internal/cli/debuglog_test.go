package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDebugLogsLikeHelm4: --debug and HELM_DEBUG print debug logs on
// stderr in Helm 4's format (slog text, no timestamps); without them
// nothing is logged. Helm 4's schema-validation lines ("chart name",
// "number of dependencies in the chart") come from inside its renderer
// and are not logged by ours; they are left out of the comparison.
func TestDebugLogsLikeHelm4(t *testing.T) {
	h := newHarness(t)
	writeFiles(t, h.dir, map[string]string{
		"c/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"c/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
	})
	c := filepath.Join(h.dir, "c")
	cases := []struct {
		env  []string
		args []string
	}{
		{nil, []string{"template", "r", c, "--debug"}},
		{[]string{"HELM_DEBUG=true"}, []string{"template", "r", c}},
		{nil, []string{"template", "r", c, "--debug", "--devel"}},
		{nil, []string{"template", "r", c, "--debug", "--version", "0.1.0"}},
		{nil, []string{"template", "r", c}},
	}
	same := 0
	for _, tt := range cases {
		rh := h.peer("helm4", tt.env, tt.args...)
		for _, kv := range tt.env {
			k, v, _ := strings.Cut(kv, "=")
			h.vars[k] = v
		}
		ro := h.ours(tt.args...)
		for _, kv := range tt.env {
			k, _, _ := strings.Cut(kv, "=")
			delete(h.vars, k)
		}
		want := withoutSchemaLines(rh.stderr)
		debug := len(tt.env) > 0 || strings.Contains(strings.Join(tt.args, " "), "--debug")
		if ro.stderr != want || ro.stdout != rh.stdout || ro.code != rh.code || debug != (want != "") {
			t.Errorf("%v %s:\nours %q\nhelm4 %q", tt.env, strings.Join(tt.args, " "), ro.stderr, want)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 4.3 (schema-validation lines aside)", same, len(cases))
}

func withoutSchemaLines(s string) string {
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.Contains(l, `msg="number of dependencies in the chart"`) || strings.Contains(l, `msg="chart name"`) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "")
}
