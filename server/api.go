package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/storage"
)

// handleIndex is GET|HEAD /<repo>/index.yaml (and chartd's index.json). The
// bytes come from the generation cache, in memory or in their file;
// conditional and gzip requests are answered without rendering anything.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request, rt Route) {
	s.serveIndex(w, r, rt, true)
}

// serveIndex answers with the tenant's index; retry says whether a
// missing file (another process sharing the index directory pruned it)
// may be answered by reading the tenant's renderings again.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request, rt Route, retry bool) {
	ri, err := s.index.get(r.Context(), rt.Repo)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	form := formYAML
	if rt.Kind == KindIndexJSON || s.cfg.JSONIndex || prefersJSON(r) {
		form = formJSON
	}
	if acceptsGzip(r) {
		form++
	}
	// The header values were made with the rendering: a GET assigns them.
	h, fh := w.Header(), &ri.headers[form]
	h["Content-Type"] = fh.contentType
	h["Vary"] = ri.vary
	h["Last-Modified"] = ri.lastModified
	h["Cache-Control"] = ri.cacheControl
	if fh.contentEncoding != nil {
		h["Content-Encoding"] = fh.contentEncoding
	}
	h["Etag"] = fh.etag
	if etagMatches(r.Header.Get("If-None-Match"), fh.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	doc := ri.docs[form]
	if doc.mem != nil || r.Method == http.MethodHead {
		h["Content-Length"] = fh.contentLength
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(doc.mem)
		}
		return
	}
	b, err := doc.mapped.bytes(doc.path, doc.size)
	if err != nil {
		s.index.drop(rt.Repo)
		if retry {
			s.serveIndex(w, r, rt, false)
			return
		}
		s.writeError(w, r, fmt.Errorf("%w: %w", errIndexDir, err))
		return
	}
	h["Content-Length"] = fh.contentLength
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	// The mapping lives as long as doc.mapped does: past the write.
	runtime.KeepAlive(doc.mapped)
}

func prefersJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "yaml")
}

