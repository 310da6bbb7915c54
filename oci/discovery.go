package oci

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/storage"
)

// maxPage bounds n in list requests: a larger n is answered with this many
// entries and a Link to the rest, which the spec allows.
const maxPage = 1000

// pagination reads n and last. n < 0 means "not given".
func pagination(r *http.Request) (n int, last string, err error) {
	q := r.URL.Query()
	last = q.Get("last")
	n = -1
	if s := q.Get("n"); s != "" {
		n, err = strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, "", fmt.Errorf("%w: n=%q", errPaginationNumber, s)
		}
	}
	return n, last, nil
}

// page trims a list fetched with one extra entry to n and reports whether
// there is more. With n < 0 (not given) the whole list is returned.
func page[T any](items []T, n int) ([]T, bool) {
	if n >= 0 && len(items) > n {
		return items[:n], true
	}
	return items, false
}

// setNextLink writes the RFC 5988 Link to the next page; q holds the
// request's other parameters, which the next page keeps.
func setNextLink(w http.ResponseWriter, path string, n int, last string, q url.Values) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("n", strconv.Itoa(n))
	q.Set("last", last)
	w.Header().Set("Link", "<"+path+"?"+q.Encode()+`>; rel="next"`)
}

// pageSize is the n a listing serves: the client's, bounded by maxPage.
func pageSize(n int) int {
	if n < 0 || n > maxPage {
		return maxPage
	}
	return n
}

func (g *Registry) writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// tags serves GET /v2/<name>/tags/list.
func (g *Registry) tags(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	n, last, err := pagination(r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	t, err := g.open(ctx, w, r, rt.name, ActionPull, false)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	tags := []string{}
	more := false
	n = pageSize(n)
	// The spec: n=0 is an empty list without a Link.
	if n > 0 {
		got, err := g.cfg.Meta.Tags(ctx, t.repo.ID, last, n+1)
		if err != nil {
			writeError(w, r, g.log, err)
			return
		}
		if got, more = page(got, n); len(got) > 0 {
			tags = got
		}
	}
	if more {
		setNextLink(w, "/v2/"+t.name+"/tags/list", n, tags[len(tags)-1], nil)
	}
	g.writeJSON(w, r, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{t.name, tags})
}

// catalog serves GET /v2/_catalog: the repositories of the tenants the
// caller may pull from.
func (g *Registry) catalog(w http.ResponseWriter, r *http.Request) {
	n, last, err := pagination(r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if err := g.authorize(w, r, Access{Action: ActionCatalog}); err != nil {
		writeError(w, r, g.log, err)
		return
	}
	n = pageSize(n)
	repos := []string{}
	more := false
	if n > 0 {
		allowed := func(name string) bool {
			t, err := g.locate(name)
			return err == nil && g.cfg.Authorize(r, Access{Repository: name, Tenant: t.tenantPath, Action: ActionList}) == nil
		}
		got, err := g.cfg.Meta.Catalog(r.Context(), last, n+1, allowed)
		if err != nil {
			writeError(w, r, g.log, err)
			return
		}
		if got, more = page(got, n); len(got) > 0 {
			repos = got
		}
	}
	if more {
		setNextLink(w, "/v2/_catalog", n, repos[len(repos)-1], nil)
	}
	g.writeJSON(w, r, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

// referrers serves GET /v2/<name>/referrers/<digest>: an image index of the
// manifests whose subject is digest, optionally filtered by artifactType.
// The spec forbids a 404 here (clients would fall back to the tag schema),
// so an unknown repository has no referrers rather than being an error.
// Long lists come in pages of maxPage descriptors with a Link to the next
// (the spec lets a registry page; n and last work as for tags).
func (g *Registry) referrers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	n, last, err := pagination(r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	n = pageSize(n)
	filter := r.URL.Query().Get("artifactType")
	t, err := g.open(ctx, w, r, rt.name, ActionPull, false)
	var refs []storage.Manifest
	switch {
	case err == nil && n > 0:
		// Rows hold the effective artifact type (see parseManifest), so the
		// database filters exactly as the spec defines it.
		refs, err = g.cfg.Meta.Referrers(ctx, t.repo.ID, rt.digest, filter, last, n+1)
		if err != nil {
			writeError(w, r, g.log, err)
			return
		}
	case err == nil, errorsIsNotFound(err):
	default:
		writeError(w, r, g.log, err)
		return
	}
	refs, more := page(refs, n)
	idx := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{},
	}
	for _, m := range refs {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{
			MediaType:    m.MediaType,
			Digest:       m.Digest,
			Size:         m.Size,
			ArtifactType: artifactType(m),
			Annotations:  m.Annotations,
		})
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	if more {
		var keep url.Values
		if filter != "" {
			keep = url.Values{"artifactType": {filter}}
		}
		setNextLink(w, "/v2/"+rt.name+"/referrers/"+rt.digest.String(), n, refs[len(refs)-1].Digest.String(), keep)
	}
	g.writeJSON(w, r, ocispec.MediaTypeImageIndex, idx)
}

// artifactType is the spec's artifactType of a referrer: the manifest's
// own, else an image manifest's config media type; an index without one has
// none.
func artifactType(m storage.Manifest) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if index, _ := manifestKind(m.MediaType); index {
		return ""
	}
	return m.ConfigMediaType
}
