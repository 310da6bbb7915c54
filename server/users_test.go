package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in   string
		want accessEntry
		ok   bool
	}{
		{"repository:org/team/app:pull,push", accessEntry{"repository", "org/team/app", []string{"pull", "push"}}, true},
		{"repository:localhost:5000/app:pull", accessEntry{"repository", "localhost:5000/app", []string{"pull"}}, true},
		{"registry:catalog:*", accessEntry{"registry", "catalog", []string{"*"}}, true},
		{"repository::pull", accessEntry{}, false},
		{"nonsense", accessEntry{}, false},
		{"image:x:pull", accessEntry{}, false},
	}
	for _, tt := range tests {
		got, ok := parseScope(tt.in)
		if ok != tt.ok || cmp.Diff(tt.want, got) != "" {
			t.Errorf("parseScope(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseScope(f *testing.F) {
	f.Add("repository:a/b:pull,push")
	f.Add(":::")
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := parseScope(s)
		if ok && (e.Name == "" || len(e.Actions) == 0) {
			t.Fatalf("accepted %q as %+v", s, e)
		}
	})
}

func TestGrantCovers(t *testing.T) {
	tests := []struct {
		g      Grant
		tenant string
		action string
		want   bool
	}{
		{Grant{"team", []string{"pull"}}, "team", "pull", true},
		{Grant{"team", []string{"pull"}}, "team", "push", false},
		{Grant{"team", []string{"pull"}}, "team2", "pull", false},
		{Grant{"org/*", []string{"push"}}, "org/a", "push", true},
		{Grant{"org/*", []string{"push"}}, "orgx/a", "push", false},
		{Grant{"*", []string{"*"}}, "anything", "push", true},
	}
	for _, tt := range tests {
		if got := tt.g.covers(tt.tenant, tt.action); got != tt.want {
			t.Errorf("%+v covers(%q, %q) = %v", tt.g, tt.tenant, tt.action, got)
		}
	}
}

// The token endpoint grants the intersection of the asked scope and the
// user's grants, and the token is then accepted only within that scope.
func TestTokenEndpoint(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *Config) {
		c.Depth = 1
		c.Users = []UserConfig{{Name: "dev", PasswordHash: string(hash), Grants: []Grant{{Tenant: "team", Actions: []string{"pull"}}}}}
	})
	token := func(user, pass, scope string) (int, string) {
		req, _ := http.NewRequest("GET", ts.URL+"/v2/token?service=chartd&scope="+url.QueryEscape(scope), nil)
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
	if code, _ := token("dev", "wrong", "repository:team/app:pull"); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	code, tok := token("dev", "pw", "repository:team/app:pull,push")
	if code != 200 || tok == "" {
		t.Fatalf("token: %d", code)
	}
	us := ts.srv.auth.users
	if !us.tokenAllows(tok, "team", "pull") {
		t.Error("granted pull not honoured")
	}
	if us.tokenAllows(tok, "team", "push") {
		t.Error("push granted beyond the user's grants")
	}
	if us.tokenAllows(tok, "other", "pull") {
		t.Error("token valid for another tenant")
	}
	if us.tokenAllows(tok+"x", "team", "pull") {
		t.Error("tampered token accepted")
	}
	// The ChartMuseum API honours the same token and basic credentials.
	req := httptest.NewRequest("GET", "/team/index.yaml", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if err := ts.srv.auth.check(req, "team", actionPull); err != nil {
		t.Errorf("bearer on the API: %v", err)
	}
	req = httptest.NewRequest("GET", "/team/index.yaml", nil)
	req.SetBasicAuth("dev", "pw")
	if err := ts.srv.auth.check(req, "team", actionPull); err != nil {
		t.Errorf("basic on the API: %v", err)
	}
}
