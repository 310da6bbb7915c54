package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

// apiError is an error with the exact status and message a handler wants the
// client to see (ChartMuseum's bodies are part of the API contract).
type apiError struct {
	status int
	msg    string
	err    error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

func errorf(status int, format string, a ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

// withStatus gives err a status and a public message, keeping it for errors.Is.
func withStatus(status int, msg string, err error) error {
	return &apiError{status: status, msg: msg, err: err}
}

// errUnauthorized is answered 401 with the configured challenge.
var errUnauthorized = errors.New("unauthorized")

// statusRule maps a domain error to a status. message "" means the error's
// own text is safe and useful to show (it describes the client's input).
type statusRule struct {
	target  error
	status  int
	message string
}

// statusRules is the one table where domain errors become HTTP statuses for
// the ChartMuseum API. Order matters: the first match wins. It is a function
// rather than a package variable so there is no package-level state.
func statusRules() []statusRule {
	return []statusRule{
		{errUnauthorized, http.StatusUnauthorized, "unauthorized"},
		{errTooManyRequests, http.StatusTooManyRequests, ""},
		// io.ErrUnexpectedEOF of the request body (marked by reqbody, so an
		// unexpected EOF from the database or the bucket stays a 500). It
		// comes before the archive errors: a chart cut short in transit is
		// not a bad archive.
		{reqbody.ErrTruncated, http.StatusBadRequest,
			"request body ended early: shorter than its Content-Length, or a multipart form without its closing boundary"},
		{reqbody.ErrTimeout, http.StatusRequestTimeout, "request body did not arrive within the read timeout"},
		{storage.ErrExists, http.StatusConflict, "file already exists"},
		{storage.ErrLimit, http.StatusInsufficientStorage, "repo has reached storage limit"},
		{storage.ErrNotFound, http.StatusNotFound, "not found"},
		{storage.ErrDigestMismatch, http.StatusBadRequest, ""},
		{storage.ErrSizeMismatch, http.StatusBadRequest, ""},
		{storage.ErrInvalidDigest, http.StatusBadRequest, ""},
		{chart.ErrInvalidChart, http.StatusBadRequest, ""},
		{chart.ErrBadArchive, http.StatusBadRequest, ""},
		{chart.ErrTooLarge, http.StatusRequestEntityTooLarge, ""},
		// The intake's verdicts, whose text says what to change.
		{intake.ErrInvalidName, http.StatusBadRequest, ""},
		{intake.ErrInvalidVersion, http.StatusBadRequest, ""},
		{intake.ErrUnsigned, http.StatusBadRequest, ""},
		{intake.ErrSignature, http.StatusBadRequest, ""},
		{intake.ErrMismatch, http.StatusBadRequest, ""},
		{intake.ErrManifest, http.StatusBadRequest, ""},
		{intake.ErrNoChart, http.StatusBadRequest, ""},
		{provenance.ErrMalformed, http.StatusBadRequest, ""},
		{provenance.ErrUnknownSigner, http.StatusBadRequest, ""},
		{provenance.ErrBadSignature, http.StatusBadRequest, ""},
		{provenance.ErrDigestMismatch, http.StatusBadRequest, ""},
		{provenance.ErrArchiveNotListed, http.StatusBadRequest, ""},
		{provenance.ErrKeyExpired, http.StatusBadRequest, ""},
		{provenance.ErrKeyRevoked, http.StatusBadRequest, ""},
		{context.Canceled, 499, "request canceled"},
	}
}

// statusOf returns the status and the public message for err.
func statusOf(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.msg
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge, "request too large"
	}
	for _, r := range statusRules() {
		if errors.Is(err, r.target) {
			if r.message == "" {
				return r.status, err.Error()
			}
			return r.status, r.message
		}
	}
	return http.StatusInternalServerError, "internal server error"
}

// writeError answers err as ChartMuseum does: {"error": "..."}. Server-side
// failures are logged with their cause but never shown to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 && status != http.StatusInsufficientStorage {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	var ae *authError
	if errors.As(err, &ae) {
		s.auth.challenge(w, ae.repo, ae.action)
	}
	var limited *rateLimitError
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", limited.retryAfterHeader())
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
