package oci

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

const (
	testSHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	testSHA512 = "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path string
		want route
		err  error
	}{
		{"/v2/", route{kind: routeBase}, nil},
		{"/v2", route{kind: routeBase}, nil},
		{"/v2/_catalog", route{kind: routeCatalog}, nil},
		{"/v2/chart/manifests/1.0.0", route{kind: routeManifest, name: "chart", ref: "1.0.0"}, nil},
		{"/v2/org/team/chart/manifests/1.0.0_build.1", route{kind: routeManifest, name: "org/team/chart", ref: "1.0.0_build.1"}, nil},
		{"/v2/a/manifests/" + testSHA256, route{kind: routeManifest, name: "a", ref: testSHA256, digest: testSHA256}, nil},
		{"/v2/a/manifests/" + testSHA512, route{kind: routeManifest, name: "a", ref: testSHA512, digest: testSHA512}, nil},
		{"/v2/a/blobs/" + testSHA256, route{kind: routeBlob, name: "a", digest: testSHA256}, nil},
		{"/v2/a/b/blobs/uploads/", route{kind: routeUploads, name: "a/b"}, nil},
		{"/v2/a/b/blobs/uploads", route{kind: routeUploads, name: "a/b"}, nil},
		{"/v2/a/b/blobs/uploads/0f1e-2d_3c", route{kind: routeUpload, name: "a/b", upload: "0f1e-2d_3c"}, nil},
		{"/v2/a/tags/list", route{kind: routeTags, name: "a"}, nil},
		{"/v2/a/referrers/" + testSHA256, route{kind: routeReferrers, name: "a", digest: testSHA256}, nil},
		// Keywords inside a name: the suffix decides.
		{"/v2/blobs/manifests/latest", route{kind: routeManifest, name: "blobs", ref: "latest"}, nil},
		{"/v2/x/manifests/tags/list", route{kind: routeTags, name: "x/manifests"}, nil},
		{"/v2/x/blobs/uploads/blobs/uploads/", route{kind: routeUploads, name: "x/blobs/uploads"}, nil},
		{"/v2/a/blobs/blobs/" + testSHA256, route{kind: routeBlob, name: "a/blobs", digest: testSHA256}, nil},
		{"/v2/my-chart.x__y/manifests/v1", route{kind: routeManifest, name: "my-chart.x__y", ref: "v1"}, nil},

		{"/", route{}, errNoRoute},
		{"/v2/a", route{}, errNoRoute},
		{"/v2/a/tags/list/", route{}, errNoRoute},
		{"/v2/a/blobs/uploads/a:b", route{}, errNoRoute},
		{"/v2/a/blobs/uploads/../x", route{}, errNoRoute},
		{"/v2/manifests/latest", route{}, errNoRoute},
		{"/v2//manifests/latest", route{}, errNameInvalid},
		{"/v2/A/manifests/latest", route{}, errNameInvalid},
		{"/v2/localhost:5000/a/manifests/latest", route{}, errNameInvalid},
		{"/v2/a//b/manifests/latest", route{}, errNameInvalid},
		{"/v2/a/../b/manifests/latest", route{}, errNameInvalid},
		{"/v2/-a/manifests/latest", route{}, errNameInvalid},
		{"/v2/a./manifests/latest", route{}, errNameInvalid},
		{"/v2/" + strings.Repeat("a/", 128) + "a/manifests/latest", route{}, errNameInvalid},
		// A reference that is no tag still routes; the handler answers it
		// (400 for a push, 404 for a pull or delete).
		{"/v2/a/manifests/.hidden", route{kind: routeManifest, name: "a", ref: ".hidden", badTag: true}, nil},
		{"/v2/a/manifests/" + strings.Repeat("t", 129), route{kind: routeManifest, name: "a", ref: strings.Repeat("t", 129), badTag: true}, nil},
		{"/v2/a/manifests/1.0.0+build", route{kind: routeManifest, name: "a", ref: "1.0.0+build", badTag: true}, nil},
		{"/v2/a/manifests/sha256:abc", route{}, errDigestInvalid},
		{"/v2/a/manifests/md5:d41d8cd98f00b204e9800998ecf8427e", route{}, errDigestInvalid},
		{"/v2/a/blobs/latest", route{}, errDigestInvalid},
		{"/v2/a/blobs/SHA256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", route{}, errDigestInvalid},
		{"/v2/a/referrers/nope", route{}, errDigestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := parseRoute(tt.path)
			if !errors.Is(err, tt.err) {
				t.Fatalf("parseRoute(%q) error = %v, want %v", tt.path, err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(route{})); diff != "" {
				t.Errorf("parseRoute(%q) mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	long := strings.Repeat("a", 255)
	for name, ok := range map[string]bool{
		"a": true, "a/b/c": true, "a-b": true, "a--b": true, "a__b": true, "a.b": true, long: true,
		long + "a": false, "": false, "a_": false, "a___b": false, "Ab": false, "a:1/b": false, "/a": false, "a/": false,
	} {
		if err := validateName(name); (err == nil) != ok {
			t.Errorf("validateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// FuzzParseRoute checks that no path panics the parser, that every route
// it accepts renders back to a path that parses to the same route, and
// that names and digests it returns are valid.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{
		"/v2/", "/v2/_catalog", "/v2/a/b/manifests/1.0.0", "/v2/a/blobs/" + testSHA256,
		"/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/abc", "/v2/a/tags/list",
		"/v2/a/referrers/" + testSHA512, "/v2/x/blobs/uploads/blobs/uploads/", "/v2//manifests/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, err := parseRoute(path)
		if err != nil {
			if rt != (route{}) {
				t.Fatalf("parseRoute(%q) returned %+v with error %v", path, rt, err)
			}
			return
		}
		if rt.kind != routeBase && rt.kind != routeCatalog {
			if err := validateName(rt.name); err != nil {
				t.Fatalf("parseRoute(%q) accepted invalid name %q: %v", path, rt.name, err)
			}
		}
		if rt.digest != "" {
			if err := rt.digest.Validate(); err != nil {
				t.Fatalf("parseRoute(%q) accepted invalid digest %q", path, rt.digest)
			}
		}
		again, err := parseRoute(rt.path())
		if err != nil || again != rt {
			t.Fatalf("round trip of %q via %q: got %+v, %v; want %+v", path, rt.path(), again, err, rt)
		}
	})
}

func TestParseDigestAlgorithms(t *testing.T) {
	for _, s := range []string{testSHA256, testSHA512} {
		d, err := parseDigest(s)
		if err != nil || d != digest.Digest(s) {
			t.Errorf("parseDigest(%q) = %q, %v", s, d, err)
		}
	}
	if _, err := parseDigest("sha384:" + strings.Repeat("a", 96)); !errors.Is(err, errDigestInvalid) {
		t.Errorf("sha384 accepted: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		path string
		want RouteInfo
	}{
		{"/v2/", RouteInfo{Kind: "base"}},
		{"/v2/_catalog", RouteInfo{Kind: "catalog"}},
		{"/v2/team/app/manifests/1.0.0", RouteInfo{Kind: "manifest", Name: "team/app", Reference: "1.0.0"}},
		{"/v2/team/app/manifests/" + d, RouteInfo{Kind: "manifest", Name: "team/app", Reference: d, Digest: d}},
		{"/v2/app/blobs/" + d, RouteInfo{Kind: "blob", Name: "app", Digest: d}},
		{"/v2/app/blobs/uploads/", RouteInfo{Kind: "upload", Name: "app"}},
		{"/v2/app/blobs/uploads/abc", RouteInfo{Kind: "upload", Name: "app"}},
		{"/v2/app/tags/list", RouteInfo{Kind: "tags", Name: "app"}},
		{"/v2/app/referrers/" + d, RouteInfo{Kind: "referrers", Name: "app", Digest: d}},
		{"/v2/app/nothing", RouteInfo{}},
		{"/v2/UPPER/tags/list", RouteInfo{}},
	}
	for _, tt := range tests {
		if got := Describe(tt.path); got != tt.want {
			t.Errorf("Describe(%q) = %+v, want %+v", tt.path, got, tt.want)
		}
	}
}
