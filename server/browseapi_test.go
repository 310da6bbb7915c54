package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// browseServer: tenant a holds app in 12 versions (one a pre-release, the
// newest by semver pushed first) and web, b holds other;
// alice reads a, root administers "*".
func browseServer(t *testing.T) *testServer {
	t.Helper()
	ts := newTestServer(t, func(c *Config) {
		c.Depth = 1
		// A whole core for password checks: on a loaded machine a queued
		// check would wait past its slot and answer 429.
		c.PasswordCheckShare = 1
		c.Users = []UserConfig{
			{Name: "alice", Password: "alice-pw", Grants: []Grant{{Tenant: "a", Actions: []string{"pull", "push"}}}},
			{Name: "root", Password: "root-pw", Grants: []Grant{{Tenant: "*", Actions: []string{"admin"}}}},
		}
	})
	alice := map[string]string{"Authorization": basicHeader("alice", "alice-pw")}
	versions := []string{"3.0.0-rc.1", "2.0.0"}
	for i := 0; i < 10; i++ {
		versions = append(versions, fmt.Sprintf("1.%d.0", i))
	}
	for _, v := range versions {
		if r := ts.do(t, "POST", "/api/a/charts", bytesReader(charttest.Chart("app", v, nil)), alice); r.status != http.StatusCreated {
			t.Fatalf("upload app-%s: %d %s", v, r.status, r.body)
		}
	}
	if r := ts.do(t, "POST", "/api/a/charts", bytesReader(charttest.Chart("web", "1.0.0", nil)), alice); r.status != http.StatusCreated {
		t.Fatalf("upload web: %d %s", r.status, r.body)
	}
	root := map[string]string{"Authorization": basicHeader("root", "root-pw")}
	if r := ts.do(t, "POST", "/api/b/charts", bytesReader(charttest.Chart("other", "1.0.0", nil)), root); r.status != http.StatusCreated {
		t.Fatalf("upload other: %d %s", r.status, r.body)
	}
	return ts
}

func TestBrowseCharts(t *testing.T) {
	ts := browseServer(t)
	alice := map[string]string{"Authorization": basicHeader("alice", "alice-pw")}
	type summary struct {
		Repository, Name string
		VersionCount     int
		Latest           struct{ Version string }
	}
	type pageBody struct {
		Charts []summary
		Next   *int
	}
	get := func(query string, hdr map[string]string) pageBody {
		t.Helper()
		r := ts.do(t, "GET", "/api/v1/charts?"+query, nil, hdr)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		var p pageBody
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	app := summary{Repository: "a", Name: "app", VersionCount: 12}
	app.Latest.Version = "2.0.0" // the newest stable, not the newest pushed nor the pre-release
	web := summary{Repository: "a", Name: "web", VersionCount: 1}
	web.Latest.Version = "1.0.0"
	one := 1
	for _, tt := range []struct {
		query string
		hdr   map[string]string
		want  pageBody
	}{
		{"", alice, pageBody{Charts: []summary{app, web}}},
		{"limit=1", alice, pageBody{Charts: []summary{app}, Next: &one}},
		{"limit=1&offset=1", alice, pageBody{Charts: []summary{web}}},
		{"q=we", alice, pageBody{Charts: []summary{web}}},
		{"repo=a&q=name:app", alice, pageBody{Charts: []summary{app}}},
		{"", nil, pageBody{Charts: []summary{}}},
	} {
		if diff := cmp.Diff(tt.want, get(tt.query, tt.hdr)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.query, diff)
		}
	}
	// The newest version shown follows a push and a delete at once (the
	// cache of sorted version names is kept under the path's generation),
	// on the page of charts, the page of versions and latest alike.
	latest := func() string {
		t.Helper()
		fromPage := get("q=name:app", alice).Charts[0].Latest.Version
		var v, first struct {
			Version  string
			Versions []struct{ Version string }
			Total    int
		}
		r := ts.do(t, "GET", "/api/v1/charts/app/latest?repo=a", nil, alice)
		if err := json.Unmarshal(r.body, &v); err != nil || v.Version != fromPage {
			t.Errorf("latest: %s, the page of charts: %s", r.body, fromPage)
		}
		r = ts.do(t, "GET", "/api/v1/charts/app?repo=a&limit=2", nil, alice)
		if err := json.Unmarshal(r.body, &first); err != nil || len(first.Versions) != 2 || first.Versions[1].Version != fromPage {
			t.Errorf("first page of versions: %s", r.body)
		}
		return fromPage
	}
	if got := latest(); got != "2.0.0" {
		t.Errorf("the newest is %s", got)
	}
	if r := ts.do(t, "POST", "/api/a/charts", bytesReader(charttest.Chart("app", "2.1.0", nil)), alice); r.status != http.StatusCreated {
		t.Fatalf("upload app-2.1.0: %d %s", r.status, r.body)
	}
	if got := latest(); got != "2.1.0" {
		t.Errorf("after pushing 2.1.0 the newest is %s", got)
	}
	if r := ts.do(t, "DELETE", "/api/a/charts/app/2.1.0", nil, alice); r.status != http.StatusOK {
		t.Fatalf("delete app-2.1.0: %d %s", r.status, r.body)
	}
	if got := latest(); got != "2.0.0" {
		t.Errorf("after deleting 2.1.0 the newest is %s", got)
	}
	for _, tt := range []struct {
		query string
		hdr   map[string]string
		want  int
	}{
		{"limit=0", alice, http.StatusBadRequest},
		{"limit=101", alice, http.StatusBadRequest},
		{"offset=-1", alice, http.StatusBadRequest},
		{"repo=a", nil, http.StatusUnauthorized},
		{"repo=nowhere", alice, http.StatusUnauthorized},
		{"repo=a/../b", alice, http.StatusBadRequest},
		{"repo=a/sub", alice, http.StatusNotFound},
	} {
		if r := ts.do(t, "GET", "/api/v1/charts?"+tt.query, nil, tt.hdr); r.status != tt.want {
			t.Errorf("%q: %d %s, want %d", tt.query, r.status, r.body, tt.want)
		}
	}
}

