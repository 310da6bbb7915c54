package oci

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=&from=), a single-request upload (?digest=), or a new
// upload session.
func (g *Registry) startUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	q := r.URL.Query()
	if a := q.Get("digest-algorithm"); a != "" && a != string(digest.SHA256) && a != string(digest.SHA512) {
		writeError(w, r, g.log, fmt.Errorf("%w: unsupported digest-algorithm %q", errDigestInvalid, a))
		return
	}
	var want digest.Digest
	if s := q.Get("digest"); s != "" {
		d, err := parseDigest(s)
		if err != nil {
			writeError(w, r, g.log, err)
			return
		}
		want = d
	}
	t, err := g.open(ctx, w, r, rt.name, ActionPush, true)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if m := q.Get("mount"); m != "" {
		if d, err := parseDigest(m); err == nil {
			mounted, err := g.mount(ctx, r, t, d, q.Get("from"))
			if errors.Is(err, errMountScope) {
				// As distribution does: the challenge names both scopes
				// the mount needs, so the client's next token has them.
				source := Access{Repository: q.Get("from"), Action: ActionPull}
				if source.Repository == "" {
					source = Access{Tenant: t.tenantPath, Action: ActionList}
				}
				g.cfg.Challenge(w, r, Access{Repository: t.name, Tenant: t.tenantPath, Action: ActionPush}, source)
				writeError(w, r, g.log, errUnauthorized)
				return
			}
			if err != nil {
				writeError(w, r, g.log, err)
				return
			}
			if mounted {
				blobCreated(w, t.name, d)
				return
			}
		}
		// An unknown or unreadable source, or a malformed digest: the spec's
		// answer is an ordinary upload session, which also reveals nothing.
	}
	if want != "" {
		desc, err := g.cfg.Blobs.Push(ctx, want, r.Body)
		if err != nil {
			writeError(w, r, g.log, err)
			return
		}
		if r.ContentLength >= 0 && desc.Size != r.ContentLength {
			writeError(w, r, g.log, fmt.Errorf("%w: %d bytes received, Content-Length %d", errSizeInvalid, desc.Size, r.ContentLength))
			return
		}
		if err := g.link(ctx, t, desc); err != nil {
			writeError(w, r, g.log, err)
			return
		}
		blobCreated(w, t.name, desc.Digest)
		return
	}
	u, err := g.cfg.Meta.CreateUpload(ctx, t.repo.ID)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	uploadAccepted(w, t.name, u, http.StatusAccepted)
}

// mount links blob d of repository from into t when the caller may pull
// from and the blob is linked there. Without from, the blob is looked for
// in every repository of t's tenant, when the caller may pull from that
// tenant: what it could mount by naming the repository, it may mount
// without (the spec's automatic content discovery); nothing outside the
// tenant is consulted. Anything short of that is "not mounted", never an
// error the client could learn from.
func (g *Registry) mount(ctx context.Context, r *http.Request, t target, d digest.Digest, from string) (bool, error) {
	desc, err := g.mountSource(ctx, r, t, d, from)
	if err != nil {
		return false, ignoreNotFound(err)
	}
	if err := g.cfg.Meta.LinkBlob(ctx, t.repo.ID, desc); err != nil {
		var missing *storage.MissingBlobError
		if errors.As(err, &missing) {
			return false, nil // collected meanwhile: upload it instead
		}
		return false, err
	}
	return true, nil
}

// mountSource finds the blob a mount would link; ErrNotFound when the
// caller may not, or it is not there.
func (g *Registry) mountSource(ctx context.Context, r *http.Request, t target, d digest.Digest, from string) (storage.Descriptor, error) {
	if from == "" {
		// Within the target's tenant: the caller must be able to read
		// the whole tenant, not just the target repository.
		if err := g.cfg.Authorize(r, Access{Tenant: t.tenantPath, Action: ActionList}); err != nil {
			return storage.Descriptor{}, mountRefusal(err)
		}
		return g.cfg.Meta.TenantBlob(ctx, t.tenant.ID, d)
	}
	if validateName(from) != nil {
		return storage.Descriptor{}, storage.ErrNotFound
	}
	st, err := g.locate(from)
	if err != nil {
		return storage.Descriptor{}, storage.ErrNotFound
	}
	if err := g.cfg.Authorize(r, Access{Repository: from, Tenant: st.tenantPath, Action: ActionPull}); err != nil {
		return storage.Descriptor{}, mountRefusal(err)
	}
	tenant, err := g.cfg.Meta.Tenant(ctx, st.path)
	if err != nil {
		return storage.Descriptor{}, err
	}
	src, err := g.cfg.Meta.Repository(ctx, tenant.ID, st.repoName, false)
	if err != nil {
		return storage.Descriptor{}, err
	}
	return g.cfg.Meta.LinkedBlob(ctx, src.ID, d)
}

