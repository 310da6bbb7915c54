package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// The isolation matrix: every route of both protocols, asked by every kind
// of caller that is not the owner of tenant "a". A cell fails on any 2xx
// for a's resources, and whenever the answer differs from the one for the
// same request about a resource held nowhere ("ghost" in place of "app"):
// status, headers and body must not tell the two apart. The owner's row
// proves every route really serves a's resources, so a cell cannot pass
// because its route is broken.

// isoCaller decorates a request as one kind of caller.
type isoCaller struct {
	name string
	auth func(req *http.Request)
}

// isoRoute is one request. %s in path and body stand for the chart name
// ("app", or "ghost" for the held-nowhere twin); %d for its chart digest's
// hex, %m for its manifest digest's hex.
type isoRoute struct {
	method, path string
	body         func(name string) []byte
	ctype        string
	// open: 2xx is the right answer for everyone (the catalog, a mount
	// that falls back to an upload); the body must still not differ.
	open bool
	// tenantless: the answer is about the server, never a tenant (the
	// caller's session, the API's document), so the owner's row need
	// not show a's chart in it.
	tenantless bool
}

type isoFixture struct {
	ts                        *testServer
	chartHex, manHex, provHex map[string]string // by chart name
}

func newIsoFixture(t *testing.T) *isoFixture {
	t.Helper()
	ts := newTestServer(t, func(c *Config) {
		c.Depth = 1
		c.FailedLoginBurst = 1 << 20 // the matrix fails logins on purpose
		c.PasswordCheckShare = 1
		c.Users = []UserConfig{
			{Name: "alice", Password: "alice-pw", Grants: []Grant{{Tenant: "a", Actions: []string{"admin"}}}},
			{Name: "bob", Password: "bob-pw", Grants: []Grant{{Tenant: "b", Actions: []string{"pull", "push", "admin"}}}},
			{Name: "carol", Password: "carol-pw", Grants: []Grant{{Tenant: "c", Actions: []string{"push", "pull"}}}},
			{Name: "eve", Password: "eve-pw"},
		}
	})
	f := &isoFixture{ts: ts, chartHex: map[string]string{}, manHex: map[string]string{}, provHex: map[string]string{}}
	// "app" exists in a, and with the same bytes in c, whose owner calls
	// nothing: a blob that two other tenants hold is covered too. b, the
	// strangers' own tenant, has another chart; "ghost" is held nowhere.
	tgz := charttest.Chart("app", "0.1.0", nil)
	for _, who := range []struct {
		user, tenant string
		tgz          []byte
	}{{"alice", "a", tgz}, {"carol", "c", tgz}, {"bob", "b", charttest.Chart("own", "1.0.0", nil)}} {
		req, _ := http.NewRequest("POST", ts.URL+"/api/"+who.tenant+"/charts", bytes.NewReader(who.tgz))
		req.SetBasicAuth(who.user, who.user+"-pw")
		mustStatus(t, req, http.StatusCreated)
	}
	sum := sha256.Sum256(tgz)
	f.chartHex["app"] = hex.EncodeToString(sum[:])
	req, _ := http.NewRequest("GET", ts.URL+"/v2/a/app/manifests/0.1.0", nil)
	req.SetBasicAuth("alice", "alice-pw")
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	body := mustStatus(t, req, http.StatusOK)
	ms := sha256.Sum256(body)
	f.manHex["app"] = hex.EncodeToString(ms[:])
	ghost := sha256.Sum256(charttest.Chart("ghost", "0.1.0", nil))
	f.chartHex["ghost"] = hex.EncodeToString(ghost[:])
	gm := sha256.Sum256([]byte("no such manifest"))
	f.manHex["ghost"] = hex.EncodeToString(gm[:])
	return f
}

func mustStatus(t *testing.T, req *http.Request, want int) []byte {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL, res.StatusCode, b, want)
	}
	return b
}

