package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

// Every rule of the table is exercised through a wrapped error, as handlers
// see them.
func TestStatusRulesWrapped(t *testing.T) {
	for _, r := range statusRules() {
		err := fmt.Errorf("handler context: %w", r.target)
		status, msg := statusOf(err)
		if status != r.status {
			t.Errorf("%v: status %d, want %d", r.target, status, r.status)
		}
		if r.message != "" && msg != r.message {
			t.Errorf("%v: message %q, want %q", r.target, msg, r.message)
		}
		if r.message == "" && msg != err.Error() {
			t.Errorf("%v: message %q, want the error text", r.target, msg)
		}
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"explicit", errorf(http.StatusTeapot, "short and stout"), http.StatusTeapot, "short and stout"},
		{"explicit keeps cause", withStatus(409, "chart already exists", storage.ErrExists), 409, "chart already exists"},
		{"auth", &authError{repo: "a", action: "push"}, 401, "unauthorized"},
		{"body too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), 413, "request too large"},
		{"path traversal is a bad archive", fmt.Errorf("x: %w", chart.ErrPathTraversal), 400, ""},
		{"missing Chart.yaml", chart.ErrNoChartYaml, 400, ""},
		{"prov tampered", fmt.Errorf("v: %w", provenance.ErrDigestMismatch), 400, ""},
		{"missing blob is not found", &storage.MissingBlobError{}, 404, "not found"},
		{"body cut short", fmt.Errorf("store chart: %w: %w", reqbody.ErrTruncated, io.ErrUnexpectedEOF), 400, ""},
		{"body too slow", fmt.Errorf("store chart: %w: %w", reqbody.ErrTimeout, os.ErrDeadlineExceeded), 408, ""},
		{"other unexpected EOF is the server's", fmt.Errorf("sqldb: %w", io.ErrUnexpectedEOF), 500, "internal server error"},
		{"unknown is 500 and hides its text", errors.New("disk on fire"), 500, "internal server error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := statusOf(tt.err)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if tt.msg != "" && msg != tt.msg {
				t.Errorf("message %q, want %q", msg, tt.msg)
			}
		})
	}
}
