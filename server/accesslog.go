package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/oci"
)

// NewLogger is the process logger the configuration asks for, with
// ChartMuseum's switches: text unless --log-json, info level unless --debug.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if c.Debug {
		opts.Level = slog.LevelDebug
	}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Route labels: the fixed set the access log and the latency histogram use
// for the route, never the raw path.
const (
	routeIndex      = "index"
	routeChartFile  = "chart_file"
	routeAPICharts  = "api_charts"
	routeAPIVersion = "api_version"
	routeAPIProv    = "api_prov"
	routeAPIKeys    = "api_keys"
	routeToken      = "token"
	routeHealth     = "health"
	routeReady      = "ready"
	routeInfo       = "info"
	routeMetrics    = "metrics"
	routeWelcome    = "welcome"
	routeSigningKey = "signing_key"
	routeOther      = "other"
	// The registry's routes are "oci_" and oci.RouteInfo's Kind.
	ociRoutePrefix = "oci_"
)

// reqRoute is what a request addressed, as the access log, the metrics and
// the audit lines need it.
type reqRoute struct {
	label  string
	tenant string
	chart  *Route        // a ChartMuseum route
	oci    oci.RouteInfo // a registry route
	// parsed: the path was parsed as a ChartMuseum route (chart nil:
	// it is none).
	parsed bool
}

// describe classifies r by path, as the router will; a ChartMuseum route
// is parsed into rt.
func (s *Server) describe(r *http.Request, rt *Route) reqRoute {
	p := r.URL.Path
	if p == "/v2/token" && s.auth.users != nil {
		return reqRoute{label: routeToken}
	}
	if p == "/v2" || strings.HasPrefix(p, "/v2/") {
		oi := oci.Describe(p)
		if oi.Kind == "" {
			return reqRoute{label: routeOther}
		}
		d := reqRoute{label: ociRoutePrefix + oi.Kind, oci: oi}
		if oi.Name != "" {
			d.tenant, _, _ = s.resolveOCI(oi.Name)
		}
		return d
	}
	rel, ok := strings.CutPrefix(p, s.cfg.ContextPath)
	if !ok {
		return reqRoute{label: routeOther}
	}
	switch rel {
	case "/health":
		return reqRoute{label: routeHealth}
	case "/ready":
		return reqRoute{label: routeReady}
	case "/info":
		return reqRoute{label: routeInfo}
	case "/metrics":
		return reqRoute{label: routeMetrics}
	case "/":
		return reqRoute{label: routeWelcome}
	case "/signing-key.asc":
		return reqRoute{label: routeSigningKey}
	}
	if *rt, ok = s.chartRoute(r); !ok {
		return reqRoute{label: routeOther, parsed: true}
	}
	d := reqRoute{tenant: rt.Repo, chart: rt, parsed: true}
	switch rt.Kind {
	case KindIndex, KindIndexJSON:
		d.label = routeIndex
	case KindChartFile:
		d.label = routeChartFile
	case KindAPICharts, KindAPIChart:
		d.label = routeAPICharts
	case KindAPIVersion, KindAPITemplates, KindAPIValues:
		d.label = routeAPIVersion
	case KindAPIProv:
		d.label = routeAPIProv
	case KindAPIKeys, KindAPIKey:
		d.label = routeAPIKeys
	default:
		d.label = routeOther
	}
	return d
}

// observe wraps every request: it marks a body cut short as the client's
// fault (see reqbody), gives the authorizer a holder for the caller, and
// once the handler is done records the metrics, the access line and, for a
// write, the audit line.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, st := withRequestState(r.Context())
		ri := &st.info
		ctx, note := withAuditNote(ctx)
		r = r.WithContext(ctx)
		if r.Body != nil && r.Body != http.NoBody { // NoBody ends at once: nothing to mark
			r.Body = reqbody.Body(r.Body)
		}
		if s.log.Enabled(ctx, slog.LevelDebug) && (s.cfg.LogHealth || !s.isHealth(r)) {
			s.log.LogAttrs(ctx, slog.LevelDebug, "incoming request",
				slog.String("method", methodLabel(r.Method)), slog.String("path", r.URL.Path))
		}
		// Classified before: afterwards only the cheap bookkeeping remains
		// between the answer reaching the client and the request counted.
		d := s.describe(r, &st.route)
		ri.setRoute(r.URL.Path, d)
		sw := &st.sw
		sw.ResponseWriter = w
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		status := sw.status()
		s.metrics.observe(r.Method, d.label, status, took)
		user, tenant := ri.get()
		if tenant == "" {
			tenant = d.tenant
		}
		s.accessLine(ctx, r, d, sw, user, took)
		if action := d.auditAction(r.Method); action != "" {
			s.audit(ctx, action, d, note, auditResult{user: user, tenant: tenant, status: status,
				errBody: sw.errBody, digest: sw.Header().Get("Docker-Content-Digest")})
		}
	})
}

// isHealth reports a request for /health, which ChartMuseum logs only
// with --log-health (or when it fails).
func (s *Server) isHealth(r *http.Request) bool {
	return r.URL.Path == s.cfg.ContextPath+"/health" || r.URL.Path == s.cfg.ContextPath+"/ready"
}

// accessLine writes one request's access log line. It never carries
// credentials: no headers are logged, and of the query only parameters
// known to hold none.
func (s *Server) accessLine(ctx context.Context, r *http.Request, d reqRoute, sw *statusWriter, user string, took time.Duration) {
	status := sw.status()
	// Probes poll these every few seconds: only their failures are news.
	if (d.label == routeHealth || d.label == routeReady) && status == http.StatusOK && !s.cfg.LogHealth {
		return
	}
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", methodLabel(r.Method)),
		slog.String("route", d.label),
		slog.String("path", r.URL.Path))
	if r.URL.RawQuery != "" {
		if q := safeQuery(r.URL.Query()); q != "" {
			attrs = append(attrs, slog.String("query", q))
		}
	}
	attrs = append(attrs,
		slog.Int("status", status),
		slog.Int64("bytes", sw.bytes),
		slog.String("remote", r.RemoteAddr))
	if user != "" {
		attrs = append(attrs, slog.String("user", user))
	}
	switch {
	case !s.cfg.LogLatency:
	case s.cfg.LogLatencyInteger:
		attrs = append(attrs, slog.Int64("latency", int64(took)))
	default:
		attrs = append(attrs, slog.String("latency", took.String()))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "request served", attrs...)
}

// safeQuery keeps the query parameters of chartd's routes that never hold
// a secret; every other parameter is left out of the access log.
func safeQuery(q url.Values) string {
	keep := url.Values{}
	for k, v := range q {
		switch k {
		case "digest", "mount", "from", "tag", "n", "last", "artifactType", "force", "offset", "limit", "scope", "service":
			keep[k] = v
		}
	}
	return keep.Encode()
}
