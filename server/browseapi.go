package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// The browsing half of /api/v1, for the web UI and scripts: pages of
// charts, pages of one chart's versions, a repository's figures, and who
// the caller is. Every list is a page; the UI's first page costs the same
// whatever a repository holds (test/bench/ui_bench_test.go).

const (
	defaultPage = 20
	maxPage     = 100
	// recentPushes is how many pushes a repository page shows.
	recentPushes = 10
)

// browser is the metadata database's ability to read pages.
type browser interface {
	BrowseCharts(ctx context.Context, q sqldb.BrowseQuery) ([]sqldb.ChartSummary, bool, error)
	VersionNames(ctx context.Context, tenantID int64, name string) ([]string, error)
}

// repoStatser sums a repository path's versions.
type repoStatser interface {
	RepoStats(ctx context.Context, tenantID int64) (sqldb.RepoStats, error)
	RecentPushes(ctx context.Context, tenantID int64, limit int) ([]sqldb.Push, error)
}

func (s *Server) browseRoutes(get func(path string, h http.HandlerFunc)) {
	get(apiV1+"/charts", s.handleBrowse)
	get(apiV1+"/repository", s.handleRepository)
	get(apiV1+"/session", s.handleSession)
	get(apiV1+"/openapi.yaml", handleOpenAPI)
}

// page is a list request's window.
type page struct{ limit, offset int }

func parsePage(r *http.Request, def int) (page, error) {
	p := page{limit: def}
	qv := r.URL.Query()
	if v := qv.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return p, errorf(http.StatusBadRequest, "limit: a number from 1 to %d", maxPage)
		}
		p.limit = n
	}
	if v := qv.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errorf(http.StatusBadRequest, "offset: a number from 0")
		}
		p.offset = n
	}
	return p, nil
}

// next is the offset of the page after this one, or nil at the end.
func (p page) next(more bool) *int {
	if !more {
		return nil
	}
	n := p.offset + p.limit
	return &n
}

// repoTarget checks ?repo= and the caller's right to read it, before
// anything is looked up (as detailTarget does for a chart).
func (s *Server) repoTarget(r *http.Request) (string, error) {
	repo := r.URL.Query().Get("repo")
	if err := intake.CheckPath(repo); err != nil {
		return "", err
	}
	if err := s.auth.check(r, tenantResource(s.tenantOf(repo)), actionPull); err != nil {
		return "", err
	}
	return repo, nil
}

// repoTenant looks up a repository path's row, a missing one answering 404
// in words that name the path.
func (s *Server) repoTenant(ctx context.Context, repo string) (storage.Tenant, error) {
	t, err := s.meta.Tenant(ctx, repo)
	if errors.Is(err, storage.ErrNotFound) {
		err = withStatus(http.StatusNotFound, "no chart repository at /"+repo, err)
	}
	return t, err
}

func (s *Server) browsing() (browser, error) {
	b, ok := s.meta.(browser)
	if !ok {
		return nil, errNoSearch
	}
	return b, nil
}

// chartSummary is one chart in a page of /api/v1/charts.
type chartSummary struct {
	Repository   string     `json:"repository"`
	Tenant       string     `json:"tenant"`
	Name         string     `json:"name"`
	VersionCount int        `json:"versionCount"`
	Latest       apiVersion `json:"latest"`
}

