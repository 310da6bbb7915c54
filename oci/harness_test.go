package oci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage"
)

// countingBlobs wraps the real blob store and counts every call, so a test
// can prove a path never touched the bucket.
type countingBlobs struct {
	BlobStore
	calls atomic.Int64
	// lose makes that many next Pushes report success without storing,
	// as if garbage collection removed the blob right after.
	lose atomic.Int64
}

func (c *countingBlobs) Fetch(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	c.calls.Add(1)
	return c.BlobStore.Fetch(ctx, d)
}

func (c *countingBlobs) FetchRange(ctx context.Context, d digest.Digest, off, n int64) (io.ReadCloser, error) {
	c.calls.Add(1)
	return c.BlobStore.(storage.RangeFetcher).FetchRange(ctx, d, off, n)
}

func (c *countingBlobs) Push(ctx context.Context, d digest.Digest, r io.Reader) (storage.Descriptor, error) {
	c.calls.Add(1)
	if c.lose.Add(-1) >= 0 {
		n, err := io.Copy(io.Discard, r)
		return storage.Descriptor{Digest: d, Size: n}, err
	}
	c.lose.Store(0)
	return c.BlobStore.Push(ctx, d, r)
}

func (c *countingBlobs) PutPart(ctx context.Context, id string, r io.Reader) (string, int64, error) {
	c.calls.Add(1)
	return c.BlobStore.PutPart(ctx, id, r)
}

func (c *countingBlobs) ComposeParts(ctx context.Context, id string, parts []string, d digest.Digest) (storage.Descriptor, error) {
	c.calls.Add(1)
	return c.BlobStore.ComposeParts(ctx, id, parts, d)
}

func (c *countingBlobs) Stat(ctx context.Context, d digest.Digest) (storage.Descriptor, error) {
	c.calls.Add(1)
	return c.BlobStore.(storage.Stater).Stat(ctx, d)
}

// harness is a registry over real storage served by httptest on loopback.
type harness struct {
	t      testing.TB
	reg    *Registry
	srv    *httptest.Server
	blobs  *countingBlobs
	store  *storage.BlobStore
	dir    string // the bucket's directory
	meta   Meta
	mu     sync.Mutex
	denied map[string]bool // "tenant action" pairs Authorize refuses
}

// harnessOption changes the registry's configuration, or the intake's the
// registry commits charts through.
type harnessOption func(*Config, *intake.Config)

// resolveLast is the resolver tests use: the last name component is the
// repository (a chart's name), everything before it the tenant.
func resolveLast(name string) (string, string, error) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name, nil
	}
	return name[:i], name[i+1:], nil
}

// newHarness serves a registry over SQLite.
func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessOn(t, backendSQLite, opts...)
}

// newHarnessOn serves a registry over the backend's database.
func newHarnessOn(t testing.TB, backend string, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := storage.OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{t: t, dir: dir, store: store, blobs: &countingBlobs{BlobStore: store}, denied: map[string]bool{}}
	h.meta = newTestMeta(t, backend, store)
	cfg := Config{
		Blobs:   h.blobs,
		Meta:    h.meta,
		Resolve: resolveLast,
		Authorize: func(r *http.Request, a Access) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			action := a.Action
			if action == ActionList { // seeing a tenant's repositories is reading it
				action = ActionPull
			}
			if h.denied[a.Tenant+" "+action] {
				return errors.New("denied")
			}
			return nil
		},
		Challenge: func(w http.ResponseWriter, r *http.Request, _ ...Access) {
			w.Header().Set("WWW-Authenticate", `Basic realm="chartd"`)
		},
		Log: testLogger(t),
	}
	ic := intake.Config{Blobs: h.blobs, Meta: h.meta.(intake.Meta), Log: cfg.Log, Limits: intake.Limits{NestedQuota: true}}
	for _, o := range opts {
		o(&cfg, &ic)
	}
	if cfg.Charts == nil {
		if cfg.Charts, err = intake.New(ic); err != nil {
			t.Fatal(err)
		}
	}
	h.reg, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(h.reg)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) deny(tenant, action string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.denied[tenant+" "+action] = true
}

// host is the server's host:port, for clients that take a reference.
func (h *harness) host() string { return strings.TrimPrefix(h.srv.URL, "http://") }

// do sends one request and returns the response with its body read.
func (h *harness) do(method, path string, body []byte, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// pushBlob uploads b monolithically (POST then PUT) to name.
func (h *harness) pushBlob(name string, b []byte) digest.Digest {
	h.t.Helper()
	resp, _ := h.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		h.t.Fatalf("POST upload: %s", resp.Status)
	}
	d := digest.FromBytes(b)
	resp, body := h.do("PUT", resp.Header.Get("Location")+"?digest="+d.String(), b)
	if resp.StatusCode != http.StatusCreated {
		h.t.Fatalf("PUT upload: %s %s", resp.Status, body)
	}
	return d
}

// testWriter sends log output to t.Log, so failures show it.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testLogger logs warnings and errors to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
