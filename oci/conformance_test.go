package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The tests in this file walk the distribution spec's four workflows
// (pull, push, content discovery, content management) request by request,
// checking statuses, headers and error codes as the spec words them.

// errCode returns the first error code of a distribution error body.
func errCode(t testing.TB, body []byte) string {
	t.Helper()
	var env struct {
		Errors []struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Errors) == 0 {
		t.Fatalf("not an error envelope: %q (%v)", body, err)
	}
	return env.Errors[0].Code
}

// expect checks a response's status and, for errors, its code.
func expect(t testing.TB, what string, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.StatusCode, status, body)
	}
	if code != "" {
		if got := errCode(t, body); got != code {
			t.Fatalf("%s: code %s, want %s; body %s", what, got, code, body)
		}
	}
}

func expectHeader(t testing.TB, what string, resp *http.Response, key, want string) {
	t.Helper()
	if got := resp.Header.Get(key); got != want {
		t.Errorf("%s: %s = %q, want %q", what, key, got, want)
	}
}

// imageManifest builds an image manifest over config and layers pushed as
// application/octet-stream-ish blobs.
func imageManifest(t testing.TB, artifactType string, config []byte, subject *ocispec.Descriptor, layers ...[]byte) []byte {
	t.Helper()
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       ocispec.Descriptor{MediaType: "application/vnd.example.config.v1+json", Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers:       []ocispec.Descriptor{},
		Subject:      subject,
		Annotations:  map[string]string{"example.com/kind": artifactType},
	}
	m.SchemaVersion = 2
	for _, l := range layers {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: "application/vnd.example.layer.v1", Digest: digest.FromBytes(l), Size: int64(len(l))})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformancePush(t *testing.T) { forEachBackend(t, testConformancePush) }

