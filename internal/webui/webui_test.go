package webui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h, err := New("/ctx")
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	// Every page path answers the single page, with the context path in it.
	for _, p := range []string{"/ctx/ui/", "/ctx/ui/charts/a/app", "/ctx/ui/repos/a/b", "/ctx/ui/login"} {
		w := get("GET", p, nil)
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, `content="/ctx"`) || strings.Contains(body, contextMarker) ||
			!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: %d %v %.200s", p, w.Code, w.Header(), body)
		}
	}
	if w := get("GET", "/ctx/ui", nil); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/ctx/ui/" {
		t.Errorf("GET /ctx/ui: %d %v", w.Code, w.Header())
	}
	if w := get("POST", "/ctx/ui/", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	if w := get("GET", "/ctx/ui/assets/nothing.js", nil); w.Code != http.StatusNotFound {
		t.Errorf("a missing asset: %d", w.Code)
	}
	if w := get("HEAD", "/ctx/ui/", nil); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
	// The built UI's assets (none in the fallback) revalidate to a 304.
	if h.Built() != (len(h.assets) > 0) {
		t.Errorf("built %v with %d assets", h.Built(), len(h.assets))
	}
	for p, a := range h.assets {
		w := get("GET", "/ctx/ui"+p, nil)
		if w.Code != 200 || w.Header().Get("ETag") != a.etag || w.Body.Len() != len(a.body) || w.Header().Get("Content-Type") == "" {
			t.Errorf("GET %s: %d %v", p, w.Code, w.Header())
		}
		if w := get("GET", "/ctx/ui"+p, map[string]string{"If-None-Match": a.etag}); w.Code != http.StatusNotModified {
			t.Errorf("GET %s again: %d", p, w.Code)
		}
	}
}

// The context path cannot break out of the attribute it is written into.
func TestContextPathEscaped(t *testing.T) {
	h, err := New(`/a"><script>x</script>`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h.index), "<script>x") {
		t.Errorf("index: %s", h.index)
	}
}
