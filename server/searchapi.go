package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/gorilla/mux"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage"
)

// The search API. Its paths cannot be ChartMuseum routes: no tenant or
// repository path may be chartsvc, or start with v1 (intake's reserved
// names), so /api/chartsvc/... and /api/v1/... mean one thing only.
const (
	monocularSearchPath = "/api/chartsvc/v1/charts/search"
	apiV1               = "/api/v1"
	maxSearchLimit      = 1000
	defaultSearchLimit  = 100
)

func (s *Server) searchRoutes(r *mux.Router) {
	get := []string{http.MethodGet, http.MethodHead}
	r.Path(monocularSearchPath).Methods(get...).HandlerFunc(s.handleMonocularSearch)
	r.Path(apiV1 + "/search").Methods(get...).HandlerFunc(s.handleSearch)
	r.Path(apiV1 + "/repositories").Methods(get...).HandlerFunc(s.handleRepositories)
	r.Path(apiV1 + "/charts/{name}").Methods(get...).HandlerFunc(s.handleChartDetails)
	r.Path(apiV1 + "/charts/{name}/{version}").Methods(get...).HandlerFunc(s.handleVersionDetails)
	s.browseRoutes(func(path string, h http.HandlerFunc) { r.Path(path).Methods(get...).HandlerFunc(h) })
}

// The Monocular search answer, the shape `helm search hub` decodes.
type monocularResponse struct {
	Data []monocularResult `json:"data"`
}

type monocularResult struct {
	ID            string             `json:"id"`
	Type          string             `json:"type"`
	Attributes    monocularChart     `json:"attributes"`
	Links         monocularLinks     `json:"links"`
	Relationships monocularRelations `json:"relationships"`
}

type monocularChart struct {
	Name        string              `json:"name"`
	Repo        monocularRepo       `json:"repo"`
	Description string              `json:"description"`
	Home        string              `json:"home"`
	Keywords    []string            `json:"keywords"`
	Maintainers []*chart.Maintainer `json:"maintainers"`
	Sources     []string            `json:"sources"`
	Icon        string              `json:"icon"`
}

type monocularRepo struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

type monocularLinks struct {
	Self string `json:"self"`
}

type monocularRelations struct {
	LatestChartVersion struct {
		Data  monocularVersion `json:"data"`
		Links monocularLinks   `json:"links"`
	} `json:"latestChartVersion"`
}

type monocularVersion struct {
	Version    string    `json:"version"`
	AppVersion string    `json:"app_version"`
	Created    time.Time `json:"created"`
	Digest     string    `json:"digest"`
	URLs       []string  `json:"urls"`
	Readme     string    `json:"readme"`
	Values     string    `json:"values"`
}

// repoURL is the absolute URL of a repository path, as `helm repo add` takes it.
func (s *Server) repoURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + s.cfg.ContextPath
	if path != "" {
		u += "/" + path
	}
	return u
}

// repoName is a repository path's name in search results; the root
// repository (--depth=0) has none of its own.
func repoName(path string) string {
	if path == "" {
		return "chartd"
	}
	return path
}

