package oci

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// getBlob serves GET and HEAD /v2/<name>/blobs/<digest>.
//
// Whether the blob exists is decided by the repository's link row alone:
// the blob store is only opened for a linked blob, so a digest stored for
// another repository answers exactly like one stored nowhere, in bytes and
// in time.
func (g *Registry) getBlob(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	t, err := g.open(ctx, w, r, rt.name, ActionPull, false)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	desc, err := g.cfg.Meta.LinkedBlob(ctx, t.repo.ID, rt.digest)
	if err != nil {
		writeError(w, r, g.log, notFound(err, errBlobUnknown))
		return
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", desc.Digest.String())
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+desc.Digest.String()+`"`)
	if notModified(w, r) {
		return
	}
	start, length, partial, err := parseRange(r.Header.Get("Range"), desc.Size)
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", desc.Size))
		writeError(w, r, g.log, err)
		return
	}
	if partial && r.Header.Get("If-Range") != "" && r.Header.Get("If-Range") != h.Get("ETag") {
		start, length, partial = 0, desc.Size, false
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, desc.Size))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	rc, err := g.fetch(r, desc.Digest, start, length, partial)
	if err != nil {
		h.Del("Docker-Content-Digest")
		h.Del("Content-Range")
		writeError(w, r, g.log, notFound(err, errBlobUnknown))
		return
	}
	defer rc.Close()
	w.WriteHeader(status)
	n, err := copyBlob(w, rc, length)
	if err == nil && n != length {
		err = fmt.Errorf("copied %d of %d bytes", n, length)
	}
	if err != nil {
		// Headers are gone; the short body tells the client.
		g.log.WarnContext(ctx, "oci: blob copy interrupted", "digest", desc.Digest, "err", err)
	}
}

// copyBlob sends the n bytes of rc in reads and writes of up to 256 KiB.
// Left to io.Copy, the connection's ReadFrom would copy in 32 KiB steps
// (the bucket reader is no *os.File it could sendfile); sendfile itself,
// tried on loopback, was slower than this buffered copy. The buffer is no
// larger than the blob, so a small chart costs a small allocation.
func copyBlob(w io.Writer, rc io.Reader, n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	type writerOnly struct{ io.Writer } // hides ReadFrom
	type readerOnly struct{ io.Reader } // hides WriteTo
	return io.CopyBuffer(writerOnly{w}, readerOnly{rc}, make([]byte, min(n, 256<<10)))
}

// fetch opens the blob, or the range of it.
func (g *Registry) fetch(r *http.Request, d digest.Digest, start, length int64, partial bool) (io.ReadCloser, error) {
	ctx := r.Context()
	if !partial {
		return g.cfg.Blobs.Fetch(ctx, d)
	}
	if rf, ok := g.cfg.Blobs.(storage.RangeFetcher); ok {
		return rf.FetchRange(ctx, d, start, length)
	}
	rc, err := g.cfg.Blobs.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, start); err != nil {
		rc.Close()
		return nil, fmt.Errorf("oci: skip to offset %d of %s: %w", start, d, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, length), rc}, nil
}

// parseRange interprets a Range header against a blob of size bytes. It
// honours one range (bytes=a-b, bytes=a-, bytes=-n); a header it does not
// understand, or several ranges, is ignored (RFC 9110 lets a server send the
// whole representation). A range that starts past the end, or ends before
// it starts, is errRangeInvalid.
func parseRange(header string, size int64) (start, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	parse := func(s string) (int64, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	unsatisfiable := fmt.Errorf("%w: %q for %d bytes", errRangeInvalid, header, size)
	if first == "" { // suffix: the last n bytes
		n, ok := parse(last)
		if !ok {
			return 0, size, false, nil
		}
		if n == 0 {
			return 0, 0, false, unsatisfiable
		}
		if size == 0 {
			// Satisfiable (RFC 9110: the suffix is not zero), but no
			// Content-Range can name an empty part: the whole, empty,
			// blob is the answer. (Found by FuzzParseRange.)
			return 0, 0, false, nil
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	a, ok := parse(first)
	if !ok {
		return 0, size, false, nil
	}
	b := size - 1
	if last != "" {
		if b, ok = parse(last); !ok {
			return 0, size, false, nil
		}
		if b < a {
			// As Go's http.ServeContent and distribution answer it, and
			// as the conformance suite expects.
			return 0, 0, false, unsatisfiable
		}
	}
	if a >= size {
		return 0, 0, false, unsatisfiable
	}
	b = min(b, size-1)
	return a, b - a + 1, true, nil
}

// deleteBlob serves DELETE /v2/<name>/blobs/<digest>: it unlinks the blob
// from the repository. The bytes stay until garbage collection finds them
// referenced nowhere.
func (g *Registry) deleteBlob(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt := routeOf(r)
	t, err := g.open(ctx, w, r, rt.name, ActionDelete, false)
	if err != nil {
		writeError(w, r, g.log, err)
		return
	}
	if _, err := g.cfg.Meta.LinkedBlob(ctx, t.repo.ID, rt.digest); err != nil {
		writeError(w, r, g.log, notFound(err, errBlobUnknown))
		return
	}
	if err := g.cfg.Meta.UnlinkBlob(ctx, t.repo.ID, rt.digest); err != nil {
		writeError(w, r, g.log, notFound(err, errBlobUnknown))
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// notModified answers 304 when the client holds the ETag already set on w.
// Content under a digest never changes, so the ETag is the digest. It runs
// after the repository's link was checked, so it reveals nothing more than
// a 200 would.
func notModified(w http.ResponseWriter, r *http.Request) bool {
	etag := w.Header().Get("ETag")
	for _, v := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if v = strings.TrimSpace(v); v == etag || v == "*" {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}
