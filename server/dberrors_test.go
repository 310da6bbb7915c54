package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chartd/chartd/storage"
)

// A database that did not answer within --db-timeout is an outage (503
// with Retry-After, as a stopped one is); a client that went away while
// the database was slow is not (499, no Retry-After, nothing logged as an
// error). The errors are shaped as storage/sqldb returns them
// (TestFrozenDatabase there checks that it does).
func TestDatabaseTimeoutStatus(t *testing.T) {
	frozen := &storage.UnavailableError{Store: "metadata database",
		Err: fmt.Errorf("failed to receive message: timeout: %w", context.DeadlineExceeded)}
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		retryAfter bool
	}{
		{"frozen database", fmt.Errorf("index generation: sqldb: generation of %q: %w", "t", frozen), http.StatusServiceUnavailable, true},
		{"frozen at commit", fmt.Errorf("store chart: sqldb: commit: %w", frozen), http.StatusServiceUnavailable, true},
		{"client went away", fmt.Errorf("index generation: %w",
			fmt.Errorf("%w: %w", context.Canceled, errors.New("failed to receive message: conn closed"))), 499, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{log: slog.New(slog.DiscardHandler)}
			w := httptest.NewRecorder()
			s.writeError(w, httptest.NewRequest("GET", "/t/index.yaml", nil), tc.err)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After %q, want one: %t", w.Header().Get("Retry-After"), tc.retryAfter)
			}
		})
	}
}
