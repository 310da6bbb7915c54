package repo_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/repo"
)

func searchFixture(t *testing.T) *repo.SearchIndex {
	t.Helper()
	y, err := os.ReadFile("testdata/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.LoadCompact(y)
	if err != nil {
		t.Fatal(err)
	}
	var s repo.SearchIndex
	s.AddRepo("r", idx, true)
	return &s
}

func names(res []*repo.Result) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Name+"@"+r.Chart.Version)
	}
	return out
}

func TestSearch(t *testing.T) {
	tests := []struct {
		name       string
		term       string
		regexp     bool
		constraint string
		all        bool
		want       []string
	}{
		{name: "all stable newest", constraint: ">0.0.0", want: []string{"r/alpine@0.2.0", "r/nginx@1.0.0"}},
		{name: "all versions devel", constraint: ">0.0.0-0", all: true, want: []string{"r/alpine@0.10.0-rc.1", "r/alpine@0.2.0", "r/alpine@0.1.0", "r/nginx@1.0.0"}},
		// A name match (score 0) ranks above a description match (score 2).
		{name: "score order", term: "alpine", constraint: ">0.0.0", want: []string{"r/alpine@0.2.0", "r/nginx@1.0.0"}},
		{name: "case-insensitive", term: "NGINX", constraint: ">0.0.0", want: []string{"r/nginx@1.0.0"}},
		{name: "keyword", term: "linux", constraint: ">0.0.0", want: []string{"r/alpine@0.2.0"}},
		{name: "regexp", term: "^ngi", regexp: true, constraint: ">0.0.0", want: []string{"r/nginx@1.0.0"}},
		{name: "constraint", term: "alpine", constraint: "~0.1", want: []string{"r/alpine@0.1.0"}},
		{name: "no match", term: "zzz", constraint: ">0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := searchFixture(t)
			var res []*repo.Result
			if tt.term == "" {
				res = s.All()
			} else {
				var err error
				if res, err = s.Search(tt.term, repo.MaxSearchScore, tt.regexp); err != nil {
					t.Fatal(err)
				}
			}
			repo.SortResults(res)
			res, err := repo.FilterVersions(res, tt.constraint, tt.all)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(res)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := searchFixture(t).Search("(", repo.MaxSearchScore, true); err == nil {
		t.Error("invalid regexp accepted")
	}
	if _, err := repo.FilterVersions(nil, "not a constraint!", false); err == nil {
		t.Error("invalid constraint accepted")
	}
}
