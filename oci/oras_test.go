package oci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
)

// orasRepo is a real oras-go client for a repository of the test registry.
func orasRepo(t *testing.T, h *harness, name string) *remote.Repository {
	t.Helper()
	repo, err := remote.NewRepository(h.host() + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	return repo
}

// orasArtifact pushes an artifact with one layer (and an optional subject)
// through oras-go and returns its manifest descriptor.
func orasArtifact(t *testing.T, ctx context.Context, repo *remote.Repository, artifactType string, layer []byte, subject *ocispec.Descriptor) ocispec.Descriptor {
	t.Helper()
	ld := content.NewDescriptorFromBytes("application/vnd.example.file", layer)
	if err := repo.Push(ctx, ld, bytes.NewReader(layer)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatalf("push layer: %v", err)
	}
	md, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, artifactType, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{ld},
		Subject:             subject,
		ManifestAnnotations: map[string]string{"example.com/type": artifactType, ocispec.AnnotationCreated: "2024-01-01T00:00:00Z"},
	})
	if err != nil {
		t.Fatalf("pack manifest: %v", err)
	}
	return md
}

func TestOrasGo(t *testing.T) { forEachBackend(t, testOrasGo) }

func testOrasGo(t *testing.T, backend string) {
	h := newHarnessOn(t, backend)
	ctx := context.Background()
	repo := orasRepo(t, h, "org/app")
	layer := []byte("hello from oras-go")

	// Push and tag.
	md := orasArtifact(t, ctx, repo, "application/vnd.example.thing", layer, nil)
	if err := repo.Tag(ctx, md, "v1"); err != nil {
		t.Fatalf("tag: %v", err)
	}

	// Pull: resolve the tag, then copy the whole graph out.
	got, err := repo.Resolve(ctx, "v1")
	if err != nil || got.Digest != md.Digest || got.Size != md.Size || got.MediaType != ocispec.MediaTypeImageManifest {
		t.Fatalf("resolve v1 = %+v, %v; want %+v", got, err, md)
	}
	dst := memory.New()
	if _, err := oras.Copy(ctx, repo, "v1", dst, "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatalf("pull: %v", err)
	}
	rc, err := dst.Fetch(ctx, content.NewDescriptorFromBytes("application/vnd.example.file", layer))
	if err != nil {
		t.Fatal(err)
	}
	pulled, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(pulled, layer) {
		t.Errorf("pulled layer %q", pulled)
	}

	// Copy to another repository of the registry: blobs are mounted.
	other := orasRepo(t, h, "org/copy")
	if _, err := oras.Copy(ctx, repo, "v1", other, "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if ok, err := other.Exists(ctx, md); err != nil || !ok {
		t.Errorf("copied manifest exists = %v, %v", ok, err)
	}
	mountTo := orasRepo(t, h, "org/mounted")
	ld := content.NewDescriptorFromBytes("application/vnd.example.file", layer)
	if err := mountTo.Mount(ctx, ld, "org/app", nil); err != nil {
		t.Errorf("mount: %v", err)
	}
	if ok, err := mountTo.Blobs().Exists(ctx, ld); err != nil || !ok {
		t.Errorf("mounted blob exists = %v, %v", ok, err)
	}

	// Referrers: the registry takes the subject (OCI-Subject), so oras-go
	// uses the API and never writes a referrers tag.
	sig := orasArtifact(t, ctx, repo, "application/vnd.example.signature", []byte("signature"), &md)
	sbom := orasArtifact(t, ctx, repo, "application/vnd.example.sbom", []byte("sbom"), &md)
	var refs []ocispec.Descriptor
	if err := repo.Referrers(ctx, md, "", func(r []ocispec.Descriptor) error { refs = append(refs, r...); return nil }); err != nil {
		t.Fatalf("referrers: %v", err)
	}
	digests := func(ds []ocispec.Descriptor) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Digest.String()+" "+d.ArtifactType)
		}
		slices.Sort(out)
		return out
	}
	want := digests([]ocispec.Descriptor{sig, sbom})
	if diff := cmp.Diff(want, digests(refs)); diff != "" {
		t.Errorf("referrers (-want +got):\n%s", diff)
	}
	refs = nil
	if err := repo.Referrers(ctx, md, "application/vnd.example.sbom", func(r []ocispec.Descriptor) error { refs = append(refs, r...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Digest != sbom.Digest || refs[0].Annotations["example.com/type"] != "application/vnd.example.sbom" {
		t.Errorf("filtered referrers: %+v", refs)
	}

	// Tags, paginated by the client.
	for _, tag := range []string{"v2", "v3"} {
		if err := repo.Tag(ctx, md, tag); err != nil {
			t.Fatal(err)
		}
	}
	repo.TagListPageSize = 2
	var tags []string
	if err := repo.Tags(ctx, "", func(ts []string) error { tags = append(tags, ts...); return nil }); err != nil {
		t.Fatalf("tags: %v", err)
	}
	if diff := cmp.Diff([]string{"v1", "v2", "v3"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Catalog: repositories holding a manifest (org/mounted holds a blob only).
	reg, err := remote.NewRegistry(h.host())
	if err != nil {
		t.Fatal(err)
	}
	reg.PlainHTTP = true
	var repos []string
	if err := reg.Repositories(ctx, "", func(r []string) error { repos = append(repos, r...); return nil }); err != nil {
		t.Fatalf("catalog: %v", err)
	}
	if diff := cmp.Diff([]string{"org/app", "org/copy"}, repos); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}

	// Delete: the manifest, then a blob.
	if err := repo.Delete(ctx, sig); err != nil {
		t.Fatalf("delete manifest: %v", err)
	}
	if _, err := repo.Resolve(ctx, sig.Digest.String()); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("resolve deleted manifest: %v", err)
	}
	if err := repo.Blobs().Delete(ctx, ld); err != nil {
		t.Fatalf("delete blob: %v", err)
	}
	if ok, _ := repo.Blobs().Exists(ctx, ld); ok {
		t.Error("deleted blob still exists")
	}
}