// mountRefusal: a token that lacks a scope its holder could have is worth a
// challenge (errMountScope); anything else is "not mounted". Which of the
// two depends on permissions only, never on what is stored.
func mountRefusal(err error) error {
	var scope interface{ InsufficientScope() bool }
	if errors.As(err, &scope) && scope.InsufficientScope() {
		return errMountScope
	}
	return storage.ErrNotFound
}

// link makes an uploaded blob visible in the repository.
func (g *Registry) link(ctx context.Context, t target, desc storage.Descriptor) error {
	return blobRace(g.cfg.Meta.LinkBlob(ctx, t.repo.ID, desc), desc)
}

// blobRace qualifies a failed link of a blob that garbage collection
// removed meanwhile: the client's retry uploads it again.
func blobRace(err error, desc storage.Descriptor) error {
	var missing *storage.MissingBlobError
	if errors.As(err, &missing) {
		return fmt.Errorf("%w: %s", errBlobRace, desc.Digest)
	}
	return err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// blobCreated answers a committed blob.
func blobCreated(w http.ResponseWriter, name string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadAccepted answers the state of an upload session.
func uploadAccepted(w http.ResponseWriter, name string, u storage.Upload, status int) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+u.ID)
	h.Set("Range", uploadRange(u.Offset))
	h.Set("Docker-Upload-UUID", u.ID)
	h.Set("Blob-Upload-Session-ID", u.ID)
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// uploadRange is the Range header of an upload holding n bytes. The spec's
// form is inclusive, so an empty upload reads "0-0", as distribution writes it.
func uploadRange(n int64) string {
	return "0-" + strconv.FormatInt(max(n-1, 0), 10)
}

// session finds an upload session of the repository that has not expired.
func (g *Registry) session(ctx context.Context, w http.ResponseWriter, r *http.Request) (target, storage.Upload, error) {
	rt := routeOf(r)
	t, err := g.open(ctx, w, r, rt.name, ActionPush, false)
	if errors.Is(err, storage.ErrNotFound) {
		// No repository, so no session: the answer a client restarts on.
		return t, storage.Upload{}, fmt.Errorf("%w: %v", errUploadUnknown, err)
	}
	if err != nil {
		return t, storage.Upload{}, err
	}
	u, err := g.cfg.Meta.Upload(ctx, t.repo.ID, rt.upload)
	if err != nil {
		return t, u, notFound(err, errUploadUnknown)
	}
	if g.expired(u) {
		return t, u, fmt.Errorf("%w: expired", errUploadUnknown)
	}
	return t, u, nil
}

func (g *Registry) expired(u storage.Upload) bool {
	last := u.Updated
	if last.IsZero() {
		last = u.Started
	}
	return last.Before(g.now().Add(-g.cfg.UploadTTL))
}

// uploadStatus serves GET on an upload session: where to resume.
func (g *Registry) uploadStatus(w http.ResponseWriter, r *http.Request) {
	t, u, err := g.session(r.Context(), w, r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	uploadAccepted(w, t.name, u, http.StatusNoContent)
}

// contentRangeRegexp is the spec's chunk range; "bytes " and "bytes=" are
// tolerated because some clients send RFC 9110's syntax.
var contentRangeRegexp = regexp.MustCompile(`^(?:bytes[ =])?([0-9]{1,18})-([0-9]{1,18})(?:/(?:[0-9]{1,18}|\*))?$`)

// parseContentRange returns the inclusive chunk range of a Content-Range
// header; ok is false when there is none.
func parseContentRange(s string) (start, end int64, ok bool, err error) {
	if s == "" {
		return 0, 0, false, nil
	}
	m := contentRangeRegexp.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false, fmt.Errorf("%w: malformed Content-Range %q", errRangeInvalid, s)
	}
	start, _ = strconv.ParseInt(m[1], 10, 64)
	end, _ = strconv.ParseInt(m[2], 10, 64)
	if end < start {
		return 0, 0, false, fmt.Errorf("%w: Content-Range %q ends before it starts", errRangeInvalid, s)
	}
	return start, end, true, nil
}

// chunk checks the Content-Range of a chunk against the session and
// returns the body, or nil when the request carries no bytes. A chunk that
// does not start where the session ends is refused with 416.
func chunk(r *http.Request, u storage.Upload) (io.Reader, int64, error) {
	start, end, ranged, err := parseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		return nil, 0, err
	}
	want := int64(-1)
	if ranged {
		if start != u.Offset {
			return nil, 0, fmt.Errorf("%w: chunk starts at %d, upload holds %d bytes", errRangeInvalid, start, u.Offset)
		}
		want = end - start + 1
		if r.ContentLength >= 0 && r.ContentLength != want {
			return nil, 0, fmt.Errorf("%w: Content-Range %d-%d but Content-Length %d", errRangeInvalid, start, end, r.ContentLength)
		}
	}
	if r.ContentLength == 0 {
		return nil, 0, nil
	}
	body := io.Reader(r.Body)
	if r.ContentLength < 0 {
		// Unknown length (chunked transfer): look before storing an empty part.
		br := bufio.NewReader(r.Body)
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return nil, 0, nil
		} else if err != nil {
			return nil, 0, fmt.Errorf("oci: read chunk: %w", err)
		}
		body = br
	}
	return body, want, nil
}

