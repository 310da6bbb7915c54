package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage"
)

// Docker's manifest media types, still pushed by docker and by tools that
// copy images; they parse as their OCI counterparts.
const (
	dockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// manifestKind reports whether mt is a manifest list; ok is false for a media
// type that is no manifest the registry stores.
func manifestKind(mt string) (index, ok bool) {
	switch mt {
	case ocispec.MediaTypeImageManifest, dockerManifest:
		return false, true
	case ocispec.MediaTypeImageIndex, dockerManifestList:
		return true, true
	}
	return false, false
}

// manifestDoc is the union of an image manifest and an index, decoded once
// whatever the media type, then checked against it.
type manifestDoc struct {
	SchemaVersion *int                 `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType"`
	Config        *ocispec.Descriptor  `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Manifests     []ocispec.Descriptor `json:"manifests"`
	Subject       *ocispec.Descriptor  `json:"subject"`
	Annotations   map[string]string    `json:"annotations"`
}

// parseManifest validates a pushed manifest and returns its metadata row
// (without repository, digest and size). contentType is the request's
// Content-Type; the document's mediaType, when present, must agree with it.
func parseManifest(contentType string, body []byte) (storage.Manifest, error) {
	var doc manifestDoc
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return storage.Manifest{}, fmt.Errorf("%w: not JSON: %v", errManifestInvalid, err)
	}
	if dec.More() {
		return storage.Manifest{}, fmt.Errorf("%w: data after the JSON document", errManifestInvalid)
	}
	mt := doc.MediaType
	if contentType != "" {
		ct, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return storage.Manifest{}, fmt.Errorf("%w: Content-Type %q: %v", errManifestInvalid, contentType, err)
		}
		if mt != "" && mt != ct {
			return storage.Manifest{}, fmt.Errorf("%w: mediaType %q does not match Content-Type %q", errManifestInvalid, mt, ct)
		}
		mt = ct
	}
	if mt == "" {
		return storage.Manifest{}, fmt.Errorf("%w: no media type (set Content-Type or mediaType)", errManifestInvalid)
	}
	index, ok := manifestKind(mt)
	if !ok {
		return storage.Manifest{}, fmt.Errorf("%w: unsupported manifest media type %q", errManifestInvalid, mt)
	}
	if doc.SchemaVersion == nil || *doc.SchemaVersion != 2 {
		return storage.Manifest{}, fmt.Errorf("%w: schemaVersion must be 2", errManifestInvalid)
	}
	m := storage.Manifest{
		MediaType:    mt,
		ArtifactType: doc.ArtifactType,
		Annotations:  doc.Annotations,
	}
	if doc.Subject != nil {
		if err := checkDescriptor("subject", *doc.Subject); err != nil {
			return storage.Manifest{}, err
		}
		m.Subject = doc.Subject.Digest
	}
	seen := map[digest.Digest]bool{}
	if index {
		if doc.Config != nil || doc.Layers != nil {
			return storage.Manifest{}, fmt.Errorf("%w: an index has no config or layers", errManifestInvalid)
		}
		for i, d := range doc.Manifests {
			if err := checkDescriptor(fmt.Sprintf("manifests[%d]", i), d); err != nil {
				return storage.Manifest{}, err
			}
			if !seen[d.Digest] {
				seen[d.Digest] = true
				m.Children = append(m.Children, d.Digest)
			}
		}
		return m, nil
	}
	if doc.Config == nil {
		return storage.Manifest{}, fmt.Errorf("%w: no config descriptor", errManifestInvalid)
	}
	if doc.Manifests != nil {
		return storage.Manifest{}, fmt.Errorf("%w: an image manifest has no manifests list", errManifestInvalid)
	}
	if err := checkDescriptor("config", *doc.Config); err != nil {
		return storage.Manifest{}, err
	}
	m.ConfigDigest, m.ConfigMediaType = doc.Config.Digest, doc.Config.MediaType
	if m.ArtifactType == "" {
		// The row keeps the effective artifact type, the one the referrers
		// API reports and filters on.
		m.ArtifactType = doc.Config.MediaType
	}
	seen[doc.Config.Digest] = true
	m.Blobs = append(m.Blobs, doc.Config.Digest)
	for i, d := range doc.Layers {
		if err := checkDescriptor(fmt.Sprintf("layers[%d]", i), d); err != nil {
			return storage.Manifest{}, err
		}
		if nonDistributable(d) {
			// Clients fetch it from its URLs; the registry never holds it,
			// so it is neither required nor referenced (as distribution).
			continue
		}
		if !seen[d.Digest] {
			seen[d.Digest] = true
			m.Blobs = append(m.Blobs, d.Digest)
		}
	}
	return m, nil
}

// dockerForeignLayer is Docker's media type for a layer fetched from its
// URLs (the predecessor of OCI's non-distributable layers).
const dockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

// nonDistributable reports a layer that lives outside the registry: one of
// a non-distributable media type that lists where to fetch it. Without URLs
// it is an ordinary layer the repository must hold.
func nonDistributable(d ocispec.Descriptor) bool {
	switch d.MediaType {
	// Deprecated for new images, but images that use them still exist.
	case ocispec.MediaTypeImageLayerNonDistributable,
		ocispec.MediaTypeImageLayerNonDistributableGzip,
		ocispec.MediaTypeImageLayerNonDistributableZstd,
		dockerForeignLayer:
		return len(d.URLs) > 0
	}
	return false
}

func checkDescriptor(field string, d ocispec.Descriptor) error {
	if d.MediaType == "" {
		return fmt.Errorf("%w: %s: no mediaType", errManifestInvalid, field)
	}
	if _, _, err := mime.ParseMediaType(d.MediaType); err != nil {
		return fmt.Errorf("%w: %s: mediaType %q: %v", errManifestInvalid, field, d.MediaType, err)
	}
	if _, err := parseDigest(string(d.Digest)); err != nil {
		return fmt.Errorf("%w: %s: %w", errManifestInvalid, field, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%w: %s: negative size", errManifestInvalid, field)
	}
	for _, s := range d.URLs {
		// What a client is sent to fetch: only http(s), and no fragment,
		// as distribution checks.
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("%w: %s: invalid url %q", errManifestInvalid, field, s)
		}
	}
	return nil
}

// readManifest reads a manifest body of at most limit bytes.
func readManifest(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errManifestTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("oci: read manifest: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errManifestTooLarge, limit)
	}
	return body, nil
}

// putManifest serves PUT /v2/<name>/manifests/<reference>.
func (g *Registry) putManifest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	if err := rt.tagError(); err != nil {
		writeError(w, r, g.log, err)
		return
	}
	t, err := g.resolve(w, r, rt.name, ActionPush)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	body, err := readManifest(r, g.cfg.MaxManifestSize)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	m, err := parseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	m.Size = int64(len(body))
	tags, err := pushTags(r, rt)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if rt.digest != "" {
		// The digest names these exact bytes, in the client's algorithm.
		if m.Digest = rt.digest.Algorithm().FromBytes(body); m.Digest != rt.digest {
			writeError(w, r, g.log, fmt.Errorf("%w: the manifest's digest is %s, not %s", storage.ErrDigestMismatch, m.Digest, rt.digest))
			return
		}
	} else {
		m.Digest = digest.SHA256.FromBytes(body)
	}
	if t.tenant, err = g.cfg.Meta.EnsureTenant(ctx, t.path); err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if t.repo, err = g.cfg.Meta.Repository(ctx, t.tenant.ID, t.repoName, true); err != nil {
		writeError(w, r, g.log, err)
		return
	}
	m.RepositoryID = t.repo.ID
	m.Created = g.now().UTC()
	if intake.IsChart(m) {
		// A chart's OCI face is always tagged with its version, however it
		// was pushed, so Helm finds it.
		var tag string
		tag, err = g.cfg.Charts.PushManifest(ctx, intake.Push{Target: t.intakeTarget(), Repository: t.repo, Manifest: m, Body: body, Tags: tags})
		tags = []string{tag}
	} else {
		err = g.storeManifest(ctx, m, body, tags)
	}
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	h := w.Header()
	if rt.digest != "" && len(tags) > 0 {
		h.Set("OCI-Tag", strings.Join(tags, ", "))
	}
	if m.Subject != "" {
		h.Set("OCI-Subject", m.Subject.String())
	}
	h.Set("Location", "/v2/"+t.name+"/manifests/"+m.Digest.String())
	h.Set("Docker-Content-Digest", m.Digest.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// storeManifest commits the manifest bytes, then the row that makes them
// visible. When garbage collection removed the bytes in between (the
// database confirms them in its transaction), they are pushed once more.
// Extra tags go in one PutManifest each: the manifest row is an upsert, so
// only the first call does real work.
func (g *Registry) storeManifest(ctx context.Context, m storage.Manifest, body []byte, tags []string) error {
	first := ""
	if len(tags) > 0 {
		first = tags[0]
	}
	for attempt := 0; ; attempt++ {
		if _, err := g.cfg.Blobs.Push(ctx, m.Digest, bytes.NewReader(body)); err != nil {
			return err
		}
		err := g.cfg.Meta.PutManifest(ctx, m, first)
		var missing *storage.MissingBlobError
		if attempt == 0 && errors.As(err, &missing) && missing.Digest == m.Digest {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	for _, tag := range tags[min(1, len(tags)):] {
		if err := g.cfg.Meta.PutManifest(ctx, m, tag); err != nil {
			return err
		}
	}
	return nil
}

// maxPushTags bounds the tag parameters of one manifest push; the spec asks
// for at least 10.
const maxPushTags = 32

// pushTags returns the tags a manifest push sets: the reference when it is
// a tag, else the spec's ?tag= parameters of a push by digest.
func pushTags(r *http.Request, rt route) ([]string, error) {
	if rt.digest == "" {
		return []string{rt.ref}, nil
	}
	tags := r.URL.Query()["tag"]
	if len(tags) > maxPushTags {
		return nil, fmt.Errorf("%w: %d tags, at most %d per push", errManifestInvalid, len(tags), maxPushTags)
	}
	seen := map[string]bool{}
	out := tags[:0:0]
	for _, tag := range tags {
		if !tagRegexp.MatchString(tag) {
			return nil, fmt.Errorf("%w: %q", errTagInvalid, tag)
		}
		if !seen[tag] {
			seen[tag] = true
			out = append(out, tag)
		}
	}
	return out, nil
}

// getManifest serves GET and HEAD /v2/<name>/manifests/<reference>.
func (g *Registry) getManifest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	t, err := g.openRef(ctx, w, r, rt, ActionPull)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	m, err := g.cfg.Meta.Manifest(ctx, t.repo.ID, rt.ref)
	if err == nil && !accepts(r.Header.Values("Accept"), m.MediaType) {
		// As distribution answers: the client would not understand it, so
		// for this client there is no such manifest.
		err = fmt.Errorf("%w: the manifest is %s, which the Accept header does not allow", errManifestUnknown, m.MediaType)
	}
	if err != nil {
		writeError(w, r, g.log, notFound(err, errManifestUnknown))
		return
	}
	h := w.Header()
	setManifestHeaders := func() {
		h.Set("Content-Type", m.MediaType)
		h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
		h.Set("Docker-Content-Digest", m.Digest.String())
		h.Set("ETag", `"`+m.Digest.String()+`"`)
	}
	if r.Method == http.MethodHead {
		setManifestHeaders()
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Set("ETag", `"`+m.Digest.String()+`"`)
	if notModified(w, r) {
		return
	}
	rc, err := g.cfg.Blobs.Fetch(ctx, m.Digest)
	if err != nil {
		writeError(w, r, g.log, notFound(err, errManifestUnknown))
		return
	}
	defer rc.Close()
	setManifestHeaders()
	w.WriteHeader(http.StatusOK)
	if _, err := io.CopyN(w, rc, m.Size); err != nil {
		g.log.WarnContext(ctx, "oci: manifest copy interrupted", "digest", m.Digest, "err", err)
	}
}

// accepts reports whether Accept headers allow mediaType (RFC 9110
// section 12.5.1): the most specific matching range decides, and q=0
// refuses. A request without a usable Accept header accepts anything.
func accepts(headers []string, mediaType string) bool {
	typ, _, _ := strings.Cut(mediaType, "/")
	ranges := 0
	best, q := -1, 0.0 // specificity of the best match so far, and its q
	for _, h := range headers {
		for _, part := range strings.Split(h, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			ranges++
			spec := -1
			switch {
			case mt == mediaType:
				spec = 2
			case mt == typ+"/*":
				spec = 1
			case mt == "*/*":
				spec = 0
			}
			if spec <= best {
				continue
			}
			best, q = spec, 1
			if v, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
	}
	return ranges == 0 || (best >= 0 && q > 0)
}

// openRef opens the repository of a manifest read or delete. A reference
// that is no valid tag cannot name anything: it is an unknown manifest,
// once the caller is known to be allowed to ask.
func (g *Registry) openRef(ctx context.Context, w http.ResponseWriter, r *http.Request, rt route, action string) (target, error) {
	t, err := g.open(ctx, w, r, rt.name, action, false)
	if err == nil && rt.badTag {
		// %v: the answer is "unknown", not "invalid".
		err = fmt.Errorf("%w: %v", errManifestUnknown, rt.tagError())
	}
	return t, err
}

// deleteManifest serves DELETE /v2/<name>/manifests/<reference>. A digest
// deletes the manifest with its tags; a tag deletes the tag, except that a
// chart's tag is its version, so deleting it deletes the chart version (both
// faces), as the ChartMuseum API's DELETE does.
func (g *Registry) deleteManifest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	t, err := g.openRef(ctx, w, r, rt, ActionDelete)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if rt.digest != "" {
		err = g.cfg.Meta.DeleteManifest(ctx, t.repo.ID, rt.digest)
	} else {
		var m storage.Manifest
		m, err = g.cfg.Meta.Manifest(ctx, t.repo.ID, rt.ref)
		switch {
		case err != nil:
		case m.Chart != nil || intake.IsChart(m):
			err = g.cfg.Meta.DeleteManifest(ctx, t.repo.ID, m.Digest)
		default:
			err = g.cfg.Meta.DeleteTag(ctx, t.repo.ID, rt.ref)
		}
	}
	if err != nil {
		writeError(w, r, g.log, notFound(err, errManifestUnknown))
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
