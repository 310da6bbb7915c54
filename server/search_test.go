package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// searchServer holds two tenants: a (alice's) with two postgres versions
// and a nginx, b (bob's) with redis; anonymous read is off.
func searchServer(t *testing.T) *testServer {
	t.Helper()
	ts := newTestServer(t, func(c *Config) {
		c.Depth = 1
		c.Users = []UserConfig{
			{Name: "alice", Password: "alice-pw", Grants: []Grant{{Tenant: "a", Actions: []string{"pull", "push"}}}},
			{Name: "bob", Password: "bob-pw", Grants: []Grant{{Tenant: "b", Actions: []string{"pull", "push"}}}},
		}
	})
	meta := func(name, version, extra string) map[string]string {
		return map[string]string{"Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: " + version + "\n" + extra,
			"README.md": "# " + name + "\n", "values.schema.json": `{"type":"object"}`}
	}
	for _, c := range []struct {
		user, tenant, name, version, extra string
	}{
		{"alice", "a", "postgres", "1.0.0", "description: A replicated database\nkeywords: [sql]\n"},
		{"alice", "a", "postgres", "1.2.0", "description: A replicated database\nkeywords: [sql]\nannotations:\n  category: Storage\n"},
		{"alice", "a", "postgres", "2.0.0-rc.1", "description: A replicated database\n"},
		{"alice", "a", "nginx", "1.0.0", "description: web server\nmaintainers:\n- name: ann\n"},
		{"bob", "b", "redis", "7.0.0", "description: A cache database\n"},
	} {
		r := ts.do(t, "POST", "/api/"+c.tenant+"/charts", bytesReader(charttest.Chart(c.name, c.version, meta(c.name, c.version, c.extra))),
			map[string]string{"Authorization": basicHeader(c.user, c.user+"-pw")})
		if r.status != http.StatusCreated {
			t.Fatalf("upload %s-%s: %d %s", c.name, c.version, r.status, r.body)
		}
	}
	return ts
}

func TestSearchAPI(t *testing.T) {
	ts := searchServer(t)
	alice, bob := basicHeader("alice", "alice-pw"), basicHeader("bob", "bob-pw")
	type hit struct {
		Repository, Name string
		Versions         []string
	}
	for _, tt := range []struct {
		name, auth, query string
		want              []hit
	}{
		{"name", alice, "q=postgres", []hit{{"a", "postgres", []string{"1.2.0", "1.0.0"}}}},
		{"description word, only own tenant", alice, "q=database", []hit{{"a", "postgres", []string{"1.2.0", "1.0.0"}}}},
		{"other tenant's user", bob, "q=database", []hit{{"b", "redis", []string{"7.0.0"}}}},
		{"keyword field", alice, "q=keyword:sql", []hit{{"a", "postgres", []string{"1.2.0", "1.0.0"}}}},
		{"description field is not a keyword", alice, "q=keyword:web", nil},
		{"annotation", alice, "q=annotation:category=storage", []hit{{"a", "postgres", []string{"1.2.0"}}}},
		{"constraint", alice, "q=postgres&version=" + url.QueryEscape("<1.1"), []hit{{"a", "postgres", []string{"1.0.0"}}}},
		{"devel", alice, "q=postgres&devel=true", []hit{{"a", "postgres", []string{"2.0.0-rc.1", "1.2.0", "1.0.0"}}}},
		{"every chart", alice, "", []hit{{"a", "nginx", []string{"1.0.0"}}, {"a", "postgres", []string{"1.2.0", "1.0.0"}}}},
		{"anonymous sees nothing", "", "q=database", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "GET", "/api/v1/search?"+tt.query, nil, map[string]string{"Authorization": tt.auth})
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var body struct{ Charts []hit }
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, body.Charts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	for _, tt := range []struct{ query, auth string }{
		{"q=postgres&version=" + url.QueryEscape("not a constraint"), alice},
		{"q=postgres&devel=maybe", alice},
		{"q=postgres&limit=0", alice},
		{"q=a+b+c+d+e+f+g+h+i", alice},
	} {
		if r := ts.do(t, "GET", "/api/v1/search?"+tt.query, nil, map[string]string{"Authorization": tt.auth}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tt.query, r.status, r.body)
		}
	}
	if r := ts.do(t, "GET", "/api/v1/search?q=x", nil, map[string]string{"Authorization": basicHeader("alice", "wrong")}); r.status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", r.status)
	}
}

