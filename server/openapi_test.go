package server

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"
	"sigs.k8s.io/yaml"
)

type openAPIDoc struct {
	OpenAPI string                               `json:"openapi"`
	Paths   map[string]map[string]map[string]any `json:"paths"`
}

func loadOpenAPI(t *testing.T, b []byte) (openAPIDoc, map[string]any) {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// Every route under /api/v1 is documented, with its methods, and the
// document names no route the router lacks. The routes are read from the
// router itself (mux.Walk over the routes searchRoutes registers, which
// are all of /api/v1: the ChartMuseum matcher refuses v1 as a repository).
func TestOpenAPICoversRoutes(t *testing.T) {
	ts := newTestServer(t, nil)
	r := mux.NewRouter()
	ts.srv.searchRoutes(r)
	got := map[string][]string{}
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		p, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(p, apiV1+"/") {
			return nil
		}
		ms, _ := route.GetMethods()
		for _, m := range ms {
			if m != http.MethodHead { // HEAD is GET without a body, as HTTP has it
				got[p] = append(got[p], strings.ToLower(m))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 8 {
		t.Fatalf("only %d routes under %s found: %v", len(got), apiV1, got)
	}
	doc, _ := loadOpenAPI(t, openAPI)
	documented := map[string][]string{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[p] = append(documented[p], m)
		}
	}
	for _, m := range []map[string][]string{got, documented} {
		for _, v := range m {
			sort.Strings(v)
		}
	}
	if diff := cmp.Diff(documented, got); diff != "" {
		t.Errorf("routes (-openapi.yaml +router):\n%s", diff)
	}
}

// The document is OpenAPI 3, every $ref in it resolves, and the server
// serves it.
func TestOpenAPIDocument(t *testing.T) {
	doc, raw := loadOpenAPI(t, openAPI)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi: %q", doc.OpenAPI)
	}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(raw)
	if len(refs) == 0 {
		t.Fatal("no $ref found: the walk is broken")
	}
	for _, ref := range refs {
		var cur any = raw
		for _, seg := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := cur.(map[string]any)
			if !ok || m[seg] == nil {
				t.Errorf("$ref %s does not resolve", ref)
				break
			}
			cur = m[seg]
		}
	}
	ts := newTestServer(t, nil)
	res := ts.do(t, "GET", apiV1+"/openapi.yaml", nil, nil)
	if res.status != http.StatusOK || string(res.body) != string(openAPI) {
		t.Errorf("GET openapi.yaml: %d, %d bytes", res.status, len(res.body))
	}
}
