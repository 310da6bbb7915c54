package chart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(fs []*File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestLoadDir(t *testing.T) {
	home := t.TempDir()
	c, err := LoadDir(context.Background(), frobnitzDir(t, home))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{
		"templates": names(c.Templates),
		"files":     names(c.Files),
	}
	want := map[string][]string{
		// templates/.hidden.yaml: Helm's built-in ignore rule.
		"templates": {"templates/_helpers.tpl", "templates/configmap.yaml"},
		// *.bak, docs/ and /secret.txt: .helmignore.
		"files": {
			".helmignore", "crds/frob.yaml", "files/a file ü.txt", "files/config.txt",
			"files/very/deeply/nested/directory/structure/that/makes/the/archive/path/longer/than/one/hundred/bytes.txt",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c.Metadata.AppVersion != "1.10" || c.Metadata.Annotations["example.com/note"] != "on" {
		t.Errorf("metadata = %+v", c.Metadata)
	}
	if c.Lock == nil || c.Lock.Generated != "2024-03-01T10:20:30.123456789Z" || len(c.Lock.Dependencies) != 2 {
		t.Errorf("lock = %+v", c.Lock)
	}
	if c.Values["replicas"] != float64(2) {
		t.Errorf("values (BOM must be dropped) = %v", c.Values)
	}
	if !strings.HasPrefix(string(c.Schema), `{"$schema"`) {
		t.Errorf("schema = %q", c.Schema)
	}
	var deps []string
	for _, d := range c.Dependencies() {
		deps = append(deps, d.ChartPath())
		if d.Parent() != c || d.Root() != c {
			t.Errorf("%s: parent not set", d.Name())
		}
	}
	if diff := cmp.Diff([]string{"frobnitz.alpine", "frobnitz.sub2"}, deps); diff != "" {
		t.Errorf("subcharts:\n%s", diff)
	}
}

func TestLoadV1Chart(t *testing.T) {
	c, err := Load(context.Background(), filepath.Join("testdata", "oldchart"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metadata.APIVersion != APIVersionV1 {
		t.Errorf("apiVersion = %q, want v1 defaulted", c.Metadata.APIVersion)
	}
	if len(c.Metadata.Dependencies) != 1 || c.Metadata.Dependencies[0].Name != "mast1" {
		t.Errorf("dependencies from requirements.yaml = %+v", c.Metadata.Dependencies)
	}
	if c.Lock == nil || c.Lock.Generated != "2019-01-02T03:04:05Z" {
		t.Errorf("lock from requirements.lock = %+v", c.Lock)
	}
	if diff := cmp.Diff([]string{"requirements.lock", "requirements.yaml"}, names(c.Files)); diff != "" {
		t.Errorf("v1 keeps requirements files:\n%s", diff)
	}
}

func TestLoadDirSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside.yaml")
	write(t, outside, "kind: Linked\n")
	root := filepath.Join(dir, "demo")
	write(t, filepath.Join(root, "Chart.yaml"), minimalChartYaml)
	if err := os.MkdirAll(filepath.Join(root, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Helm follows symlinks in chart directories; so do we.
	if err := os.Symlink(outside, filepath.Join(root, "templates", "linked.yaml")); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDir(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Templates) != 1 || string(c.Templates[0].Data) != "kind: Linked\n" {
		t.Errorf("templates = %v", names(c.Templates))
	}

	// A link to an ancestor must end in an error, not run forever.
	if err := os.Symlink(root, filepath.Join(root, "templates", "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(context.Background(), root); !errors.Is(err, ErrTooLarge) {
		t.Errorf("symlink loop: error = %v, want ErrTooLarge", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	fifoChart := filepath.Join(dir, "fifo")
	write(t, filepath.Join(fifoChart, "Chart.yaml"), minimalChartYaml)
	if err := syscall.Mkfifo(filepath.Join(fifoChart, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	write(t, filepath.Join(big, "Chart.yaml"), minimalChartYaml)
	write(t, filepath.Join(big, "blob"), strings.Repeat("x", int(DefaultMaxFileSize)+1))
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	badIgnore := filepath.Join(dir, "badignore")
	write(t, filepath.Join(badIgnore, "Chart.yaml"), minimalChartYaml)
	write(t, filepath.Join(badIgnore, ".helmignore"), "**/x\n")
	values := filepath.Join(dir, "values.yaml")
	write(t, values, "a: 1\n")
	notChart := filepath.Join(dir, "x.tgz")
	write(t, notChart, "plain text")

	tests := []struct {
		path string
		want error
		msg  string
	}{
		{fifoChart, ErrIrregularFile, "cannot load irregular file"},
		{big, ErrTooLarge, `chart file "blob" is larger than the maximum file size`},
		{empty, ErrNoChartYaml, "Chart.yaml file is missing"},
		{badIgnore, ErrInvalidChart, "cannot load .helmignore"},
		{values, ErrBadArchive, "seems to be a YAML file, but expected a gzipped archive"},
		{notChart, ErrBadArchive, "does not appear to be a gzipped archive"},
		{filepath.Join(dir, "missing"), os.ErrNotExist, "no such file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			_, err := Load(context.Background(), tt.path)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Load() error = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestLoadArchiveFile(t *testing.T) {
	home := t.TempDir()
	helm(t, home, "create", "made-by-helm")
	helm(t, home, "package", "made-by-helm")
	c, err := Load(context.Background(), filepath.Join(home, "made-by-helm-0.1.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := LoadDir(context.Background(), filepath.Join(home, "made-by-helm"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dir.Metadata, c.Metadata); diff != "" {
		t.Errorf("metadata differs between dir and Helm's package:\n%s", diff)
	}
	if diff := cmp.Diff(names(dir.Templates), names(c.Templates)); diff != "" {
		t.Errorf("templates differ:\n%s", diff)
	}
	if diff := cmp.Diff(dir.Values, c.Values); diff != "" {
		t.Errorf("values differ:\n%s", diff)
	}
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
