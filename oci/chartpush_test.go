package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/storage"
)

// chartTgz builds a minimal chart archive the way `helm package` lays it out.
// Extra names add files, so the same chart version can have other bytes.
func chartTgz(t testing.TB, name, version string, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := []struct{ name, body string }{
		{name + "/Chart.yaml", "apiVersion: v2\nname: " + name + "\nversion: " + version + "\ndescription: test chart\n"},
		{name + "/values.yaml", "replicas: 1\n"},
		{name + "/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"},
	}
	for _, e := range extra {
		files = append(files, struct{ name, body string }{name + "/" + e, e + "\n"})
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pushChart uploads a chart's blobs and its Helm manifest (built by
// ChartManifest from meta) to repo under tag.
func (h *harness) pushChart(repo, tag string, meta *chart.Metadata, tgz, prov []byte) (*http.Response, []byte, digest.Digest) {
	h.t.Helper()
	tgzDesc := storage.Descriptor{Digest: h.pushBlob(repo, tgz), Size: int64(len(tgz))}
	var provDesc *storage.Descriptor
	if prov != nil {
		provDesc = &storage.Descriptor{Digest: h.pushBlob(repo, prov), Size: int64(len(prov))}
	}
	manifest, config := chartManifest(h.t, meta, tgzDesc, provDesc, time.Unix(1700000000, 0))
	h.pushBlob(repo, config)
	resp, body := h.do("PUT", "/v2/"+repo+"/manifests/"+tag, manifest, "Content-Type", ocispec.MediaTypeImageManifest)
	return resp, body, digest.FromBytes(manifest)
}

// chartManifest is the manifest `helm push` writes for a chart, with the
// mediaType field the faces chartd generates carry.
func chartManifest(t testing.TB, meta *chart.Metadata, tgz storage.Descriptor, prov *storage.Descriptor, created time.Time) (manifest, config []byte) {
	t.Helper()
	config, err := helmoci.Config(meta)
	if err != nil {
		t.Fatal(err)
	}
	var p *ocispec.Descriptor
	if prov != nil {
		p = &ocispec.Descriptor{Digest: prov.Digest, Size: prov.Size}
	}
	m := helmoci.Manifest(meta, ocispec.Descriptor{Digest: digest.FromBytes(config), Size: int64(len(config))},
		ocispec.Descriptor{Digest: tgz.Digest, Size: tgz.Size}, p, created)
	m.MediaType = ocispec.MediaTypeImageManifest
	if manifest, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return manifest, config
}

// chartOf reads a chart version row through the database's Charts face.
func (h *harness) chartOf(tenant, name, version string) (storage.ChartVersion, error) {
	h.t.Helper()
	ctx := context.Background()
	tn, err := h.meta.Tenant(ctx, tenant)
	if err != nil {
		return storage.ChartVersion{}, err
	}
	charts, ok := h.meta.(interface {
		ChartVersion(ctx context.Context, tenantID int64, name, version string) (storage.ChartVersion, error)
	})
	if !ok {
		h.t.Fatalf("%T cannot read chart versions", h.meta)
	}
	return charts.ChartVersion(ctx, tn.ID, name, version)
}

func TestChartPush(t *testing.T) { forEachBackend(t, testChartPush) }

func testChartPush(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(_ *Config, ic *intake.Config) {
		p, err := intake.NewPolicy(intake.PolicyConfig{Tenants: map[string]intake.TenantPolicy{"strict": {Mode: intake.PolicyRequired}}})
		if err != nil {
			t.Fatal(err)
		}
		ic.Policy = p
	})
	tgz := chartTgz(t, "web", "1.0.0+g1")
	meta := &chart.Metadata{APIVersion: "v2", Name: "web", Version: "1.0.0+g1", Description: "test chart"}
	prov := []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")

	resp, body, md := h.pushChart("acme/web", "1.0.0_g1", meta, tgz, prov)
	expect(t, "push chart", resp, body, 201, "")
	cv, err := h.chartOf("acme", "web", "1.0.0+g1")
	if err != nil {
		t.Fatalf("chart version row: %v", err)
	}
	config, _ := json.Marshal(meta) // Helm's config encoding
	if cv.Digest != digest.FromBytes(tgz) || cv.Size != int64(len(tgz)) || cv.ProvDigest != digest.FromBytes(prov) ||
		cv.ManifestDigest != md || cv.ConfigDigest != digest.FromBytes(config) || cv.ConfigSize != int64(len(config)) ||
		cv.Signer != "" || cv.Created.IsZero() {
		t.Errorf("chart version row: %+v", cv)
	}
	var stored chart.Metadata
	if err := json.Unmarshal(cv.Metadata, &stored); err != nil || stored.Name != "web" || stored.Description != "test chart" {
		t.Errorf("stored metadata %s: %v", cv.Metadata, err)
	}
	// Pushing the same manifest again is idempotent.
	resp, body, _ = h.pushChart("acme/web", "1.0.0_g1", meta, tgz, prov)
	expect(t, "push again", resp, body, 201, "")

	for _, tc := range []struct {
		what, repo, tag string
		meta            *chart.Metadata
		tgz             []byte
		status          int
		code, msg       string
	}{
		{"name differs from repository", "acme/api", "1.0.0_g1", meta, tgz, 400, "MANIFEST_INVALID", "must be the chart name"},
		{"tag differs from version", "acme/web", "latest", meta, tgz, 400, "MANIFEST_INVALID", `must be tagged \"1.0.0_g1\"`},
		{"config and archive disagree", "acme/web", "2.0.0", &chart.Metadata{APIVersion: "v2", Name: "web", Version: "2.0.0"}, tgz, 400, "MANIFEST_INVALID", "chart layer holds web 1.0.0+g1"},
		{"not an archive", "acme/web", "1.0.1", &chart.Metadata{Name: "web", Version: "1.0.1"}, []byte("not gzip"), 400, "MANIFEST_INVALID", ""},
		{"rejected by policy", "strict/web", "6.6.6", &chart.Metadata{APIVersion: "v2", Name: "web", Version: "6.6.6"}, chartTgz(t, "web", "6.6.6"), 400, "MANIFEST_INVALID", "requires a provenance layer"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			resp, body, _ := h.pushChart(tc.repo, tc.tag, tc.meta, tc.tgz, nil)
			expect(t, tc.what, resp, body, tc.status, tc.code)
			if !strings.Contains(string(body), tc.msg) {
				t.Errorf("message %s does not say %q", body, tc.msg)
			}
		})
	}

	t.Run("same version, other content", func(t *testing.T) {
		other := chartTgz(t, "web", "1.0.0+g1", "README.md")
		resp, body, _ := h.pushChart("acme/web", "1.0.0_g1", meta, other, nil)
		expect(t, "conflicting push", resp, body, 409, "DENIED")
	})

	t.Run("chart layer not linked", func(t *testing.T) {
		tgz2 := chartTgz(t, "web", "3.0.0")
		m2 := &chart.Metadata{APIVersion: "v2", Name: "web", Version: "3.0.0"}
		manifest, config := chartManifest(t, m2, storage.Descriptor{Digest: digest.FromBytes(tgz2), Size: int64(len(tgz2))}, nil, time.Time{})
		h.pushBlob("acme/web", config)
		h.pushBlob("other/web", tgz2) // stored, but for another tenant
		resp, body := h.do("PUT", "/v2/acme/web/manifests/3.0.0", manifest, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "unlinked chart layer", resp, body, 400, "MANIFEST_BLOB_UNKNOWN")
	})

	t.Run("pushed by digest, tagged with its version", func(t *testing.T) {
		tgz4 := chartTgz(t, "web", "4.0.0+x")
		m4 := &chart.Metadata{APIVersion: "v2", Name: "web", Version: "4.0.0+x"}
		manifest, config := chartManifest(t, m4, storage.Descriptor{Digest: h.pushBlob("acme/web", tgz4), Size: int64(len(tgz4))}, nil, time.Time{})
		h.pushBlob("acme/web", config)
		resp, body := h.do("PUT", "/v2/acme/web/manifests/"+digest.FromBytes(manifest).String(), manifest, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "chart by digest", resp, body, 201, "")
		resp, body = h.do("HEAD", "/v2/acme/web/manifests/4.0.0_x", nil)
		expect(t, "version tag of a chart pushed by digest", resp, body, 200, "")
		resp, body = h.do("PUT", "/v2/acme/web/manifests/"+digest.FromBytes(manifest).String()+"?tag=latest", manifest, "Content-Type", ocispec.MediaTypeImageManifest)
		expect(t, "chart by digest with another tag", resp, body, 400, "MANIFEST_INVALID")
	})

	t.Run("delete by tag deletes the version", func(t *testing.T) {
		resp, body := h.do("DELETE", "/v2/acme/web/manifests/1.0.0_g1", nil)
		expect(t, "DELETE chart tag", resp, body, 202, "")
		if _, err := h.chartOf("acme", "web", "1.0.0+g1"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("chart version after DELETE: %v", err)
		}
		resp, body = h.do("GET", "/v2/acme/web/manifests/"+md.String(), nil)
		expect(t, "manifest after DELETE", resp, body, 404, "MANIFEST_UNKNOWN")
	})
}

// A repository path with a segment chartd's routes use can hold nothing:
// a write is refused with the reason, a read finds nothing.
func TestReservedRepositoryPath(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do("POST", "/v2/org/index.yaml/web/blobs/uploads/", nil)
	expect(t, "upload below a reserved segment", resp, body, 400, "NAME_INVALID")
	if !strings.Contains(string(body), "reserved") {
		t.Errorf("the refusal does not say why: %s", body)
	}
	resp, body = h.do("HEAD", "/v2/org/index.yaml/web/manifests/1.0.0", nil)
	expect(t, "HEAD below a reserved segment", resp, body, 404, "")
	resp, body = h.do("GET", "/v2/api/web/tags/list", nil)
	expect(t, "tags below a reserved segment", resp, body, 404, "NAME_UNKNOWN")
}
