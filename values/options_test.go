package values

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeValuesOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f1 := write("1.yaml", "a: file1\nt:\n  x: 1\n  z: 1\nonly1: true\n")
	f2 := write("2.yaml", "a: file2\nt:\n  z: 2\n")
	txt := write("f.txt", "from-file")

	opt := Options{
		ValueFiles:    []string{f1, f2},
		JSONValues:    []string{`j={"k":1},a="json"`},
		Values:        []string{"a=set,s=1,st=1,fi=1,li=1"},
		StringValues:  []string{"st=1"},
		FileValues:    []string{"fi=" + txt},
		LiteralValues: []string{"li=a,b"},
	}
	got, err := opt.MergeValues(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Values{
		"a": "set", "only1": true, "t": m{"x": float64(1), "z": float64(2)},
		"j": m{"k": float64(1)}, "s": int64(1), "st": "1", "fi": "from-file", "li": "a,b",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMergeValuesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("a: ["), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{name: "missing file", opt: Options{ValueFiles: []string{filepath.Join(dir, "nope.yaml")}}, want: "open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{name: "bad yaml", opt: Options{ValueFiles: []string{bad}}, want: "failed to parse " + bad + ": error converting YAML to JSON: yaml: line 1: did not find expected node content"},
		{name: "set", opt: Options{Values: []string{"a"}}, want: `failed parsing --set data: key "a" has no value`},
		{name: "set-string", opt: Options{StringValues: []string{"a"}}, want: `failed parsing --set-string data: key "a" has no value`},
		{name: "set-json", opt: Options{JSONValues: []string{"a={"}}, want: "failed parsing --set-json data a={"},
		{name: "set-file", opt: Options{FileValues: []string{"a=" + filepath.Join(dir, "x")}}, want: "failed parsing --set-file data: open " + filepath.Join(dir, "x") + ": no such file or directory"},
		{name: "set-literal", opt: Options{LiteralValues: []string{"a"}}, want: `failed parsing --set-literal data: key "a" has no value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.opt.MergeValues(context.Background(), nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestMergeValuesStdin(t *testing.T) {
	opt := Options{ValueFiles: []string{"-"}}
	got, err := opt.MergeValues(context.Background(), OSReader{Stdin: strings.NewReader("a: 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Values{"a": float64(1)}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMergeValuesCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Options{ValueFiles: []string{"x"}}).MergeValues(ctx, nil); err == nil {
		t.Fatal("no error with a canceled context")
	}
}
