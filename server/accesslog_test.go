package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/provenance"
)

// serve answers a request in-process. Tests of what is logged or counted
// use it: a client over TCP may see the answer before the middleware has
// written the request's lines, in-process they are written when it returns.
func (ts *testServer) serve(t *testing.T, method, path string, body io.Reader, hdr map[string]string) resp {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	return resp{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// jsonServer is a test server logging JSON into a buffer.
func jsonServer(t *testing.T, mutate func(*Config)) (*testServer, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	c := DefaultConfig()
	c.LogJSON = true
	return newTestServerLog(t, mutate, c.NewLogger(logs)), logs
}

// records are the JSON log lines with message msg.
func records(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// The access log has one line per request with what an operator needs,
// and nothing that grants access: no credentials, no secret query values.
func TestAccessLogCarriesNoSecrets(t *testing.T) {
	ts, logs := jsonServer(t, func(c *Config) { c.BasicAuthUser, c.BasicAuthPass = "ci", "s3cret-pass" })
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:s3cret-pass"))
	d := digest.FromString("x").String()
	ts.serve(t, "GET", "/index.yaml", nil, map[string]string{"Authorization": basic})
	ts.serve(t, "GET", "/index.yaml?token=topsecret-query&digest="+d, nil, map[string]string{"Authorization": "Bearer eyJsecret.bearer.token"})
	ts.serve(t, "GET", "/api/charts", nil, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:wrong-pass-42"))})
	ts.serve(t, "POST", "/api/charts?password=hunter2", bytes.NewReader(charttest.Chart("a", "1.0.0", nil)), map[string]string{"Authorization": basic})

	out := logs.String()
	for _, secret := range []string{"s3cret-pass", basic[len("Basic "):], "topsecret-query", "eyJsecret", "wrong-pass-42", "hunter2", "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	type line struct {
		Method, Route, Path, Query string
		Status                     float64
	}
	var got []line
	for _, rec := range records(t, out, "request served") {
		for _, k := range []string{"bytes", "remote", "latency"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("access line without %s: %v", k, rec)
			}
		}
		q, _ := rec["query"].(string)
		got = append(got, line{rec["method"].(string), rec["route"].(string), rec["path"].(string), q, rec["status"].(float64)})
	}
	want := []line{
		{"GET", "index", "/index.yaml", "", 200},
		{"GET", "index", "/index.yaml", "digest=" + strings.ReplaceAll(d, ":", "%3A"), 401},
		{"GET", "api_charts", "/api/charts", "", 401},
		{"POST", "api_charts", "/api/charts", "", 201},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access lines (-want +got):\n%s", diff)
	}
}

// The access line names the caller the authorizer found.
func TestAccessLogUser(t *testing.T) {
	logs := &syncBuffer{}
	c := DefaultConfig()
	c.LogJSON, c.DataDir = true, t.TempDir()
	st, err := OpenStores(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, _, err := NewWithStores(c, st, c.NewLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestInfoFrom(r.Context()).setSubject("alice", "team")
		w.WriteHeader(http.StatusNoContent)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/team/index.yaml", nil))
	recs := records(t, logs.String(), "request served")
	if len(recs) != 1 || recs[0]["user"] != "alice" || recs[0]["status"] != float64(204) {
		t.Errorf("access lines %v", recs)
	}
}

// auditLine is what a test compares of an audit line.
type auditLine struct {
	Action, User, Tenant, Result string
	Status                       float64
	What                         string // chart@version, keys, or repository:reference
	Error                        string
}

func auditLines(t *testing.T, logs string) []auditLine {
	t.Helper()
	var out []auditLine
	for _, rec := range records(t, logs, "audit") {
		s := func(k string) string { v, _ := rec[k].(string); return v }
		a := auditLine{Action: s("action"), User: s("user"), Tenant: s("tenant"), Result: s("result"),
			Status: rec["status"].(float64), Error: s("error")}
		switch {
		case s("chart") != "":
			a.What = s("chart") + "@" + s("version")
		case s("keys") != "":
			a.What = "keys"
		case s("repository") != "":
			a.What = s("repository") + ":" + s("reference")
			// A delete by tag answers without a digest; a push and a blob delete name it.
			if a.Action != "oci.manifest.delete" && !strings.HasPrefix(s("digest"), "sha256:") {
				t.Errorf("OCI audit line without a digest: %v", rec)
			}
		}
		out = append(out, a)
	}
	return out
}

// Every write of both protocols leaves one audit line, whatever its
// outcome; reads leave none.
func TestAuditLines(t *testing.T) {
	ts, logs := jsonServer(t, func(c *Config) { c.Depth = 1 })
	signer, err := openpgp.NewEntity("Release", "", "release@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	tgz := charttest.Chart("app", "1.0.0", nil)
	steps := []struct {
		method, path string
		body         []byte
		ctype        string
		status       int
	}{
		{"POST", "/api/team/charts", tgz, "", 201},
		{"POST", "/api/team/charts", tgz, "", 409},
		{"GET", "/team/index.yaml", nil, "", 200},
		{"POST", "/api/team/charts", []byte("not a chart"), "", 400},
		{"DELETE", "/api/team/charts/app/1.0.0", nil, "", 200},
		{"DELETE", "/api/team/charts/app/9.9.9", nil, "", 404},
		{"POST", "/api/team/keys", []byte(armoredPublic(t, signer)), "", 201},
		{"DELETE", "/api/team/keys/" + provenance.Fingerprint(signer), nil, "", 200},
		{"POST", "/v2/team/img/blobs/uploads/?digest=" + digest.FromString("{}").String(), []byte("{}"), "", 201},
		{"PUT", "/v2/team/img/manifests/v1", []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[]}`, digest.FromString("{}"))),
			"application/vnd.oci.image.manifest.v1+json", 201},
		{"GET", "/v2/team/img/manifests/v1", nil, "", 200},
		{"DELETE", "/v2/team/img/manifests/v1", nil, "", 202},
		{"DELETE", "/v2/team/img/blobs/" + digest.FromString("{}").String(), nil, "", 202},
	}
	for _, st := range steps {
		var hdr map[string]string
		if st.ctype != "" {
			hdr = map[string]string{"Content-Type": st.ctype}
		}
		var body *bytes.Reader
		if st.body != nil {
			body = bytes.NewReader(st.body)
		} else {
			body = bytes.NewReader(nil)
		}
		if r := ts.serve(t, st.method, st.path, body, hdr); r.status != st.status {
			t.Fatalf("%s %s: %d %s, want %d", st.method, st.path, r.status, r.body, st.status)
		}
	}
	want := []auditLine{
		{"chart.upload", "", "team", "ok", 201, "app@1.0.0", ""},
		{"chart.upload", "", "team", "failed", 409, "app@1.0.0", "file already exists"},
		{"chart.upload", "", "team", "failed", 400, "", ""},
		{"chart.delete", "", "team", "ok", 200, "app@1.0.0", ""},
		{"chart.delete", "", "team", "failed", 404, "app@9.9.9", "no chart version found for app-9.9.9"},
		{"key.add", "", "team", "ok", 201, "keys", ""},
		{"key.delete", "", "team", "ok", 200, "keys", ""},
		{"oci.manifest.push", "", "team", "ok", 201, "team/img:v1", ""},
		{"oci.manifest.delete", "", "team", "ok", 202, "team/img:v1", ""},
		{"oci.blob.delete", "", "team", "ok", 202, "team/img:", ""},
	}
	got := auditLines(t, logs.String())
	// The bad archive's reason is the archive checker's; only its presence matters here.
	for i := range got {
		if got[i].Status == 400 && got[i].Error != "" {
			got[i].Error = ""
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit lines (-want +got):\n%s", diff)
	}
}

// A write refused for want of credentials is audited as denied.
func TestAuditDenied(t *testing.T) {
	ts, logs := jsonServer(t, func(c *Config) { c.BasicAuthUser, c.BasicAuthPass = "ci", "pw" })
	if r := ts.serve(t, "POST", "/api/charts", bytes.NewReader(charttest.Chart("a", "1.0.0", nil)), nil); r.status != 401 {
		t.Fatalf("anonymous upload: %d", r.status)
	}
	want := []auditLine{{"chart.upload", "", "", "denied", 401, "", "unauthorized"}}
	if diff := cmp.Diff(want, auditLines(t, logs.String())); diff != "" {
		t.Errorf("audit lines (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), "pw") {
		t.Errorf("the password reached the log:\n%s", logs)
	}
}

// Metric labels come from fixed sets: a made-up method is "other", and the
// latency histogram's route is a route name, never a path.
func TestMetricsLabelsBounded(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.EnableMetrics = true })
	ts.serve(t, "POST", "/api/charts", bytes.NewReader(charttest.Chart("a", "1.0.0", nil)), nil)
	ts.serve(t, "GET", "/index.yaml", nil, nil)
	for i := range 20 {
		ts.serve(t, fmt.Sprintf("BREW%d", i), fmt.Sprintf("/made/up/%d", i), nil, nil)
	}
	ts.serve(t, "GET", "/v2/a/manifests/1.0.0", nil, nil)
	body := string(ts.serve(t, "GET", "/metrics", nil, nil).body)
	for _, want := range []string{
		`chartd_http_requests_total{code="404",method="other"} 20`,
		`chartd_http_request_duration_seconds_count{method="other",route="other"} 20`,
		`chartd_http_request_duration_seconds_count{method="GET",route="index"} 1`,
		`chartd_http_request_duration_seconds_count{method="POST",route="api_charts"} 1`,
		`chartd_http_request_duration_seconds_count{method="GET",route="oci_manifest"} 1`,
		`chartd_index_cache_bytes `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "chartd_http_") && (strings.Contains(l, "BREW") || strings.Contains(l, "/")) {
			t.Errorf("unbounded label: %s", l)
		}
	}
}
