package render_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/values"
)

func newChart(name string, vals map[string]interface{}, tpls map[string]string, deps ...*chart.Chart) *chart.Chart {
	c := &chart.Chart{Metadata: &chart.Metadata{Name: name, Version: "0.1.0", APIVersion: "v2"}, Values: vals}
	for n, d := range tpls {
		c.Templates = append(c.Templates, &chart.File{Name: n, Data: []byte(d)})
	}
	c.SetDependencies(deps...)
	return c
}

func TestProcessDependencies(t *testing.T) {
	mk := func() *chart.Chart {
		a := newChart("a", map[string]interface{}{"exports": map[string]interface{}{"data": map[string]interface{}{"x": 1}}}, nil)
		b := newChart("b", nil, nil)
		c := newChart("c", nil, nil)
		p := newChart("p", map[string]interface{}{"b": map[string]interface{}{"on": false}}, nil, a, b, c)
		p.Metadata.Dependencies = []*chart.Dependency{
			{Name: "a", Version: "0.1.0", ImportValues: []interface{}{"data"}},
			{Name: "b", Version: "0.1.0", Condition: "b.on"},
			{Name: "c", Version: "0.1.0", Alias: "c2", Tags: []string{"t"}},
		}
		return p
	}
	tests := []struct {
		name     string
		vals     values.Values
		wantDeps []string
		wantX    interface{}
	}{
		{name: "defaults", vals: values.Values{}, wantDeps: []string{"a", "c2"}, wantX: 1},
		{name: "condition on", vals: values.Values{"b": map[string]interface{}{"on": true}}, wantDeps: []string{"a", "b", "c2"}, wantX: 1},
		{name: "tag off", vals: values.Values{"tags": map[string]interface{}{"t": false}}, wantDeps: []string{"a"}, wantX: 1},
		{name: "parent wins over import", vals: values.Values{}, wantDeps: []string{"a", "c2"}, wantX: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mk()
			if err := render.ProcessDependencies(p, tt.vals, values.Coalescer{}); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range p.Dependencies() {
				names = append(names, d.Name())
			}
			if diff := cmp.Diff(tt.wantDeps, names); diff != "" {
				t.Errorf("deps (-want +got):\n%s", diff)
			}
			if p.Values["x"] != tt.wantX {
				t.Errorf("imported x = %v", p.Values["x"])
			}
		})
	}
}

func TestTemplateDoesNotModifyChart(t *testing.T) {
	sub := newChart("sub", map[string]interface{}{"v": 1}, map[string]string{"templates/a.yaml": "kind: A\n"})
	p := newChart("p", nil, map[string]string{"templates/b.yaml": "kind: B\n"}, sub)
	p.Metadata.Dependencies = []*chart.Dependency{{Name: "sub", Version: "*", Alias: "renamed"}}
	for i := 0; i < 2; i++ {
		res, err := render.Template(context.Background(), p, nil, render.Options{ReleaseName: "r"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Manifests) != 2 || res.Manifests[0].Name != "p/charts/renamed/templates/a.yaml" {
			t.Fatalf("run %d: manifests %+v", i, res.Manifests)
		}
	}
	if p.Metadata.Dependencies[0].Name != "sub" || p.Dependencies()[0].Name() != "sub" {
		t.Error("caller's chart was modified")
	}
}

func TestTemplateErrors(t *testing.T) {
	lib := newChart("lib", nil, nil)
	lib.Metadata.Type = "library"
	kv := newChart("kv", nil, nil)
	kv.Metadata.KubeVersion = ">=1.99"
	missing := newChart("m", nil, nil)
	missing.Metadata.Dependencies = []*chart.Dependency{{Name: "gone"}}
	bad := newChart("bad", nil, map[string]string{"templates/x.yaml": "{{ fail \"no\" }}"})
	tests := []struct {
		name    string
		ch      *chart.Chart
		is      error
		render  bool
		message string
	}{
		{name: "library", ch: lib, is: render.ErrNotInstallable, message: "library charts are not installable"},
		{name: "kubeVersion", ch: kv, is: render.ErrKubeVersion, render: true, message: "chart requires kubeVersion: >=1.99 which is incompatible with Kubernetes v1.37.0"},
		{name: "missing", ch: missing, is: render.ErrMissingDependencies, message: "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: gone"},
		{name: "template", ch: bad, render: true, message: "execution error at (bad/templates/x.yaml:1:3): no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Template(context.Background(), tt.ch, nil, render.Options{ReleaseName: "r"})
			if err == nil || err.Error() != tt.message {
				t.Fatalf("err = %v\nwant %s", err, tt.message)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v) = false", tt.is)
			}
			var re *render.RenderError
			if errors.As(err, &re) != tt.render {
				t.Errorf("RenderError = %v, want %v", !tt.render, tt.render)
			}
			cmdErr := render.TemplateCommandError(err).Error()
			if tt.render != strings.HasSuffix(cmdErr, "\n\nUse --debug flag to render out invalid YAML") {
				t.Errorf("TemplateCommandError = %q", cmdErr)
			}
		})
	}
}