// token mints a token as user ("" for anonymous) for scopes.
func (f *isoFixture) token(t *testing.T, user string, scopes ...string) string {
	t.Helper()
	pass := ""
	if user != "" {
		pass = user + "-pw"
	}
	code, tok := tokenFrom(t, f.ts, user, pass, tokenService, scopes...)
	if code != 200 || tok == "" {
		t.Fatalf("token for %s: %d", user, code)
	}
	return tok
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func (f *isoFixture) routes() []isoRoute {
	chart := func(name string) []byte { return charttest.Chart(name, "0.2.0", nil) }
	manifest := func(name string) []byte {
		return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},`+
			`"layers":[],"annotations":{"n":%q}}`, name)
	}
	return []isoRoute{
		{method: "GET", path: "/a/index.yaml"},
		{method: "HEAD", path: "/a/index.yaml"},
		{method: "GET", path: "/a/index.json"},
		{method: "GET", path: "/a/charts/%s-0.1.0.tgz"},
		{method: "HEAD", path: "/a/charts/%s-0.1.0.tgz"},
		{method: "GET", path: "/a/charts/%s-0.1.0.tgz.prov"},
		{method: "GET", path: "/api/a/charts"},
		{method: "GET", path: "/api/a/charts/%s"},
		{method: "HEAD", path: "/api/a/charts/%s"},
		{method: "GET", path: "/api/a/charts/%s/0.1.0"},
		{method: "HEAD", path: "/api/a/charts/%s/0.1.0"},
		{method: "GET", path: "/api/a/charts/%s/0.1.0/templates"},
		{method: "GET", path: "/api/a/charts/%s/0.1.0/values"},
		{method: "POST", path: "/api/a/charts", body: chart, ctype: "application/gzip"},
		{method: "POST", path: "/api/a/prov", body: func(string) []byte { return []byte("not a prov") }},
		{method: "DELETE", path: "/api/a/charts/%s/0.1.0"},
		{method: "GET", path: "/api/a/keys"},
		{method: "POST", path: "/api/a/keys", body: func(string) []byte { return []byte("not a key") }},
		{method: "DELETE", path: "/api/a/keys/0123456789ABCDEF0123456789ABCDEF01234567"},
		{method: "GET", path: "/v2/a/%s/manifests/0.1.0"},
		{method: "HEAD", path: "/v2/a/%s/manifests/0.1.0"},
		{method: "GET", path: "/v2/a/%s/manifests/sha256:%m"},
		{method: "HEAD", path: "/v2/a/%s/manifests/sha256:%m"},
		{method: "GET", path: "/v2/a/%s/blobs/sha256:%d"},
		{method: "HEAD", path: "/v2/a/%s/blobs/sha256:%d"},
		{method: "GET", path: "/v2/a/%s/tags/list"},
		{method: "GET", path: "/v2/a/%s/referrers/sha256:%m"},
		{method: "POST", path: "/v2/a/%s/blobs/uploads/"},
		{method: "PUT", path: "/v2/a/%s/manifests/evil", body: manifest, ctype: "application/vnd.oci.image.manifest.v1+json"},
		{method: "DELETE", path: "/v2/a/%s/manifests/sha256:%m"},
		{method: "DELETE", path: "/v2/a/%s/blobs/sha256:%d"},
		// A mount into the caller's own tenant must not find a's blob
		// (nor b's, which the token's subject does not own either).
		{method: "POST", path: "/v2/b/x/blobs/uploads/?mount=sha256:%d&from=a/%s", open: true},
		{method: "POST", path: "/v2/b/x/blobs/uploads/?mount=sha256:%d", open: true},
		{method: "GET", path: "/v2/_catalog", open: true},
		// The search API answers everyone, with only what they may read.
		{method: "GET", path: "/api/chartsvc/v1/charts/search?q=%s", open: true},
		{method: "GET", path: "/api/v1/search?q=%s", open: true},
		{method: "GET", path: "/api/v1/search?q=name:%s&version=%3E%3D0.1.0&devel=true", open: true},
		{method: "GET", path: "/api/v1/search?q=", open: true},
		{method: "GET", path: "/api/v1/repositories", open: true},
		{method: "GET", path: "/api/v1/charts/%s?repo=a"},
		{method: "HEAD", path: "/api/v1/charts/%s?repo=a"},
		{method: "GET", path: "/api/v1/charts/%s/0.1.0?repo=a"},
		{method: "GET", path: "/api/v1/charts/%s/latest?repo=a"},
		// The UI's pages.
		{method: "GET", path: "/api/v1/charts?q=%s", open: true},
		{method: "GET", path: "/api/v1/charts", open: true},
		{method: "HEAD", path: "/api/v1/charts?q=name:%s", open: true},
		{method: "GET", path: "/api/v1/charts?repo=a&q=%s"},
		{method: "GET", path: "/api/v1/charts/%s?repo=a&limit=1&offset=0"},
		{method: "GET", path: "/api/v1/repository?repo=a"},
		{method: "HEAD", path: "/api/v1/repository?repo=a"},
		{method: "GET", path: "/api/v1/session", open: true, tenantless: true},
		{method: "GET", path: "/api/v1/openapi.yaml", open: true, tenantless: true},
	}
}

func (f *isoFixture) request(t *testing.T, rt isoRoute, name string, c isoCaller) *http.Request {
	t.Helper()
	p := strings.NewReplacer("%s", name, "%d", f.chartHex[name], "%m", f.manHex[name]).Replace(rt.path)
	var body io.Reader
	if rt.body != nil {
		body = bytes.NewReader(rt.body(name))
	}
	req, err := http.NewRequest(rt.method, f.ts.URL+p, body)
	if err != nil {
		t.Fatal(err)
	}
	if rt.ctype != "" {
		req.Header.Set("Content-Type", rt.ctype)
	}
	c.auth(req)
	return req
}

// answer is what a caller can observe of a response.
type answer struct {
	Status int
	Header map[string]string
	Body   string
}

var uploadID = regexp.MustCompile(`uploads/[0-9a-zA-Z_-]{8,}`)

// sessionHeaders carry a fresh upload ID in every answer.
var sessionHeaders = map[string]bool{"Blob-Upload-Session-Id": true, "Docker-Upload-Uuid": true}

// observe sends req and records its answer, with the held-nowhere twin's
// names and digests written as the real ones', and the parts of a response
// that differ between any two requests (date, a fresh upload ID) masked.
func (f *isoFixture) observe(t *testing.T, req *http.Request, asName string, name string) answer {
	t.Helper()
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	unify := strings.NewReplacer(name, asName, f.chartHex[name], f.chartHex[asName], f.manHex[name], f.manHex[asName])
	a := answer{Status: res.StatusCode, Header: map[string]string{}, Body: uploadID.ReplaceAllString(unify.Replace(string(b)), "uploads/ID")}
	for k, v := range res.Header {
		switch k {
		case "Date", "Content-Length":
			continue // Content-Length follows from the body, compared below
		}
		if sessionHeaders[k] {
			a.Header[k] = "ID"
			continue
		}
		a.Header[k] = uploadID.ReplaceAllString(unify.Replace(strings.Join(v, ", ")), "uploads/ID")
	}
	return a
}

func TestIsolationMatrix(t *testing.T) {
	f := newIsoFixture(t)
	catalogScope := "registry:catalog:*"
	aScopes := []string{"repository:a/app:pull,push,delete", "repository:a/ghost:pull,push,delete",
		"artifact-repository:a:pull,push,admin", "repository:b/x:pull,push"}
	strangers := []isoCaller{
		{"anonymous", func(*http.Request) {}},
		{"user with another tenant's grant", basic("bob", "bob-pw")},
		{"user without grants", basic("eve", "eve-pw")},
		{"owner with a wrong password", basic("alice", "wrong")},
		{"unknown user", basic("mallory", "alice-pw")},
		{"user's token", bearer(f.token(t, "bob", aScopes...))},
		{"grantless user's token", bearer(f.token(t, "eve", aScopes...))},
		{"anonymously minted token", bearer(f.token(t, "", append(aScopes, catalogScope)...))},
		{"catalog token", bearer(f.token(t, "bob", catalogScope))},
		{"forged token", bearer("eyJhbGciOiJub25lIn0.eyJhY2Nlc3MiOlt7InR5cGUiOiJyZWdpc3RyeSIsIm5hbWUiOiJjYXRhbG9nIiwiYWN0aW9ucyI6WyIqIl19XX0.")},
	}
	routes := f.routes()

	// The owner's row: every read route serves a's resources.
	owner := isoCaller{"owner", basic("alice", "alice-pw")}
	for _, rt := range routes {
		if (rt.method != "GET" && rt.method != "HEAD") || strings.HasSuffix(rt.path, ".prov") {
			continue // writes are the owner's own business; the chart is unsigned
		}
		a := f.observe(t, f.request(t, rt, "app", owner), "app", "app")
		if a.Status/100 != 2 {
			t.Errorf("owner %s %s: %d %s, so the matrix would prove nothing", rt.method, rt.path, a.Status, a.Body)
		}
		if rt.open && !rt.tenantless && strings.HasPrefix(rt.path, "/api/") && rt.method == "GET" && !strings.Contains(a.Body, `"a"`) {
			t.Errorf("owner %s %s: %s does not show a's chart, so the matrix would prove nothing", rt.method, rt.path, a.Body)
		}
	}

	for _, c := range strangers {
		for _, rt := range routes {
			t.Run(c.name+"/"+rt.method+" "+rt.path, func(t *testing.T) {
				real := f.observe(t, f.request(t, rt, "app", c), "app", "app")
				ghost := f.observe(t, f.request(t, rt, "ghost", c), "app", "ghost")
				if real.Status/100 == 2 && !rt.open {
					t.Errorf("a stranger got %d: %s", real.Status, real.Body)
				}
				if strings.Contains(real.Body, "a/app") && rt.path == "/v2/_catalog" {
					t.Errorf("the catalog shows a's repository: %s", real.Body)
				}
				if rt.open && strings.HasPrefix(rt.path, "/api/") && (strings.Contains(real.Body, `"app"`) || strings.Contains(real.Body, `"a"`)) {
					t.Errorf("the search API shows a's chart or repository: %s", real.Body)
				}
				if real.Status == http.StatusCreated {
					t.Errorf("a mount found a blob the caller may not read: %v", real.Header)
				}
				if diff := cmp.Diff(ghost, real); diff != "" {
					t.Errorf("a's resource answers differently from one held nowhere (-ghost +real):\n%s", diff)
				}
			})
		}
	}

	// Nothing the strangers did changed a's tenant.
	for _, p := range []string{"/a/charts/app-0.1.0.tgz", "/v2/a/app/manifests/0.1.0"} {
		req, _ := http.NewRequest("GET", f.ts.URL+p, nil)
		req.SetBasicAuth("alice", "alice-pw")
		mustStatus(t, req, http.StatusOK)
	}
	req, _ := http.NewRequest("GET", f.ts.URL+"/api/a/charts", nil)
	req.SetBasicAuth("alice", "alice-pw")
	var list map[string][]json.RawMessage
	if err := json.Unmarshal(mustStatus(t, req, http.StatusOK), &list); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"app"}, names); diff != "" || len(list["app"]) != 1 {
		t.Errorf("a's charts after the strangers (-want +got):\n%s %v", diff, list)
	}
}

// The catalog shows each caller the tenants they may pull from, and no
// token opens it for a caller who has no grant at all.
func TestCatalogIsFilteredByGrants(t *testing.T) {
	f := newIsoFixture(t)
	get := func(auth func(*http.Request)) (int, []string) {
		req, _ := http.NewRequest("GET", f.ts.URL+"/v2/_catalog", nil)
		auth(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct{ Repositories []string }
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body.Repositories
	}
	for _, tt := range []struct {
		name   string
		auth   func(*http.Request)
		status int
		want   []string
	}{
		{"alice basic", basic("alice", "alice-pw"), 200, []string{"a/app"}},
		{"bob basic", basic("bob", "bob-pw"), 200, []string{"b/own"}},
		{"bob catalog token", bearer(f.token(t, "bob", "registry:catalog:*")), 200, []string{"b/own"}},
		{"eve basic", basic("eve", "eve-pw"), 200, nil},
		{"bob repository token", bearer(f.token(t, "bob", "repository:b/own:pull")), 401, nil},
		{"anonymous", func(*http.Request) {}, 401, nil},
	} {
		status, got := get(tt.auth)
		if status != tt.status || !cmp.Equal(tt.want, got, cmpopts.EquateEmpty()) {
			t.Errorf("%s: %d %v, want %d %v", tt.name, status, got, tt.status, tt.want)
		}
	}
}