func TestSearchDetails(t *testing.T) {
	ts := searchServer(t)
	alice := map[string]string{"Authorization": basicHeader("alice", "alice-pw")}
	r := ts.do(t, "GET", "/api/v1/charts/postgres/1.2.0?repo=a", nil, alice)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var d struct {
		Name, Version, Digest, Readme, Values, ValuesSchema, Repository, OCI string
		Size                                                                 int64
		Created                                                              string
		Annotations                                                          map[string]string
		Provenance                                                           struct{ Signed bool }
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "postgres" || d.Version != "1.2.0" || d.Readme != "# postgres\n" || d.Values != "replicas: 1\nimage: nginx\n" ||
		d.ValuesSchema != `{"type":"object"}` || d.Size == 0 || len(d.Digest) != 64 || d.Created == "" ||
		d.Annotations["category"] != "Storage" || d.Provenance.Signed || d.OCI == "" {
		t.Errorf("details: %s", r.body)
	}
	r = ts.do(t, "GET", "/api/v1/charts/nginx?repo=a", nil, alice)
	if r.status != http.StatusOK || !json.Valid(r.body) {
		t.Fatalf("chart: %d %s", r.status, r.body)
	}
	var c struct {
		Versions []struct{ Maintainers []struct{ Name string } }
	}
	_ = json.Unmarshal(r.body, &c)
	if len(c.Versions) != 1 || len(c.Versions[0].Maintainers) != 1 {
		t.Errorf("chart: %s", r.body)
	}
	for _, tt := range []struct {
		path   string
		auth   map[string]string
		status int
	}{
		{"/api/v1/charts/postgres/9.9.9?repo=a", alice, http.StatusNotFound},
		{"/api/v1/charts/ghost?repo=a", alice, http.StatusNotFound},
		{"/api/v1/charts/redis?repo=b", alice, http.StatusUnauthorized},
		{"/api/v1/charts/postgres?repo=a", nil, http.StatusUnauthorized},
		{"/api/v1/charts/Bad?repo=a", alice, http.StatusBadRequest},
		{"/api/v1/charts/postgres?repo=a/../b", alice, http.StatusBadRequest},
	} {
		if r := ts.do(t, "GET", tt.path, nil, tt.auth); r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.path, r.status, r.body, tt.status)
		}
	}
	r = ts.do(t, "GET", "/api/v1/repositories", nil, alice)
	var repos struct {
		Repositories []struct{ Repository, Tenant string }
	}
	if err := json.Unmarshal(r.body, &repos); err != nil || r.status != 200 || len(repos.Repositories) != 1 || repos.Repositories[0].Repository != "a" {
		t.Errorf("repositories: %d %s", r.status, r.body)
	}
}

func TestMonocularSearch(t *testing.T) {
	ts := searchServer(t)
	r := ts.do(t, "GET", "/api/chartsvc/v1/charts/search?q=postgres", nil, map[string]string{"Authorization": basicHeader("alice", "alice-pw")})
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var body struct {
		Data []struct {
			ID         string
			Attributes struct {
				Name string
				Repo struct{ Name, URL string }
			}
			Relationships struct {
				LatestChartVersion struct {
					Data struct {
						Version string
						URLs    []string `json:"urls"`
					}
				}
			}
		}
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data) != 1 {
		t.Fatalf("%s", r.body)
	}
	d := body.Data[0]
	if d.ID != "a/postgres" || d.Attributes.Name != "postgres" || d.Attributes.Repo.URL != ts.URL+"/a" ||
		d.Relationships.LatestChartVersion.Data.Version != "1.2.0" || len(d.Relationships.LatestChartVersion.Data.URLs) != 1 {
		t.Errorf("%s", r.body)
	}
}

func basicHeader(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// At --depth=0 the ChartMuseum API is /api/charts...; the search API
// beside it under /api/v1 and /api/chartsvc must leave it alone, and no
// repository path can take the search API's names.
func TestSearchRoutesBesideChartMuseum(t *testing.T) {
	ts := newTestServer(t, nil)
	if r := ts.upload(t, "/api/charts", charttest.Chart("web", "1.0.0", nil)); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/charts/web", http.StatusOK},
		{"GET", "/api/charts/web/1.0.0", http.StatusOK},
		{"GET", "/api/v1/charts/web", http.StatusOK},
		{"GET", "/api/v1/charts/web/latest", http.StatusOK},
		{"GET", "/api/chartsvc/v1/charts/search?q=web", http.StatusOK},
		{"GET", "/api/v1/charts", http.StatusOK},                // the search API's list of charts
		{"POST", "/api/v1/charts", http.StatusBadRequest},       // an upload there is refused, nothing stored
		{"POST", "/api/chartsvc/charts", http.StatusBadRequest}, // likewise
		{"GET", "/v1/index.yaml", http.StatusBadRequest},        // and its index
		{"GET", "/org/v1/index.yaml", http.StatusNotFound},      // a deeper v1 is an ordinary (empty) path
		{"GET", "/api/v1/charts/web?repo=chartsvc", http.StatusBadRequest},
	} {
		var body io.Reader
		if tt.method == "POST" {
			body = bytes.NewReader(charttest.Chart("web", "2.0.0", nil))
		}
		if r := ts.do(t, tt.method, tt.path, body, nil); r.status != tt.status {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, r.status, r.body, tt.status)
		}
	}
	r := ts.do(t, "GET", "/api/charts/web", nil, nil)
	var vs []json.RawMessage
	if err := json.Unmarshal(r.body, &vs); err != nil || len(vs) != 1 {
		t.Errorf("web after the refused uploads: %s", r.body)
	}
}
