// Package oci is chartd's OCI distribution-spec v1.1 registry: the /v2/ API
// over the same content-addressed store the ChartMuseum API uses.
//
// Blobs are stored once, under their digest, and are visible to a repository
// only through a link row; every lookup a client can trigger goes through
// the repository's links, so a blob's existence elsewhere is never revealed.
// A manifest whose config media type is Helm's is a chart: its push goes
// through the intake, which writes the chart version (the index face) in
// the same transaction as the manifest.
//
// A repository's name is its tenant's path (the first --depth segments),
// any path below it, and a last component: the repository, which for a
// chart is its name. The metadata keeps repositories per path, the same
// path the ChartMuseum API serves that chart's index.yaml under.
package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	// go-digest finds algorithms through crypto.Hash.Available.
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/storage"
)

// Defaults for zero Config fields.
const (
	DefaultUploadTTL       = 24 * time.Hour
	DefaultMaxManifestSize = 4 << 20 // the spec asks registries to take at least 4 MB
)

// PartStore holds the parts of resumable uploads.
type PartStore interface {
	// PutPart stores a chunk of an upload under a part ID of its own, which
	// it returns with the bytes written. The part counts only once the
	// session lists it.
	PutPart(ctx context.Context, uploadID string, r io.Reader) (part string, n int64, err error)
	// DeletePart removes a part the session did not accept.
	DeletePart(ctx context.Context, uploadID, part string) error
	// ComposeParts commits the parts, in order, as one blob that must hash to expected.
	ComposeParts(ctx context.Context, uploadID string, parts []string, expected digest.Digest) (storage.Descriptor, error)
	// DeleteParts removes every part of the upload, accepted or not.
	DeleteParts(ctx context.Context, uploadID string) error
}

// BlobStore is what the registry needs of the blob store. *storage.BlobStore
// satisfies it; a store that is also a storage.RangeFetcher serves ranges
// without reading what precedes them.
type BlobStore interface {
	storage.Fetcher
	storage.Pusher
	PartStore
}

var _ BlobStore = (*storage.BlobStore)(nil)

// Meta is the metadata the registry reads and writes.
type Meta interface {
	storage.Tenants
	storage.Repositories
	storage.BlobLinks
	storage.Manifests
	storage.Uploads
}

// Config configures a Registry.
type Config struct {
	Blobs BlobStore
	Meta  Meta
	// Resolve maps a repository name to (tenant path, the rest of the name);
	// the server derives it from --depth. The rest is a repository, or a
	// path below the tenant and then a repository.
	Resolve func(name string) (tenantPath, repo string, err error)
	// Authorize decides one access question; nil allows it. Any error
	// denies it: the registry answers 401 UNAUTHORIZED with Challenge's
	// header, or 429 TOOMANYREQUESTS when the error has a RetryAfter()
	// time.Duration method (a caller being rate-limited). Authorize must not
	// touch storage, so a denied caller learns nothing about what exists.
	Authorize func(r *http.Request, a Access) error
	// Challenge writes the WWW-Authenticate header for a denied request (the
	// registry then answers 401 UNAUTHORIZED).
	Challenge func(w http.ResponseWriter, r *http.Request, need ...Access)
	// Charts commits chart manifests (those whose config media type is
	// Helm's): the same intake the ChartMuseum API uses applies its rules
	// and writes both faces.
	Charts ChartIntake
	Log    *slog.Logger
	// UploadTTL is how long an idle upload session lives (0: DefaultUploadTTL).
	UploadTTL time.Duration
	// MaxManifestSize bounds a manifest push (0: DefaultMaxManifestSize).
	MaxManifestSize int64
	// DisableDelete makes DELETE of manifests, tags and blobs 405
	// UNSUPPORTED, the spec's answer of a registry without deletion (an
	// upload session can still be cancelled).
	DisableDelete bool
}

// ChartIntake turns a pushed chart manifest into a chart version;
// *intake.Intake is one.
type ChartIntake interface {
	// PushManifest applies every rule and commits both faces, returning
	// the version's tag.
	PushManifest(ctx context.Context, p intake.Push) (string, error)
}

