package chart

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCRDObjects(t *testing.T) {
	parent := &Chart{Metadata: &Metadata{Name: "parent"}, Files: []*File{
		{Name: "crds/a.yaml"}, {Name: "crds/b.JSON"}, {Name: "crds/README.md"}, {Name: "other/c.yaml"},
	}}
	child := &Chart{Metadata: &Metadata{Name: "child"}, Files: []*File{{Name: "crds/d.yml"}}}
	parent.AddDependency(child)
	var got []string
	for _, crd := range parent.CRDObjects() {
		got = append(got, crd.Name+" "+crd.Filename)
	}
	want := []string{
		"crds/a.yaml parent/crds/a.yaml",
		"crds/b.JSON parent/crds/b.JSON",
		"crds/d.yml parent/charts/child/crds/d.yml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if child.Root() != parent || child.ChartPath() != "parent.child" || !parent.IsRoot() || child.IsRoot() {
		t.Error("dependency tree accessors")
	}
}