// patchUpload serves PATCH on an upload session: one more chunk, stored as
// the next part of the session in the bucket.
func (g *Registry) patchUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, u, err := g.session(ctx, w, r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	body, want, err := chunk(r, u)
	if err != nil {
		g.rangeError(w, r, t, u, err)
		return
	}
	if body != nil {
		if u, err = g.appendPart(ctx, u, body, want); err != nil {
			g.rangeError(w, r, t, u, err)
			return
		}
	}
	uploadAccepted(w, t.name, u, http.StatusAccepted)
}

// appendPart stores body as the session's next part and advances the
// session. want >= 0 is the length the client announced. The part is
// written under a key of its own and counts only once the offset's
// compare-and-swap records it; a losing attempt's part is removed, so two
// PATCHes racing for one offset can never overwrite the part the winner
// was acknowledged for.
func (g *Registry) appendPart(ctx context.Context, u storage.Upload, body io.Reader, want int64) (storage.Upload, error) {
	part, n, err := g.cfg.Blobs.PutPart(ctx, u.ID, body)
	if err != nil {
		return u, err
	}
	if want >= 0 && n != want {
		g.dropPart(ctx, u, part)
		return u, fmt.Errorf("%w: chunk of %d bytes, Content-Range says %d", errRangeInvalid, n, want)
	}
	next := u
	next.Offset += n
	next.Parts = append(slices.Clip(u.Parts), part)
	next.Updated = g.now()
	if err := g.cfg.Meta.AdvanceUpload(ctx, next, u.Offset); err != nil {
		g.dropPart(ctx, u, part)
		if errors.Is(err, storage.ErrExists) {
			// Another request advanced the session first: a client sending
			// chunks concurrently. Ours is out of order by definition; the
			// 416 says where the session now ends, for the client to resume.
			if cur, err := g.cfg.Meta.Upload(ctx, u.RepositoryID, u.ID); err == nil {
				u = cur
			}
			return u, fmt.Errorf("%w: concurrent chunk", errRangeInvalid)
		}
		return u, notFound(err, errUploadUnknown)
	}
	return next, nil
}

// dropPart removes a part the session did not accept. A failure leaves it
// for the end of the session, which removes every part, so it is logged.
func (g *Registry) dropPart(ctx context.Context, u storage.Upload, part string) {
	if err := g.cfg.Blobs.DeletePart(context.WithoutCancel(ctx), u.ID, part); err != nil {
		g.log.WarnContext(ctx, "oci: removing a refused part", "upload", u.ID, "part", part, "err", err)
	}
}

