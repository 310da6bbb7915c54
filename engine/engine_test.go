package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/values"
)

func tplChart(name string, vals map[string]interface{}, files map[string]string, deps ...*chart.Chart) *chart.Chart {
	c := &chart.Chart{Metadata: &chart.Metadata{Name: name, Version: "0.1.0", APIVersion: "v2"}, Values: vals}
	for n, d := range files {
		f := &chart.File{Name: n, Data: []byte(d)}
		if strings.HasPrefix(n, "templates/") {
			c.Templates = append(c.Templates, f)
		} else {
			c.Files = append(c.Files, f)
		}
	}
	c.SetDependencies(deps...)
	return c
}

// topValues builds render values the way render.ToRenderValues does.
func topValues(t *testing.T, c *chart.Chart, user map[string]interface{}) values.Values {
	t.Helper()
	v, err := values.CoalesceValues(c, user)
	if err != nil {
		t.Fatal(err)
	}
	return values.Values{
		"Values":       v,
		"Release":      map[string]interface{}{"Name": "rel", "Namespace": "ns"},
		"Capabilities": DefaultCapabilities(),
	}
}

func TestRenderScopes(t *testing.T) {
	lib := tplChart("lib", nil, map[string]string{
		"templates/_lib.tpl":  `{{ define "lib.name" }}lib:{{ .Chart.Name }}{{ end }}`,
		"templates/skip.yaml": "never rendered",
	})
	lib.Metadata.Type = "library"
	sub := tplChart("sub", map[string]interface{}{"port": 80}, map[string]string{
		"templates/svc.yaml": `{{ .Values.port }} {{ .Values.global.g }} {{ .Chart.Name }} {{ .Chart.IsRoot }} {{ .Template.Name }} {{ .Template.BasePath }} {{ .Release.Name }}`,
		"templates/_h.tpl":   `{{ define "sub.h" }}sub-h{{ end }}`,
	})
	parent := tplChart("parent", map[string]interface{}{"global": map[string]interface{}{"g": "G"}, "sub": map[string]interface{}{"port": 8080}}, map[string]string{
		"templates/cm.yaml": `{{ include "lib.name" . }} {{ include "sub.h" . }} {{ .Subcharts.sub.Values.port }} {{ .Chart.IsRoot }} {{ .Files.Get "f.txt" }}`,
		"f.txt":             "file",
	}, sub, lib)

	got, err := Engine{}.Render(context.Background(), parent, topValues(t, parent, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"parent/templates/cm.yaml":             "lib:parent sub-h 8080 true file",
		"parent/charts/sub/templates/svc.yaml": "8080 G sub false parent/charts/sub/templates/svc.yaml parent/charts/sub/templates rel",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The parent's define wins over a subchart's define of the same name,
// because deeper templates are parsed first.
func TestRenderDefinePrecedence(t *testing.T) {
	sub := tplChart("sub", nil, map[string]string{
		"templates/_h.tpl": `{{ define "x" }}sub{{ end }}`,
		"templates/a.yaml": `{{ template "x" }}`,
	})
	parent := tplChart("parent", nil, map[string]string{
		"templates/_h.tpl": `{{ define "x" }}parent{{ end }}`,
	}, sub)
	got, err := Engine{}.Render(context.Background(), parent, topValues(t, parent, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got["parent/charts/sub/templates/a.yaml"] != "parent" {
		t.Errorf("got %q", got["parent/charts/sub/templates/a.yaml"])
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		tpl    string
		strict bool
		want   string
	}{
		{name: "parse", tpl: "{{ .Values.a ", want: "parse error at (c/templates/t.yaml:1): unclosed action"},
		{name: "unknown func", tpl: "{{ env \"HOME\" }}", want: `parse error at (c/templates/t.yaml:1): function "env" not defined`},
		{name: "required", tpl: "x\n  {{ required \"need a\" .Values.a }}", want: "execution error at (c/templates/t.yaml:2:5): need a"},
		{name: "required empty string", tpl: "{{ required \"need e\" .Values.e }}", want: "execution error at (c/templates/t.yaml:1:3): need e"},
		{name: "fail", tpl: "{{ fail \"boom\" }}", want: "execution error at (c/templates/t.yaml:1:3): boom"},
		{name: "exec", tpl: "{{ .Values.a.b }}", want: `template: c/templates/t.yaml:1:10: executing "c/templates/t.yaml" at <.Values.a.b>: nil pointer evaluating interface {}.b`},
		{name: "strict", tpl: "{{ .Values.nope }}", strict: true, want: `template: c/templates/t.yaml:1:10: executing "c/templates/t.yaml" at <.Values.nope>: map has no entry for key "nope"`},
		{name: "recursion", tpl: `{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}`, want: "rendering template has a nested reference name: r: unable to execute template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tplChart("c", map[string]interface{}{"e": ""}, map[string]string{"templates/t.yaml": tt.tpl})
			_, err := Engine{Strict: tt.strict}.Render(context.Background(), c, topValues(t, c, nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestRenderNoValue(t *testing.T) {
	c := tplChart("c", map[string]interface{}{"m": map[string]interface{}{}}, map[string]string{
		"templates/t.yaml": `[{{ .Values.missing }}][{{ .Values.m.x }}][{{ tpl "{{ .Values.nope }}" . }}]`,
	})
	got, err := Engine{}.Render(context.Background(), c, topValues(t, c, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got["c/templates/t.yaml"] != "[][][]" {
		t.Errorf("got %q", got["c/templates/t.yaml"])
	}
}

type fakeLookup struct{ calls []string }

func (f *fakeLookup) Lookup(ctx context.Context, apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
	f.calls = append(f.calls, strings.Join([]string{apiVersion, kind, namespace, name}, "/"))
	if name == "err" {
		return nil, errors.New("cluster down")
	}
	return map[string]interface{}{"metadata": map[string]interface{}{"name": name}}, nil
}

func TestLookup(t *testing.T) {
	c := tplChart("c", nil, map[string]string{"templates/t.yaml": `{{ with lookup "v1" "Secret" "ns" "s1" }}{{ .metadata.name }}{{ end }}`})
	// Without a cluster lookup returns an empty map.
	got, err := Engine{}.Render(context.Background(), c, topValues(t, c, nil))
	if err != nil || got["c/templates/t.yaml"] != "" {
		t.Fatalf("no cluster: %q, %v", got["c/templates/t.yaml"], err)
	}
	fl := &fakeLookup{}
	got, err = Engine{Lookup: fl}.Render(context.Background(), c, topValues(t, c, nil))
	if err != nil || got["c/templates/t.yaml"] != "s1" {
		t.Fatalf("with cluster: %q, %v", got["c/templates/t.yaml"], err)
	}
	if diff := cmp.Diff([]string{"v1/Secret/ns/s1"}, fl.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

type warnings []string

func (w *warnings) Warn(n LintNote) {
	*w = append(*w, fmt.Sprintf("%d %s", n.Kind, n))
}

func TestLintMode(t *testing.T) {
	c := tplChart("c", nil, map[string]string{"templates/t.yaml": `a{{ required "need x" .Values.x }}{{ required "need e" "" }}{{ required "have" "y" }}{{ fail "f" }}b`})
	var w warnings
	got, err := Engine{LintMode: true, Warn: &w}.Render(context.Background(), c, topValues(t, c, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got["c/templates/t.yaml"] != "ayb" {
		t.Errorf("got %q", got["c/templates/t.yaml"])
	}
	if diff := cmp.Diff(warnings{"1 [INFO] Missing required value: need x", "2 [INFO] Missing required value: need e", "3 [INFO] Fail: f"}, w); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestRenderCanceled(t *testing.T) {
	c := tplChart("c", nil, map[string]string{"templates/t.yaml": "x"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Engine{}).Render(ctx, c, topValues(t, c, nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
