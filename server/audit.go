package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// Audit lines record every write, whichever protocol made it: who, in
// which tenant, did what to which chart, key or artifact, and how it
// ended. The observe middleware writes them once the handler has answered,
// so every outcome is recorded, refusals included, with no audit call on
// any return path; a handler only notes what it learned that the request
// line does not say (an uploaded chart's name and version, the keys a POST
// added). Like the access log they carry no credentials.

// Audit actions.
const (
	auditChartUpload    = "chart.upload"
	auditChartProv      = "chart.prov"
	auditChartDelete    = "chart.delete"
	auditKeyAdd         = "key.add"
	auditKeyDelete      = "key.delete"
	auditManifestPush   = "oci.manifest.push"
	auditManifestDelete = "oci.manifest.delete"
	auditBlobDelete     = "oci.blob.delete"
)

// auditAction is the audit action of a request to d, or "" for one that
// writes nothing (reads, and the steps of a blob upload, which a manifest
// push commits).
func (d reqRoute) auditAction(method string) string {
	if d.chart != nil {
		switch {
		case d.chart.Kind == KindAPICharts && method == http.MethodPost:
			return auditChartUpload
		case d.chart.Kind == KindAPIProv && method == http.MethodPost:
			return auditChartProv
		case d.chart.Kind == KindAPIVersion && method == http.MethodDelete:
			return auditChartDelete
		case d.chart.Kind == KindAPIKeys && method == http.MethodPost:
			return auditKeyAdd
		case d.chart.Kind == KindAPIKey && method == http.MethodDelete:
			return auditKeyDelete
		}
		return ""
	}
	switch {
	case d.oci.Kind == "manifest" && method == http.MethodPut:
		return auditManifestPush
	case d.oci.Kind == "manifest" && method == http.MethodDelete:
		return auditManifestDelete
	case d.oci.Kind == "blob" && method == http.MethodDelete:
		return auditBlobDelete
	}
	return ""
}

// auditNote is what a write handler learned about its target; the
// middleware puts an empty one in the request's context.
type auditNote struct {
	mu             sync.Mutex
	chart, version string
	keys           []string
}

type auditNoteKey struct{}

func withAuditNote(ctx context.Context) (context.Context, *auditNote) {
	n := &auditNote{}
	return context.WithValue(ctx, auditNoteKey{}, n), n
}

// noteChart records the chart a write is about; a no-op outside the middleware.
func noteChart(ctx context.Context, name, version string) {
	if n, _ := ctx.Value(auditNoteKey{}).(*auditNote); n != nil {
		n.mu.Lock()
		n.chart, n.version = name, version
		n.mu.Unlock()
	}
}

// noteKeys records the fingerprints a key write touched.
func noteKeys(ctx context.Context, fingerprints ...string) {
	if n, _ := ctx.Value(auditNoteKey{}).(*auditNote); n != nil {
		n.mu.Lock()
		n.keys = append(n.keys, fingerprints...)
		n.mu.Unlock()
	}
}

// auditResult is how a write ended.
type auditResult struct {
	user, tenant string
	status       int
	errBody      []byte // the start of a failure's body
	digest       string // the answer's Docker-Content-Digest
}

// audit writes one audit line.
func (s *Server) audit(ctx context.Context, action string, d reqRoute, note *auditNote, res auditResult) {
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", action),
		slog.String("user", res.user),
		slog.String("tenant", res.tenant),
	}
	note.mu.Lock()
	name, version, keys := note.chart, note.version, strings.Join(note.keys, ",")
	note.mu.Unlock()
	switch {
	case d.chart != nil:
		if name == "" {
			name, version = d.chart.Name, d.chart.Version
		}
		if name != "" {
			attrs = append(attrs, slog.String("chart", name), slog.String("version", version))
		}
		if d.chart.Kind == KindAPIKey {
			keys = strings.ToUpper(d.chart.File)
		}
		if keys != "" {
			attrs = append(attrs, slog.String("keys", keys))
		}
	default:
		attrs = append(attrs, slog.String("repository", d.oci.Name), slog.String("reference", d.oci.Reference))
		if dg := firstNonEmpty(res.digest, d.oci.Digest); dg != "" {
			attrs = append(attrs, slog.String("digest", dg))
		}
	}
	result := "ok"
	switch {
	case res.status == http.StatusUnauthorized || res.status == http.StatusForbidden:
		result = "denied"
	case res.status >= 400:
		result = "failed"
	}
	attrs = append(attrs, slog.String("result", result), slog.Int("status", res.status))
	if msg := errorMessage(res.errBody); msg != "" && res.status >= 400 {
		attrs = append(attrs, slog.String("error", msg))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// errorMessage is the public message of an error answer, in either
// protocol's envelope: ChartMuseum's {"error": …} or the registry's
// {"errors": [{"code": …, "message": …}]}. Both are what the client was
// shown, so they hold nothing the log may not.
func errorMessage(body []byte) string {
	var v struct {
		Error  string `json:"error"`
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if len(body) == 0 || json.Unmarshal(body, &v) != nil {
		return ""
	}
	if v.Error != "" {
		return v.Error
	}
	if len(v.Errors) > 0 {
		return v.Errors[0].Code + ": " + v.Errors[0].Message
	}
	return ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
