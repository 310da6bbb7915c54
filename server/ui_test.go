package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// The UI is served under the context path, for every page path, beside
// the ChartMuseum routes it cannot shadow ("ui" is a reserved segment).
func TestUIRoutes(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ContextPath = "/ctx" })
	for _, p := range []string{"/ctx/ui/", "/ctx/ui/charts/org/app", "/ctx/ui/repos/org"} {
		r := ts.do(t, "GET", p, nil, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `content="/ctx"`) {
			t.Errorf("GET %s: %d %.200s", p, r.status, r.body)
		}
	}
	if r := ts.do(t, "GET", "/ui/", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("GET /ui/ outside the context path: %d", r.status)
	}
	if r := ts.upload(t, "/ctx/api/ui/charts", charttest.Chart("app", "1.0.0", nil)); r.status != http.StatusBadRequest {
		t.Errorf("an upload to tenant ui: %d %s", r.status, r.body)
	}
}
