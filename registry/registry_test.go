package registry_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/ocitest"
	"github.com/chartd/chartd/registry"
)

func TestParseReference(t *testing.T) {
	tests := []struct {
		in      string
		want    registry.Reference
		wantErr bool
	}{
		{in: "oci://localhost:5000/charts/nginx", want: registry.Reference{Registry: "localhost:5000", Repository: "charts/nginx"}},
		{in: "oci://localhost:5000/charts/nginx:1.2.3", want: registry.Reference{Registry: "localhost:5000", Repository: "charts/nginx", Tag: "1.2.3"}},
		{in: "oci://r.example/x:1.2.3+build.1", want: registry.Reference{Registry: "r.example", Repository: "x", Tag: "1.2.3_build.1"}},
		{in: "r.example/a/b@sha256:" + strings.Repeat("a", 64), want: registry.Reference{Registry: "r.example", Repository: "a/b", Digest: "sha256:" + strings.Repeat("a", 64)}},
		{in: "oci://r.example/a:1.0.0@sha256:" + strings.Repeat("b", 64), want: registry.Reference{Registry: "r.example", Repository: "a", Tag: "1.0.0", Digest: "sha256:" + strings.Repeat("b", 64)}},
		{in: "oci://", wantErr: true},
		{in: "oci://hostonly", wantErr: true},
		{in: "oci://r.example/UPPER", wantErr: true},
		{in: "https://r.example/x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := registry.ParseReference(tt.in)
			if tt.wantErr {
				if !errors.Is(err, registry.ErrInvalidReference) {
					t.Fatalf("ParseReference(%q) err = %v, want ErrInvalidReference", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseReference(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"oci://localhost:5000/a/b:1.0.0", "r/x@sha256:" + strings.Repeat("0", 64), "oci://a/b:1+2", "::", "oci://a/b/c/d:e@f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := registry.ParseReference(s)
		if err != nil {
			return
		}
		// Whatever parses must parse again to the same reference.
		again, err := registry.ParseReference(r.String())
		if err != nil {
			t.Fatalf("re-parse of %q (%q): %v", s, r.String(), err)
		}
		if again != r {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, r)
		}
		if strings.Contains(r.Tag, "+") {
			t.Fatalf("tag %q keeps a plus", r.Tag)
		}
	})
}

func TestSemverTagsAndMatch(t *testing.T) {
	got := registry.SemverTags([]string{"latest", "1.0.0", "1.10.0_build.1", "1.2.0", "2.0.0-rc.1", "v3"})
	want := []string{"2.0.0-rc.1", "1.10.0+build.1", "1.2.0", "1.0.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("SemverTags (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ want, constraint, result string }{
		{"", "", "1.10.0+build.1"},
		{"", "^1.0.0", "1.10.0+build.1"},
		{"", "~1.2", "1.2.0"},
		{"", ">0.0.0-0", "2.0.0-rc.1"},
		{"", "1.0.0", "1.0.0"},
	} {
		v, err := registry.MatchVersion(got, tt.constraint)
		if err != nil || v != tt.result {
			t.Errorf("MatchVersion(%q) = %q, %v; want %q", tt.constraint, v, err, tt.result)
		}
	}
	if _, err := registry.MatchVersion(got, "5.x"); !errors.Is(err, registry.ErrNoMatchingTag) {
		t.Errorf("MatchVersion(5.x) err = %v, want ErrNoMatchingTag", err)
	}
}

func testMeta() *chart.Metadata {
	return &chart.Metadata{
		APIVersion: "v2", Name: "demo", Version: "1.2.3+meta", Description: "d", Home: "https://h",
		Sources:     []string{"https://s1", "https://s2"},
		Maintainers: []*chart.Maintainer{{Name: "A", Email: "a@x"}, {Name: "B"}},
		Annotations: map[string]string{"org.opencontainers.image.title": "evil", "custom": "v"},
	}
}

func TestAnnotations(t *testing.T) {
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	got := registry.Annotations(testMeta(), created)
	want := map[string]string{
		"org.opencontainers.image.title":       "demo",
		"org.opencontainers.image.version":     "1.2.3+meta",
		"org.opencontainers.image.description": "d",
		"org.opencontainers.image.url":         "https://h",
		"org.opencontainers.image.created":     "2024-01-02T03:04:05Z",
		"org.opencontainers.image.source":      "https://s1",
		"org.opencontainers.image.authors":     "A (a@x), B",
		"custom":                               "v",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Annotations (-want +got):\n%s", diff)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	ctx := context.Background()
	host := ocitest.Start(t, "", "").Host
	c, err := registry.New(registry.Options{CredentialsFile: filepath.Join(t.TempDir(), "config.json"), PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	md := testMeta()
	// A real archive: the registry is chartd's own, which checks charts.
	data, prov := charttest.Chart(md.Name, md.Version, nil), []byte("prov-bytes")
	created := time.Unix(1700000000, 0)
	ref, err := registry.ParseReference("oci://" + host + "/org/demo:" + md.Version)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Push(ctx, ref, md, data, prov, created)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != host+"/org/demo:1.2.3_meta" {
		t.Errorf("Ref = %q", res.Ref)
	}
	// The manifest digest is a pure function of the inputs.
	m, _, _, err := registry.Manifest(md, data, prov, created)
	if err != nil {
		t.Fatal(err)
	}
	if want := digestOf(m); res.ManifestDigest.String() != want {
		t.Errorf("digest %s, want %s", res.ManifestDigest, want)
	}

	unversioned, _ := registry.ParseReference("oci://" + host + "/org/demo")
	resolved, err := c.ResolveVersion(ctx, unversioned, "")
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Tag != "1.2.3_meta" {
		t.Fatalf("resolved tag %q", resolved.Tag)
	}
	got, err := c.Pull(ctx, resolved, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Chart, data) || string(got.Prov) != "prov-bytes" || got.ManifestDigest != res.ManifestDigest {
		t.Errorf("pull = %q %q %s", got.Chart, got.Prov, got.ManifestDigest)
	}
	if got.Metadata.Name != "demo" || got.Metadata.Version != "1.2.3+meta" {
		t.Errorf("metadata %+v", got.Metadata)
	}
	byDigest, _ := registry.ParseReference("oci://" + host + "/org/demo@" + res.ManifestDigest.String())
	if got, err := c.Pull(ctx, byDigest, false); err != nil || !bytes.Equal(got.Chart, data) || got.Prov != nil {
		t.Errorf("pull by digest: %v", err)
	}

	wrong, _ := registry.ParseReference("oci://" + host + "/charts/other:1.2.3_meta")
	if _, err := c.Push(ctx, wrong, md, data, nil, created); !errors.Is(err, registry.ErrStrictMode) {
		t.Errorf("push to mismatching name: %v, want ErrStrictMode", err)
	}
}

func digestOf(b []byte) string { return "sha256:" + sha256hex(b) }

func TestLoginStoresDockerCredentials(t *testing.T) {
	ctx := context.Background()
	host := ocitest.Start(t, "alice", "s3cret").Host
	cfg := filepath.Join(t.TempDir(), "registry", "config.json")
	c, err := registry.New(registry.Options{CredentialsFile: cfg, PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, host, "alice", "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if _, err := os.Stat(cfg); err == nil {
		b, _ := os.ReadFile(cfg)
		if strings.Contains(string(b), "auth\"") {
			t.Fatalf("failed login stored credentials: %s", b)
		}
	}
	if err := c.Login(ctx, "oci://"+host, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	var file struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if got := file.Auths[host].Auth; got != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Fatalf("auths[%s].auth = %q in %s", host, got, b)
	}

	// A client that reads the stored credentials can push.
	c2, err := registry.New(registry.Options{CredentialsFile: cfg, PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	md := &chart.Metadata{APIVersion: "v2", Name: "demo", Version: "0.1.0"}
	tgz := charttest.Chart("demo", "0.1.0", nil)
	ref, _ := registry.ParseReference("oci://" + host + "/demo:0.1.0")
	if _, err := c2.Push(ctx, ref, md, tgz, nil, time.Now()); err != nil {
		t.Fatalf("push with stored credentials: %v", err)
	}
	if err := c2.Logout(ctx, host); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(cfg)
	if strings.Contains(string(b), host) {
		t.Fatalf("logout left credentials: %s", b)
	}
	c3, _ := registry.New(registry.Options{CredentialsFile: cfg, PlainHTTP: true})
	if _, err := c3.Push(ctx, ref, md, tgz, nil, time.Now()); err == nil {
		t.Fatal("push after logout succeeded")
	}
}
