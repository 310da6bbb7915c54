package oci

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// answer is what a client can observe of a response, minus the Date.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

func observe(resp *http.Response, body []byte) answer {
	hdr := resp.Header.Clone()
	hdr.Del("Date")
	return answer{resp.StatusCode, hdr, string(body)}
}

// TestForeignBlobIsInvisible: a digest stored only for another repository
// answers exactly like a digest stored nowhere, and finding that out never
// reaches the blob store (only the link table), so timing cannot tell
// either.
func TestForeignBlobIsInvisible(t *testing.T) { forEachBackend(t, testForeignBlobIsInvisible) }

func testForeignBlobIsInvisible(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	secret := []byte("tenant A's private layer")
	h.pushBlob("tenant-a/app", secret)
	h.pushBlob("tenant-b/app", []byte("tenant B's own layer")) // B's repository exists
	foreign := digest.FromBytes(secret)
	nowhere := digest.FromString("stored nowhere")

	for _, method := range []string{"HEAD", "GET"} {
		before := h.blobs.calls.Load()
		gotForeign := observe(h.do(method, "/v2/tenant-b/app/blobs/"+foreign.String(), nil))
		gotNowhere := observe(h.do(method, "/v2/tenant-b/app/blobs/"+nowhere.String(), nil))
		if calls := h.blobs.calls.Load() - before; calls != 0 {
			t.Errorf("%s of an unlinked digest made %d blob-store calls", method, calls)
		}
		if gotForeign.Status != http.StatusNotFound {
			t.Errorf("%s foreign blob: %d", method, gotForeign.Status)
		}
		if diff := cmp.Diff(gotNowhere, gotForeign); diff != "" {
			t.Errorf("%s: a foreign blob answers differently from a missing one (-nowhere +foreign):\n%s", method, diff)
		}
		// Range requests too.
		gotForeign = observe(h.do(method, "/v2/tenant-b/app/blobs/"+foreign.String(), nil, "Range", "bytes=0-3"))
		gotNowhere = observe(h.do(method, "/v2/tenant-b/app/blobs/"+nowhere.String(), nil, "Range", "bytes=0-3"))
		if diff := cmp.Diff(gotNowhere, gotForeign); diff != "" {
			t.Errorf("%s with Range (-nowhere +foreign):\n%s", method, diff)
		}
	}

	// A manifest in B that names A's blob is refused like one naming
	// nothing, without reading the blob.
	cfg := []byte(`{}`)
	h.pushBlob("tenant-b/app", cfg)
	for _, d := range []digest.Digest{foreign, nowhere} {
		m := imageManifest(t, "", cfg, nil)
		m = []byte(string(m[:len(m)-1]) + `,"layers":[{"mediaType":"a/b","digest":"` + d.String() + `","size":24}]}`)
		resp, body := h.do("PUT", "/v2/tenant-b/app/manifests/x", m, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		expect(t, "PUT manifest naming "+d.String(), resp, body, 400, "MANIFEST_BLOB_UNKNOWN")
	}

	// A mount without a source looks in B's own tenant only: A's blob
	// there is like no blob at all.
	resp, body := h.do("POST", "/v2/tenant-b/app/blobs/uploads/?mount="+foreign.String(), nil)
	expect(t, "mount without from of another tenant's blob", resp, body, 202, "")

	// Mounting from A without the right to read A is an ordinary upload
	// session, like mounting something that does not exist; so is a mount
	// without a source inside A by someone who may push there, not read.
	h.deny("tenant-a", ActionPull)
	resp, body = h.do("POST", "/v2/tenant-b/app/blobs/uploads/?mount="+foreign.String()+"&from=tenant-a/app", nil)
	expect(t, "mount without read access", resp, body, 202, "")
	resp, body = h.do("POST", "/v2/tenant-a/lib/blobs/uploads/?mount="+foreign.String(), nil)
	expect(t, "mount without from, without read access", resp, body, 202, "")
	resp, body = h.do("HEAD", "/v2/tenant-b/app/blobs/"+foreign.String(), nil)
	expect(t, "HEAD after refused mount", resp, body, 404, "")
}

// TestUploadOfExistingBytesStoresNothing: pushing bytes the store already
// holds (for another tenant) links them, and adds no object to the bucket.
func TestUploadOfExistingBytesStoresNothing(t *testing.T) {
	forEachBackend(t, testUploadOfExistingBytesStoresNothing)
}

func testUploadOfExistingBytesStoresNothing(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	ctx := context.Background()
	content := []byte("shared bytes, pushed twice by two tenants")
	h.pushBlob("tenant-a/app", content)
	count := func() int {
		n := 0
		if err := h.store.Walk(ctx, func(storage.StoredBlob) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	h.pushBlob("tenant-b/app", content) // POST then PUT
	resp, body := h.do("POST", "/v2/tenant-c/app/blobs/uploads/?digest="+digest.FromBytes(content).String(), content)
	expect(t, "single POST of existing bytes", resp, body, 201, "")
	resp, _ = h.do("POST", "/v2/tenant-d/app/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	resp, body = h.do("PATCH", loc, content[:10], "Content-Range", "0-9")
	expect(t, "PATCH", resp, body, 202, "")
	resp, body = h.do("PUT", loc+"?digest="+digest.FromBytes(content).String(), content[10:])
	expect(t, "chunked upload of existing bytes", resp, body, 201, "")

	if after := count(); after != before {
		t.Errorf("the bucket went from %d to %d blobs", before, after)
	}
	for _, repo := range []string{"tenant-b/app", "tenant-c/app", "tenant-d/app"} {
		_, got := h.do("GET", "/v2/"+repo+"/blobs/"+digest.FromBytes(content).String(), nil)
		if string(got) != string(content) {
			t.Errorf("%s: GET = %q", repo, got)
		}
	}
	// Wrong bytes under an existing digest are still refused.
	resp, body = h.do("POST", "/v2/tenant-e/app/blobs/uploads/?digest="+digest.FromBytes(content).String(), []byte("impostor"))
	expect(t, "existing digest, other bytes", resp, body, 400, "DIGEST_INVALID")
	resp, body = h.do("HEAD", "/v2/tenant-e/app/blobs/"+digest.FromBytes(content).String(), nil)
	expect(t, "not linked after a refused push", resp, body, 404, "")
}

// TestBlobCollectedWhileLinking: when the store lost the bytes between the
// upload and the link (garbage collection racing the push), the database
// refuses the link; a blob upload answers 503 so the client retries, and a
// manifest push pushes its bytes again by itself.
func TestBlobCollectedWhileLinking(t *testing.T) {
	h := newHarness(t)
	b := []byte("collected before it was linked")
	h.blobs.lose.Store(1)
	resp, body := h.do("POST", "/v2/org/app/blobs/uploads/?digest="+digest.FromBytes(b).String(), b)
	expect(t, "upload of a lost blob", resp, body, 503, "UNAVAILABLE")
	resp, body = h.do("POST", "/v2/org/app/blobs/uploads/?digest="+digest.FromBytes(b).String(), b)
	expect(t, "retry", resp, body, 201, "")

	cfg := []byte(`{}`)
	h.pushBlob("org/app", cfg)
	m := imageManifest(t, "", cfg, nil, b)
	h.blobs.lose.Store(1)
	resp, body = h.do("PUT", "/v2/org/app/manifests/v1", m, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	expect(t, "manifest whose bytes were lost once", resp, body, 201, "")
	_, got := h.do("GET", "/v2/org/app/manifests/v1", nil)
	if string(got) != string(m) {
		t.Errorf("manifest = %s", got)
	}
}
