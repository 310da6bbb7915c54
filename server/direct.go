package server

import (
	"net/http"
	"strings"
)

// direct sends the reads that are most of a chart repository's traffic
// (index.yaml, index.json, chart downloads) straight to chart, and every
// other request to router. gorilla/mux tries its routes in order, each a
// regular expression, and the tenant matcher is the last of them; it also
// copies the request twice for its context values, which no ChartMuseum
// handler reads. A profile of the index.yaml 304 load had the router at 5%
// of the process's CPU, most of it routes that cannot match.
//
// Only a request the router would send to chart goes directly:
// TestDirectAgreesWithRouter checks that against every route registered.
func (s *Server) direct(router, chart http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.isDirect(r) {
			chart.ServeHTTP(w, r)
			return
		}
		router.ServeHTTP(w, r)
	})
}

// isDirect reports a GET or HEAD of an index or chart file, as observe
// parsed it. No route before the tenant matcher can claim such a path but
// the web UI's prefix and the registry's /v2/ (never parsed by observe):
// every other one is a single segment, or below /api/, which a ChartMuseum
// read never is.
func (s *Server) isDirect(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	ri := requestInfoFrom(r.Context())
	if ri == nil || ri.route == nil || ri.path != r.URL.Path {
		return false
	}
	switch ri.route.Kind {
	case KindIndex, KindIndexJSON, KindChartFile:
	default:
		return false
	}
	rel := strings.TrimPrefix(r.URL.Path, s.cfg.ContextPath)
	return !strings.HasPrefix(rel, "/ui/") && !strings.HasPrefix(r.URL.Path, "/v2/")
}
