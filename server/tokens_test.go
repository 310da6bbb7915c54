package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

// tokenFrom asks ts's token endpoint for scope, as user (none when "").
func tokenFrom(t *testing.T, ts *testServer, user, pass, service string, scopes ...string) (int, string) {
	t.Helper()
	q := url.Values{"scope": scopes}
	if service != "" {
		q.Set("service", service)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/v2/token?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Token string }
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body.Token
}

// claimsOf decodes a token's access list without verifying it.
func claimsOf(t *testing.T, tok string) registryClaims {
	t.Helper()
	var c registryClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func tokenTestServer(t *testing.T, anonymousGet bool) *testServer {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, func(c *Config) {
		c.Depth = 1
		c.AuthAnonymousGet = anonymousGet
		c.Users = []UserConfig{
			{Name: "dev", PasswordHash: string(hash), Grants: []Grant{{Tenant: "team", Actions: []string{"pull"}}}},
			{Name: "ci", Password: "ci-pw", Grants: []Grant{{Tenant: "team", Actions: []string{"pull", "push"}}}},
			{Name: "boss", Password: "boss-pw", Grants: []Grant{{Tenant: "team", Actions: []string{"admin"}}}},
		}
	})
}

// The token endpoint grants the intersection of the asked scope and the
// user's grants, spelled out action by action, to the chartd audience only.
func TestTokenGrants(t *testing.T) {
	ts := tokenTestServer(t, false)
	tests := []struct {
		name, user, pass string
		scopes           []string
		want             []accessEntry
	}{
		{"pull within grants", "dev", "pw", []string{"repository:team/app:pull,push"},
			[]accessEntry{{"repository", "team/app", []string{"pull"}}}},
		{"star expands to held actions", "ci", "ci-pw", []string{"repository:team/app:*"},
			[]accessEntry{{"repository", "team/app", []string{"pull", "push", "delete"}}}},
		{"delete is a push right", "dev", "pw", []string{"repository:team/app:delete"}, nil},
		{"other tenant", "ci", "ci-pw", []string{"repository:other/app:pull"}, nil},
		{"anonymous gets nothing", "", "", []string{"repository:team/app:pull"}, nil},
		{"anonymous gets no catalog", "", "", []string{"registry:catalog:*"}, nil},
		{"user gets the catalog", "dev", "pw", []string{"registry:catalog:*"},
			[]accessEntry{{"registry", "catalog", []string{"*"}}}},
		{"catalog only as star", "dev", "pw", []string{"registry:catalog:pull"}, nil},
		{"admin on the API", "boss", "boss-pw", []string{"artifact-repository:team:*"},
			[]accessEntry{{"artifact-repository", "team", []string{"pull", "push", "admin"}}}},
		{"pusher is no admin", "ci", "ci-pw", []string{"artifact-repository:team:admin"}, nil},
		{"several scopes in one parameter", "dev", "pw", []string{"repository:team/a:pull repository:team/b:pull"},
			[]accessEntry{{"repository", "team/a", []string{"pull"}}, {"repository", "team/b", []string{"pull"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, tok := tokenFrom(t, ts, tt.user, tt.pass, "chartd", tt.scopes...)
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			c := claimsOf(t, tok)
			if diff := cmp.Diff(tt.want, c.Access); diff != "" {
				t.Errorf("access (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(jwt.ClaimStrings{tokenService}, c.Audience); diff != "" {
				t.Errorf("audience (-want +got):\n%s", diff)
			}
		})
	}
	if code, _ := tokenFrom(t, ts, "dev", "wrong", "chartd", "repository:team/app:pull"); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, _ := tokenFrom(t, ts, "dev", "pw", "elsewhere", "repository:team/app:pull"); code != 400 {
		t.Errorf("foreign service: %d, want 400", code)
	}
}

// A token opens exactly what it names: one repository, one tenant's API,
// or the catalog, never more. This is the hole where a catalog token passed
// as pull on every tenant, and a repository token opened its whole tenant.
func TestTokenScopeIsExact(t *testing.T) {
	ts := tokenTestServer(t, false)
	us := ts.srv.auth.users
	_, repoTok := tokenFrom(t, ts, "ci", "ci-pw", "chartd", "repository:team/app:pull,push")
	_, catTok := tokenFrom(t, ts, "ci", "ci-pw", "chartd", "registry:catalog:*")
	_, apiTok := tokenFrom(t, ts, "ci", "ci-pw", "chartd", "artifact-repository:team:pull")
	repo := func(name string) resource { return resource{kind: resRepository, tenant: "team", repo: name} }
	tests := []struct {
		name   string
		tok    string
		res    resource
		action string
		want   bool
	}{
		{"repo token, its repo", repoTok, repo("team/app"), actionPull, true},
		{"repo token, push", repoTok, repo("team/app"), actionPush, true},
		{"repo token, sibling repo", repoTok, repo("team/other"), actionPull, false},
		{"repo token, tenant API", repoTok, tenantResource("team"), actionPull, false},
		{"repo token, not asked delete", repoTok, repo("team/app"), "delete", false},
		{"catalog token, a repo", catTok, repo("team/app"), actionPull, false},
		{"catalog token, tenant API", catTok, tenantResource("team"), actionPull, false},
		{"catalog token, catalog", catTok, resource{kind: resCatalog}, "catalog", true},
		{"catalog token, own listing", catTok, resource{kind: resListing, tenant: "team"}, "list", true},
		{"catalog token, foreign listing", catTok, resource{kind: resListing, tenant: "other"}, "list", false},
		{"api token, tenant API", apiTok, tenantResource("team"), actionPull, true},
		{"api token, a repo", apiTok, repo("team/app"), actionPull, false},
		{"api token, other tenant", apiTok, tenantResource("other"), actionPull, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tt.tok)
			err := ts.srv.auth.check(req, tt.res, tt.action)
			if got := err == nil; got != tt.want {
				t.Errorf("check = %v, want allowed=%v", err, tt.want)
			}
		})
	}
	if _, err := us.verifyToken(repoTok + "x"); err == nil {
		t.Error("tampered token accepted")
	}
}

// A token signed with chartd's secret for another audience, or expired,
// or with another algorithm, is refused.
func TestTokenVerification(t *testing.T) {
	ts := tokenTestServer(t, false)
	us := ts.srv.auth.users
	now := time.Now()
	sign := func(m jwt.SigningMethod, key any, aud string, exp time.Time) string {
		c := registryClaims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: tokenIssuer, Subject: "ci", Audience: jwt.ClaimStrings{aud},
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)},
			Access: []accessEntry{{"repository", "team/app", []string{"pull"}}},
		}
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := us.verifyToken(sign(jwt.SigningMethodHS256, us.secret, tokenService, now.Add(time.Minute))); err != nil {
		t.Fatalf("a good token is refused: %v", err)
	}
	bad := map[string]string{
		"other audience": sign(jwt.SigningMethodHS256, us.secret, "other", now.Add(time.Minute)),
		"expired":        sign(jwt.SigningMethodHS256, us.secret, tokenService, now.Add(-time.Minute)),
		"other secret":   sign(jwt.SigningMethodHS256, []byte("guess"), tokenService, now.Add(time.Minute)),
		"none algorithm": sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, tokenService, now.Add(time.Minute)),
	}
	for name, tok := range bad {
		if _, err := us.verifyToken(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Keys decide what signaturePolicy accepts, so changing them takes admin;
// reading them takes pull.
func TestKeysNeedAdmin(t *testing.T) {
	ts := tokenTestServer(t, false)
	for _, tt := range []struct {
		user, pass, method string
		want               int
	}{
		{"ci", "ci-pw", "POST", 401},
		{"boss", "boss-pw", "POST", 400}, // admitted; the body is no key
		{"ci", "ci-pw", "GET", 200},
		{"dev", "pw", "DELETE", 401},
	} {
		path := "/api/team/keys"
		if tt.method == "DELETE" {
			path += "/0123456789ABCDEF0123456789ABCDEF01234567"
		}
		req, _ := http.NewRequest(tt.method, ts.URL+path, strings.NewReader("not a key"))
		req.SetBasicAuth(tt.user, tt.pass)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s %s as %s: %d, want %d", tt.method, path, tt.user, res.StatusCode, tt.want)
		}
	}
}

// Whatever scope is asked for, a token never grants more than the user
// holds: dev may pull from tenant team and nothing else.
func FuzzGrantedActions(f *testing.F) {
	for _, s := range []string{"repository:team/app:pull,push", "repository:team/app:*", "registry:catalog:*",
		"artifact-repository:team:admin", "repository:other/app:pull", "repository:team:pull", "artifact-repository:*:*",
		"repository:team/../other/app:pull", "repository:team/*:pull"} {
		f.Add(s)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Depth = 1
	cfg.Users = []UserConfig{{Name: "dev", PasswordHash: string(hash), Grants: []Grant{{Tenant: "team", Actions: []string{"pull"}}}}}
	s := &Server{cfg: cfg}
	user := &cfg.Users[0]
	f.Fuzz(func(t *testing.T, scope string) {
		e, ok := parseScope(scope)
		if !ok {
			return
		}
		got := s.grantedActions(user, e)
		for _, a := range got {
			switch {
			case e.Type == "registry" && e.Name == "catalog" && a == "*":
			case a == actionPull && e.Type == "artifact-repository" && e.Name == "team":
			case a == actionPull && e.Type == "repository" && strings.HasPrefix(e.Name, "team/"):
			default:
				t.Fatalf("scope %q granted %q: %v", scope, a, got)
			}
		}
	})
}

// A mount whose token lacks pull on the source gets a challenge naming both
// scopes when the token's user may pull there, so the client's next token
// has both, as with distribution. (A caller who may not pull there gets an
// ordinary upload session, as for a source that holds nothing: the
// isolation matrix checks that.)
func TestMountChallengesForTheSourceScope(t *testing.T) {
	ts := tokenTestServer(t, false)
	push := func(user, pass, repo string) {
		t.Helper()
		code, tok := tokenFrom(t, ts, user, pass, tokenService, "repository:"+repo+":pull,push")
		if code != 200 {
			t.Fatal(code)
		}
		req, _ := http.NewRequest("POST", ts.URL+"/v2/"+repo+"/blobs/uploads/?digest=sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", strings.NewReader("hello\n"))
		req.Header.Set("Authorization", "Bearer "+tok)
		mustStatus(t, req, http.StatusCreated)
	}
	push("ci", "ci-pw", "team/src")
	const mount = "/v2/team/dst/blobs/uploads/?mount=sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03&from=team/src"
	try := func(tok string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+mount, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	_, narrow := tokenFrom(t, ts, "ci", "ci-pw", tokenService, "repository:team/dst:pull,push")
	res := try(narrow)
	want := `scope="repository:team/dst:push repository:team/src:pull"`
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("WWW-Authenticate"), want) {
		t.Fatalf("narrow token: %d %q, want 401 with %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), want)
	}
	_, both := tokenFrom(t, ts, "ci", "ci-pw", tokenService, "repository:team/dst:pull,push repository:team/src:pull")
	if res := try(both); res.StatusCode != http.StatusCreated {
		t.Errorf("token with both scopes: %d, want 201", res.StatusCode)
	}
}
