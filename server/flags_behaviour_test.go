package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// The ChartMuseum switches operators set, each observed through the API.
func TestOperatorSwitches(t *testing.T) {
	t.Run("disable-api", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.DisableAPI = true })
		if r := ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil)); r.status != 404 {
			t.Errorf("upload with the API disabled: %d", r.status)
		}
		if r := ts.do(t, "GET", "/index.yaml", nil, nil); r.status != 200 {
			t.Errorf("index with the API disabled: %d", r.status)
		}
	})
	t.Run("disable-delete", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.DisableDelete = true })
		ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil))
		if r := ts.do(t, "DELETE", "/api/charts/a/1.0.0", nil, nil); r.status != 404 {
			t.Errorf("delete while disabled: %d %s", r.status, r.body)
		}
		// The registry answers as the spec asks of one without deletion.
		for _, path := range []string{"/v2/a/manifests/1.0.0", "/v2/a/blobs/sha256:" + strings.Repeat("0", 64)} {
			r := ts.do(t, "DELETE", path, nil, nil)
			if r.status != 405 || !strings.Contains(string(r.body), `"UNSUPPORTED"`) {
				t.Errorf("OCI DELETE %s while disabled: %d %s", path, r.status, r.body)
			}
		}
		if r := ts.do(t, "GET", "/v2/a/manifests/1.0.0", nil, nil); r.status != 200 {
			t.Errorf("chart gone from OCI although delete is disabled: %d", r.status)
		}
		if idx := loadIndex(t, ts.do(t, "GET", "/index.yaml", nil, nil).body); len(idx.Entries["a"]) != 1 {
			t.Error("version gone although delete is disabled")
		}
	})
	t.Run("allow-overwrite", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.AllowOverwrite = true })
		ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil))
		r := ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", map[string]string{"README.md": "new"}))
		if r.status != 201 {
			t.Errorf("overwrite: %d %s", r.status, r.body)
		}
	})
	t.Run("allow-force-overwrite", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.AllowForceOverwrite = true })
		ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil))
		changed := charttest.Chart("a", "1.0.0", map[string]string{"README.md": "new"})
		if r := ts.upload(t, "/api/charts", changed); r.status != 409 {
			t.Errorf("overwrite without ?force: %d", r.status)
		}
		if r := ts.upload(t, "/api/charts?force", changed); r.status != 201 {
			t.Errorf("?force: %d %s", r.status, r.body)
		}
	})
	t.Run("max-storage-objects", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.MaxStorageObjects = 2 })
		for _, v := range []string{"1.0.0", "1.1.0"} {
			ts.upload(t, "/api/charts", charttest.Chart("a", v, nil))
		}
		r := ts.upload(t, "/api/charts", charttest.Chart("a", "1.2.0", nil))
		if r.status != 507 || !strings.Contains(string(r.body), "repo has reached storage limit") {
			t.Errorf("over the limit: %d %s", r.status, r.body)
		}
	})
	t.Run("json-index", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.JSONIndex = true })
		ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil))
		r := ts.do(t, "GET", "/index.yaml", nil, nil)
		if !json.Valid(r.body) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("--json-index served %q: %.60s", r.header.Get("Content-Type"), r.body)
		}
		if len(loadIndex(t, r.body).Entries["a"]) != 1 {
			t.Error("JSON index lacks the chart")
		}
	})
	t.Run("enable-metrics", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.EnableMetrics = true })
		ts.upload(t, "/api/charts", charttest.Chart("a", "1.0.0", nil))
		r := ts.do(t, "GET", "/metrics", nil, nil)
		if r.status != 200 || !strings.Contains(string(r.body), "chartd_chart_uploads_total 1") ||
			!strings.Contains(string(r.body), `chartd_http_requests_total{code="201",method="POST"} 1`) {
			t.Errorf("metrics: %d\n%.2000s", r.status, r.body)
		}
		if off := newTestServer(t, nil).do(t, "GET", "/metrics", nil, nil); off.status != 404 {
			t.Errorf("metrics served without --enable-metrics: %d", off.status)
		}
	})
	t.Run("welcome and info", func(t *testing.T) {
		ts := newTestServer(t, nil)
		if r := ts.do(t, "GET", "/", nil, nil); r.status != 200 || !strings.Contains(string(r.body), "Welcome to chartd") {
			t.Errorf("welcome: %d", r.status)
		}
		if r := ts.do(t, "GET", "/info", nil, nil); r.status != 200 || !strings.Contains(string(r.body), `"version"`) {
			t.Errorf("info: %d %s", r.status, r.body)
		}
	})
}
