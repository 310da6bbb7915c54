package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/chartd/chartd/storage"
)

// On the registry too, a database that did not answer within --db-timeout
// is an outage (503 UNAVAILABLE with Retry-After) and a client that went
// away is not (499). The errors are shaped as storage/sqldb returns them.
func TestDatabaseTimeoutStatus(t *testing.T) {
	frozen := &storage.UnavailableError{Store: "metadata database",
		Err: fmt.Errorf("failed to receive message: timeout: %w", context.DeadlineExceeded)}
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"frozen database", fmt.Errorf("sqldb: manifest: %w", frozen), 503, "UNAVAILABLE", true},
		{"client went away", fmt.Errorf("sqldb: manifest: %w",
			fmt.Errorf("%w: %w", context.Canceled, errors.New("failed to receive message: conn closed"))), 499, "UNKNOWN", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, httptest.NewRequest("GET", "/v2/t/app/manifests/1.0.0", nil), testLogger(t), tc.err)
			if rec.Code != tc.status || errCode(t, rec.Body.Bytes()) != tc.code {
				t.Errorf("%d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.code)
			}
			if got := rec.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After %q, want one: %t", rec.Header().Get("Retry-After"), tc.retryAfter)
			}
		})
	}
}
