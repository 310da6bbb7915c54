package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// TestShutdownDrainsUploads: an upload in progress when shutdown begins
// completes (201, in index.yaml), new uploads on both protocols are refused
// 503 with Retry-After meanwhile, and reads are still served.
func TestShutdownDrainsUploads(t *testing.T) {
	ts := newTestServer(t, nil)
	// An OCI push whose blobs are in when shutdown begins.
	midPush := pushOCIBlobs(t, ts, "midway", charttest.Chart("midway", "1.0.0", nil))
	started := make(chan struct{})
	var once sync.Once
	ts.srv.gate.onEnter = func() { once.Do(func() { close(started) }) }

	tgz := charttest.Chart("slow", "1.0.0", nil)
	pr, pw := io.Pipe()
	type result struct {
		status int
		err    error
	}
	first := make(chan result, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/charts", pr)
		if err != nil {
			first <- result{err: err}
			return
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			first <- result{err: err}
			return
		}
		res.Body.Close()
		first <- result{status: res.StatusCode}
	}()
	if _, err := pw.Write(tgz[:len(tgz)/2]); err != nil {
		t.Fatal(err)
	}
	<-started // the handler holds the half-sent upload

	hs := ts.Config
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- ts.srv.Shutdown(context.Background(), hs) }()
	<-ts.srv.gate.closed

	for _, tc := range []struct {
		name, method, path, code string
		body                     io.Reader
	}{
		{"chartmuseum upload", http.MethodPost, "/api/charts", "", bytes.NewReader(charttest.Chart("late", "1.0.0", nil))},
		{"oci blob upload", http.MethodPost, "/v2/late/blobs/uploads/", "UNAVAILABLE", nil},
	} {
		r := ts.do(t, tc.method, tc.path, tc.body, nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s while draining: %d Retry-After=%q %s, want 503 with Retry-After", tc.name, r.status, r.header.Get("Retry-After"), r.body)
		}
		if tc.code != "" && !strings.Contains(string(r.body), tc.code) {
			t.Errorf("%s: body %s lacks %s", tc.name, r.body, tc.code)
		}
	}
	// The push under way may finish: its manifest is not a new upload.
	if r := putOCIManifest(t, ts, "midway", midPush); r.status != http.StatusCreated {
		t.Errorf("manifest of a push under way while draining: %d %s, want 201", r.status, r.body)
	}
	if r := ts.do(t, http.MethodGet, "/ready", nil, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/ready while draining: %d %s, want 503", r.status, r.body)
	}
	if r := ts.do(t, http.MethodGet, "/index.yaml", nil, nil); r.status != http.StatusOK {
		t.Errorf("index.yaml while draining: %d, want 200", r.status)
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("shutdown returned (%v) before the upload in progress finished", err)
	default:
	}

	if _, err := pw.Write(tgz[len(tgz)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if res := <-first; res.err != nil || res.status != http.StatusCreated {
		t.Fatalf("upload in progress: %d %v, want 201", res.status, res.err)
	}
	if err := <-shutdownErr; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// The listener is closed; the handler still answers from the stores.
	rec := recordRequest(ts.srv, http.MethodGet, "/index.yaml")
	if !strings.Contains(rec.Body.String(), "slow") || strings.Contains(rec.Body.String(), "late") {
		t.Errorf("index after shutdown:\n%s\nwant slow and not late", rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "name: midway") {
		t.Errorf("the OCI push finished while draining is not in its index: %d\n%s", rec.Code, rec.Body)
	}
}

// TestShutdownDrainTimeout: an upload that outlives the drain timeout is
// cut, and Shutdown says so.
func TestShutdownDrainTimeout(t *testing.T) {
	ts := newTestServer(t, nil)
	started := make(chan struct{})
	var once sync.Once
	ts.srv.gate.onEnter = func() { once.Do(func() { close(started) }) }
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/charts", pr)
		if res, err := http.DefaultTransport.RoundTrip(req); err == nil {
			res.Body.Close()
		}
	}()
	if _, err := pw.Write([]byte{0x1f}); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx, ts.Config); err == nil {
		t.Fatal("shutdown with an upload stuck past the drain timeout returned nil")
	}
	pw.CloseWithError(io.ErrClosedPipe)
	<-done
}

func TestReady(t *testing.T) {
	ts := newTestServer(t, nil)
	r := ts.do(t, http.MethodGet, "/ready", nil, nil)
	var got struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if r.status != http.StatusOK || !got.Ready || got.Checks["database"] != "ok" || got.Checks["storage"] != "ok" {
		t.Fatalf("/ready on open stores: %d %s", r.status, r.body)
	}

	// A closed database: not ready, liveness unaffected.
	if err := ts.srv.meta.(writeCountingDB).DB.Close(); err != nil {
		t.Fatal(err)
	}
	r = ts.do(t, http.MethodGet, "/ready", nil, nil)
	got.Checks = nil
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if r.status != http.StatusServiceUnavailable || got.Ready || got.Checks["database"] == "ok" || got.Checks["storage"] != "ok" {
		t.Errorf("/ready on a closed database: %d %s, want 503 naming the database", r.status, r.body)
	}
	if r := ts.do(t, http.MethodGet, "/health", nil, nil); r.status != http.StatusOK {
		t.Errorf("/health on a closed database: %d, want 200 (liveness)", r.status)
	}
}

func recordRequest(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// Probes poll /ready as often as /health: a successful one is not logged
// (without --log-health), a failing one is, with its route name.
func TestReadyAccessLog(t *testing.T) {
	ts, logs := loggedServer(t)
	ts.serve(t, "GET", "/ready", nil, nil)
	if l := accessLines(logs.String()); len(l) != 0 {
		t.Errorf("a successful /ready was logged: %q", l)
	}
	ts.srv.gate.close()
	ts.serve(t, "GET", "/ready", nil, nil)
	if l := accessLines(logs.String()); len(l) != 1 || !strings.Contains(l[0], "route=ready") || !strings.Contains(l[0], "status=503") {
		t.Errorf("a failing /ready: %q, want one line with route=ready status=503", l)
	}
}

// A store whose directory is gone: not ready, naming the storage.
func TestReadyStorageGone(t *testing.T) {
	ts := newTestServer(t, nil)
	if err := os.RemoveAll(filepath.Join(ts.dir, "storage")); err != nil {
		t.Fatal(err)
	}
	r := ts.do(t, http.MethodGet, "/ready", nil, nil)
	var got struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if r.status != http.StatusServiceUnavailable || got.Checks["storage"] != "unreachable" || got.Checks["database"] != "ok" {
		t.Errorf("/ready without the store's directory: %d %s, want 503 naming the storage", r.status, r.body)
	}
}