// handleMonocularSearch is GET /api/chartsvc/v1/charts/search?q=: the
// charts whose newest stable version (or newest, when all are
// pre-releases) the caller may read, as Monocular answered it.
func (s *Server) handleMonocularSearch(w http.ResponseWriter, r *http.Request) {
	words, err := parseSearchWords(r.URL.Query().Get("q"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	found, err := s.search(r, searchRequest{words: words, devel: true, limit: defaultSearchLimit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := monocularResponse{Data: []monocularResult{}}
	for _, c := range found {
		cv := latestStable(c.Versions)
		e, err := s.indexEntry(c.Path, &cv)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		md := e.Metadata
		id := repoName(c.Path) + "/" + c.Name
		var res monocularResult
		res.ID, res.Type = id, "chart"
		res.Attributes = monocularChart{Name: c.Name, Repo: monocularRepo{Name: repoName(c.Path), URL: s.repoURL(r, c.Path)},
			Description: md.Description, Home: md.Home, Keywords: md.Keywords, Maintainers: md.Maintainers,
			Sources: md.Sources, Icon: md.Icon}
		res.Links.Self = s.cfg.ContextPath + apiV1 + "/charts/" + c.Name + "?repo=" + c.Path
		lv := &res.Relationships.LatestChartVersion
		lv.Data = monocularVersion{Version: cv.Version, AppVersion: md.AppVersion, Created: cv.Created,
			Digest: cv.Digest.Encoded(), URLs: e.URLs}
		lv.Links.Self = s.cfg.ContextPath + apiV1 + "/charts/" + c.Name + "/" + cv.Version + "?repo=" + c.Path
		resp.Data = append(resp.Data, res)
	}
	writeJSON(w, http.StatusOK, resp)
}

// latestStable is the newest version that is no pre-release, or the newest
// (versions are sorted newest first).
func latestStable(vs []storage.ChartVersion) storage.ChartVersion {
	for _, v := range vs {
		if sv, err := semver.NewVersion(v.Version); err == nil && sv.Prerelease() == "" {
			return v
		}
	}
	return vs[0]
}

// searchResult is one chart in /api/v1/search.
type searchResult struct {
	Repository string     `json:"repository"`
	Tenant     string     `json:"tenant"`
	Name       string     `json:"name"`
	Latest     apiVersion `json:"latest"`
	Versions   []string   `json:"versions"`
}

// handleSearch is GET /api/v1/search?q=&version=&devel=&limit=&repo=.
// repo keeps one repository path: a client listing an OCI namespace as a
// repository asks for that path only.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	words, err := parseSearchWords(qv.Get("q"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := searchRequest{words: words, limit: defaultSearchLimit}
	if v := qv.Get("version"); v != "" {
		if req.constraint, err = semver.NewConstraint(v); err != nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "version: %v", err))
			return
		}
	}
	if v := qv.Get("devel"); v != "" {
		if req.devel, err = strconv.ParseBool(v); err != nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "devel: not a boolean: %q", v))
			return
		}
	}
	if qv.Has("repo") {
		p := qv.Get("repo")
		if err := intake.CheckPath(p); err != nil {
			s.writeError(w, r, err)
			return
		}
		req.repo = &p
	}
	if v := qv.Get("limit"); v != "" {
		if req.limit, err = strconv.Atoi(v); err != nil || req.limit < 1 || req.limit > maxSearchLimit {
			s.writeError(w, r, errorf(http.StatusBadRequest, "limit: a number from 1 to %d", maxSearchLimit))
			return
		}
	}
	found, err := s.search(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := []searchResult{}
	for _, c := range found {
		av, err := s.apiVersion(c.Path, &c.Versions[0])
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		res := searchResult{Repository: c.Path, Tenant: s.tenantOf(c.Path), Name: c.Name, Latest: av}
		for _, v := range c.Versions {
			res.Versions = append(res.Versions, v.Version)
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"charts": out})
}

