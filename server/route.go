package server

import (
	"errors"
	"strings"
)

// Kind is what a ChartMuseum-style request path addresses.
type Kind int

// The ChartMuseum routes below the tenant path.
const (
	KindUnknown      Kind = iota
	KindIndex             // /<repo>/index.yaml
	KindIndexJSON         // /<repo>/index.json (chartd addition)
	KindChartFile         // /<repo>/charts/<file>
	KindAPICharts         // /api/<repo>/charts
	KindAPIChart          // /api/<repo>/charts/<name>
	KindAPIVersion        // /api/<repo>/charts/<name>/<version>
	KindAPITemplates      // /api/<repo>/charts/<name>/<version>/templates
	KindAPIValues         // /api/<repo>/charts/<name>/<version>/values
	KindAPIProv           // /api/<repo>/prov
	KindAPIKeys           // /api/<repo>/keys (chartd addition: trusted keys)
	KindAPIKey            // /api/<repo>/keys/<fingerprint>
)

// Route is a parsed ChartMuseum request path.
type Route struct {
	Kind Kind
	// Tenant is the tenant's path, "" at depth 0: who may do what, and the
	// signature policy, keys and quota, are the tenant's.
	Tenant string
	// Repo is the repository path: the tenant's, or a path below it (a
	// chart pushed over OCI to oci://host/org at --depth=0 is listed in
	// /org/index.yaml). Charts are stored and listed per repository path.
	Repo    string
	Name    string // chart name (KindAPIChart and deeper)
	Version string // chart version (KindAPIVersion and deeper)
	File    string // file name (KindChartFile) or key fingerprint (KindAPIKey)
}

// ErrNoRoute means the path is not a ChartMuseum route under the configured tenancy.
var ErrNoRoute = errors.New("no such route")

// Tenancy says how many leading path segments name a tenant.
type Tenancy struct {
	Depth   int
	Dynamic bool
}

// Parse splits a path (context path already stripped) into a Route. With a
// fixed depth, the tenant is exactly Depth segments, and any segments
// between it and the route's own keywords are a repository path below the
// tenant, the shortest that yields a valid route (so every route of the
// tenant itself keeps its meaning); with dynamic depth the tenant is
// whatever precedes the keywords, the shortest that yields a valid route
// (as ChartMuseum's dynamic matcher does). Keys belong to a tenant, never
// to a path below it.
func (t Tenancy) Parse(path string) (Route, error) {
	if !strings.HasPrefix(path, "/") {
		return Route{}, ErrNoRoute
	}
	segs := strings.Split(path[1:], "/")
	for _, s := range segs {
		// Empty segments ("//") and dot segments are never valid tenant or chart
		// names; refusing them here keeps them out of storage keys entirely.
		if s == "" || s == "." || s == ".." {
			return Route{}, ErrNoRoute
		}
	}
	api := len(segs) > 0 && segs[0] == "api"
	if api {
		segs = segs[1:]
	}
	try := func(depth int) (Route, bool) {
		if depth > len(segs) {
			return Route{}, false
		}
		r, ok := parseTail(segs[depth:], api)
		if !ok {
			return Route{}, false
		}
		r.Repo = strings.Join(segs[:depth], "/")
		r.Tenant = r.Repo
		if !t.Dynamic {
			r.Tenant = strings.Join(segs[:t.Depth], "/")
			if depth > t.Depth && (r.Kind == KindAPIKeys || r.Kind == KindAPIKey) {
				return Route{}, false
			}
		}
		return r, true
	}
	first := 0
	if !t.Dynamic {
		first = t.Depth
	}
	for d := first; d <= len(segs); d++ {
		if r, ok := try(d); ok {
			return r, nil
		}
	}
	return Route{}, ErrNoRoute
}

// parseTail parses what follows the tenant path.
func parseTail(s []string, api bool) (Route, bool) {
	if !api {
		switch {
		case len(s) == 1 && s[0] == "index.yaml":
			return Route{Kind: KindIndex}, true
		case len(s) == 1 && s[0] == "index.json":
			return Route{Kind: KindIndexJSON}, true
		case len(s) == 2 && s[0] == "charts":
			return Route{Kind: KindChartFile, File: s[1]}, true
		}
		return Route{}, false
	}
	if len(s) == 0 {
		return Route{}, false
	}
	switch s[0] {
	case "prov":
		if len(s) == 1 {
			return Route{Kind: KindAPIProv}, true
		}
	case "keys":
		switch len(s) {
		case 1:
			return Route{Kind: KindAPIKeys}, true
		case 2:
			return Route{Kind: KindAPIKey, File: s[1]}, true
		}
	case "charts":
		switch len(s) {
		case 1:
			return Route{Kind: KindAPICharts}, true
		case 2:
			return Route{Kind: KindAPIChart, Name: s[1]}, true
		case 3:
			return Route{Kind: KindAPIVersion, Name: s[1], Version: s[2]}, true
		case 4:
			switch s[3] {
			case "templates":
				return Route{Kind: KindAPITemplates, Name: s[1], Version: s[2]}, true
			case "values":
				return Route{Kind: KindAPIValues, Name: s[1], Version: s[2]}, true
			}
		}
	}
	return Route{}, false
}
