package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// searcher is the metadata database's search ability, found by type
// assertion: the search API answers from the database's word index, never by
// reading every index.yaml.
type searcher interface {
	SearchCharts(ctx context.Context, q sqldb.SearchQuery) ([]sqldb.SearchHit, error)
	Tenants(ctx context.Context) ([]storage.Tenant, error)
}

// errNoSearch: the metadata database cannot search.
var errNoSearch = withStatus(http.StatusNotImplemented, "this server's metadata database cannot search", errors.ErrUnsupported)

func (s *Server) searcher() (searcher, error) {
	sr, ok := s.meta.(searcher)
	if !ok {
		return nil, errNoSearch
	}
	return sr, nil
}

// tenantOf is the tenant a repository path belongs to: its first Depth
// segments, or the whole path with dynamic depth.
func (s *Server) tenantOf(path string) string {
	if s.tenancy.Dynamic || path == "" {
		return path
	}
	segs := strings.Split(path, "/")
	if len(segs) > s.tenancy.Depth {
		segs = segs[:s.tenancy.Depth]
	}
	return strings.Join(segs, "/")
}

// readable lists the repository paths whose tenant the caller may pull
// from. Credentials that are sent are checked once first, so wrong ones
// are refused (401) rather than quietly read as anonymous, and counted as
// one failed login, not one per tenant.
func (s *Server) readable(r *http.Request, sr searcher) ([]storage.Tenant, error) {
	all, err := sr.Tenants(r.Context())
	if err != nil {
		return nil, err
	}
	if !s.auth.enabled() {
		return all, nil
	}
	if r.Header.Get("Authorization") != "" {
		if err := s.auth.authenticated(r); err != nil {
			var limited *rateLimitError
			if errors.As(err, &limited) {
				return nil, err
			}
			return nil, &authError{action: actionPull}
		}
	}
	decided := map[string]bool{}
	var out []storage.Tenant
	for _, t := range all {
		tenant := s.tenantOf(t.Path)
		ok, seen := decided[tenant]
		if !seen {
			ok = s.auth.check(r, tenantResource(tenant), actionPull) == nil
			decided[tenant] = ok
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// foundChart is one chart a search found: its versions, newest first.
type foundChart struct {
	Path     string
	Name     string
	Versions []storage.ChartVersion
}

// searchRequest is a parsed search.
type searchRequest struct {
	words      []sqldb.SearchWord
	constraint *semver.Constraints
	devel      bool
	limit      int
	// repo, when set, keeps one repository path (the root is "").
	repo *string
}

// searchFieldNames are the field prefixes a query word may carry.
var searchFieldNames = map[string]string{
	"name": sqldb.FieldName, "keyword": sqldb.FieldKeyword,
	"description": sqldb.FieldDescription, "annotation": sqldb.FieldAnnotation,
}

// parseSearchWords turns a query into words. A plain word is split like
// the stored text and matches any field; field:word matches one field, and
// annotation:key=value the annotation's key and value.
func parseSearchWords(q string) ([]sqldb.SearchWord, error) {
	var words []sqldb.SearchWord
	for _, tok := range strings.Fields(q) {
		if f, rest, ok := strings.Cut(tok, ":"); ok {
			if field, known := searchFieldNames[strings.ToLower(f)]; known {
				if field == sqldb.FieldAnnotation && strings.Contains(rest, "=") {
					words = append(words, sqldb.SearchWord{Fields: []string{field}, Prefix: strings.ToLower(rest)})
					continue
				}
				for _, w := range sqldb.SearchWords(rest) {
					words = append(words, sqldb.SearchWord{Fields: []string{field}, Prefix: w})
				}
				continue
			}
		}
		for _, w := range sqldb.SearchWords(tok) {
			words = append(words, sqldb.SearchWord{Prefix: w})
		}
	}
	if len(words) > sqldb.MaxSearchWords {
		return nil, errorf(http.StatusBadRequest, "a search takes at most %d words", sqldb.MaxSearchWords)
	}
	return words, nil
}

// search runs a search over the repositories the caller may read and
// groups the versions by chart. A chart is listed with the versions that
// satisfy the constraint (and are no pre-release without devel, unless
// the constraint names one); a chart with none is left out.
func (s *Server) search(r *http.Request, req searchRequest) ([]foundChart, error) {
	sr, err := s.searcher()
	if err != nil {
		return nil, err
	}
	tenants, err := s.readable(r, sr)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(tenants))
	for _, t := range tenants {
		if req.repo == nil || *req.repo == t.Path {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		// No readable repository matches: an unknown path and a
		// forbidden one answer alike, with nothing.
		return nil, nil
	}
	hits, err := sr.SearchCharts(r.Context(), sqldb.SearchQuery{Words: req.words, Tenants: ids, Limit: req.limit})
	if err != nil {
		return nil, err
	}
	var out []foundChart
	for _, h := range hits {
		if n := len(out); n == 0 || out[n-1].Path != h.Path || out[n-1].Name != h.Name {
			out = append(out, foundChart{Path: h.Path, Name: h.Name})
		}
		if !req.admits(h.Version) {
			continue
		}
		last := &out[len(out)-1]
		last.Versions = append(last.Versions, h.ChartVersion)
	}
	kept := out[:0]
	for _, c := range out {
		if len(c.Versions) > 0 {
			sortVersions(c.Versions)
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// admits reports whether a version passes the request's filters.
func (req searchRequest) admits(version string) bool {
	v, err := semver.NewVersion(version)
	if err != nil {
		return req.constraint == nil && req.devel
	}
	if req.constraint != nil {
		return req.constraint.Check(v)
	}
	return req.devel || v.Prerelease() == ""
}
