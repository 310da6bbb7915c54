package oci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/intake"
)

// TestUploadSurvivesRestart: the session lives in the database and its parts
// in the bucket, so another registry instance (a restart, another replica)
// resumes it.
func TestUploadSurvivesRestart(t *testing.T) { forEachBackend(t, testUploadSurvivesRestart) }

func testUploadSurvivesRestart(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	content := []byte("resumable upload across two replicas")
	resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	resp, body := h.do("PATCH", loc, content[:10], "Content-Range", "0-9")
	expect(t, "PATCH on replica 1", resp, body, 202, "")

	other, err := New(h.reg.cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(other)
	defer srv2.Close()
	h2 := &harness{t: t, srv: srv2}

	resp, body = h2.do("GET", loc, nil)
	expect(t, "status on replica 2", resp, body, 204, "")
	expectHeader(t, "status on replica 2", resp, "Range", "0-9")
	resp, body = h2.do("PATCH", loc, content[10:20], "Content-Range", "10-19")
	expect(t, "PATCH on replica 2", resp, body, 202, "")
	resp, body = h.do("PUT", loc+"?digest="+digest.FromBytes(content).String(), content[20:])
	expect(t, "PUT on replica 1", resp, body, 201, "")
	_, got := h2.do("GET", "/v2/org/app/blobs/"+digest.FromBytes(content).String(), nil)
	if !bytes.Equal(got, content) {
		t.Errorf("blob = %q", got)
	}
	if parts := uploadParts(t, h); len(parts) != 0 {
		t.Errorf("parts left after the upload finished: %v", parts)
	}
}

// uploadParts lists the part objects in the bucket.
func uploadParts(t *testing.T, h *harness) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(h.dir, "_uploads"), func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUploadExpiry(t *testing.T) { forEachBackend(t, testUploadExpiry) }

func testUploadExpiry(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(c *Config, _ *intake.Config) { c.UploadTTL = time.Hour })
	ctx := context.Background()
	resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	stale := resp.Header.Get("Location")
	h.do("PATCH", stale, []byte("abandoned"), "Content-Range", "0-8")
	if len(uploadParts(t, h)) != 1 {
		t.Fatalf("parts: %v", uploadParts(t, h))
	}

	later := time.Now().Add(2 * time.Hour)
	h.reg.now = func() time.Time { return later }
	resp, body := h.do("GET", stale, nil)
	expect(t, "expired session", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
	resp, body = h.do("PATCH", stale, []byte("more"))
	expect(t, "PATCH expired session", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")

	// A session started "later" is fresh and survives the cleanup.
	resp, _ = h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	fresh := resp.Header.Get("Location")

	n, err := h.reg.CleanUploads(ctx, later)
	if err != nil || n != 2 {
		// Both rows were written at the real time, which is two hours before
		// "later": both are stale by the database's clock.
		t.Fatalf("CleanUploads = %d, %v; want 2", n, err)
	}
	if parts := uploadParts(t, h); len(parts) != 0 {
		t.Errorf("parts left after cleanup: %v", parts)
	}
	h.reg.now = time.Now
	resp, body = h.do("GET", fresh, nil)
	expect(t, "cleaned session", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
	n, err = h.reg.CleanUploads(ctx, time.Now())
	if err != nil || n != 0 {
		t.Errorf("second CleanUploads = %d, %v", n, err)
	}
}

// TestUploadSessionIsPerRepository: a session ID is no capability in
// another repository.
func TestUploadSessionIsPerRepository(t *testing.T) {
	h := newHarness(t)
	resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	id := resp.Header.Get("Docker-Upload-UUID")
	h.do("POST", "/v2/org/other/blobs/uploads/", nil)
	resp, body := h.do("PATCH", "/v2/org/other/blobs/uploads/"+id, []byte("x"))
	expect(t, "PATCH in another repository", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
	resp, body = h.do("PATCH", "/v2/nothing/here/blobs/uploads/"+id, []byte("x"))
	expect(t, "PATCH in an unknown repository", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
}

// TestConcurrentChunks: of two PATCHes racing for the same offset, at most
// one is accepted, and the blob is whole.
func TestConcurrentChunks(t *testing.T) { forEachBackend(t, testConcurrentChunks) }

func testConcurrentChunks(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	chunk := bytes.Repeat([]byte("a"), 1<<16)
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PATCH", h.srv.URL+loc, bytes.NewReader(chunk))
			req.Header.Set("Content-Range", "0-65535")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	accepted := 0
	for _, s := range statuses {
		switch s {
		case 202:
			accepted++
		case 416:
		default:
			t.Errorf("concurrent PATCH answered %d", s)
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d racing chunks accepted: %v", accepted, len(statuses), statuses)
	}
	resp, body := h.do("PUT", loc+"?digest="+digest.FromBytes(chunk).String(), nil)
	expect(t, "PUT", resp, body, 201, "")
}

// TestChunkedTransferEncoding: a chunk of unknown length (no
// Content-Length) is streamed, and an empty one stores no part.
func TestChunkedTransferEncoding(t *testing.T) {
	h := newHarness(t)
	resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	send := func(method, url string, body string) *http.Response {
		t.Helper()
		// A reader that is not a *bytes.Reader makes net/http send the body
		// chunked, without a Content-Length.
		req, _ := http.NewRequest(method, h.srv.URL+url, io.MultiReader(strings.NewReader(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := send("PATCH", loc, ""); resp.StatusCode != 202 || resp.Header.Get("Range") != "0-0" {
		t.Errorf("empty chunked PATCH: %d %s", resp.StatusCode, resp.Header.Get("Range"))
	}
	if parts := uploadParts(t, h); len(parts) != 0 {
		t.Errorf("an empty chunk stored a part: %v", parts)
	}
	if resp := send("PATCH", loc, "hello "); resp.StatusCode != 202 || resp.Header.Get("Range") != "0-5" {
		t.Errorf("chunked PATCH: %d %s", resp.StatusCode, resp.Header.Get("Range"))
	}
	if resp := send("PUT", loc+"?digest="+digest.FromString("hello world").String(), "world"); resp.StatusCode != 201 {
		t.Errorf("chunked PUT: %d", resp.StatusCode)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	h := newHarness(t)
	ok := h.reg.cfg
	for name, mutate := range map[string]func(*Config){
		"no blobs":       func(c *Config) { c.Blobs = nil },
		"no meta":        func(c *Config) { c.Meta = nil },
		"no resolve":     func(c *Config) { c.Resolve = nil },
		"no authorize":   func(c *Config) { c.Authorize = nil },
		"no charts":      func(c *Config) { c.Charts = nil },
		"negative TTL":   func(c *Config) { c.UploadTTL = -1 },
		"negative limit": func(c *Config) { c.MaxManifestSize = -1 },
	} {
		c := ok
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted the config", name)
		}
	}
	c := ok
	c.Log, c.Challenge, c.UploadTTL, c.MaxManifestSize = nil, nil, 0, 0
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if g.cfg.UploadTTL != DefaultUploadTTL || g.cfg.MaxManifestSize != DefaultMaxManifestSize {
		t.Errorf("defaults: %v %v", g.cfg.UploadTTL, g.cfg.MaxManifestSize)
	}
}