// handleRepositories is GET /api/v1/repositories: the repository paths the
// caller may read, with their tenants and URLs.
func (s *Server) handleRepositories(w http.ResponseWriter, r *http.Request) {
	sr, err := s.searcher()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ts, err := s.readable(r, sr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type repo struct {
		Repository string `json:"repository"`
		Tenant     string `json:"tenant"`
		URL        string `json:"url"`
	}
	out := []repo{}
	for _, t := range ts {
		out = append(out, repo{Repository: t.Path, Tenant: s.tenantOf(t.Path), URL: s.repoURL(r, t.Path)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"repositories": out})
}

// detailTarget checks the repository (?repo=) and chart of a details
// request and the caller's right to read them, before anything is looked
// up: a stranger is refused the same way whether the chart exists or not.
func (s *Server) detailTarget(r *http.Request) (repo, name string, err error) {
	repo, name = r.URL.Query().Get("repo"), mux.Vars(r)["name"]
	if err := intake.CheckPath(repo); err != nil {
		return "", "", err
	}
	if err := intake.CheckChartName(name); err != nil {
		return "", "", err
	}
	if err := s.auth.check(r, tenantResource(s.tenantOf(repo)), actionPull); err != nil {
		return "", "", err
	}
	return repo, name, nil
}

// handleChartDetails is GET /api/v1/charts/<name>?repo=<path>&limit=&offset=:
// a page of a chart's versions, newest first, and how many it has.
func (s *Server) handleChartDetails(w http.ResponseWriter, r *http.Request) {
	repo, name, err := s.detailTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := parsePage(r, maxPage)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.meta.Tenant(r.Context(), repo)
	var vs []storage.ChartVersion
	total := 0
	if err == nil {
		vs, total, err = s.versionPage(r, t, name, p)
	}
	if err == nil && total == 0 {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		err = withStatus(http.StatusNotFound, "no chart "+name+" in repository /"+repo, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiVersion, 0, len(vs))
	for i := range vs {
		av, err := s.apiVersion(repo, &vs[i])
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, av)
	}
	writeJSON(w, http.StatusOK, map[string]any{"repository": repo, "tenant": s.tenantOf(repo), "name": name, "versions": out,
		"total": total, "offset": p.offset, "limit": p.limit, "next": p.next(p.offset+p.limit < total)})
}

// versionDetails is one version as /api/v1/charts/<name>/<version> shows
// it: its index entry and provenance, its archive's size, and the files a
// reader wants before installing, read from the stored archive.
type versionDetails struct {
	apiVersion
	Repository string `json:"repository"`
	Size       int64  `json:"size"`
	OCI        string `json:"oci"`
	Readme     string `json:"readme"`
	Values     string `json:"values"`
	Schema     string `json:"valuesSchema,omitempty"`
	// RepoURL is what `helm repo add` takes; Download the archive's path
	// on this server.
	RepoURL  string `json:"repoURL"`
	Download string `json:"download"`
}

// handleVersionDetails is GET /api/v1/charts/<name>/<version>?repo=<path>
// ("latest": the newest stable version).
func (s *Server) handleVersionDetails(w http.ResponseWriter, r *http.Request) {
	repo, name, err := s.detailTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	version := mux.Vars(r)["version"]
	c, cv, err := s.loadVersion(r, repo, name, version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	av, err := s.apiVersion(repo, &cv)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d := versionDetails{apiVersion: av, Repository: repo, Size: cv.Size, Schema: string(c.Schema)}
	d.OCI = s.ociPrefix(r, repo) + "/" + cv.Name
	d.RepoURL = s.repoURL(r, repo)
	if repo != "" {
		d.Download = s.cfg.ContextPath + "/" + repo + "/charts/" + chartFileName(cv.Name, cv.Version)
	} else {
		d.Download = s.cfg.ContextPath + "/charts/" + chartFileName(cv.Name, cv.Version)
	}
	for _, f := range c.Raw {
		switch f.Name {
		case "values.yaml":
			d.Values = string(f.Data)
		case "README.md", "README.txt", "README":
			if d.Readme == "" {
				d.Readme = string(f.Data)
			}
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// loadVersion finds a version and loads its stored archive with the
// chart package's guarded loader (Helm's size caps).
func (s *Server) loadVersion(r *http.Request, repo, name, version string) (*chart.Chart, storage.ChartVersion, error) {
	cv, err := s.findVersion(r, repo, name, version)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, cv, noVersion(name, version)
	}
	if err != nil {
		return nil, cv, err
	}
	rc, err := s.blobs.Fetch(r.Context(), cv.Digest)
	if err != nil {
		return nil, cv, err
	}
	defer rc.Close()
	c, err := chart.ReadArchive(r.Context(), rc, s.limits)
	return c, cv, err
}
