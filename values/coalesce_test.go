package values

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
)

func newChart(name string, vals m, deps ...*chart.Chart) *chart.Chart {
	c := &chart.Chart{Metadata: &chart.Metadata{Name: name, Version: "0.1.0", APIVersion: "v2"}, Values: vals}
	c.SetDependencies(deps...)
	return c
}

func TestCoalesceTables(t *testing.T) {
	tests := []struct {
		name       string
		dst, src   m
		want       m
		wantMerged m
	}{
		{
			name: "dst wins, tables merge",
			dst:  m{"a": 1, "t": m{"x": 1}}, src: m{"a": 2, "b": 3, "t": m{"x": 2, "y": 2}},
			want:       m{"a": 1, "b": 3, "t": m{"x": 1, "y": 2}},
			wantMerged: m{"a": 1, "b": 3, "t": m{"x": 1, "y": 2}},
		},
		{
			name: "null in dst deletes",
			dst:  m{"a": nil, "t": m{"x": nil}}, src: m{"a": 1, "t": m{"x": 1, "y": 1}},
			want:       m{"t": m{"y": 1}},
			wantMerged: m{"a": nil, "t": m{"x": nil, "y": 1}},
		},
		{
			name: "scalar never replaces table",
			dst:  m{"t": m{"x": 1}}, src: m{"t": "str"},
			want:       m{"t": m{"x": 1}},
			wantMerged: m{"t": m{"x": 1}},
		},
		{
			name: "table never replaces scalar",
			dst:  m{"t": "str"}, src: m{"t": m{"x": 1}},
			want:       m{"t": "str"},
			wantMerged: m{"t": "str"},
		},
		{
			name: "null in src kept",
			dst:  m{}, src: m{"a": nil},
			want:       m{"a": nil},
			wantMerged: m{"a": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CoalesceTables(Copy(tt.dst), Copy(tt.src))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CoalesceTables (-want +got):\n%s", diff)
			}
			got = MergeTables(Copy(tt.dst), Copy(tt.src))
			if diff := cmp.Diff(tt.wantMerged, got); diff != "" {
				t.Errorf("MergeTables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCoalesceValues(t *testing.T) {
	sub := newChart("sub", m{"port": 80, "global": m{"region": "us", "img": m{"reg": "sub.io", "pull": "Always"}}, "drop": "me"})
	parent := newChart("parent", m{"name": "p", "global": m{"region": "eu", "img": m{"reg": "p.io"}}, "sub": m{"port": 8080}}, sub)

	got, err := CoalesceValues(parent, m{"name": nil, "sub": m{"drop": nil}, "extra": true})
	if err != nil {
		t.Fatal(err)
	}
	want := Values{
		"extra":  true,
		"global": m{"region": "eu", "img": m{"reg": "p.io"}},
		"sub": m{
			"port":   8080,
			"global": m{"region": "eu", "img": m{"reg": "p.io", "pull": "Always"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The chart's defaults are untouched.
	if parent.Values["name"] != "p" || sub.Values["drop"] != "me" {
		t.Errorf("chart values modified: %v %v", parent.Values, sub.Values)
	}
}

func TestMergeChartValuesKeepsNulls(t *testing.T) {
	c := newChart("c", m{"a": 1, "b": 2})
	got, err := MergeChartValues(c, m{"a": nil})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Values{"a": nil, "b": 2}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCoalesceValuesTypeMismatch(t *testing.T) {
	c := newChart("p", nil, newChart("sub", nil))
	_, err := CoalesceValues(c, m{"sub": "scalar"})
	if err == nil || err.Error() != "type mismatch on sub: %!t(string=scalar)" {
		t.Fatalf("err = %v", err)
	}
}

func TestTableAndPathValue(t *testing.T) {
	v := Values{"a": m{"b": m{"c": 1}, "s": "x"}}
	if tb, err := v.Table("a.b"); err != nil || tb["c"] != 1 {
		t.Errorf("Table(a.b) = %v, %v", tb, err)
	}
	_, err := v.Table("a.s")
	if !errors.Is(err, ErrNoTable) || err.Error() != `"s" is not a table` {
		t.Errorf("Table(a.s) err = %v", err)
	}
	if x, err := v.PathValue("a.b.c"); err != nil || x != 1 {
		t.Errorf("PathValue = %v, %v", x, err)
	}
	_, err = v.PathValue("a.b")
	if !errors.Is(err, ErrNoValue) || err.Error() != `"b" is not a value` {
		t.Errorf("PathValue(a.b) err = %v", err)
	}
	if _, err := v.PathValue(""); err == nil {
		t.Error("PathValue(\"\") succeeded")
	}
}

func TestReadValues(t *testing.T) {
	tests := []struct {
		in      string
		want    Values
		wantErr bool
	}{
		{in: "", want: Values{}},
		{in: "# only a comment\n", want: Values{}},
		{in: "a: 1\nb: [x]\n", want: Values{"a": float64(1), "b": l{"x"}}},
		{in: "a: [", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ReadValues([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("ReadValues(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.wantErr {
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadValues(%q) (-want +got):\n%s", tt.in, diff)
			}
		}
	}
}

func FuzzReadValues(f *testing.F) {
	f.Add("a: 1\n")
	f.Add("a: [1, {b: c}]\n")
	f.Add("- x\n")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ReadValues([]byte(s))
		if err == nil && v == nil {
			t.Fatalf("ReadValues(%q) returned nil values", s)
		}
	})
}

func TestReadValuesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(p, []byte("b: 2\na: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := ReadValuesFile(p)
	if err != nil {
		t.Fatal(err)
	}
	y, err := v.YAML()
	if err != nil || y != "a: x\nb: 2\n" {
		t.Errorf("YAML() = %q, %v", y, err)
	}
	if _, err := ReadValuesFile(p + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file err = %v", err)
	}
	var empty Values
	if m := empty.AsMap(); m == nil || len(m) != 0 {
		t.Errorf("AsMap of nil = %#v", m)
	}
}