func TestChartVersionPages(t *testing.T) {
	ts := browseServer(t)
	alice := map[string]string{"Authorization": basicHeader("alice", "alice-pw")}
	var all []string
	for offset := 0; ; {
		r := ts.do(t, "GET", fmt.Sprintf("/api/v1/charts/app?repo=a&limit=5&offset=%d", offset), nil, alice)
		var p struct {
			Versions []struct{ Version string }
			Total    int
			Next     *int
		}
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != http.StatusOK || p.Total != 12 || len(p.Versions) > 5 {
			t.Fatalf("offset %d: %d %s", offset, r.status, r.body)
		}
		for _, v := range p.Versions {
			all = append(all, v.Version)
		}
		if p.Next == nil {
			break
		}
		offset = *p.Next
	}
	want := []string{"3.0.0-rc.1", "2.0.0", "1.9.0", "1.8.0", "1.7.0", "1.6.0", "1.5.0", "1.4.0", "1.3.0", "1.2.0", "1.1.0", "1.0.0"}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("versions over the pages (-want +got):\n%s", diff)
	}
}

func TestRepositoryInfo(t *testing.T) {
	ts := browseServer(t)
	type info struct {
		Repository, Tenant, URL, OCI string
		Charts, Versions             int
		LogicalSize                  int64
		RecentPushes                 []struct{ Name, Version string }
		Storage                      *struct {
			LogicalBytes, StoredBytes int64
			DedupRatio                float64
		}
	}
	get := func(user string) info {
		t.Helper()
		r := ts.do(t, "GET", "/api/v1/repository?repo=a", nil, map[string]string{"Authorization": basicHeader(user, user+"-pw")})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", user, r.status, r.body)
		}
		var i info
		if err := json.Unmarshal(r.body, &i); err != nil {
			t.Fatal(err)
		}
		return i
	}
	a := get("alice")
	if a.Repository != "a" || a.Tenant != "a" || a.Charts != 2 || a.Versions != 13 || a.LogicalSize <= 0 || a.URL != ts.URL+"/a" {
		t.Errorf("alice: %+v", a)
	}
	if len(a.RecentPushes) != recentPushes || a.RecentPushes[0].Name != "web" {
		t.Errorf("recent pushes: %+v", a.RecentPushes)
	}
	if a.Storage != nil {
		t.Errorf("a tenant's user is shown the global figures: %+v", a.Storage)
	}
	root := get("root")
	if root.Storage == nil || root.Storage.StoredBytes <= 0 || root.Storage.LogicalBytes < root.Storage.StoredBytes || root.Storage.DedupRatio < 1 {
		t.Errorf("root's global figures: %+v", root.Storage)
	}
	if root.LogicalSize != a.LogicalSize {
		t.Errorf("logical size: root sees %d, alice %d", root.LogicalSize, a.LogicalSize)
	}
}

func TestSession(t *testing.T) {
	ts := browseServer(t)
	type session struct {
		Auth, TokenEndpoint, User string
		AnonymousRead             bool
		Authenticated, Admin      bool
		ReadScopes                []string
	}
	for _, tt := range []struct {
		name, auth string
		status     int
		want       session
	}{
		{"anonymous", "", 200, session{Auth: "users", TokenEndpoint: "/v2/token"}},
		{"alice", basicHeader("alice", "alice-pw"), 200, session{Auth: "users", TokenEndpoint: "/v2/token", User: "alice", Authenticated: true,
			ReadScopes: []string{"artifact-repository:a:pull"}}},
		{"root", basicHeader("root", "root-pw"), 200, session{Auth: "users", TokenEndpoint: "/v2/token", User: "root", Authenticated: true, Admin: true,
			ReadScopes: []string{"artifact-repository:a:pull", "artifact-repository:b:pull"}}},
		{"wrong password", basicHeader("alice", "nope"), 401, session{}},
	} {
		r := ts.do(t, "GET", "/api/v1/session", nil, map[string]string{"Authorization": tt.auth})
		if r.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
			continue
		}
		if tt.status != 200 {
			continue
		}
		var got session
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// A token from the token endpoint speaks for its user too.
	code, tok := tokenFrom(t, ts, "root", "root-pw", tokenService, "artifact-repository:a:pull")
	if code != 200 {
		t.Fatalf("token: %d", code)
	}
	r := ts.do(t, "GET", "/api/v1/session", nil, map[string]string{"Authorization": "Bearer " + tok})
	var got session
	if err := json.Unmarshal(r.body, &got); err != nil || !got.Admin || got.User != "root" {
		t.Errorf("root's token: %d %s", r.status, r.body)
	}
	open := newTestServer(t, nil)
	r = open.do(t, "GET", "/api/v1/session", nil, nil)
	if err := json.Unmarshal(r.body, &got); err != nil || got.Auth != "none" || !got.AnonymousRead || !got.Admin {
		t.Errorf("a server without auth: %s", r.body)
	}
}