// acceptsGzip reports an Accept-Encoding that takes gzip. It runs on
// every index GET, so it walks the header without splitting it.
func acceptsGzip(r *http.Request) bool {
	for rest := r.Header.Get("Accept-Encoding"); rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func etagMatches(header, tag string) bool {
	for header != "" {
		var t string
		t, header, _ = strings.Cut(header, ",")
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// findVersion resolves a tenant and a version row; ErrNotFound when either is missing.
func (s *Server) findVersion(r *http.Request, repo, name, version string) (storage.ChartVersion, error) {
	t, err := s.meta.Tenant(r.Context(), repo)
	if err != nil {
		return storage.ChartVersion{}, err
	}
	if version == "latest" {
		if b, ok := s.meta.(browser); ok {
			// The names alone, from the primary key: a chart's every row
			// would be read only to pick one.
			names, err := s.sortedVersions(r.Context(), b, t.ID, t.Generation, name)
			if err != nil {
				return storage.ChartVersion{}, err
			}
			if len(names) == 0 {
				return storage.ChartVersion{}, storage.ErrNotFound
			}
			return s.meta.ChartVersion(r.Context(), t.ID, name, newestStable(names))
		}
		vs, err := s.meta.ChartVersions(r.Context(), t.ID, name)
		if err != nil {
			return storage.ChartVersion{}, err
		}
		sortVersions(vs)
		for _, v := range vs {
			if sv, err := semver.NewVersion(v.Version); err == nil && sv.Prerelease() == "" {
				return v, nil
			}
		}
		if len(vs) > 0 {
			return vs[0], nil
		}
		return storage.ChartVersion{}, storage.ErrNotFound
	}
	return s.meta.ChartVersion(r.Context(), t.ID, name, version)
}

// handleChartFile is GET|HEAD /<repo>/charts/<name>-<version>.tgz[.prov].
func (s *Server) handleChartFile(w http.ResponseWriter, r *http.Request, rt Route) {
	cands, prov, ok := splitChartFile(rt.File)
	if !ok {
		s.writeError(w, r, errorf(http.StatusBadRequest, "unsupported file extension"))
		return
	}
	var cv storage.ChartVersion
	found := false
	// The tenant is looked up once, not once per (name, version) candidate.
	t, err := s.meta.Tenant(r.Context(), rt.Repo)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		cands = nil // no such tenant: nothing to find
	}
	for _, c := range cands {
		if _, perr := semver.NewVersion(c[1]); perr != nil {
			continue
		}
		v, verr := s.meta.ChartVersion(r.Context(), t.ID, c[0], c[1])
		if verr == nil {
			cv, found = v, true
			break
		}
		if !errors.Is(verr, storage.ErrNotFound) {
			s.writeError(w, r, verr)
			return
		}
	}
	d, size, ctype := cv.Digest, cv.Size, "application/x-tar"
	if prov {
		d, size, ctype = cv.ProvDigest, cv.ProvSize, "application/pgp-signature"
	}
	if !found || d == "" {
		s.writeError(w, r, withStatus(http.StatusNotFound, "object not found", storage.ErrNotFound))
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Docker-Content-Digest", d.String())
	if etagMatches(r.Header.Get("If-None-Match"), `"`+d.String()+`"`) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	rc, err := s.blobs.Fetch(r.Context(), d)
	if err != nil {
		h.Del("Content-Length")
		s.writeError(w, r, err)
		return
	}
	defer rc.Close()
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		s.log.WarnContext(r.Context(), "chart download interrupted", "file", rt.File, "err", err)
	}
}

// apiVersion is a version as the API shows it: the index entry plus what
// chartd knows about its provenance.
type apiVersion struct {
	*index.ChartVersion
	Provenance *apiProvenance `json:"provenance,omitempty"`
}

type apiProvenance struct {
	Signed       bool   `json:"signed"`
	Signer       string `json:"signer,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	ServerSigned bool   `json:"serverSigned,omitempty"`
	// Verified: the .prov was checked against a key the tenant trusts
	// when it was stored (the signer is then known).
	Verified bool `json:"verified"`
}

func (s *Server) apiVersion(repo string, cv *storage.ChartVersion) (apiVersion, error) {
	e, err := s.indexEntry(repo, cv)
	if err != nil {
		return apiVersion{}, err
	}
	return apiVersion{ChartVersion: e, Provenance: &apiProvenance{
		Signed:       cv.ProvDigest != "",
		Signer:       cv.Signer,
		Fingerprint:  cv.SignerFingerprint,
		ServerSigned: cv.ServerSigned,
		Verified:     cv.ProvDigest != "" && cv.SignerFingerprint != "",
	}}, nil
}

// sortVersions orders versions newest first by semver.
func sortVersions(vs []storage.ChartVersion) {
	sortBySemver(vs, func(cv storage.ChartVersion) string { return cv.Version })
}

// sortBySemver orders xs newest first by the semver of version(x); those
// that are no semver go last, in their order. Each version is parsed once:
// a comparison that parsed would parse each one log n times, which at
// 10,000 versions of a chart is most of a second.
func sortBySemver[T any](xs []T, version func(T) string) {
	type parsed struct {
		x T
		v *semver.Version
	}
	ps := make([]parsed, len(xs))
	for i, x := range xs {
		v, _ := semver.NewVersion(version(x))
		ps[i] = parsed{x, v}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].v, ps[j].v
		if a == nil || b == nil {
			return a != nil
		}
		return a.GreaterThan(b)
	})
	for i, p := range ps {
		xs[i] = p.x
	}
}

// handleListCharts is GET /api/<repo>/charts[?offset=&limit=], paged over names.
func (s *Server) handleListCharts(w http.ResponseWriter, r *http.Request, rt Route) {
	q := r.URL.Query()
	offset, limit := 0, -1
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeError(w, r, errorf(http.StatusBadRequest, "offset is not a valid non-negative integer"))
			return
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.writeError(w, r, errorf(http.StatusBadRequest, "limit is not a valid positive integer"))
			return
		}
		limit = n
	}
	out := map[string][]apiVersion{}
	t, err := s.meta.Tenant(r.Context(), rt.Repo)
	if errors.Is(err, storage.ErrNotFound) {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, err := s.meta.ChartVersions(r.Context(), t.ID, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	byName := map[string][]storage.ChartVersion{}
	var names []string
	for _, cv := range rows {
		if _, ok := byName[cv.Name]; !ok {
			names = append(names, cv.Name)
		}
		byName[cv.Name] = append(byName[cv.Name], cv)
	}
	sort.Strings(names)
	if offset > len(names) {
		offset = len(names)
	}
	names = names[offset:]
	if limit >= 0 && limit < len(names) {
		names = names[:limit]
	}
	for _, n := range names {
		vs := byName[n]
		sortVersions(vs)
		for i := range vs {
			av, err := s.apiVersion(rt.Repo, &vs[i])
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			out[n] = append(out[n], av)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDescribeChart is GET|HEAD /api/<repo>/charts/<name>.
func (s *Server) handleDescribeChart(w http.ResponseWriter, r *http.Request, rt Route) {
	notFound := withStatus(http.StatusNotFound, "chart not found", storage.ErrNotFound)
	t, err := s.meta.Tenant(r.Context(), rt.Repo)
	if errors.Is(err, storage.ErrNotFound) {
		s.writeError(w, r, notFound)
		return
	}
	var vs []storage.ChartVersion
	if err == nil {
		vs, err = s.meta.ChartVersions(r.Context(), t.ID, rt.Name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(vs) == 0 {
		s.writeError(w, r, notFound)
		return
	}
	sortVersions(vs)
	out := make([]apiVersion, 0, len(vs))
	for i := range vs {
		av, err := s.apiVersion(rt.Repo, &vs[i])
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, av)
	}
	writeJSON(w, http.StatusOK, out)
}

func noVersion(name, version string) error {
	return withStatus(http.StatusNotFound, fmt.Sprintf("no chart version found for %s-%s", name, version), storage.ErrNotFound)
}

// handleDescribeVersion is GET|HEAD /api/<repo>/charts/<name>/<version>.
func (s *Server) handleDescribeVersion(w http.ResponseWriter, r *http.Request, rt Route) {
	cv, err := s.findVersion(r, rt.Repo, rt.Name, rt.Version)
	if errors.Is(err, storage.ErrNotFound) {
		err = noVersion(rt.Name, rt.Version)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	av, err := s.apiVersion(rt.Repo, &cv)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, av)
}

// handleDelete is DELETE /api/<repo>/charts/<name>/<version>: both faces go.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, rt Route) {
	t, err := s.meta.Tenant(r.Context(), rt.Repo)
	if err == nil {
		err = s.meta.DeleteChartVersion(r.Context(), t.ID, rt.Name, rt.Version)
	}
	if errors.Is(err, storage.ErrNotFound) {
		err = noVersion(rt.Name, rt.Version)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.deletes.Inc()
	writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}

// loadArchive reads a stored version's archive with the upload guards.
func (s *Server) loadArchive(r *http.Request, rt Route) (*chart.Chart, error) {
	c, _, err := s.loadVersion(r, rt.Repo, rt.Name, rt.Version)
	return c, err
}

// handleTemplates is GET /api/<repo>/charts/<name>/<version>/templates.
func (s *Server) handleTemplates(w http.ResponseWriter, r *http.Request, rt Route) {
	c, err := s.loadArchive(r, rt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tpls := c.Templates
	if tpls == nil {
		tpls = []*chart.File{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": tpls, "values": c.Values})
}

// handleValues is GET /api/<repo>/charts/<name>/<version>/values: the raw values.yaml.
func (s *Server) handleValues(w http.ResponseWriter, r *http.Request, rt Route) {
	c, err := s.loadArchive(r, rt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var raw []byte
	for _, f := range c.Raw {
		if f.Name == "values.yaml" {
			raw = f.Data
		}
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, bytes.NewReader(raw))
}

// handleProvUpload is POST /api/<repo>/prov: a raw .prov body or a multipart
// prov field, for a version that already exists.
func (s *Server) handleProvUpload(w http.ResponseWriter, r *http.Request, rt Route) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize)
	var prov []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		form, err := s.readUpload(r.Context(), r, rt)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if form.chart != nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "the prov route takes only a provenance file"))
			return
		}
		prov = form.prov
	} else {
		b, err := readCapped(r.Body, maxProvSize)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		prov = b
	}
	if err := s.intake.AttachProv(r.Context(), rt.target(), prov, s.forceAllowed(r)); err != nil {
		s.writeError(w, r, provError(err))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]bool{"saved": true})
}
