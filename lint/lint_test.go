package lint_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/lint"
	"github.com/chartd/chartd/values"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// report renders messages and notes as lines, for golden files.
func report(msgs []lint.Message, notes []string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.String() + "\n")
	}
	for _, n := range notes {
		b.WriteString("log: " + n + "\n")
	}
	return b.String()
}

func sortLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

type collect struct{ lines []string }

func (c *collect) Warn(n engine.LintNote) { c.lines = append(c.lines, n.String()) }
func (c *collect) value(w values.Warning) { c.lines = append(c.lines, w.String()) }
func (c *collect) options() lint.Options {
	return lint.Options{Notes: c, Coalesce: c.value, CRDs: true}
}
func chartDir(t *testing.T, n string) string {
	t.Helper()
	return filepath.Join("testdata", "charts", n)
}

// TestCharts lints every hand-written chart and compares messages and
// notes with testdata/golden (the differential test in internal/cli
// checks the same charts against real Helm).
func TestCharts(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "charts"))
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join("testdata", "charts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			var c collect
			msgs := lint.Dir(context.Background(), chartDir(t, e.Name()), nil, c.options())
			got := strings.ReplaceAll(report(msgs, c.lines), abs, "CHARTS")
			if e.Name() == "schema-null" {
				// Schema violations come in map order, in Helm and here.
				got = sortLines(strings.ReplaceAll(got, ": - at ", ":\n- at "))
			}
			p := filepath.Join("testdata", "golden", e.Name()+".txt")
			if *update {
				if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailed(t *testing.T) {
	msg := func(s lint.Severity) lint.Message { return lint.Message{Severity: s, Path: "x", Err: os.ErrInvalid} }
	tests := []struct {
		name           string
		res            lint.Result
		failed, strict bool
		noisy          bool
	}{
		{"clean", lint.Result{}, false, false, false},
		{"info", lint.Result{Messages: []lint.Message{msg(lint.Info)}}, false, false, false},
		{"warning", lint.Result{Messages: []lint.Message{msg(lint.Warning)}}, false, true, true},
		{"error", lint.Result{Messages: []lint.Message{msg(lint.Error)}}, true, true, true},
		{"not a chart", lint.Result{Err: os.ErrNotExist}, true, true, true},
	}
	for _, tt := range tests {
		if got := tt.res.Failed(false); got != tt.failed {
			t.Errorf("%s: Failed(false) = %v", tt.name, got)
		}
		if got := tt.res.Failed(true); got != tt.strict {
			t.Errorf("%s: Failed(true) = %v", tt.name, got)
		}
		if got := tt.res.Noisy(false); got != tt.noisy {
			t.Errorf("%s: Noisy = %v", tt.name, got)
		}
	}
}

// TestKubeVersion: the deprecation rule follows --kube-version, reading
// each type's lifecycle: extensions/v1beta1 Ingress is deprecated from
// 1.14, batch/v1beta1 CronJob from 1.21.
func TestKubeVersion(t *testing.T) {
	for _, tt := range []struct {
		kube string
		want []string
	}{
		{"1.13.0", nil},
		{"1.14.0", []string{"extensions/v1beta1 Ingress"}},
		{"1.21.0", []string{"batch/v1beta1 CronJob", "extensions/v1beta1 Ingress"}},
		{"1.29.0", []string{"batch/v1beta1 CronJob", "autoscaling/v2beta2 HorizontalPodAutoscaler", "flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema", "extensions/v1beta1 Ingress"}},
	} {
		kv, err := engine.ParseKubeVersion(tt.kube)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range lint.Dir(context.Background(), chartDir(t, "deprecated-apis"), nil, lint.Options{KubeVersion: kv}) {
			if s := m.Err.Error(); strings.Contains(s, " is deprecated in ") {
				got = append(got, s[:strings.Index(s, " is deprecated")])
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("kube %s (-want +got):\n%s", tt.kube, diff)
		}
	}
}

// TestPath: archives and non-charts, as Helm words their failures.
func TestPath(t *testing.T) {
	res := lint.Path(context.Background(), filepath.Join(t.TempDir(), "nothing"), nil, lint.Options{})
	if res.Err == nil || !strings.HasPrefix(res.Err.Error(), "unable to check Chart.yaml file in chart: ") {
		t.Errorf("missing chart: %v", res.Err)
	}
	bad := filepath.Join(t.TempDir(), "bad.tgz")
	if err := os.WriteFile(bad, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := lint.Path(context.Background(), bad, nil, lint.Options{}); res.Err == nil || !strings.HasPrefix(res.Err.Error(), "unable to extract tarball: ") {
		t.Errorf("bad archive: %v", res.Err)
	}
}

// TestOverrides: user values are linted against the schema and coalesced
// with the chart's, conflicts reported.
func TestOverrides(t *testing.T) {
	var c collect
	opt := c.options()
	msgs := lint.Dir(context.Background(), chartDir(t, "schema-fail"), values.Values{"replicas": 3}, opt)
	for _, m := range msgs {
		if m.Severity == lint.Error {
			t.Errorf("with replicas=3: %s", m)
		}
	}
	lint.Dir(context.Background(), chartDir(t, "typeconflict"), values.Values{"top": map[string]interface{}{"table": "flat"}}, opt)
	want := "warning: cannot overwrite table with non table for top.table (map[k:v])"
	found := false
	for _, l := range c.lines {
		found = found || l == want
	}
	if !found {
		t.Errorf("no %q in %q", want, c.lines)
	}
}
