package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// compare says how two responses to the same request must agree.
type compare int

const (
	sameBodyBytes compare = iota // byte-identical bodies
	sameJSON                     // equal JSON after dropping timestamps and chartd's additions
	sameIndex                    // equal index documents after dropping timestamps
	sameStatus                   // status only (bodies differ in wording)
)

type step struct {
	name   string
	method string
	path   string
	body   func() (io.Reader, string) // body and content type
	cmp    compare
	// differs documents a deliberate difference: the statuses each server
	// must give. Zero means both must give the same status.
	cmStatus, chartdStatus int
}

func raw(b []byte) func() (io.Reader, string) {
	return func() (io.Reader, string) { return bytes.NewReader(b), "application/octet-stream" }
}

func form(field string, b []byte) func() (io.Reader, string) {
	return func() (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile(field, "x.tgz")
		_, _ = w.Write(b)
		_ = mw.Close()
		return &buf, mw.FormDataContentType()
	}
}

// TestDifferentialChartMuseum sends one request script to real ChartMuseum
// v0.16.3 and to chartd and requires the same codes and bodies, except for
// the deliberate differences each step documents.
func TestDifferentialChartMuseum(t *testing.T) {
	alpha := charttest.Chart("alpha", "1.0.0", nil)
	alpha2 := charttest.Chart("alpha", "1.1.0", map[string]string{"README.md": "# alpha\n"})
	beta := charttest.Chart("beta", "0.1.0", nil)
	script := []step{
		{name: "health", method: "GET", path: "/health", cmp: sameBodyBytes},
		{name: "empty index", method: "GET", path: "/index.yaml", cmp: sameIndex},
		{name: "upload raw", method: "POST", path: "/api/charts", body: raw(alpha), cmp: sameBodyBytes},
		{name: "upload raw again", method: "POST", path: "/api/charts", body: raw(alpha), cmp: sameBodyBytes},
		{name: "upload second version", method: "POST", path: "/api/charts", body: raw(alpha2), cmp: sameBodyBytes},
		{name: "upload multipart", method: "POST", path: "/api/charts", body: form("chart", beta), cmp: sameBodyBytes},
		{name: "upload multipart again", method: "POST", path: "/api/charts", body: form("chart", beta), cmp: sameBodyBytes},
		{name: "wrong form field", method: "POST", path: "/api/charts", body: form("package", beta), cmp: sameBodyBytes},
		{name: "not a chart", method: "POST", path: "/api/charts", body: raw([]byte("not a tarball")), cmp: sameStatus},
		// ChartMuseum lets ?force overwrite by default; chartd keeps
		// versions immutable unless --allow-force-overwrite.
		{name: "force overwrite", method: "POST", path: "/api/charts?force", body: raw(alpha), cmp: sameStatus, cmStatus: 201, chartdStatus: 409},
		{name: "list", method: "GET", path: "/api/charts", cmp: sameJSON},
		{name: "list paged", method: "GET", path: "/api/charts?offset=1&limit=1", cmp: sameJSON},
		{name: "bad offset", method: "GET", path: "/api/charts?offset=x", cmp: sameBodyBytes},
		{name: "bad limit", method: "GET", path: "/api/charts?limit=0", cmp: sameBodyBytes},
		{name: "describe chart", method: "GET", path: "/api/charts/alpha", cmp: sameJSON},
		{name: "describe version", method: "GET", path: "/api/charts/alpha/1.0.0", cmp: sameJSON},
		{name: "describe latest", method: "GET", path: "/api/charts/alpha/latest", cmp: sameJSON},
		{name: "missing version", method: "GET", path: "/api/charts/alpha/9.9.9", cmp: sameBodyBytes},
		{name: "missing chart", method: "GET", path: "/api/charts/nope", cmp: sameBodyBytes},
		{name: "head chart", method: "HEAD", path: "/api/charts/alpha", cmp: sameStatus},
		{name: "download", method: "GET", path: "/charts/alpha-1.0.0.tgz", cmp: sameBodyBytes},
		{name: "download missing", method: "GET", path: "/charts/nope-1.0.0.tgz", cmp: sameBodyBytes},
		{name: "index", method: "GET", path: "/index.yaml", cmp: sameIndex},
		{name: "head index", method: "HEAD", path: "/index.yaml", cmp: sameStatus},
		{name: "delete", method: "DELETE", path: "/api/charts/alpha/1.0.0", cmp: sameBodyBytes},
		{name: "delete again", method: "DELETE", path: "/api/charts/alpha/1.0.0", cmp: sameStatus},
		{name: "index after delete", method: "GET", path: "/index.yaml", cmp: sameIndex},
		{name: "unknown route", method: "GET", path: "/nothing/here", cmp: sameStatus},
	}
	cm := startChartMuseum(t, t.TempDir())
	cd := startChartd(t, t.TempDir())
	for _, st := range script {
		t.Run(st.name, func(t *testing.T) {
			a := send(t, cm.URL, st)
			b := send(t, cd.URL, st)
			if st.cmStatus != 0 {
				if a.status != st.cmStatus || b.status != st.chartdStatus {
					t.Fatalf("deliberate difference: ChartMuseum %d (want %d), chartd %d (want %d)\nchartd body: %s",
						a.status, st.cmStatus, b.status, st.chartdStatus, b.body)
				}
				return
			}
			if a.status != b.status {
				t.Fatalf("status: ChartMuseum %d, chartd %d\nChartMuseum: %s\nchartd: %s", a.status, b.status, a.body, b.body)
			}
			switch st.cmp {
			case sameBodyBytes:
				if !bytes.Equal(bytes.TrimSpace(a.body), bytes.TrimSpace(b.body)) {
					t.Errorf("body:\nChartMuseum: %q\nchartd:      %q", a.body, b.body)
				}
			case sameJSON:
				if diff := cmp.Diff(normJSON(t, a.body), normJSON(t, b.body)); diff != "" {
					t.Errorf("JSON differs (-ChartMuseum +chartd):\n%s", diff)
				}
			case sameIndex:
				if diff := cmp.Diff(normYAML(t, a.body), normYAML(t, b.body)); diff != "" {
					t.Errorf("index differs (-ChartMuseum +chartd):\n%s", diff)
				}
			}
		})
	}
}

type answer struct {
	status int
	body   []byte
}

func send(t *testing.T, base string, st step) answer {
	t.Helper()
	var body io.Reader
	hdr := map[string]string{}
	if st.body != nil {
		var ct string
		body, ct = st.body()
		hdr["Content-Type"] = ct
	}
	code, b := httpDo(t, st.method, base+st.path, body, hdr)
	return answer{code, b}
}

// strip removes what legitimately differs between two servers: timestamps,
// and chartd's provenance report, which ChartMuseum does not have.
func strip(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range []string{"created", "generated", "provenance"} {
			delete(x, k)
		}
		for k, e := range x {
			x[k] = strip(e)
		}
	case []any:
		for i, e := range x {
			x[i] = strip(e)
		}
	}
	return v
}

func normJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return strip(v)
}

func normYAML(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("not YAML: %v: %s", err, b)
	}
	v = strip(v)
	if m, ok := v.(map[string]any); ok {
		// serverInfo is {} in ChartMuseum without a context path; chartd
		// omits the empty map. Both mean the same to Helm.
		if si, ok := m["serverInfo"].(map[string]any); ok && len(si) == 0 {
			delete(m, "serverInfo")
		}
		if e, ok := m["entries"].(map[string]any); ok && len(e) == 0 {
			delete(m, "entries")
		}
	}
	_ = strings.TrimSpace
	return v
}