// handleBrowse is GET /api/v1/charts?q=&repo=&limit=&offset=: a page of
// charts by name, each with its newest stable version, from the
// repositories the caller may read (or from ?repo= alone).
func (s *Server) handleBrowse(w http.ResponseWriter, r *http.Request) {
	b, err := s.browsing()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	words, err := parseSearchWords(r.URL.Query().Get("q"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := parsePage(r, defaultPage)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var ids []int64
	generation := map[int64]int64{} // by tenant row, read before the page
	if r.URL.Query().Has("repo") {
		repo, err := s.repoTarget(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		t, err := s.repoTenant(r.Context(), repo)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ids = []int64{t.ID}
		generation[t.ID] = t.Generation
	} else {
		sr, err := s.searcher()
		if err == nil {
			var ts []storage.Tenant
			ts, err = s.readable(r, sr)
			ids = make([]int64, 0, len(ts))
			for _, t := range ts {
				ids = append(ids, t.ID)
				generation[t.ID] = t.Generation
			}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	found, more, err := b.BrowseCharts(r.Context(), sqldb.BrowseQuery{Words: words, Tenants: ids, Limit: p.limit, Offset: p.offset})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]chartSummary, 0, len(found))
	for _, c := range found {
		names, err := s.sortedVersions(r.Context(), b, c.TenantID, generation[c.TenantID], c.Name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(names) == 0 {
			continue // deleted since the page was read
		}
		newest := newestStable(names)
		cv, err := s.meta.ChartVersion(r.Context(), c.TenantID, c.Name, newest)
		if errors.Is(err, storage.ErrNotFound) {
			continue // likewise
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		av, err := s.apiVersion(c.Path, &cv)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, chartSummary{Repository: c.Path, Tenant: s.tenantOf(c.Path), Name: c.Name, VersionCount: c.Versions, Latest: av})
	}
	writeJSON(w, http.StatusOK, map[string]any{"charts": out, "offset": p.offset, "limit": p.limit, "next": p.next(more)})
}

// sortedVersionNames orders version names newest first by semver.
func sortedVersionNames(names []string) []string {
	sortBySemver(names, func(n string) string { return n })
	return names
}

// newestStable is the first name that is no pre-release, else the first
// (names sorted newest first, at least one).
func newestStable(sorted []string) string {
	for _, n := range sorted {
		if v, err := semver.NewVersion(n); err == nil && v.Prerelease() == "" {
			return n
		}
	}
	return sorted[0]
}

// versionPage reads one page of a chart's versions, newest first: the
// names of all (the primary key alone), the rows of the page's.
func (s *Server) versionPage(r *http.Request, t storage.Tenant, name string, p page) ([]storage.ChartVersion, int, error) {
	b, err := s.browsing()
	if err != nil {
		return nil, 0, err
	}
	names, err := s.sortedVersions(r.Context(), b, t.ID, t.Generation, name)
	if err != nil {
		return nil, 0, err
	}
	total := len(names)
	if p.offset >= total {
		return []storage.ChartVersion{}, total, nil
	}
	names = names[p.offset:min(total, p.offset+p.limit)]
	out := make([]storage.ChartVersion, 0, len(names))
	for _, v := range names {
		cv, err := s.meta.ChartVersion(r.Context(), t.ID, name, v)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, cv)
	}
	return out, total, nil
}

// repositoryInfo is GET /api/v1/repository?repo=: what one repository
// path holds. Storage, the bytes stored and the dedup ratio, is summed over
// every tenant, so only a global admin is shown it.
type repositoryInfo struct {
	Repository  string       `json:"repository"`
	Tenant      string       `json:"tenant"`
	URL         string       `json:"url"`
	OCI         string       `json:"oci"`
	Charts      int          `json:"charts"`
	Versions    int          `json:"versions"`
	LogicalSize int64        `json:"logicalSize"`
	Recent      []recentPush `json:"recentPushes"`
	Storage     *globalStats `json:"storage,omitempty"`
}

type recentPush struct {
	Name    string    `json:"name"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
}

type globalStats struct {
	LogicalBytes int64   `json:"logicalBytes"`
	StoredBytes  int64   `json:"storedBytes"`
	DedupRatio   float64 `json:"dedupRatio"`
}

func (s *Server) handleRepository(w http.ResponseWriter, r *http.Request) {
	repo, err := s.repoTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, ok := s.meta.(repoStatser)
	if !ok {
		s.writeError(w, r, errNoSearch)
		return
	}
	t, err := s.repoTenant(r.Context(), repo)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sum, err := st.RepoStats(r.Context(), t.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pushes, err := st.RecentPushes(r.Context(), t.ID, recentPushes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info := repositoryInfo{Repository: repo, Tenant: s.tenantOf(repo), URL: s.repoURL(r, repo), OCI: s.ociPrefix(r, repo),
		Charts: sum.Charts, Versions: sum.Versions, LogicalSize: sum.Logical, Recent: []recentPush{}}
	for _, p := range pushes {
		info.Recent = append(info.Recent, recentPush{Name: p.Name, Version: p.Version, Created: p.Created})
	}
	if g, ok := s.meta.(storageStatser); ok && s.globalAdmin(r) {
		gs, err := g.StorageStats(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		info.Storage = &globalStats{LogicalBytes: gs.Logical, StoredBytes: gs.Stored, DedupRatio: 1}
		if gs.Stored > 0 {
			info.Storage.DedupRatio = float64(gs.Logical) / float64(gs.Stored)
		}
	}
	writeJSON(w, http.StatusOK, info)
}

// ociPrefix is the oci:// reference of a repository path, to which a
// chart's name is appended.
func (s *Server) ociPrefix(r *http.Request, repo string) string {
	if repo == "" {
		return "oci://" + r.Host
	}
	return "oci://" + r.Host + "/" + repo
}

// globalAdmin reports whether the caller may see figures summed over every
// tenant: anyone on a server without auth (who reads every tenant anyway),
// the single user of ChartMuseum's basic auth, and a chartd user, by
// password or by token, holding admin on every tenant ("*").
func (s *Server) globalAdmin(r *http.Request) bool {
	a := s.auth
	if !a.enabled() {
		return true
	}
	if a.authenticated(r) != nil {
		return false
	}
	if a.basicUser != "" {
		return true
	}
	if a.users == nil {
		return false // an external token service's grants are per tenant
	}
	name := s.subject(r)
	u, ok := a.users.users[name]
	if !ok || name == "" {
		return false
	}
	for _, g := range u.Grants {
		if g.Tenant == "*" && (g.covers("*", actionAdmin)) {
			return true
		}
	}
	return false
}

// subject is the chartd user an authenticated request speaks for: the
// basic user's name, or a verified token's subject.
func (s *Server) subject(r *http.Request) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.auth.users != nil {
		c, err := s.auth.users.verifyToken(tok)
		if err != nil {
			return ""
		}
		return c.Subject
	}
	name, _, _ := r.BasicAuth()
	return name
}

// sessionInfo is GET /api/v1/session: how this server authenticates and
// who the caller is, so the UI knows whether to offer a login.
type sessionInfo struct {
	// Auth: "none", "users" (chartd's own, with a token endpoint),
	// "basic" (ChartMuseum's single user) or "bearer" (an external token
	// service).
	Auth          string `json:"auth"`
	AnonymousRead bool   `json:"anonymousRead"`
	TokenEndpoint string `json:"tokenEndpoint,omitempty"`
	User          string `json:"user,omitempty"`
	Authenticated bool   `json:"authenticated"`
	Admin         bool   `json:"admin"`
	// ReadScopes are the token scopes that read every tenant the user may
	// read, for a UI to ask the token endpoint for once, rather than send
	// a password (a bcrypt check) with every request.
	ReadScopes []string `json:"readScopes,omitempty"`
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	a := s.auth
	info := sessionInfo{Auth: "none", AnonymousRead: !a.enabled() || a.anonymousGet}
	switch {
	case a.users != nil:
		info.Auth, info.TokenEndpoint = "users", "/v2/token"
	case a.bearerKey != nil:
		info.Auth = "bearer"
	case a.basicUser != "":
		info.Auth = "basic"
	}
	if r.Header.Get("Authorization") != "" && a.enabled() {
		// Credentials that are sent must be good: a login form learns of a
		// wrong password here.
		if err := a.authenticated(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		info.Authenticated, info.User = true, s.subject(r)
		scopes, err := s.readScopes(r, info.User)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		info.ReadScopes = scopes
	}
	info.Admin = s.globalAdmin(r)
	writeJSON(w, http.StatusOK, info)
}

// readScopes lists artifact-repository:<tenant>:pull for every tenant that
// holds something and that user may read, decided from the user's grants
// directly: the password was checked once already.
func (s *Server) readScopes(r *http.Request, user string) ([]string, error) {
	if s.auth.users == nil {
		return nil, nil
	}
	u, ok := s.auth.users.users[user]
	if !ok {
		return nil, nil
	}
	sr, err := s.searcher()
	if err != nil {
		return nil, err
	}
	all, err := sr.Tenants(r.Context())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, t := range all {
		tenant := s.tenantOf(t.Path)
		if seen[tenant] {
			continue
		}
		seen[tenant] = true
		if u.may(tenantResource(tenant), actionPull) {
			out = append(out, "artifact-repository:"+tenant+":pull")
		}
	}
	return out, nil
}
