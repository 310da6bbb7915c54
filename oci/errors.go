package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/distribution/distribution/v3/registry/api/errcode"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/storage"
)

// Errors the handlers raise. Each is a distinct answer in errorRules; the
// handlers wrap storage.ErrNotFound in the one that says what was missing.
var (
	errUnauthorized    = errors.New("authentication required")
	errTooManyRequests = errors.New("too many requests")
	// errMountScope: the caller's token lacks pull on a mount's source,
	// which its holder may have; the answer is a challenge for both.
	errMountScope       = errors.New("the token does not cover the mount's source repository")
	errNameUnknown      = errors.New("repository name not known to registry")
	errBlobUnknown      = errors.New("blob unknown to registry")
	errManifestUnknown  = errors.New("manifest unknown")
	errUploadUnknown    = errors.New("blob upload unknown to registry")
	errManifestInvalid  = errors.New("manifest invalid")
	errManifestTooLarge = errors.New("manifest too large")
	errRangeInvalid     = errors.New("requested range not satisfiable")
	errSizeInvalid      = errors.New("provided length did not match content length")
	errPaginationNumber = errors.New("invalid number of results requested")
	errUnsupported      = errors.New("the operation is unsupported")
	// errBlobRace: garbage collection removed a blob between its upload and
	// the row that references it (the database checks the store in that
	// transaction); the client's retry uploads it again.
	errBlobRace = errors.New("blob was collected while it was being linked; retry the upload")
)

// errorRule maps an error (by errors.Is) to what the client sees.
type errorRule struct {
	target error
	code   errcode.ErrorCode
	status int
	// public: the error's own text describes the client's input and is safe
	// to show; otherwise only the code's generic message is sent.
	public bool
}