// Actions passed to Config.Authorize.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	// ActionCatalog asks whether the caller may call /v2/_catalog at all
	// (Repository and Tenant are empty); the Docker token scope
	// registry:catalog:*.
	ActionCatalog = "catalog"
	// ActionList asks whether the catalog may show the caller the
	// repositories of Tenant (Repository is empty).
	ActionList = "list"
)

// Access is one question put to Config.Authorize: may the request do Action
// on Repository, which belongs to Tenant? Authorization is per repository,
// so a token scoped to one repository opens no other in its tenant.
type Access struct {
	Repository string // full repository name; "" for ActionCatalog and ActionList
	Tenant     string // the repository's tenant path
	Action     string
}

// Registry is the /v2/ API. It is an http.Handler for paths beginning
// with /v2/ (the server mounts it there without stripping the prefix).
type Registry struct {
	cfg    Config
	log    *slog.Logger
	router *mux.Router
	now    func() time.Time
}

// New checks cfg and returns the registry.
func New(cfg Config) (*Registry, error) {
	switch {
	case cfg.Blobs == nil:
		return nil, errors.New("oci: Config.Blobs is required")
	case cfg.Meta == nil:
		return nil, errors.New("oci: Config.Meta is required")
	case cfg.Resolve == nil:
		return nil, errors.New("oci: Config.Resolve is required")
	case cfg.Authorize == nil:
		return nil, errors.New("oci: Config.Authorize is required")
	case cfg.Charts == nil:
		return nil, errors.New("oci: Config.Charts is required")
	}
	if cfg.UploadTTL < 0 || cfg.MaxManifestSize < 0 {
		return nil, errors.New("oci: UploadTTL and MaxManifestSize must not be negative")
	}
	if cfg.UploadTTL == 0 {
		cfg.UploadTTL = DefaultUploadTTL
	}
	if cfg.MaxManifestSize == 0 {
		cfg.MaxManifestSize = DefaultMaxManifestSize
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Challenge == nil {
		cfg.Challenge = func(http.ResponseWriter, *http.Request, ...Access) {}
	}
	g := &Registry{cfg: cfg, log: cfg.Log, now: time.Now}
	g.router = g.routes()
	return g, nil
}

type routeCtxKey struct{}

// routeOf returns the route ServeHTTP parsed.
func routeOf(r *http.Request) route {
	rt, _ := r.Context().Value(routeCtxKey{}).(route)
	return rt
}

// routes wires methods to handlers. The path has already been parsed once
// by ServeHTTP (names contain slashes, so mux's path templates cannot
// express them); mux dispatches on the parsed kind and the method, and
// answers a known path with a wrong method with 405.
func (g *Registry) routes() *mux.Router {
	m := mux.NewRouter()
	m.SkipClean(true) // never redirect: a registry client does not follow 301 on PUT
	on := func(kind routeKind, h http.HandlerFunc, methods ...string) {
		m.MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool {
			return routeOf(r).kind == kind
		}).Methods(methods...).HandlerFunc(h)
	}
	on(routeBase, g.base, http.MethodGet, http.MethodHead)
	on(routeCatalog, g.catalog, http.MethodGet)
	on(routeManifest, g.getManifest, http.MethodGet, http.MethodHead)
	on(routeManifest, g.putManifest, http.MethodPut)
	deleteManifest, deleteBlob := g.deleteManifest, g.deleteBlob
	if g.cfg.DisableDelete {
		deleteManifest, deleteBlob = g.unsupported, g.unsupported
	}
	on(routeManifest, deleteManifest, http.MethodDelete)
	on(routeBlob, g.getBlob, http.MethodGet, http.MethodHead)
	on(routeBlob, deleteBlob, http.MethodDelete)
	on(routeUploads, g.startUpload, http.MethodPost)
	on(routeUpload, g.uploadStatus, http.MethodGet)
	on(routeUpload, g.patchUpload, http.MethodPatch)
	on(routeUpload, g.finishUpload, http.MethodPut)
	on(routeUpload, g.cancelUpload, http.MethodDelete)
	on(routeTags, g.tags, http.MethodGet)
	on(routeReferrers, g.referrers, http.MethodGet)
	m.MethodNotAllowedHandler = http.HandlerFunc(g.unsupported)
	m.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, g.log, errNoRoute)
	})
	return m
}