func TestPrintOptions(t *testing.T) {
	c := newChart("c", nil, map[string]string{
		"templates/s.yaml":     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
		"templates/hook.yaml":  "kind: Pod\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: test\n",
		"templates/NOTES.txt":  "notes for {{ .Release.Name }}",
		"templates/_skip.yaml": "kind: X\n",
	})
	res, err := render.Template(context.Background(), c, nil, render.Options{ReleaseName: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notes != "notes for r" {
		t.Errorf("Notes = %q", res.Notes)
	}
	tests := []struct {
		opt  render.PrintOptions
		want string
	}{
		{want: "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n---\n# Source: c/templates/hook.yaml\nkind: Pod\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: test\n"},
		{opt: render.PrintOptions{SkipTests: true, HideSecret: true}, want: "---\n# Source: c/templates/s.yaml\n# HIDDEN: The Secret output has been suppressed\n"},
		{opt: render.PrintOptions{DisableHooks: true, ShowOnly: []string{"templates/s.yaml"}}, want: "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"},
	}
	for i, tt := range tests {
		var buf bytes.Buffer
		if err := render.Print(&buf, res, tt.opt); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
			t.Errorf("case %d (-want +got):\n%s", i, diff)
		}
	}
	err = render.Print(&bytes.Buffer{}, res, render.PrintOptions{ShowOnly: []string{"templates/nope.yaml"}})
	if !errors.Is(err, render.ErrTemplateNotFound) || err.Error() != "could not find template templates/nope.yaml in chart" {
		t.Errorf("err = %v", err)
	}
}

func TestCapabilitiesOptions(t *testing.T) {
	c := newChart("c", nil, map[string]string{"templates/a.yaml": `a: "{{ .Capabilities.KubeVersion }} {{ .Capabilities.APIVersions.Has "x/v1" }} {{ .Release.IsUpgrade }} {{ .Release.Revision }}"`})
	kv, err := engine.ParseKubeVersion("1.31.2")
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Template(context.Background(), c, nil, render.Options{ReleaseName: "r", KubeVersion: kv, APIVersions: []string{"x/v1"}, IsUpgrade: true, Revision: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Manifests[0].Content; got != `a: "v1.31.2 true true 4"` {
		t.Errorf("got %s", got)
	}
}

func ExampleTemplate() {
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "demo", Version: "0.1.0", APIVersion: "v2"},
		Values:   map[string]interface{}{"port": 80},
		Templates: []*chart.File{
			{Name: "templates/svc.yaml", Data: []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  port: {{ .Values.port }}\n")},
			{Name: "templates/ns.yaml", Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Release.Namespace }}\n")},
		},
	}
	vals, _ := values.Options{Values: []string{"port=8080"}}.MergeValues(context.Background(), nil)
	res, err := render.Template(context.Background(), ch, vals, render.Options{ReleaseName: "web", Namespace: "prod"})
	if err != nil {
		fmt.Println(render.TemplateCommandError(err))
		return
	}
	var out bytes.Buffer
	_ = render.Print(&out, res, render.PrintOptions{})
	fmt.Print(out.String())
	// Output:
	// ---
	// # Source: demo/templates/ns.yaml
	// apiVersion: v1
	// kind: Namespace
	// metadata:
	//   name: prod
	// ---
	// # Source: demo/templates/svc.yaml
	// apiVersion: v1
	// kind: Service
	// metadata:
	//   name: web
	// spec:
	//   port: 8080
}

// Rendering one loaded chart from several goroutines must be safe: the
// pipeline works on a copy of the tree.
func TestTemplateConcurrent(t *testing.T) {
	sub := newChart("sub", map[string]interface{}{"v": 1}, map[string]string{"templates/a.yaml": "kind: A\nv: {{ .Values.v }}\n"})
	p := newChart("p", map[string]interface{}{"sub": map[string]interface{}{"v": 2}}, map[string]string{"templates/b.yaml": "kind: B\n"}, sub)
	p.Metadata.Dependencies = []*chart.Dependency{{Name: "sub", Version: "*", Alias: "s2"}}
	errs := make(chan error, 8)
	for i := 0; i < cap(errs); i++ {
		go func(i int) {
			res, err := render.Template(context.Background(), p, values.Values{"s2": map[string]interface{}{"v": i}}, render.Options{ReleaseName: "r"})
			if err == nil && res.Manifests[0].Content != fmt.Sprintf("kind: A\nv: %d", i) {
				err = fmt.Errorf("run %d: got %q", i, res.Manifests[0].Content)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
