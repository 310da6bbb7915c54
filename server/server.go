// Package server is chartd's HTTP face: ChartMuseum's API over the
// content-addressed store, the OCI registry mounted at /v2/, auth, tenants,
// and the one place where errors become status codes.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage"
)

// Version is chartd's version, reported by /info and `chartd --version`.
// `make build` stamps it from git (-ldflags -X); a plain go build says dev.
var Version = "0.1.0-dev"

// Meta is what the server needs of the metadata database: the intake's
// part, and the reads and deletes of chart versions.
type Meta interface {
	intake.Meta
	ChartVersions(ctx context.Context, tenantID int64, name string) ([]storage.ChartVersion, error)
	DeleteChartVersion(ctx context.Context, tenantID int64, name, version string) error
}

// Blobs is what the server needs of the blob store.
type Blobs interface {
	storage.Fetcher
	storage.Pusher
	storage.Stater
}

// Server serves one chartd instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	blobs   Blobs
	meta    Meta
	auth    *authorizer
	tenancy Tenancy
	limits  chart.Limits
	index   *indexCache
	policy  *policy
	intake  *intake.Intake
	metrics *metrics
	gate    *writeGate
	handler http.Handler
	started time.Time

	// versions caches sorted version names for the browsing API.
	versions versionCache
	// validPaths remembers repository paths that passed the naming rule.
	validPaths pathMemo
}

// Options are the parts of a Server that are not configuration.
type Options struct {
	Blobs Blobs
	Meta  Meta
	Log   *slog.Logger
	// OCI, when set, is mounted at /v2/.
	OCI http.Handler
}

// New wires a Server over already opened stores.
func New(cfg Config, opt Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	a, err := newAuthorizer(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		log:     opt.Log,
		blobs:   opt.Blobs,
		meta:    opt.Meta,
		auth:    a,
		tenancy: Tenancy{Depth: cfg.Depth, Dynamic: cfg.DepthDynamic},
		limits:  chart.Limits{}, // Helm's caps: 100 MiB decompressed, 5 MiB a file
		started: time.Now(),
	}
	s.metrics = newMetrics()
	s.gate = newWriteGate()
	if bs, ok := opt.Blobs.(*storage.BlobStore); ok {
		opt.Blobs = meteredStore{BlobStore: bs, m: s.metrics.ops}
		s.blobs = opt.Blobs
	}
	s.index = newIndexCache(s)
	if s.policy, err = newPolicy(&cfg, opt.Log); err != nil {
		return nil, err
	}
	s.intake, err = intake.New(intake.Config{
		Blobs:  opt.Blobs,
		Meta:   opt.Meta,
		Policy: s.policy.Policy,
		Limits: intake.Limits{
			MaxArchiveSize: cfg.MaxUploadSize,
			MaxObjects:     cfg.MaxStorageObjects,
			NestedQuota:    !cfg.DepthDynamic,
			AllowOverwrite: cfg.AllowOverwrite,
			Archive:        s.limits,
		},
		Log: opt.Log,
	})
	if err != nil {
		return nil, err
	}
	s.handler = s.routes(opt.OCI)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// routes builds the router. gorilla/mux matches the fixed routes; the
// tenant-dependent ChartMuseum routes share one matcher that parses the path
// with the configured tenancy, because a tenant is several segments deep.
func (s *Server) routes(ociHandler http.Handler) http.Handler {
	chart := http.HandlerFunc(s.handleChartRoute)
	return s.observe(s.cors(s.gateWrites(s.direct(s.router(ociHandler, chart), chart))))
}

// chartRouteName names the tenant-dependent route in the router.
const chartRouteName = "chartmuseum"

// router is the gorilla/mux router of every route, in precedence order;
// chart serves the ChartMuseum routes.
func (s *Server) router(ociHandler, chart http.Handler) *mux.Router {
	root := mux.NewRouter()
	root.SkipClean(true) // we refuse dot segments ourselves; no silent redirects
	r := root
	if s.cfg.ContextPath != "" {
		r = root.PathPrefix(s.cfg.ContextPath).Subrouter()
	}
	r.Path("/health").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleHealth)
	r.Path("/ready").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleReady)
	r.Path("/info").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleInfo)
	if s.cfg.EnableMetrics && s.cfg.MetricsListen == "" {
		r.Path("/metrics").Methods(http.MethodGet).Handler(s.metrics.handler())
	}
	if s.auth.users != nil {
		root.Path("/v2/token").Methods(http.MethodGet).HandlerFunc(s.handleToken)
	}
	if ociHandler != nil {
		root.Path("/v2/").Methods(http.MethodGet, http.MethodHead).Handler(s.registryBase(ociHandler))
		// The registry's paths are defined by the distribution spec and do
		// not move under a context path.
		root.PathPrefix("/v2/").Handler(ociHandler)
		root.Path("/v2").Handler(ociHandler)
	}
	r.Path("/signing-key.asc").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleSigningKey)
	r.Path("/").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleWelcome)
	s.uiRoutes(r)
	if !s.cfg.DisableAPI {
		s.searchRoutes(r) // before the ChartMuseum routes; see searchapi.go
	}
	r.MatcherFunc(s.matchChartRoute).Handler(chart).Name(chartRouteName)
	root.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	})
	root.MethodNotAllowedHandler = root.NotFoundHandler
	return root
}

