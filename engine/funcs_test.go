package engine

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/peers"
)

func TestFuncMap(t *testing.T) {
	f := FuncMap()
	for _, name := range []string{"env", "expandenv"} {
		if _, ok := f[name]; ok {
			t.Errorf("%s must not be available to templates", name)
		}
	}
	tests := []struct {
		tpl  string
		data interface{}
		want string
	}{
		{tpl: `{{ toYaml . }}`, data: map[string]interface{}{"b": 1, "a": []int{1}}, want: "a:\n- 1\nb: 1"},
		{tpl: `{{ toYaml . }}`, data: nil, want: "null"},
		{tpl: `{{ toYamlPretty . }}`, data: map[string]interface{}{"a": []int{1}}, want: "a:\n  - 1"},
		{tpl: `{{ toJson . }}`, data: map[string]interface{}{"a": "<b>"}, want: `{"a":"\u003cb\u003e"}`},
		{tpl: `{{ toToml . }}`, data: map[string]interface{}{"a": 1}, want: "a = 1\n"},
		{tpl: `{{ (fromYaml "a: [") | toJson }}`, want: `{"Error":"error converting YAML to JSON: yaml: line 1: did not find expected node content"}`},
		{tpl: `{{ (fromYamlArray "a: 1") | toJson }}`, want: `["error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}"]`},
		{tpl: `{{ (fromJson "[1]") | toJson }}`, want: `{"Error":"json: cannot unmarshal array into Go value of type map[string]interface {}"}`},
		{tpl: `{{ (fromJsonArray "[1,\"a\"]") | toJson }}`, want: `[1,"a"]`},
		{tpl: `{{ (fromToml "a = 1") | toJson }}`, want: `{"a":1}`},
	}
	for _, tt := range tests {
		tp := template.Must(template.New("t").Funcs(f).Parse(tt.tpl))
		var buf bytes.Buffer
		if err := tp.Execute(&buf, tt.data); err != nil {
			t.Errorf("%s: %v", tt.tpl, err)
			continue
		}
		if buf.String() != tt.want {
			t.Errorf("%s = %q, want %q", tt.tpl, buf.String(), tt.want)
		}
	}
}

func TestFiles(t *testing.T) {
	f := NewFiles([]*chart.File{
		{Name: "a/one.txt", Data: []byte("1\n2\n")},
		{Name: "a/b/two.txt", Data: []byte("two")},
		{Name: "top.txt", Data: []byte("top")},
	})
	if got := f.Get("missing"); got != "" {
		t.Errorf("Get(missing) = %q", got)
	}
	if got := f.GetBytes("top.txt"); string(got) != "top" {
		t.Errorf("GetBytes = %q", got)
	}
	if diff := cmp.Diff([]string{"1", "2"}, f.Lines("a/one.txt")); diff != "" {
		t.Errorf("Lines: %s", diff)
	}
	if got := f.Lines("missing"); len(got) != 0 {
		t.Errorf("Lines(missing) = %v", got)
	}
	keys := func(fs Files) []string {
		var k []string
		for n := range fs {
			k = append(k, n)
		}
		return k
	}
	sortStrings := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff([]string{"a/one.txt"}, keys(f.Glob("a/*")), sortStrings); diff != "" {
		t.Errorf("Glob(a/*): %s", diff)
	}
	if diff := cmp.Diff([]string{"a/b/two.txt", "a/one.txt"}, keys(f.Glob("a/**")), sortStrings); diff != "" {
		t.Errorf("Glob(a/**): %s", diff)
	}
	if got := f.Glob("a/b/*").AsConfig(); got != "two.txt: two" {
		t.Errorf("AsConfig = %q", got)
	}
	if got := f.Glob("top.txt").AsSecrets(); got != "top.txt: dG9w" {
		t.Errorf("AsSecrets = %q", got)
	}
	var nilFiles Files
	if nilFiles.AsConfig() != "" || nilFiles.AsSecrets() != "" {
		t.Error("nil Files must render empty")
	}
}

func TestParseKubeVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    KubeVersion
		wantErr string
	}{
		{in: "1.28", want: KubeVersion{Version: "v1.28", Major: "1", Minor: "28"}},
		{in: "v1.28.3", want: KubeVersion{Version: "v1.28.3", Major: "1", Minor: "28"}},
		{in: "1.28.3-rc.1+build", want: KubeVersion{Version: "v1.28.3", Major: "1", Minor: "28"}},
		{in: "1", wantErr: `illegal version string "1"`},
		{in: "01.2", wantErr: `illegal zero-prefixed version component "01" in "01.2"`},
		{in: "x", wantErr: `could not parse "x" as version`},
	}
	for _, tt := range tests {
		got, err := ParseKubeVersion(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseKubeVersion(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKubeVersion(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("ParseKubeVersion(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzParseKubeVersion(f *testing.F) {
	for _, s := range []string{"1.20", "v1.2.3", "1", "01.2", "1.2.3-alpha", " v1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kv, err := ParseKubeVersion(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(kv.Version, "v"+kv.Major+"."+kv.Minor) {
			t.Fatalf("ParseKubeVersion(%q) = %+v: inconsistent", s, kv)
		}
	})
}

// TestDefaultAPIVersionsMatchHelm compares the built-in capabilities with
// what real helm template reports.
func TestDefaultAPIVersionsMatchHelm(t *testing.T) {
	bin := peers.Path(t, "helm")
	dir := t.TempDir()
	c := tplChart("caps", nil, map[string]string{
		"templates/c.yaml": `a: {{ printf "%s|%s" (toJson .Capabilities.APIVersions) (toJson .Capabilities.KubeVersion) | quote }}`,
	})
	if err := writeChart(dir, c); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "template", dir+"/caps")
	cmd.Env = peers.Env(t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("helm: %v\n%s", err, stderr)
	}
	want := strings.TrimSpace(strings.SplitN(string(out), "\n", 3)[2])

	got, err := Engine{}.Render(context.Background(), c, topValues(t, c, nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got["caps/templates/c.yaml"]); diff != "" {
		t.Errorf("(-helm +ours):\n%s", diff)
	}
}

// writeChart writes an in-memory chart as a directory under dir.
func writeChart(dir string, c *chart.Chart) error {
	root := filepath.Join(dir, c.Name())
	md, err := yaml.Marshal(c.Metadata)
	if err != nil {
		return err
	}
	files := append([]*chart.File{{Name: "Chart.yaml", Data: md}}, c.Templates...)
	for _, f := range append(files, c.Files...) {
		p := filepath.Join(root, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
