package index

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
)

// compareWithNewEntry checks NewEntries(cvs) against NewEntry on each.
func compareWithNewEntry(t *testing.T, cvs []*ChartVersion) {
	t.Helper()
	got, errs := NewEntries(cvs)
	if len(got) != len(cvs) || len(errs) != len(cvs) {
		t.Fatalf("NewEntries gave %d entries and %d errors for %d versions", len(got), len(errs), len(cvs))
	}
	for i, cv := range cvs {
		want, wantErr := NewEntry(cv)
		if fmt.Sprint(errs[i]) != fmt.Sprint(wantErr) {
			t.Errorf("version %d: error %v, NewEntry's %v", i, errs[i], wantErr)
		}
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("version %d differs from NewEntry (-want +got):\n%s", i, diff)
		}
		if cap(got[i].YAML) != len(got[i].YAML) {
			t.Errorf("version %d: YAML has spare capacity %d", i, cap(got[i].YAML)-len(got[i].YAML))
		}
	}
}

func TestNewEntriesMatchesNewEntry(t *testing.T) {
	var all []*ChartVersion
	for _, cvs := range fixture(7).Entries {
		all = append(all, cvs...)
	}
	tooLong := &ChartVersion{Metadata: &chart.Metadata{Name: "bad", Version: "1.0.0",
		Annotations: map[string]string{strings.Repeat("k", maxRenderedKey+1): "v"}}}
	tests := []struct {
		name string
		cvs  []*ChartVersion
	}{
		{"none", nil},
		{"one", all[:1]},
		{"fixture", all},
		{"unrenderable ones among them", append(append([]*ChartVersion{nil}, all[:5]...), tooLong, all[5])},
		{"no metadata", []*ChartVersion{{URLs: []string{"a"}}, all[0], {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { compareWithNewEntry(t, tt.cvs) })
	}
	// Otherwise the comparison above would only compare NewEntry with itself.
	if batchYAML(all) == nil {
		t.Error("the fixture's versions do not take the one-document path")
	}
}

// FuzzNewEntries: a batch of versions with arbitrary free text renders
// as each version alone does.
func FuzzNewEntries(f *testing.F) {
	for i := 0; i+2 < len(awkward); i += 3 {
		f.Add(awkward[i], awkward[i+1], awkward[i+2])
	}
	f.Add("  - a", "x\n  - y", "- z\n  - w")
	f.Fuzz(func(t *testing.T, desc, app, kw string) {
		var cvs []*ChartVersion
		for i, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
			cvs = append(cvs, &ChartVersion{
				Metadata: &chart.Metadata{Name: "c", Version: v, Description: desc, AppVersion: app,
					Keywords: []string{kw, desc}, Annotations: map[string]string{kw: desc, "i": fmt.Sprint(i)}},
				URLs: []string{app},
			})
		}
		compareWithNewEntry(t, cvs)
	})
}