// chartRoute parses the request path with the configured tenancy, once
// per request: what observe parsed is reused by the router and the handler.
func (s *Server) chartRoute(r *http.Request) (Route, bool) {
	if ri := requestInfoFrom(r.Context()); ri != nil && ri.parsed && ri.path == r.URL.Path {
		if ri.route == nil {
			return Route{}, false
		}
		return *ri.route, true
	}
	p := strings.TrimPrefix(r.URL.Path, s.cfg.ContextPath)
	rt, err := s.tenancy.Parse(p)
	if err != nil || (s.cfg.DisableAPI && rt.Kind >= KindAPICharts) {
		return Route{}, false
	}
	return rt, true
}

func (s *Server) matchChartRoute(r *http.Request, _ *mux.RouteMatch) bool {
	_, ok := s.chartRoute(r)
	return ok
}

// handleChartRoute dispatches a ChartMuseum route by kind and method. The
// path is parsed again rather than smuggled through the matcher: parsing is
// cheap and keeps the matcher free of side effects.
func (s *Server) handleChartRoute(w http.ResponseWriter, r *http.Request) {
	rt, _ := s.chartRoute(r)
	// The naming rule comes first: a path no chart can have is refused the
	// same way for everyone, before credentials are looked at.
	if err := s.checkPath(rt.Repo); err != nil {
		s.writeError(w, r, err)
		return
	}
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	need := actionPull
	switch {
	case (rt.Kind == KindAPIKeys || rt.Kind == KindAPIKey) && !get:
		// Trusting a key decides what signaturePolicy accepts, so it is
		// the tenant admin's call, not every pusher's.
		need = actionAdmin
	case !get:
		need = actionPush
	}
	if err := s.auth.check(r, tenantResource(rt.Tenant), need); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case (rt.Kind == KindIndex || rt.Kind == KindIndexJSON) && get && rt.Repo != rt.Tenant && !s.pathExists(r, rt.Repo):
		// A tenant always has an index, empty or not; a path below it has
		// one once something was pushed there, so a mistyped repository URL
		// is not an empty repository.
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no chart repository at /" + rt.Repo})
	case (rt.Kind == KindIndex || rt.Kind == KindIndexJSON) && get:
		s.handleIndex(w, r, rt)
	case rt.Kind == KindChartFile && get:
		s.handleChartFile(w, r, rt)
	case rt.Kind == KindAPICharts && get:
		s.handleListCharts(w, r, rt)
	case rt.Kind == KindAPICharts && r.Method == http.MethodPost:
		s.handleUpload(w, r, rt)
	case rt.Kind == KindAPIProv && r.Method == http.MethodPost:
		s.handleProvUpload(w, r, rt)
	case rt.Kind == KindAPIChart && get:
		s.handleDescribeChart(w, r, rt)
	case rt.Kind == KindAPIVersion && get:
		s.handleDescribeVersion(w, r, rt)
	case rt.Kind == KindAPIVersion && r.Method == http.MethodDelete && !s.cfg.DisableDelete:
		s.handleDelete(w, r, rt)
	case rt.Kind == KindAPITemplates && get:
		s.handleTemplates(w, r, rt)
	case rt.Kind == KindAPIValues && get:
		s.handleValues(w, r, rt)
	case rt.Kind == KindAPIKeys || rt.Kind == KindAPIKey:
		s.handleKeys(w, r, rt)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}

// pathExists reports whether anything was ever stored under the repository
// path (a database read failure counts as existing: the index handler then
// answers with the failure).
func (s *Server) pathExists(r *http.Request, path string) bool {
	_, err := s.meta.Tenant(r.Context(), path)
	return !errors.Is(err, storage.ErrNotFound)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"healthy": true})
}

func (s *Server) handleInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": "chartd-" + Version})
}

// registryBase guards GET /v2/, where registry clients check credentials
// on login: with auth configured, missing or wrong credentials get 401 and
// the challenge, valid ones of any scope pass to the registry.
func (s *Server) registryBase(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.auth.authenticated(r); err != nil {
			var limited *rateLimitError
			if errors.As(err, &limited) {
				w.Header().Set("Retry-After", limited.retryAfterHeader())
				writeTokenError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", limited.Error())
				return
			}
			s.auth.challengeRegistry(w, r)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleSigningKey publishes the public half of the server's signing key at
// a stable URL, so clients can fetch it once into their keyring.
func (s *Server) handleSigningKey(w http.ResponseWriter, _ *http.Request) {
	if s.policy.pubKey == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "this server does not sign charts"})
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	_, _ = w.Write(s.policy.pubKey)
}

func (s *Server) handleWelcome(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, welcomePage)
}

const welcomePage = `<!DOCTYPE html>
<html>
<head><title>Welcome to chartd!</title></head>
<body>
<h1>Welcome to chartd!</h1>
<p>If you see this page, the chartd web server is successfully installed and working.</p>
<p>chartd serves Helm chart repositories two ways: a ChartMuseum-compatible <code>index.yaml</code> API and an OCI registry at <code>/v2/</code>.</p>
<pre>helm repo add chartd http://&lt;this host&gt;/
helm push mychart-0.1.0.tgz oci://&lt;this host&gt;/</pre>
</body>
</html>
`

func (s *Server) cors(next http.Handler) http.Handler {
	if s.cfg.CORSAllowOrigin == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", s.cfg.CORSAllowOrigin)
		next.ServeHTTP(w, r)
	})
}
