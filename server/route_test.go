package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTenancyParse(t *testing.T) {
	tests := []struct {
		name    string
		tenancy Tenancy
		path    string
		want    Route
		wantErr bool
	}{
		{"root index", Tenancy{}, "/index.yaml", Route{Kind: KindIndex}, false},
		{"root json index", Tenancy{}, "/index.json", Route{Kind: KindIndexJSON}, false},
		{"root chart", Tenancy{}, "/charts/a-1.0.0.tgz", Route{Kind: KindChartFile, File: "a-1.0.0.tgz"}, false},
		{"root api list", Tenancy{}, "/api/charts", Route{Kind: KindAPICharts}, false},
		{"root api chart", Tenancy{}, "/api/charts/a", Route{Kind: KindAPIChart, Name: "a"}, false},
		{"root api version", Tenancy{}, "/api/charts/a/1.0.0", Route{Kind: KindAPIVersion, Name: "a", Version: "1.0.0"}, false},
		{"root templates", Tenancy{}, "/api/charts/a/1.0.0/templates", Route{Kind: KindAPITemplates, Name: "a", Version: "1.0.0"}, false},
		{"root values", Tenancy{}, "/api/charts/a/1.0.0/values", Route{Kind: KindAPIValues, Name: "a", Version: "1.0.0"}, false},
		{"root prov", Tenancy{}, "/api/prov", Route{Kind: KindAPIProv}, false},
		{"depth 2 index", Tenancy{Depth: 2}, "/org/team/index.yaml", Route{Kind: KindIndex, Tenant: "org/team", Repo: "org/team"}, false},
		{"depth 2 api", Tenancy{Depth: 2}, "/api/org/team/charts/a/1.0.0", Route{Kind: KindAPIVersion, Tenant: "org/team", Repo: "org/team", Name: "a", Version: "1.0.0"}, false},
		{"depth 2 too shallow", Tenancy{Depth: 2}, "/org/index.yaml", Route{}, true},
		{"depth 1 path below the tenant", Tenancy{Depth: 1}, "/a/b/index.yaml", Route{Kind: KindIndex, Tenant: "a", Repo: "a/b"}, false},
		{"depth 0 path", Tenancy{}, "/org/index.yaml", Route{Kind: KindIndex, Repo: "org"}, false},
		{"depth 0 path chart", Tenancy{}, "/org/charts/a-1.0.0.tgz", Route{Kind: KindChartFile, Repo: "org", File: "a-1.0.0.tgz"}, false},
		{"depth 0 path api", Tenancy{}, "/api/org/sub/charts/a/1.0.0", Route{Kind: KindAPIVersion, Repo: "org/sub", Name: "a", Version: "1.0.0"}, false},
		{"depth 0 tenant routes win", Tenancy{}, "/api/charts/charts/x", Route{Kind: KindAPIVersion, Name: "charts", Version: "x"}, false},
		{"depth 1 path keys", Tenancy{Depth: 1}, "/api/t/sub/keys", Route{}, true},
		{"dynamic root", Tenancy{Dynamic: true}, "/index.yaml", Route{Kind: KindIndex}, false},
		{"dynamic deep", Tenancy{Dynamic: true}, "/a/b/c/index.yaml", Route{Kind: KindIndex, Tenant: "a/b/c", Repo: "a/b/c"}, false},
		{"dynamic api", Tenancy{Dynamic: true}, "/api/a/b/charts", Route{Kind: KindAPICharts, Tenant: "a/b", Repo: "a/b"}, false},
		{"dynamic shortest tenant wins", Tenancy{Dynamic: true}, "/api/a/charts/x/1.0.0", Route{Kind: KindAPIVersion, Tenant: "a", Repo: "a", Name: "x", Version: "1.0.0"}, false},
		{"keys", Tenancy{Depth: 1}, "/api/t/keys", Route{Kind: KindAPIKeys, Tenant: "t", Repo: "t"}, false},
		{"key", Tenancy{Depth: 1}, "/api/t/keys/ABCD", Route{Kind: KindAPIKey, Tenant: "t", Repo: "t", File: "ABCD"}, false},
		{"dot dot", Tenancy{Dynamic: true}, "/../index.yaml", Route{}, true},
		{"dot", Tenancy{Depth: 1}, "/./index.yaml", Route{}, true},
		{"double slash", Tenancy{Dynamic: true}, "/a//index.yaml", Route{}, true},
		{"no leading slash", Tenancy{}, "index.yaml", Route{}, true},
		{"unknown", Tenancy{}, "/nothing", Route{}, true},
		{"unknown api", Tenancy{}, "/api/charts/a/1.0.0/other", Route{}, true},
		{"empty", Tenancy{}, "", Route{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tenancy.Parse(tt.path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, wantErr %v", tt.path, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func FuzzTenancyParse(f *testing.F) {
	for _, s := range []string{"/index.yaml", "/api/a/b/charts/x/1.0.0/values", "/a/charts/x-1.tgz.prov", "/api/prov", "//", "/../"} {
		f.Add(s, 1, false)
	}
	f.Fuzz(func(t *testing.T, path string, depth int, dynamic bool) {
		if depth < 0 || depth > 8 {
			return
		}
		r, err := Tenancy{Depth: depth, Dynamic: dynamic}.Parse(path)
		if err != nil {
			return
		}
		// Whatever parses must never carry path tricks into storage keys.
		for _, part := range []string{r.Repo, r.Name, r.Version, r.File} {
			for _, seg := range strings.Split(part, "/") {
				if seg == ".." || seg == "." {
					t.Fatalf("Parse(%q) let a dot segment through: %+v", path, r)
				}
			}
		}
		if r.Name != "" && strings.Contains(r.Name, "/") {
			t.Fatalf("chart name with slash: %+v", r)
		}
		if !dynamic {
			n := 0
			if r.Tenant != "" {
				n = len(strings.Split(r.Tenant, "/"))
			}
			if n != depth {
				t.Fatalf("Parse(%q) tenant %q has %d segments, want %d", path, r.Tenant, n, depth)
			}
		} else if r.Tenant != r.Repo {
			t.Fatalf("Parse(%q) with dynamic depth: tenant %q is not the repository path %q", path, r.Tenant, r.Repo)
		}
		// The repository path is the tenant's or one below it.
		if r.Repo != r.Tenant && r.Tenant != "" && !strings.HasPrefix(r.Repo, r.Tenant+"/") {
			t.Fatalf("Parse(%q): repository path %q is not below tenant %q", path, r.Repo, r.Tenant)
		}
	})
}

func TestSplitChartFile(t *testing.T) {
	c, prov, ok := splitChartFile("my-chart-1.2.3-rc.1.tgz.prov")
	if !ok || !prov {
		t.Fatalf("ok=%v prov=%v", ok, prov)
	}
	want := [][2]string{{"my-chart-1.2.3", "rc.1"}, {"my-chart", "1.2.3-rc.1"}, {"my", "chart-1.2.3-rc.1"}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	if _, _, ok := splitChartFile("a-1.0.0.zip"); ok {
		t.Error("zip accepted")
	}
}
