package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

func TestErrorTable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("sqldb: something: %w", err) }
	tests := []struct {
		err    error
		status int
		code   string
		public bool // the error's text reaches the client
	}{
		{errUnauthorized, 401, "UNAUTHORIZED", false},
		{fmt.Errorf("%w: x", errNameInvalid), 400, "NAME_INVALID", true},
		{fmt.Errorf("%w: %w", errNameUnknown, wrap(storage.ErrNotFound)), 404, "NAME_UNKNOWN", false},
		{notFound(wrap(storage.ErrNotFound), errBlobUnknown), 404, "BLOB_UNKNOWN", false},
		{notFound(wrap(storage.ErrNotFound), errManifestUnknown), 404, "MANIFEST_UNKNOWN", false},
		{notFound(wrap(storage.ErrNotFound), errUploadUnknown), 404, "BLOB_UPLOAD_UNKNOWN", false},
		{wrap(storage.ErrNotFound), 404, "NAME_UNKNOWN", false},
		{&storage.MissingBlobError{Digest: digest.FromString("x")}, 400, "MANIFEST_BLOB_UNKNOWN", true},
		{wrap(&storage.MissingBlobError{Digest: digest.FromString("x")}), 400, "MANIFEST_BLOB_UNKNOWN", true},
		{fmt.Errorf("%w: big", errManifestTooLarge), 413, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: bad", errManifestInvalid), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: x", errTagInvalid), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: no", intake.ErrManifest), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: x", intake.ErrInvalidName), 400, "NAME_INVALID", true},
		{fmt.Errorf("%w: x", intake.ErrInvalidVersion), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: x", intake.ErrUnsigned), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: %w", intake.ErrSignature, provenance.ErrUnknownSigner), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: x", intake.ErrMismatch), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("chart: %w", chart.ErrInvalidChart), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("chart: %w", chart.ErrBadArchive), 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("chart: %w", chart.ErrTooLarge), 413, "MANIFEST_INVALID", true},
		{chart.ErrPathTraversal, 400, "MANIFEST_INVALID", true},
		{fmt.Errorf("%w: 3-2", errRangeInvalid), 416, "RANGE_INVALID", true},
		{fmt.Errorf("%w: n", errSizeInvalid), 400, "SIZE_INVALID", true},
		{fmt.Errorf("%w: n", errPaginationNumber), 400, "PAGINATION_NUMBER_INVALID", true},
		{fmt.Errorf("%w: d", errDigestInvalid), 400, "DIGEST_INVALID", true},
		{wrap(storage.ErrInvalidDigest), 400, "DIGEST_INVALID", true},
		{wrap(storage.ErrDigestMismatch), 400, "DIGEST_INVALID", true},
		{wrap(storage.ErrSizeMismatch), 400, "SIZE_INVALID", true},
		{wrap(storage.ErrExists), 409, "DENIED", true},
		{wrap(storage.ErrLimit), 507, "DENIED", true},
		{errNoRoute, 404, "UNSUPPORTED", false},
		{errUnsupported, 405, "UNSUPPORTED", false},
		{wrap(context.Canceled), 499, "UNKNOWN", false},
		{fmt.Errorf("storage: put part: %w: %w", reqbody.ErrTruncated, io.ErrUnexpectedEOF), 400, "SIZE_INVALID", false},
		{fmt.Errorf("storage: put part: %w: %w", reqbody.ErrTimeout, os.ErrDeadlineExceeded), 408, "UNKNOWN", false},
		// An unexpected EOF that is not the request body's (a database or
		// bucket connection cut off) is the server's fault.
		{fmt.Errorf("sqldb: receive: %w", io.ErrUnexpectedEOF), 500, "UNKNOWN", false},
		{errors.New("disk on fire at /var/lib/secret"), 500, "UNKNOWN", false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			ae := toAPIError(tt.err)
			if ae.status != tt.status || ae.err.Code.String() != tt.code {
				t.Fatalf("toAPIError = %d %s, want %d %s", ae.status, ae.err.Code, tt.status, tt.code)
			}
			generic := ae.err.Message == ae.err.Code.Message() || ae.err.Message == "internal server error"
			switch {
			case tt.public && !strings.Contains(ae.err.Message, tt.err.Error()) && tt.code != "MANIFEST_BLOB_UNKNOWN":
				t.Errorf("message %q does not show the error", ae.err.Message)
			case !tt.public && !generic:
				t.Errorf("message %q is not the generic one", ae.err.Message)
			}

			rec := httptest.NewRecorder()
			writeError(rec, httptest.NewRequest("GET", "/v2/x/tags/list", nil), testLogger(t), tt.err)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/json" || errCode(t, rec.Body.Bytes()) != tt.code {
				t.Errorf("writeError: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}
}

// TestErrorTableCoversEveryError keeps the table honest: every error the
// package declares has a rule.
func TestErrorTableCoversEveryError(t *testing.T) {
	for _, err := range []error{
		errNoRoute, errNameInvalid, errDigestInvalid, errTagInvalid, errUnauthorized, errNameUnknown,
		errBlobUnknown, errManifestUnknown, errUploadUnknown, errManifestInvalid, errManifestTooLarge,
		errRangeInvalid, errSizeInvalid, errPaginationNumber, errUnsupported,
		intake.ErrInvalidName, intake.ErrInvalidVersion, intake.ErrUnsigned, intake.ErrSignature,
		intake.ErrMismatch, intake.ErrManifest,
	} {
		if toAPIError(err).status == http.StatusInternalServerError {
			t.Errorf("%v has no rule", err)
		}
	}
}

func TestWriteErrorHEADHasNoBody(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest("HEAD", "/v2/x/blobs/y", nil), testLogger(t), errBlobUnknown)
	if rec.Code != 404 || rec.Body.Len() != 0 {
		t.Errorf("HEAD error: %d %q", rec.Code, rec.Body)
	}
}