// rangeError answers a failed chunk; a 416 carries the session's state so
// the client can resume.
func (g *Registry) rangeError(w http.ResponseWriter, r *http.Request, t target, u storage.Upload, err error) {
	if errors.Is(err, errRangeInvalid) {
		h := w.Header()
		h.Set("Location", "/v2/"+t.name+"/blobs/uploads/"+u.ID)
		h.Set("Range", uploadRange(u.Offset))
		h.Set("Docker-Upload-UUID", u.ID)
		h.Set("Blob-Upload-Session-ID", u.ID)
	}
	writeError(w, r, g.log, err)
}

// finishUpload serves PUT ?digest= on an upload session: the optional last
// chunk, then the blob is verified, committed and linked.
func (g *Registry) finishUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, u, err := g.session(ctx, w, r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	// Several digests may be given; the first is verified (the spec lets a
	// registry pick).
	d, err := parseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	body, want, err := chunk(r, u)
	if err != nil {
		g.rangeError(w, r, t, u, err)
		return
	}
	var desc storage.Descriptor
	switch {
	case len(u.Parts) == 0:
		// Nothing staged: the body is the whole blob (POST then PUT, the
		// common monolithic upload), so it streams straight into the store.
		if body == nil {
			body = bytes.NewReader(nil)
		}
		desc, err = g.cfg.Blobs.Push(ctx, d, body)
		if err == nil && want >= 0 && desc.Size != want {
			err = fmt.Errorf("%w: %d bytes received, Content-Range says %d", errSizeInvalid, desc.Size, want)
		}
	default:
		if body != nil {
			if u, err = g.appendPart(ctx, u, body, want); err != nil {
				g.rangeError(w, r, t, u, err)
				return
			}
		}
		desc, err = g.cfg.Blobs.ComposeParts(ctx, u.ID, u.Parts, d)
	}
	if err != nil {
		if errors.Is(err, storage.ErrDigestMismatch) || errors.Is(err, storage.ErrSizeMismatch) || errors.Is(err, errSizeInvalid) {
			// A failed upload is over (the spec: 4xx other than 416 ends it).
			g.dropUpload(ctx, u)
		}
		writeError(w, r, g.log, err)
		return
	}
	if len(u.Parts) == 0 {
		// Nothing in the bucket to remove: the link and the end of the
		// session are one transaction.
		err = blobRace(g.cfg.Meta.FinishUpload(ctx, u, desc), desc)
	} else if err = g.link(ctx, t, desc); err == nil {
		g.dropUpload(ctx, u)
	}
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	blobCreated(w, t.name, desc.Digest)
}

// cancelUpload serves DELETE on an upload session.
func (g *Registry) cancelUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, u, err := g.session(ctx, w, r)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if err := g.removeUpload(ctx, u); err != nil {
		writeError(w, r, g.log, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// removeUpload deletes a session's parts (every one under the session,
// including attempts that never counted, and on a local disk its
// directory), then its row.
func (g *Registry) removeUpload(ctx context.Context, u storage.Upload) error {
	if err := g.cfg.Blobs.DeleteParts(ctx, u.ID); err != nil {
		return err
	}
	if err := g.cfg.Meta.DeleteUpload(ctx, u.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// dropUpload removes a finished session. A failure only delays the
// cleanup until CleanUploads finds the session stale, so it is logged, and
// it runs even when the request was cancelled.
func (g *Registry) dropUpload(ctx context.Context, u storage.Upload) {
	if err := g.removeUpload(context.WithoutCancel(ctx), u); err != nil {
		g.log.WarnContext(ctx, "oci: removing finished upload", "upload", u.ID, "err", err)
	}
}

// CleanUploads removes upload sessions idle for longer than the upload TTL
// at now, parts included, and returns how many it removed. The server
// calls it periodically; every replica may, since removal is idempotent.
func (g *Registry) CleanUploads(ctx context.Context, now time.Time) (int, error) {
	stale, err := g.cfg.Meta.StaleUploads(ctx, now.Add(-g.cfg.UploadTTL))
	if err != nil {
		return 0, fmt.Errorf("oci: clean uploads: %w", err)
	}
	var (
		n    int
		errs []error
	)
	for _, u := range stale {
		if err := g.removeUpload(ctx, u); err != nil {
			errs = append(errs, fmt.Errorf("upload %s: %w", u.ID, err))
			continue
		}
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("oci: clean uploads: %w", err)
	}
	return n, nil
}