func testConformancePush(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	const name = "org/app"
	blob := []byte("the first layer")
	d := digest.FromBytes(blob)

	t.Run("POST then PUT", func(t *testing.T) {
		resp, body := h.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
		expect(t, "POST", resp, body, 202, "")
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/v2/"+name+"/blobs/uploads/") || resp.Header.Get("Docker-Upload-UUID") == "" {
			t.Fatalf("POST headers: %v", resp.Header)
		}
		expectHeader(t, "POST", resp, "Range", "0-0")
		resp, body = h.do("PUT", loc+"?digest="+d.String(), blob, "Content-Type", "application/octet-stream")
		expect(t, "PUT", resp, body, 201, "")
		expectHeader(t, "PUT", resp, "Location", "/v2/"+name+"/blobs/"+d.String())
		expectHeader(t, "PUT", resp, "Docker-Content-Digest", d.String())
		resp, body = h.do("GET", "/v2/"+name+"/blobs/"+d.String(), nil)
		expect(t, "GET blob", resp, body, 200, "")
		if !bytes.Equal(body, blob) {
			t.Errorf("GET blob = %q", body)
		}
		// The session is over.
		resp, body = h.do("GET", loc, nil)
		expect(t, "GET finished session", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
	})

	t.Run("single POST", func(t *testing.T) {
		b := []byte("single post")
		resp, body := h.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+digest.FromBytes(b).String(), b)
		expect(t, "POST ?digest", resp, body, 201, "")
		expectHeader(t, "POST ?digest", resp, "Location", "/v2/"+name+"/blobs/"+digest.FromBytes(b).String())
		resp, body = h.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+digest.FromString("other").String(), b)
		expect(t, "POST ?digest mismatch", resp, body, 400, "DIGEST_INVALID")
		resp, body = h.do("POST", "/v2/"+name+"/blobs/uploads/?digest=sha256:nothex", b)
		expect(t, "POST ?digest invalid", resp, body, 400, "DIGEST_INVALID")
	})

	t.Run("sha512", func(t *testing.T) {
		b := []byte("sha512 content")
		d512 := digest.SHA512.FromBytes(b)
		resp, body := h.do("POST", "/v2/"+name+"/blobs/uploads/?digest-algorithm=sha512", nil)
		expect(t, "POST", resp, body, 202, "")
		resp, body = h.do("PUT", resp.Header.Get("Location")+"?digest="+d512.String(), b)
		expect(t, "PUT sha512", resp, body, 201, "")
		expectHeader(t, "PUT sha512", resp, "Docker-Content-Digest", d512.String())
		resp, body = h.do("HEAD", "/v2/"+name+"/blobs/"+d512.String(), nil)
		expect(t, "HEAD sha512", resp, body, 200, "")
		resp, body = h.do("POST", "/v2/"+name+"/blobs/uploads/?digest-algorithm=md5", nil)
		expect(t, "POST md5", resp, body, 400, "DIGEST_INVALID")
	})

	t.Run("chunked", func(t *testing.T) {
		content := []byte("0123456789abcdefghij")
		cd := digest.FromBytes(content)
		resp, body := h.do("POST", "/v2/"+name+"/blobs/uploads/", nil, "Content-Length", "0")
		expect(t, "POST", resp, body, 202, "")
		loc := resp.Header.Get("Location")

		resp, body = h.do("PATCH", loc, content[:8], "Content-Range", "0-7", "Content-Type", "application/octet-stream")
		expect(t, "PATCH 1", resp, body, 202, "")
		expectHeader(t, "PATCH 1", resp, "Range", "0-7")
		loc = resp.Header.Get("Location")

		resp, body = h.do("GET", loc, nil)
		expect(t, "GET status", resp, body, 204, "")
		expectHeader(t, "GET status", resp, "Range", "0-7")
		expectHeader(t, "GET status", resp, "Location", loc)

		resp, body = h.do("PATCH", loc, content[4:10], "Content-Range", "4-9")
		expect(t, "PATCH out of order", resp, body, 416, "")
		expectHeader(t, "PATCH out of order", resp, "Range", "0-7")

		resp, body = h.do("PATCH", loc, content[8:12], "Content-Range", "8-12")
		expect(t, "PATCH length disagrees with range", resp, body, 416, "")
		resp, body = h.do("PATCH", loc, content[8:12], "Content-Range", "garbage")
		expect(t, "PATCH malformed range", resp, body, 416, "")

		resp, body = h.do("PATCH", loc, content[8:16], "Content-Range", "8-15")
		expect(t, "PATCH 2", resp, body, 202, "")
		expectHeader(t, "PATCH 2", resp, "Range", "0-15")

		// Final chunk in the closing PUT.
		resp, body = h.do("PUT", resp.Header.Get("Location")+"?digest="+cd.String(), content[16:], "Content-Range", "16-19")
		expect(t, "PUT final chunk", resp, body, 201, "")
		_, got := h.do("GET", "/v2/"+name+"/blobs/"+cd.String(), nil)
		if !bytes.Equal(got, content) {
			t.Errorf("chunked blob = %q", got)
		}
	})

	t.Run("chunked then empty PUT", func(t *testing.T) {
		content := []byte("two chunks, then close")
		resp, _ := h.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
		loc := resp.Header.Get("Location")
		resp, body := h.do("PATCH", loc, content[:5]) // no Content-Range: streamed chunk
		expect(t, "PATCH 1", resp, body, 202, "")
		resp, body = h.do("PATCH", resp.Header.Get("Location"), content[5:], "Content-Range", fmt.Sprintf("5-%d", len(content)-1))
		expect(t, "PATCH 2", resp, body, 202, "")
		resp, body = h.do("PUT", resp.Header.Get("Location")+"?digest="+digest.FromBytes(content).String(), nil)
		expect(t, "PUT", resp, body, 201, "")
	})

	t.Run("digest mismatch ends the session", func(t *testing.T) {
		resp, _ := h.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
		loc := resp.Header.Get("Location")
		h.do("PATCH", loc, []byte("abc"), "Content-Range", "0-2")
		resp, body := h.do("PUT", loc+"?digest="+digest.FromString("xyz").String(), nil)
		expect(t, "PUT wrong digest", resp, body, 400, "DIGEST_INVALID")
		resp, body = h.do("GET", loc, nil)
		expect(t, "GET after failure", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
		resp, _ = h.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
		resp, body = h.do("PUT", resp.Header.Get("Location"), []byte("x"))
		expect(t, "PUT without digest", resp, body, 400, "DIGEST_INVALID")
	})

	t.Run("cancel", func(t *testing.T) {
		resp, _ := h.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
		loc := resp.Header.Get("Location")
		h.do("PATCH", loc, []byte("abc"))
		resp, body := h.do("DELETE", loc, nil)
		expect(t, "DELETE session", resp, body, 204, "")
		resp, body = h.do("PATCH", loc, []byte("def"))
		expect(t, "PATCH cancelled", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
		resp, body = h.do("GET", "/v2/"+name+"/blobs/uploads/notasession", nil)
		expect(t, "GET unknown session", resp, body, 404, "BLOB_UPLOAD_UNKNOWN")
	})

	t.Run("mount", func(t *testing.T) {
		resp, body := h.do("POST", "/v2/other/app/blobs/uploads/?mount="+d.String()+"&from="+name, nil)
		expect(t, "mount", resp, body, 201, "")
		expectHeader(t, "mount", resp, "Location", "/v2/other/app/blobs/"+d.String())
		expectHeader(t, "mount", resp, "Docker-Content-Digest", d.String())
		resp, body = h.do("HEAD", "/v2/other/app/blobs/"+d.String(), nil)
		expect(t, "HEAD mounted", resp, body, 200, "")

		missing := digest.FromString("not here")
		resp, body = h.do("POST", "/v2/other/app/blobs/uploads/?mount="+missing.String()+"&from="+name, nil)
		expect(t, "mount of unknown blob", resp, body, 202, "")
		resp, body = h.do("POST", "/v2/other/app/blobs/uploads/?mount="+d.String()+"&from=no/such/repo", nil)
		expect(t, "mount from unknown repo", resp, body, 202, "")
		// Without from, the blob is found in the target's own tenant (org/app
		// holds it), never in another tenant's repositories.
		resp, body = h.do("POST", "/v2/org/lib/blobs/uploads/?mount="+d.String(), nil)
		expect(t, "mount without from, same tenant", resp, body, 201, "")
		expectHeader(t, "mount without from", resp, "Location", "/v2/org/lib/blobs/"+d.String())
		resp, body = h.do("HEAD", "/v2/org/lib/blobs/"+d.String(), nil)
		expect(t, "HEAD mounted without from", resp, body, 200, "")
		resp, body = h.do("POST", "/v2/third/app/blobs/uploads/?mount="+d.String(), nil)
		expect(t, "mount without from, other tenant", resp, body, 202, "")
		resp, body = h.do("POST", "/v2/org/lib2/blobs/uploads/?mount="+missing.String(), nil)
		expect(t, "mount without from of an unknown blob", resp, body, 202, "")
		resp, body = h.do("POST", "/v2/third/app/blobs/uploads/?mount=bad&from="+name, nil)
		expect(t, "mount of malformed digest", resp, body, 202, "")
	})

	t.Run("manifest", func(t *testing.T) {
		config := []byte(`{"kind":"config"}`)
		h.pushBlob(name, config)
		m := imageManifest(t, "application/vnd.example.thing", config, nil, blob)
		md := digest.FromBytes(m)
		resp, body := h.do("PUT", "/v2/"+name+"/manifests/v1", m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT by tag", resp, body, 201, "")
		expectHeader(t, "PUT by tag", resp, "Location", "/v2/"+name+"/manifests/"+md.String())
		expectHeader(t, "PUT by tag", resp, "Docker-Content-Digest", md.String())
		if resp.Header.Get("OCI-Subject") != "" {
			t.Error("OCI-Subject without a subject")
		}
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/"+md.String(), m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT by digest", resp, body, 201, "")
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/"+md.String()+"?tag=t1&tag=t2&tag=t1", m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT by digest with tags", resp, body, 201, "")
		expectHeader(t, "PUT by digest with tags", resp, "OCI-Tag", "t1, t2")
		for _, tag := range []string{"t1", "t2"} {
			resp, body = h.do("HEAD", "/v2/"+name+"/manifests/"+tag, nil)
			expect(t, "HEAD "+tag, resp, body, 200, "")
			expectHeader(t, "HEAD "+tag, resp, "Docker-Content-Digest", md.String())
		}
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/"+md.String()+"?tag=ok&tag=-bad", m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT with an invalid tag parameter", resp, body, 400, "MANIFEST_INVALID")
		m512 := digest.SHA512.FromBytes(m)
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/"+m512.String(), m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT by sha512 digest", resp, body, 201, "")
		expectHeader(t, "PUT by sha512 digest", resp, "Docker-Content-Digest", m512.String())
		resp, body = h.do("GET", "/v2/"+name+"/manifests/"+m512.String(), nil)
		expect(t, "GET by sha512 digest", resp, body, 200, "")

		resp, body = h.do("PUT", "/v2/"+name+"/manifests/"+digest.FromString("x").String(), m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT by wrong digest", resp, body, 400, "DIGEST_INVALID")

		unknown := imageManifest(t, "", config, nil, []byte("never pushed"))
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/v2", unknown, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT with unknown layer", resp, body, 400, "MANIFEST_BLOB_UNKNOWN")
		if !strings.Contains(string(body), digest.FromString("never pushed").String()) {
			t.Errorf("MANIFEST_BLOB_UNKNOWN does not name the blob: %s", body)
		}

		for _, tc := range []struct{ what, ct, body string }{
			{"not JSON", ocispec.MediaTypeImageManifest, "{"},
			{"trailing data", ocispec.MediaTypeImageManifest, string(m) + "{}"},
			{"mediaType differs from Content-Type", ocispec.MediaTypeImageIndex, string(m)},
			{"unsupported media type", "application/vnd.docker.distribution.manifest.v1+json", `{"schemaVersion":1}`},
			{"schemaVersion 1", ocispec.MediaTypeImageManifest, `{"schemaVersion":1,"config":{"mediaType":"a/b","digest":"` + digest.FromBytes(config).String() + `","size":17}}`},
			{"no config", ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"layers":[]}`},
			{"bad layer digest", ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + digest.FromBytes(config).String() + `","size":17},"layers":[{"mediaType":"a/b","digest":"sha256:zz","size":1}]}`},
			{"no media type at all", "", `{"schemaVersion":2}`},
		} {
			resp, body = h.do("PUT", "/v2/"+name+"/manifests/bad", []byte(tc.body), "Content-Type", tc.ct)
			expect(t, "PUT "+tc.what, resp, body, 400, "MANIFEST_INVALID")
		}
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/bad+tag", m, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT invalid tag", resp, body, 400, "MANIFEST_INVALID")

		big := bytes.Repeat([]byte(" "), DefaultMaxManifestSize+1)
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/big", big, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT too large", resp, body, 413, "MANIFEST_INVALID")
	})

	t.Run("non-distributable layers", func(t *testing.T) {
		config := []byte(`{"kind":"foreign"}`)
		h.pushBlob(name, config)
		foreign := func(mediaType string, urls ...string) []byte {
			m := ocispec.Manifest{
				MediaType: ocispec.MediaTypeImageManifest,
				Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
				Layers: []ocispec.Descriptor{
					{MediaType: mediaType, Digest: digest.FromString("held elsewhere"), Size: 123456, URLs: urls},
					{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(blob), Size: int64(len(blob))},
				},
			}
			m.SchemaVersion = 2
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		const url = "https://store.example.com/blobs/x"
		for _, mt := range []string{ocispec.MediaTypeImageLayerNonDistributableGzip, ocispec.MediaTypeImageLayerNonDistributable, dockerForeignLayer} {
			m := foreign(mt, url)
			resp, body := h.do("PUT", "/v2/"+name+"/manifests/foreign", m, "Content-Type", ocispec.MediaTypeImageManifest)
			expect(t, "PUT with a "+mt+" layer", resp, body, 201, "")
			resp, body = h.do("GET", "/v2/"+name+"/manifests/foreign", nil)
			expect(t, "GET it", resp, body, 200, "")
			if !bytes.Equal(body, m) {
				t.Errorf("GET returned other bytes than were pushed")
			}
		}
		// The layer itself is not served: the repository does not hold it.
		resp, body := h.do("HEAD", "/v2/"+name+"/blobs/"+digest.FromString("held elsewhere").String(), nil)
		expect(t, "HEAD the foreign layer", resp, body, 404, "")
		// Without URLs it is an ordinary layer the repository must hold.
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/foreign2", foreign(ocispec.MediaTypeImageLayerNonDistributableGzip), "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT with a non-distributable layer and no URLs", resp, body, 400, "MANIFEST_BLOB_UNKNOWN")
		for _, bad := range []string{"ftp://x/y", "https://x/y#frag", "/relative", "https://"} {
			resp, body = h.do("PUT", "/v2/"+name+"/manifests/foreign2", foreign(ocispec.MediaTypeImageLayerNonDistributableGzip, bad), "Content-Type", ocispec.MediaTypeImageManifest)
			expect(t, "PUT with url "+bad, resp, body, 400, "MANIFEST_INVALID")
		}
	})

	t.Run("index", func(t *testing.T) {
		_, m := h.do("GET", "/v2/"+name+"/manifests/v1", nil)
		idx := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d}]}`,
			ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest, digest.FromBytes(m), len(m))
		resp, body := h.do("PUT", "/v2/"+name+"/manifests/multi", []byte(idx), "Content-Type", ocispec.MediaTypeImageIndex)
		expect(t, "PUT index", resp, body, 201, "")
		bad := strings.Replace(idx, digest.FromBytes(m).String(), digest.FromString("no").String(), 1)
		resp, body = h.do("PUT", "/v2/"+name+"/manifests/multi2", []byte(bad), "Content-Type", ocispec.MediaTypeImageIndex)
		expect(t, "PUT index with unknown child", resp, body, 400, "MANIFEST_BLOB_UNKNOWN")
	})
}

// pushImage pushes a config, one layer and a manifest tagged tag; it returns
// the manifest and its digest.
func (h *harness) pushImage(name, tag, artifactType string, subject *ocispec.Descriptor, layer []byte) ([]byte, digest.Digest) {
	h.t.Helper()
	config := []byte(`{"artifact":"` + artifactType + `"}`)
	h.pushBlob(name, config)
	h.pushBlob(name, layer)
	m := imageManifest(h.t, artifactType, config, subject, layer)
	ref := tag
	if ref == "" {
		ref = digest.FromBytes(m).String()
	}
	resp, body := h.do("PUT", "/v2/"+name+"/manifests/"+ref, m, "Content-Type", ocispec.MediaTypeImageManifest)
	if resp.StatusCode != 201 {
		h.t.Fatalf("PUT manifest %s: %s %s", ref, resp.Status, body)
	}
	if subject != nil && resp.Header.Get("OCI-Subject") != subject.Digest.String() {
		h.t.Errorf("OCI-Subject = %q, want %s", resp.Header.Get("OCI-Subject"), subject.Digest)
	}
	return m, digest.FromBytes(m)
}

func TestConformancePull(t *testing.T) { forEachBackend(t, testConformancePull) }

func testConformancePull(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	const name = "team/pull"
	layer := []byte("0123456789")
	m, md := h.pushImage(name, "latest", "", nil, layer)
	ld := digest.FromBytes(layer)

	resp, body := h.do("GET", "/v2/", nil)
	expect(t, "GET /v2/", resp, body, 200, "")
	expectHeader(t, "GET /v2/", resp, "Docker-Distribution-API-Version", "registry/2.0")

	for _, ref := range []string{"latest", md.String()} {
		resp, body = h.do("GET", "/v2/"+name+"/manifests/"+ref, nil, "Accept", ocispec.MediaTypeImageManifest)
		expect(t, "GET manifest "+ref, resp, body, 200, "")
		expectHeader(t, "GET manifest", resp, "Content-Type", ocispec.MediaTypeImageManifest)
		expectHeader(t, "GET manifest", resp, "Docker-Content-Digest", md.String())
		if !bytes.Equal(body, m) {
			t.Errorf("GET manifest %s: body differs from what was pushed", ref)
		}
		resp, body = h.do("HEAD", "/v2/"+name+"/manifests/"+ref, nil)
		expect(t, "HEAD manifest", resp, body, 200, "")
		expectHeader(t, "HEAD manifest", resp, "Content-Length", fmt.Sprint(len(m)))
		expectHeader(t, "HEAD manifest", resp, "Docker-Content-Digest", md.String())
	}
	resp, body = h.do("GET", "/v2/"+name+"/manifests/nope", nil)
	expect(t, "GET unknown tag", resp, body, 404, "MANIFEST_UNKNOWN")
	resp, body = h.do("GET", "/v2/"+name+"/manifests/"+digest.FromString("x").String(), nil)
	expect(t, "GET unknown digest", resp, body, 404, "MANIFEST_UNKNOWN")
	resp, body = h.do("HEAD", "/v2/"+name+"/manifests/nope", nil)
	expect(t, "HEAD unknown tag", resp, body, 404, "")
	// Content negotiation: a client that cannot read the manifest's type is
	// told it is unknown, as distribution answers; a matching or wildcard
	// Accept, or none, gets it.
	for _, tc := range []struct {
		accept string
		status int
	}{
		{"", 200},
		{"*/*", 200},
		{ocispec.MediaTypeImageManifest, 200},
		{"application/vnd.docker.distribution.manifest.v2+json, " + ocispec.MediaTypeImageManifest, 200},
		{"application/vnd.docker.distribution.manifest.v2+json", 404},
		{ocispec.MediaTypeImageIndex, 404},
	} {
		for _, method := range []string{"GET", "HEAD"} {
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept", tc.accept}
			}
			resp, body = h.do(method, "/v2/"+name+"/manifests/latest", nil, hdr...)
			code := ""
			if tc.status == 404 && method == "GET" {
				code = "MANIFEST_UNKNOWN"
			}
			expect(t, method+" Accept: "+tc.accept, resp, body, tc.status, code)
		}
	}
	// A reference that is no valid tag names nothing: unknown, not invalid
	// (the official conformance suite pulls ".INVALID_MANIFEST_NAME").
	for _, method := range []string{"GET", "HEAD", "DELETE"} {
		resp, body = h.do(method, "/v2/"+name+"/manifests/.INVALID_MANIFEST_NAME", nil)
		want := "MANIFEST_UNKNOWN"
		if method == "HEAD" {
			want = ""
		}
		expect(t, method+" invalid tag", resp, body, 404, want)
	}
	resp, body = h.do("GET", "/v2/no/such/manifests/latest", nil)
	expect(t, "GET unknown repository", resp, body, 404, "NAME_UNKNOWN")
	resp, body = h.do("GET", "/v2/Bad/manifests/latest", nil)
	expect(t, "GET invalid name", resp, body, 400, "NAME_INVALID")

	resp, body = h.do("GET", "/v2/"+name+"/blobs/"+ld.String(), nil)
	expect(t, "GET blob", resp, body, 200, "")
	expectHeader(t, "GET blob", resp, "Docker-Content-Digest", ld.String())
	resp, body = h.do("HEAD", "/v2/"+name+"/blobs/"+ld.String(), nil)
	expect(t, "HEAD blob", resp, body, 200, "")
	expectHeader(t, "HEAD blob", resp, "Content-Length", "10")
	resp, body = h.do("GET", "/v2/"+name+"/blobs/"+digest.FromString("x").String(), nil)
	expect(t, "GET unknown blob", resp, body, 404, "BLOB_UNKNOWN")

	for _, tc := range []struct {
		rng, want, contentRange string
		status                  int
	}{
		{"bytes=2-5", "2345", "bytes 2-5/10", 206},
		{"bytes=7-", "789", "bytes 7-9/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=8-100", "89", "bytes 8-9/10", 206},
		{"bytes=0-0,2-3", "0123456789", "", 200},
		{"items=1-2", "0123456789", "", 200},
		{"bytes=10-", "", "bytes */10", 416},
		{"bytes=5-0", "", "bytes */10", 416},
	} {
		resp, body = h.do("GET", "/v2/"+name+"/blobs/"+ld.String(), nil, "Range", tc.rng)
		if resp.StatusCode != tc.status || (tc.status != 416 && string(body) != tc.want) || resp.Header.Get("Content-Range") != tc.contentRange {
			t.Errorf("Range %s: %d %q Content-Range %q; want %d %q %q", tc.rng, resp.StatusCode, body, resp.Header.Get("Content-Range"), tc.status, tc.want, tc.contentRange)
		}
	}
}

func TestConformanceContentDiscovery(t *testing.T) {
	forEachBackend(t, testConformanceContentDiscovery)
}

func testConformanceContentDiscovery(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	const name = "disc/repo"
	_, subject := h.pushImage(name, "base", "", nil, []byte("base layer"))
	for _, tag := range []string{"b", "a", "d", "c"} {
		h.pushImage(name, tag, "", nil, []byte("layer "+tag))
	}

	t.Run("tags", func(t *testing.T) {
		type tagList struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		get := func(query string) (tagList, *http.Response) {
			t.Helper()
			resp, body := h.do("GET", "/v2/"+name+"/tags/list"+query, nil)
			expect(t, "tags "+query, resp, body, 200, "")
			var tl tagList
			if err := json.Unmarshal(body, &tl); err != nil {
				t.Fatal(err)
			}
			return tl, resp
		}
		tl, resp := get("")
		if diff := cmp.Diff(tagList{name, []string{"a", "b", "base", "c", "d"}}, tl); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		if resp.Header.Get("Link") != "" {
			t.Errorf("Link on a complete list: %s", resp.Header.Get("Link"))
		}
		tl, resp = get("?n=2")
		if diff := cmp.Diff([]string{"a", "b"}, tl.Tags); diff != "" {
			t.Errorf("n=2 (-want +got):\n%s", diff)
		}
		expectHeader(t, "n=2", resp, "Link", `</v2/`+name+`/tags/list?last=b&n=2>; rel="next"`)
		tl, resp = get("?n=2&last=b")
		if diff := cmp.Diff([]string{"base", "c"}, tl.Tags); diff != "" {
			t.Errorf("n=2&last=b (-want +got):\n%s", diff)
		}
		tl, resp = get("?n=2&last=c")
		if diff := cmp.Diff([]string{"d"}, tl.Tags); diff != "" || resp.Header.Get("Link") != "" {
			t.Errorf("last page: %v, Link %q", tl.Tags, resp.Header.Get("Link"))
		}
		tl, resp = get("?last=base")
		if diff := cmp.Diff([]string{"c", "d"}, tl.Tags); diff != "" {
			t.Errorf("last without n (-want +got):\n%s", diff)
		}
		tl, resp = get("?n=0")
		if tl.Tags == nil || len(tl.Tags) != 0 || resp.Header.Get("Link") != "" {
			t.Errorf("n=0: %#v, Link %q", tl.Tags, resp.Header.Get("Link"))
		}
		resp2, body := h.do("GET", "/v2/"+name+"/tags/list?n=-1", nil)
		expect(t, "n=-1", resp2, body, 400, "PAGINATION_NUMBER_INVALID")
		resp2, body = h.do("GET", "/v2/no/such/tags/list", nil)
		expect(t, "tags of unknown repository", resp2, body, 404, "NAME_UNKNOWN")
	})

	t.Run("referrers", func(t *testing.T) {
		_, m := h.do("GET", "/v2/"+name+"/manifests/base", nil)
		subj := &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: subject, Size: int64(len(m))}
		sbom, sbomDigest := h.pushImage(name, "", "application/vnd.example.sbom", subj, []byte("sbom"))
		_, sigDigest := h.pushImage(name, "", "application/vnd.example.sig", subj, []byte("sig"))
		// A referrer without artifactType: its config media type stands in.
		cfg := []byte(`{}`)
		h.pushBlob(name, cfg)
		plain := imageManifest(t, "", cfg, subj)
		resp, body := h.do("PUT", "/v2/"+name+"/manifests/"+digest.FromBytes(plain).String(), plain, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "PUT plain referrer", resp, body, 201, "")
		expectHeader(t, "PUT plain referrer", resp, "OCI-Subject", subject.String())

		get := func(query string) (ocispec.Index, *http.Response) {
			t.Helper()
			resp, body := h.do("GET", "/v2/"+name+"/referrers/"+subject.String()+query, nil)
			expect(t, "referrers"+query, resp, body, 200, "")
			expectHeader(t, "referrers", resp, "Content-Type", ocispec.MediaTypeImageIndex)
			var idx ocispec.Index
			if err := json.Unmarshal(body, &idx); err != nil {
				t.Fatal(err)
			}
			if idx.SchemaVersion != 2 || idx.MediaType != ocispec.MediaTypeImageIndex {
				t.Errorf("referrers is not an image index: %s", body)
			}
			return idx, resp
		}
		idx, resp := get("")
		types := map[digest.Digest]string{}
		for _, d := range idx.Manifests {
			types[d.Digest] = d.ArtifactType
		}
		want := map[digest.Digest]string{
			sbomDigest:              "application/vnd.example.sbom",
			sigDigest:               "application/vnd.example.sig",
			digest.FromBytes(plain): "application/vnd.example.config.v1+json",
		}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("referrers (-want +got):\n%s", diff)
		}
		if resp.Header.Get("OCI-Filters-Applied") != "" {
			t.Error("OCI-Filters-Applied without a filter")
		}
		idx, resp = get("?artifactType=application/vnd.example.sbom")
		expectHeader(t, "filtered", resp, "OCI-Filters-Applied", "artifactType")
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sbomDigest || idx.Manifests[0].Size != int64(len(sbom)) ||
			idx.Manifests[0].Annotations["example.com/kind"] != "application/vnd.example.sbom" || idx.Manifests[0].MediaType != ocispec.MediaTypeImageManifest {
			t.Errorf("filtered referrers: %+v", idx.Manifests)
		}
		// Pages: following each Link visits every referrer once, in
		// digest order, and a filter stays in the Link.
		var paged []digest.Digest
		query := "?n=2"
		for query != "" {
			idx, resp = get(query)
			for _, d := range idx.Manifests {
				paged = append(paged, d.Digest)
			}
			query = ""
			if link := resp.Header.Get("Link"); link != "" {
				prefix := "</v2/" + name + "/referrers/" + subject.String()
				if !strings.HasPrefix(link, prefix) || !strings.HasSuffix(link, `>; rel="next"`) {
					t.Fatalf("Link %q", link)
				}
				query = strings.TrimSuffix(strings.TrimPrefix(link, prefix), `>; rel="next"`)
			}
		}
		wantOrder := slices.Sorted(maps.Keys(want))
		if diff := cmp.Diff(wantOrder, paged); diff != "" {
			t.Errorf("paged referrers (-want +got):\n%s", diff)
		}
		idx, resp = get("?artifactType=application/vnd.example.sbom&n=0")
		if len(idx.Manifests) != 0 || resp.Header.Get("Link") != "" {
			t.Errorf("n=0: %v, Link %q", idx.Manifests, resp.Header.Get("Link"))
		}
		_, resp = get("?artifactType=application/vnd.example.sig&n=1")
		if resp.Header.Get("Link") != "" {
			t.Errorf("Link after the only matching referrer: %q", resp.Header.Get("Link"))
		}
		_, sbom2 := h.pushImage(name, "", "application/vnd.example.sbom", subj, []byte("sbom 2"))
		idx, resp = get("?artifactType=application/vnd.example.sbom&n=1")
		firstSBOM := min(sbomDigest, sbom2)
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != firstSBOM {
			t.Errorf("first filtered page: %v", idx.Manifests)
		}
		expectHeader(t, "filtered page", resp, "Link", "</v2/"+name+"/referrers/"+subject.String()+
			"?artifactType=application%2Fvnd.example.sbom&last="+url.QueryEscape(firstSBOM.String())+`&n=1>; rel="next"`)
		resp, body = h.do("GET", "/v2/"+name+"/referrers/"+subject.String()+"?n=x", nil)
		expect(t, "referrers n=x", resp, body, 400, "PAGINATION_NUMBER_INVALID")

		resp, body = h.do("GET", "/v2/"+name+"/referrers/"+digest.FromString("nothing").String(), nil)
		expect(t, "referrers of unknown subject", resp, body, 200, "")
		if !strings.Contains(string(body), `"manifests":[]`) {
			t.Errorf("empty referrers: %s", body)
		}
		resp, body = h.do("GET", "/v2/no/such/referrers/"+subject.String(), nil)
		expect(t, "referrers in unknown repository", resp, body, 200, "")
		resp, body = h.do("GET", "/v2/"+name+"/referrers/sha256:bad", nil)
		expect(t, "referrers of invalid digest", resp, body, 400, "DIGEST_INVALID")
	})

	t.Run("catalog", func(t *testing.T) {
		h.pushImage("secret/repo", "v1", "", nil, []byte("s"))
		h.pushImage("disc/other", "v1", "", nil, []byte("o"))
		h.deny("secret", ActionPull)
		resp, body := h.do("GET", "/v2/_catalog", nil)
		expect(t, "catalog", resp, body, 200, "")
		if string(body) != `{"repositories":["disc/other","disc/repo"]}` {
			t.Errorf("catalog = %s", body)
		}
		resp, body = h.do("GET", "/v2/_catalog?n=1", nil)
		expect(t, "catalog n=1", resp, body, 200, "")
		if string(body) != `{"repositories":["disc/other"]}` {
			t.Errorf("catalog n=1 = %s", body)
		}
		expectHeader(t, "catalog n=1", resp, "Link", `</v2/_catalog?last=disc%2Fother&n=1>; rel="next"`)
		_, body = h.do("GET", "/v2/_catalog?n=1&last=disc/other", nil)
		if string(body) != `{"repositories":["disc/repo"]}` {
			t.Errorf("catalog page 2 = %s", body)
		}
	})
}

func TestConformanceContentManagement(t *testing.T) {
	forEachBackend(t, testConformanceContentManagement)
}

func testConformanceContentManagement(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	const name = "mgmt/repo"
	layer := []byte("layer")
	_, md := h.pushImage(name, "v1", "", nil, layer)
	// A second tag on the same manifest.
	_, m := h.do("GET", "/v2/"+name+"/manifests/v1", nil)
	resp, body := h.do("PUT", "/v2/"+name+"/manifests/v1-alias", m, "Content-Type", ocispec.MediaTypeImageManifest)
	expect(t, "PUT alias", resp, body, 201, "")

	resp, body = h.do("DELETE", "/v2/"+name+"/manifests/v1-alias", nil)
	expect(t, "DELETE tag", resp, body, 202, "")
	resp, body = h.do("GET", "/v2/"+name+"/manifests/v1-alias", nil)
	expect(t, "GET deleted tag", resp, body, 404, "MANIFEST_UNKNOWN")
	resp, body = h.do("GET", "/v2/"+name+"/manifests/v1", nil)
	expect(t, "GET other tag", resp, body, 200, "")
	resp, body = h.do("DELETE", "/v2/"+name+"/manifests/v1-alias", nil)
	expect(t, "DELETE deleted tag", resp, body, 404, "MANIFEST_UNKNOWN")

	resp, body = h.do("DELETE", "/v2/"+name+"/manifests/"+md.String(), nil)
	expect(t, "DELETE manifest", resp, body, 202, "")
	resp, body = h.do("GET", "/v2/"+name+"/manifests/"+md.String(), nil)
	expect(t, "GET deleted manifest", resp, body, 404, "MANIFEST_UNKNOWN")
	resp, body = h.do("GET", "/v2/"+name+"/manifests/v1", nil)
	expect(t, "GET tag of deleted manifest", resp, body, 404, "MANIFEST_UNKNOWN")
	resp, body = h.do("DELETE", "/v2/no/such/manifests/"+md.String(), nil)
	expect(t, "DELETE in unknown repository", resp, body, 404, "NAME_UNKNOWN")

	ld := digest.FromBytes(layer)
	resp, body = h.do("DELETE", "/v2/"+name+"/blobs/"+ld.String(), nil)
	expect(t, "DELETE blob", resp, body, 202, "")
	resp, body = h.do("GET", "/v2/"+name+"/blobs/"+ld.String(), nil)
	expect(t, "GET deleted blob", resp, body, 404, "BLOB_UNKNOWN")
	resp, body = h.do("DELETE", "/v2/"+name+"/blobs/"+ld.String(), nil)
	expect(t, "DELETE deleted blob", resp, body, 404, "BLOB_UNKNOWN")
}

func TestAuthorization(t *testing.T) {
	h := newHarness(t)
	h.pushImage("locked/repo", "v1", "", nil, []byte("x"))
	h.deny("locked", ActionPull)
	h.deny("locked", ActionPush)
	h.deny("locked", ActionDelete)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v2/locked/repo/manifests/v1"},
		{"HEAD", "/v2/locked/repo/manifests/v1"},
		{"GET", "/v2/locked/repo/blobs/" + digest.FromString("x").String()},
		{"GET", "/v2/locked/repo/tags/list"},
		{"GET", "/v2/locked/repo/referrers/" + digest.FromString("x").String()},
		{"POST", "/v2/locked/repo/blobs/uploads/"},
		{"PUT", "/v2/locked/repo/manifests/v2"},
		{"DELETE", "/v2/locked/repo/manifests/v1"},
		{"DELETE", "/v2/locked/repo/blobs/" + digest.FromString("x").String()},
		// Unknown repositories answer the same: the denial comes first.
		{"GET", "/v2/locked/nothing/manifests/v1"},
	} {
		resp, body := h.do(tc.method, tc.path, []byte("{}"))
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: %d, WWW-Authenticate %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		if tc.method != "HEAD" && errCode(t, body) != "UNAUTHORIZED" {
			t.Errorf("%s %s: %s", tc.method, tc.path, body)
		}
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"POST", "/v2/a/manifests/v1", 405, "UNSUPPORTED"},
		{"PATCH", "/v2/a/blobs/" + testSHA256, 405, "UNSUPPORTED"},
		{"PUT", "/v2/a/tags/list", 405, "UNSUPPORTED"},
		{"GET", "/v2/a/blobs/uploads/", 405, "UNSUPPORTED"},
		{"GET", "/v2/a", 404, "UNSUPPORTED"},
		{"GET", "/v3/", 404, "UNSUPPORTED"},
		{"GET", "/v2/a/blobs/nope", 400, "DIGEST_INVALID"},
	} {
		resp, body := h.do(tc.method, tc.path, nil)
		expect(t, tc.method+" "+tc.path, resp, body, tc.status, tc.code)
		expectHeader(t, tc.method+" "+tc.path, resp, "Docker-Distribution-API-Version", "registry/2.0")
	}
}
