package server

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// classified is a request as observe hands it on: its path classified.
func classified(s *Server, method, path string) *http.Request {
	req := httptest.NewRequest(method, "http://chartd.test/", nil)
	req.URL.Path = path
	ctx, st := withRequestState(req.Context())
	req = req.WithContext(ctx)
	st.info.setRoute(path, s.describe(req, &st.route))
	return req
}

// Every request direct sends past the router is one the router would
// have sent to the ChartMuseum route: tried on paths below every route
// registered, in each tenancy and under a context path.
func TestDirectAgreesWithRouter(t *testing.T) {
	configs := []struct {
		name string
		cfg  func(*Config)
		// want are paths that must go directly.
		want []string
	}{
		{"depth 0", func(c *Config) {}, []string{"/index.yaml", "/org/index.json", "/charts/a-1.0.0.tgz"}},
		{"depth 1", func(c *Config) { c.Depth = 1 }, []string{"/t/index.yaml", "/t/sub/index.yaml", "/t/charts/a-1.0.0.tgz.prov"}},
		{"dynamic", func(c *Config) { c.DepthDynamic = true }, []string{"/a/b/index.yaml"}},
		{"context path", func(c *Config) { c.Depth = 1; c.ContextPath = "/cm" }, []string{"/cm/t/index.yaml"}},
		{"users", func(c *Config) {
			c.Depth = 1
			c.Users = []UserConfig{{Name: "u", Password: "p", Grants: []Grant{{Tenant: "*", Actions: []string{"pull"}}}}}
		}, []string{"/t/index.yaml"}},
	}
	vars := regexp.MustCompile(`\{[^}]*\}`)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.cfg)
			s := ts.srv
			router := s.router(http.NotFoundHandler(), http.NotFoundHandler())
			prefixes := map[string]bool{"": true, s.cfg.ContextPath: true, s.cfg.ContextPath + "/t": true}
			err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
				if p, err := route.GetPathTemplate(); err == nil {
					prefixes[strings.TrimSuffix(vars.ReplaceAllString(p, "x"), "/")] = true
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for p := range prefixes {
				for _, tail := range []string{"", "/", "/index.yaml", "/index.json", "/charts/a-1.0.0.tgz", "/t/index.yaml", "/t/charts/a-1.0.0.tgz"} {
					paths = append(paths, p+tail)
				}
			}
			for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
				for _, p := range paths {
					req := classified(s, method, p)
					if !s.isDirect(req) {
						continue
					}
					var m mux.RouteMatch
					if !router.Match(req, &m) || m.Route == nil || m.Route.GetName() != chartRouteName {
						name := "none"
						if m.Route != nil {
							name, _ = m.Route.GetPathTemplate()
						}
						t.Errorf("%s %s goes directly, but the router sends it to %s", method, p, name)
					}
				}
			}
			for _, p := range tc.want {
				if !s.isDirect(classified(s, http.MethodGet, p)) {
					t.Errorf("GET %s does not go directly", p)
				}
			}
		})
	}
}