// unsupported answers a method the route does not offer: 405 UNSUPPORTED.
func (g *Registry) unsupported(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, g.log, fmt.Errorf("%w: %s %s", errUnsupported, r.Method, routeOf(r).kind))
}

// ServeHTTP implements http.Handler.
func (g *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	// A body cut short is the client's fault, whichever handler reads it.
	r.Body = reqbody.Body(r.Body)
	rt, err := parseRoute(r.URL.Path)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	g.router.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeCtxKey{}, rt)))
}

// base answers the version check. Authentication for `docker login` style
// pings is the server's business: it sees /v2/ before the registry does.
func (g *Registry) base(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, "{}")
	}
}

// target is a resolved, authorized repository.
type target struct {
	name       string // full repository name
	tenantPath string // the tenant (the first --depth segments): what is authorized
	// path is the repository path the repository lives under: name without
	// its last component. It is the tenant's path or one below it, and is
	// the same path the ChartMuseum API lists the repository's charts
	// under, so a chart pushed to org/team/mychart is in
	// /org/team/index.yaml.
	path     string
	repoName string // the last component: the repository within path (a chart's name)
	tenant   storage.Tenant
	repo     storage.Repository
}

// intakeTarget is where a chart pushed to t goes.
func (t target) intakeTarget() intake.Target {
	return intake.Target{Tenant: t.tenantPath, Path: t.path}
}

// locate maps name to its tenant, path and repository name, and applies
// the naming rule to the path (the grammar itself was checked by the
// route). It touches no storage.
func (g *Registry) locate(name string) (target, error) {
	tp, rest, err := g.cfg.Resolve(name)
	if err != nil {
		return target{}, err
	}
	t := target{name: name, tenantPath: tp, path: tp, repoName: rest}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		t.repoName = rest[i+1:]
		if t.path != "" {
			t.path += "/"
		}
		t.path += rest[:i]
	}
	if err := intake.CheckPath(t.path); err != nil {
		return target{}, err
	}
	return t, nil
}

// resolve maps name to its tenant and checks that the request may do action
// there, writing the challenge when it may not. It touches no storage, so a
// denied caller learns nothing about what exists.
func (g *Registry) resolve(w http.ResponseWriter, r *http.Request, name, action string) (target, error) {
	t, err := g.locate(name)
	if err != nil {
		// A name the naming rule refuses can hold nothing: a read finds
		// nothing there (so a client's HEAD, which carries no reason,
		// does not stop it from reaching the write that says why).
		if errors.Is(err, storage.ErrNotFound) || (action == ActionPull && errors.Is(err, intake.ErrInvalidName)) {
			return target{}, fmt.Errorf("%w: %w", errNameUnknown, err)
		}
		return target{}, fmt.Errorf("%w: %q: %w", errNameInvalid, name, err)
	}
	if err := g.authorize(w, r, Access{Repository: name, Tenant: t.tenantPath, Action: action}); err != nil {
		return target{}, err
	}
	return t, nil
}

// authorize asks Config.Authorize and turns a refusal into the error the
// client sees, writing the challenge for a 401.
func (g *Registry) authorize(w http.ResponseWriter, r *http.Request, a Access) error {
	err := g.cfg.Authorize(r, a)
	if err == nil {
		return nil
	}
	var limited interface{ RetryAfter() time.Duration }
	if errors.As(err, &limited) {
		secs := int(limited.RetryAfter().Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		return fmt.Errorf("%w: %w", errTooManyRequests, err)
	}
	g.cfg.Challenge(w, r, a)
	return errUnauthorized
}

// open resolves and authorizes name, then finds its repository; with create
// the tenant and repository are created when missing (a push).
func (g *Registry) open(ctx context.Context, w http.ResponseWriter, r *http.Request, name, action string, create bool) (target, error) {
	t, err := g.resolve(w, r, name, action)
	if err != nil {
		return t, err
	}
	if create {
		t.tenant, err = g.cfg.Meta.EnsureTenant(ctx, t.path)
	} else {
		t.tenant, err = g.cfg.Meta.Tenant(ctx, t.path)
	}
	if err != nil {
		return t, notFound(err, errNameUnknown)
	}
	t.repo, err = g.cfg.Meta.Repository(ctx, t.tenant.ID, t.repoName, create)
	if err != nil {
		return t, notFound(err, errNameUnknown)
	}
	return t, nil
}