// errorRules is the one table where errors become registry error codes and
// statuses. The first match wins, so specific errors come before the
// storage sentinels they may wrap. A function, not a variable: no package
// state.
func errorRules() []errorRule {
	return []errorRule{
		{errUnauthorized, errcode.ErrorCodeUnauthorized, http.StatusUnauthorized, false},
		{errTooManyRequests, errcode.ErrorCodeTooManyRequests, http.StatusTooManyRequests, false},
		{errNoRoute, errcode.ErrorCodeUnsupported, http.StatusNotFound, false},
		{errUnsupported, errcode.ErrorCodeUnsupported, http.StatusMethodNotAllowed, false},
		{errNameInvalid, errcode.ErrorCodeNameInvalid, http.StatusBadRequest, true},
		// io.ErrUnexpectedEOF of the request body, marked by reqbody in
		// ServeHTTP (an unexpected EOF from the database or the bucket
		// stays a 500): a body shorter than its Content-Length is the
		// spec's SIZE_INVALID, whatever the route.
		{reqbody.ErrTruncated, errcode.ErrorCodeSizeInvalid, http.StatusBadRequest, false},
		// A body slower than --read-timeout: the client's doing, so 408,
		// not a logged 500; the spec has no code for it.
		{reqbody.ErrTimeout, errcode.ErrorCodeUnknown, http.StatusRequestTimeout, false},
		{errTagInvalid, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{errNameUnknown, errcode.ErrorCodeNameUnknown, http.StatusNotFound, false},
		{errBlobUnknown, errcode.ErrorCodeBlobUnknown, http.StatusNotFound, false},
		{errManifestUnknown, errcode.ErrorCodeManifestUnknown, http.StatusNotFound, false},
		{errUploadUnknown, errcode.ErrorCodeBlobUploadUnknown, http.StatusNotFound, false},
		{errManifestTooLarge, errcode.ErrorCodeManifestInvalid, http.StatusRequestEntityTooLarge, true},
		// The intake's verdicts on a chart push.
		{intake.ErrInvalidName, errcode.ErrorCodeNameInvalid, http.StatusBadRequest, true},
		{intake.ErrInvalidVersion, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{intake.ErrUnsigned, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{intake.ErrSignature, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{intake.ErrMismatch, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{intake.ErrManifest, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{chart.ErrTooLarge, errcode.ErrorCodeManifestInvalid, http.StatusRequestEntityTooLarge, true},
		{chart.ErrInvalidChart, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{chart.ErrBadArchive, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{errManifestInvalid, errcode.ErrorCodeManifestInvalid, http.StatusBadRequest, true},
		{errRangeInvalid, errcode.ErrorCodeRangeInvalid, http.StatusRequestedRangeNotSatisfiable, true},
		{errSizeInvalid, errcode.ErrorCodeSizeInvalid, http.StatusBadRequest, true},
		{errPaginationNumber, errcode.ErrorCodePaginationNumberInvalid, http.StatusBadRequest, true},
		{errDigestInvalid, errcode.ErrorCodeDigestInvalid, http.StatusBadRequest, true},
		{storage.ErrInvalidDigest, errcode.ErrorCodeDigestInvalid, http.StatusBadRequest, true},
		{storage.ErrDigestMismatch, errcode.ErrorCodeDigestInvalid, http.StatusBadRequest, true},
		{storage.ErrSizeMismatch, errcode.ErrorCodeSizeInvalid, http.StatusBadRequest, true},
		// A unique constraint refused the write: the chart version (or an
		// immutable tag) exists with other content. Helm shows the message.
		{storage.ErrExists, errcode.ErrorCodeDenied, http.StatusConflict, true},
		{storage.ErrLimit, errcode.ErrorCodeDenied, http.StatusInsufficientStorage, true},
		// A bare ErrNotFound that no handler qualified: the repository (or
		// its tenant) is what is missing.
		{storage.ErrNotFound, errcode.ErrorCodeNameUnknown, http.StatusNotFound, false},
		{errBlobRace, errcode.ErrorCodeUnavailable, http.StatusServiceUnavailable, true},
		{storage.ErrUnavailable, errcode.ErrorCodeUnavailable, http.StatusServiceUnavailable, true},
		// The client went away; the status is for the log only.
		{context.Canceled, errcode.ErrorCodeUnknown, 499, false},
	}
}

// retryAfterUnavailable is the Retry-After of a 503, in seconds: the
// server's own figure (server/drain.go) for the ChartMuseum API.
const retryAfterUnavailable = "5"

// apiError is the client-facing form of an error.
type apiError struct {
	status int
	err    errcode.Error
}

// toAPIError classifies err by errorRules; anything unmatched is a server
// fault, answered 500 with a generic message.
func toAPIError(err error) apiError {
	var missing *storage.MissingBlobError
	if errors.As(err, &missing) {
		e := errcode.ErrorCodeManifestBlobUnknown.WithDetail(map[string]string{"digest": missing.Digest.String()})
		e.Message = missing.Error()
		return apiError{status: http.StatusBadRequest, err: e}
	}
	for _, rule := range errorRules() {
		if errors.Is(err, rule.target) {
			e := rule.code.WithMessage(rule.code.Message())
			if rule.public {
				e.Message = err.Error()
			}
			return apiError{status: rule.status, err: e}
		}
	}
	return apiError{status: http.StatusInternalServerError, err: errcode.ErrorCodeUnknown.WithMessage("internal server error")}
}

// writeError answers err in the distribution error envelope. Server faults
// are logged with the request; client mistakes are not.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ae := toAPIError(err)
	switch {
	case ae.status == http.StatusServiceUnavailable:
		// A store down, a replica draining, a blob collected under a push:
		// the client retries; nothing here is a bug to page anyone for.
		log.WarnContext(r.Context(), "oci: request refused for now", "method", r.Method, "path", r.URL.Path, "err", err)
	case ae.status >= 500:
		log.ErrorContext(r.Context(), "oci: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case ae.status == 499:
		log.DebugContext(r.Context(), "oci: client went away", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if ae.status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		// A store that is down, or a replica that drains: the client
		// may come back (to this replica or another) shortly.
		h.Set("Retry-After", retryAfterUnavailable)
	}
	w.WriteHeader(ae.status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(errcode.Errors{ae.err})
}

// WriteError answers err in the distribution error envelope, classified by
// this package's table: for the server's own refusals on registry paths
// (a draining replica), so the registry's statuses stay in one place.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// errorsIsNotFound reports a storage miss.
func errorsIsNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// notFound qualifies a storage.ErrNotFound as the missing thing; other
// errors pass through.
func notFound(err error, what error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: %w", what, err)
	}
	return err
}
