package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// ociManifest pushes a manifest's blobs and bytes, links the blobs in repo,
// and returns the row to store.
func (e *env) ociManifest(t testing.TB, repo storage.Repository, salt string) storage.Manifest {
	t.Helper()
	ctx := context.Background()
	cfg := e.push(t, []byte("config "+salt))
	layer := e.push(t, []byte("layer "+salt))
	for _, b := range []storage.Descriptor{cfg, layer} {
		if err := e.db.LinkBlob(ctx, repo.ID, b); err != nil {
			t.Fatal(err)
		}
	}
	man := e.push(t, []byte("manifest "+salt))
	return storage.Manifest{
		RepositoryID: repo.ID, Digest: man.Digest, Size: man.Size,
		MediaType: imageManifest, ConfigDigest: cfg.Digest, ConfigMediaType: "application/vnd.example.config",
		Blobs: []digest.Digest{cfg.Digest, layer.Digest},
	}
}

func TestRepositoriesAndLinks(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "org")
		if _, err := e.db.Repository(ctx, tn.ID, "r", false); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("missing repository: %v", err)
		}
		r1, err := e.db.Repository(ctx, tn.ID, "r", true)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := e.db.Repository(ctx, tn.ID, "r", true)
		if err != nil || r2 != r1 {
			t.Fatalf("Repository(create) twice: %+v, %+v (%v)", r1, r2, err)
		}
		if _, err := e.db.Repository(ctx, 987654, "r", true); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("repository of a missing tenant: %v", err)
		}
		other, _ := e.db.Repository(ctx, tn.ID, "other", true)
		b := e.push(t, []byte("layer"))
		if err := e.db.LinkBlob(ctx, r1.ID, b); err != nil {
			t.Fatal(err)
		}
		if got, err := e.db.LinkedBlob(ctx, r1.ID, b.Digest); err != nil || got != b {
			t.Errorf("LinkedBlob = %+v, %v", got, err)
		}
		// Visibility is per repository.
		if _, err := e.db.LinkedBlob(ctx, other.ID, b.Digest); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("blob visible in another repository: %v", err)
		}
		if err := e.db.UnlinkBlob(ctx, r1.ID, b.Digest); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.LinkedBlob(ctx, r1.ID, b.Digest); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("unlinked blob still linked: %v", err)
		}
		if err := e.db.UnlinkBlob(ctx, r1.ID, b.Digest); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second unlink: %v", err)
		}
		var missing *storage.MissingBlobError
		if err := e.db.LinkBlob(ctx, r1.ID, storage.Descriptor{Digest: digest.FromString("never pushed"), Size: 1}); !errors.As(err, &missing) {
			t.Errorf("linking an uncommitted blob: %v, want MissingBlobError", err)
		}
	})
}

func TestManifests(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "org")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		m := e.ociManifest(t, repo, "1")
		m.Annotations = map[string]string{"org.opencontainers.image.title": "app"}
		m.Created = time.Unix(100, 0).UTC()
		if err := e.db.PutManifest(ctx, m, "v1"); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"v1", string(m.Digest)} {
			got, err := e.db.Manifest(ctx, repo.ID, ref)
			if err != nil {
				t.Fatal(err)
			}
			want := m
			want.Blobs = sortDigests(m.Blobs)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Manifest(%s) (-want +got):\n%s", ref, diff)
			}
		}
		if g := e.generation(t, "org"); g != 0 {
			t.Errorf("a non-chart manifest moved the generation to %d", g)
		}

		// A manifest referencing a blob not linked here is refused whole.
		bad := e.ociManifest(t, repo, "2")
		foreign := e.push(t, []byte("pushed elsewhere"))
		bad.Blobs = append(bad.Blobs, foreign.Digest)
		err := e.db.PutManifest(ctx, bad, "v2")
		var missing *storage.MissingBlobError
		if !errors.As(err, &missing) || missing.Digest != foreign.Digest || !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("PutManifest with an unlinked blob: %v", err)
		}
		if _, err := e.db.Manifest(ctx, repo.ID, "v2"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("refused manifest was tagged: %v", err)
		}

		// An index needs its children in the repository.
		idxBytes := e.push(t, []byte("index"))
		idx := storage.Manifest{RepositoryID: repo.ID, Digest: idxBytes.Digest, Size: idxBytes.Size,
			MediaType: "application/vnd.oci.image.index.v1+json", Children: []digest.Digest{m.Digest}}
		if err := e.db.PutManifest(ctx, idx, "multi"); err != nil {
			t.Fatal(err)
		}
		idx2 := idx
		idx2.Children = []digest.Digest{bad.Digest}
		if err := e.db.PutManifest(ctx, idx2, ""); !errors.As(err, &missing) {
			t.Errorf("index with a missing child: %v", err)
		}

		// Moving and deleting tags.
		m3 := e.ociManifest(t, repo, "3")
		if err := e.db.PutManifest(ctx, m3, "v1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.db.Manifest(ctx, repo.ID, "v1"); got.Digest != m3.Digest {
			t.Errorf("tag v1 -> %s, want moved to %s", got.Digest, m3.Digest)
		}
		if err := e.db.DeleteTag(ctx, repo.ID, "v1"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Manifest(ctx, repo.ID, string(m3.Digest)); err != nil {
			t.Errorf("DeleteTag removed the manifest: %v", err)
		}
		if err := e.db.DeleteTag(ctx, repo.ID, "v1"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second DeleteTag: %v", err)
		}
		if err := e.db.DeleteManifest(ctx, repo.ID, m.Digest); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Manifest(ctx, repo.ID, string(m.Digest)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("deleted manifest: %v", err)
		}
		if err := e.db.DeleteManifest(ctx, repo.ID, m.Digest); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second DeleteManifest: %v", err)
		}
	})
}

func sortDigests(ds []digest.Digest) []digest.Digest {
	out := append([]digest.Digest(nil), ds...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A chart pushed over OCI: its blobs are linked by the push, PutChart
// writes both faces in one transaction, and they go with the manifest.
func TestPutChartPushed(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "org")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		cv := e.chart(t, tn.ID, "app", "1.0.0", "oci")
		pushed := storage.PutOptions{Repush: true}
		// Not linked yet: the push may not use blobs its repository lacks.
		var missing *storage.MissingBlobError
		if err := e.db.PutChart(ctx, face(cv), pushed); !errors.As(err, &missing) {
			t.Fatalf("PutChart with unlinked blobs: %v, want MissingBlobError", err)
		}
		e.linkAll(t, repo, cv)
		if err := e.db.PutChart(ctx, face(cv), pushed); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(cv, got, cmpIgnoreCreated); diff != "" {
			t.Errorf("index face (-want +got):\n%s", diff)
		}
		if g := e.generation(t, "org"); g != 1 {
			t.Errorf("generation = %d, want 1", g)
		}
		// The same archive again, in another manifest: accepted, and the
		// version's faces move to it.
		again := cv
		again.ManifestDigest, again.ManifestSize = e.push(t, []byte("another manifest")).Digest, int64(len("another manifest"))
		if err := e.db.PutChart(ctx, face(again), pushed); err != nil {
			t.Errorf("re-push of the same chart: %v", err)
		}
		if tag, _ := e.db.Manifest(ctx, repo.ID, "1.0.0"); tag.Digest != again.ManifestDigest {
			t.Errorf("tag -> %s after the re-push, want %s", tag.Digest, again.ManifestDigest)
		}
		if _, err := e.db.Manifest(ctx, repo.ID, string(cv.ManifestDigest)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the old face is still a manifest: %v", err)
		}
		// Other content under the same version: refused, nothing changes.
		other := e.chart(t, tn.ID, "app", "1.0.0", "different")
		e.linkAll(t, repo, other)
		if err := e.db.PutChart(ctx, face(other), pushed); !errors.Is(err, storage.ErrExists) {
			t.Fatalf("other content under an existing version: %v, want ErrExists", err)
		}
		if tag, _ := e.db.Manifest(ctx, repo.ID, "1.0.0"); tag.Digest != again.ManifestDigest {
			t.Errorf("refused push moved the tag to %s", tag.Digest)
		}
		// ... unless overwriting is allowed.
		if err := e.db.PutChart(ctx, face(other), storage.PutOptions{Repush: true, Overwrite: true}); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		if got, _ := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0"); got.Digest != other.Digest {
			t.Errorf("after overwrite the version holds %s, want %s", got.Digest, other.Digest)
		}
		before := e.generation(t, "org")
		if err := e.db.DeleteManifest(ctx, repo.ID, other.ManifestDigest); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("index face survives its manifest: %v", err)
		}
		if g := e.generation(t, "org"); g != before+1 {
			t.Errorf("generation %d after delete, want %d", g, before+1)
		}
	})
}

// A chart version's tag stays its own: a manifest that is no chart cannot
// take it, so the OCI face and index.yaml never disagree.
func TestPutManifestKeepsChartTags(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		cv := e.chart(t, tn.ID, "app", "1.0.0", "")
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		repo, _ := e.db.Repository(ctx, tn.ID, "app", false)
		img := e.ociManifest(t, repo, "image")
		if err := e.db.PutManifest(ctx, img, "1.0.0"); !errors.Is(err, storage.ErrExists) {
			t.Fatalf("a plain manifest on a chart version's tag: %v, want ErrExists", err)
		}
		if tag, _ := e.db.Manifest(ctx, repo.ID, "1.0.0"); tag.Digest != cv.ManifestDigest {
			t.Errorf("tag moved to %s", tag.Digest)
		}
		// Other tags, and the tag once the version is gone, are free.
		if err := e.db.PutManifest(ctx, img, "latest"); err != nil {
			t.Errorf("another tag: %v", err)
		}
		if err := e.db.DeleteChartVersion(ctx, tn.ID, "app", "1.0.0"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.PutManifest(ctx, img, "1.0.0"); err != nil {
			t.Errorf("the tag of a deleted version: %v", err)
		}
	})
}

// linkAll links a chart's blobs in repo, as its OCI push does.
func (e *env) linkAll(t testing.TB, repo storage.Repository, cv storage.ChartVersion) {
	t.Helper()
	for _, b := range []storage.Descriptor{{Digest: cv.Digest, Size: cv.Size}, {Digest: cv.ConfigDigest, Size: cv.ConfigSize}} {
		if err := e.db.LinkBlob(context.Background(), repo.ID, b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTagsPagination(t *testing.T) {
	tests := []struct {
		last string
		n    int
		want []string
	}{
		{"", 0, []string{"1.0.0", "1.0.0_b", "A", "a", "b"}},
		{"", 2, []string{"1.0.0", "1.0.0_b"}},
		{"1.0.0_b", 2, []string{"A", "a"}},
		{"a", 10, []string{"b"}},
		{"b", 10, nil},
	}
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		m := e.ociManifest(t, repo, "x")
		for _, tag := range []string{"b", "a", "A", "1.0.0_b", "1.0.0"} {
			if err := e.db.PutManifest(ctx, m, tag); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range tests {
			got, err := e.db.Tags(ctx, repo.ID, tt.last, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Tags(%q, %d) (-want +got):\n%s", tt.last, tt.n, diff)
			}
		}
	})
}

func TestCatalog(t *testing.T) {
	tests := []struct {
		name    string
		last    string
		n       int
		allowed func(string) bool
		want    []string
	}{
		{"all", "", 0, nil, []string{"Zeta", "alpha", "org/a", "org/b", "org/team/c"}},
		{"page", "alpha", 2, nil, []string{"org/a", "org/b"}},
		{"allowed", "", 0, func(n string) bool { return strings.HasPrefix(n, "org/") && !strings.HasPrefix(n, "org/team/") }, []string{"org/a", "org/b"}},
		{"allowed page", "org/a", 1, func(n string) bool { return strings.Contains(n, "/") }, []string{"org/b"}},
	}
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, full := range []struct{ tenant, name string }{{"", "alpha"}, {"", "Zeta"}, {"org", "b"}, {"org", "a"}, {"org/team", "c"}} {
			tn := e.tenant(t, full.tenant)
			repo, _ := e.db.Repository(ctx, tn.ID, full.name, true)
			if err := e.db.PutManifest(ctx, e.ociManifest(t, repo, full.tenant+full.name), "latest"); err != nil {
				t.Fatal(err)
			}
		}
		tn := e.tenant(t, "org")
		if _, err := e.db.Repository(ctx, tn.ID, "empty", true); err != nil { // no manifest: not listed
			t.Fatal(err)
		}
		for _, tt := range tests {
			got, err := e.db.Catalog(ctx, tt.last, tt.n, tt.allowed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: Catalog (-want +got):\n%s", tt.name, diff)
			}
		}
	})
}

func TestReferrers(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		subject := e.ociManifest(t, repo, "subject")
		if err := e.db.PutManifest(ctx, subject, "v1"); err != nil {
			t.Fatal(err)
		}
		var want []storage.Manifest
		for i, at := range []string{"application/vnd.example.sig", "application/vnd.example.sbom", "application/vnd.example.sig"} {
			r := e.ociManifest(t, repo, fmt.Sprint("referrer", i))
			r.Subject, r.ArtifactType = subject.Digest, at
			r.Annotations = map[string]string{"n": fmt.Sprint(i)}
			if err := e.db.PutManifest(ctx, r, ""); err != nil {
				t.Fatal(err)
			}
			r.Blobs = nil
			want = append(want, r)
		}
		got, err := e.db.Referrers(ctx, repo.ID, subject.Digest, "", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("Referrers = %d manifests, want 3", len(got))
		}
		sigs, err := e.db.Referrers(ctx, repo.ID, subject.Digest, "application/vnd.example.sig", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sigs {
			if s.ArtifactType != "application/vnd.example.sig" || s.Subject != subject.Digest || s.Annotations["n"] == "" {
				t.Errorf("filtered referrer %+v", s)
			}
		}
		if len(sigs) != 2 {
			t.Errorf("filtered Referrers = %d, want 2", len(sigs))
		}
		// Pages in digest order: two, then what follows the second.
		first, err := e.db.Referrers(ctx, repo.ID, subject.Digest, "", "", 2)
		if err != nil || len(first) != 2 || first[0].Digest >= first[1].Digest {
			t.Fatalf("first page = %v, %v", first, err)
		}
		rest, err := e.db.Referrers(ctx, repo.ID, subject.Digest, "", first[1].Digest.String(), 2)
		if err != nil || len(rest) != 1 || rest[0].Digest <= first[1].Digest {
			t.Fatalf("second page = %v, %v", rest, err)
		}
		none, err := e.db.Referrers(ctx, repo.ID, digest.FromString("nothing"), "", "", 0)
		if err != nil || len(none) != 0 {
			t.Errorf("Referrers of an unknown digest = %v, %v", none, err)
		}
	})
}

func TestUploads(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		other, _ := e.db.Repository(ctx, tn.ID, "other", true)
		u, err := e.db.CreateUpload(ctx, repo.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.ID) != 32 {
			t.Errorf("upload id %q is not 128 random bits", u.ID)
		}
		if _, err := e.db.Upload(ctx, other.ID, u.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("upload visible from another repository: %v", err)
		}
		if len(u.Parts) != 0 {
			t.Errorf("new upload has parts %v", u.Parts)
		}
		next := u
		next.Offset, next.Parts = 100, []string{"winner"}
		if err := e.db.AdvanceUpload(ctx, next, 0); err != nil {
			t.Fatal(err)
		}
		// A racing writer that also started from 0 loses, and its part is
		// not recorded.
		loser := u
		loser.Offset, loser.Parts = 100, []string{"loser"}
		if err := e.db.AdvanceUpload(ctx, loser, 0); !errors.Is(err, storage.ErrExists) {
			t.Errorf("stale advance: %v, want ErrExists", err)
		}
		got, err := e.db.Upload(ctx, repo.ID, u.ID)
		if err != nil || got.Offset != 100 || !slices.Equal(got.Parts, []string{"winner"}) || got.Updated.Before(got.Started) {
			t.Errorf("Upload = %+v, %v", got, err)
		}
		next.Offset, next.Parts = 150, []string{"winner", "second"}
		if err := e.db.AdvanceUpload(ctx, next, 100); err != nil {
			t.Fatal(err)
		}
		if got, err := e.db.Upload(ctx, repo.ID, u.ID); err != nil || !slices.Equal(got.Parts, next.Parts) {
			t.Errorf("after a second part: %+v, %v", got, err)
		}
		bad := next
		bad.Offset, bad.Parts = 200, []string{"winner", "second", "two words"}
		if err := e.db.AdvanceUpload(ctx, bad, 150); err == nil {
			t.Error("a part id with a space was accepted")
		}
		stale, err := e.db.StaleUploads(ctx, time.Now().Add(time.Minute))
		if err != nil || len(stale) != 1 || stale[0].ID != u.ID {
			t.Errorf("StaleUploads(future) = %v, %v", stale, err)
		}
		if stale, _ := e.db.StaleUploads(ctx, time.Now().Add(-time.Minute)); len(stale) != 0 {
			t.Errorf("fresh upload listed as stale: %v", stale)
		}
		if err := e.db.DeleteUpload(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.db.DeleteUpload(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if err := e.db.AdvanceUpload(ctx, next, 100); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("advance of a deleted upload: %v", err)
		}
	})
}

// Concurrent OCI pushes of one chart version: identical content all succeed
// (a retried push), different content lets exactly one win.
func TestPutChartPushedConcurrent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		tests := []struct {
			name     string
			version  string
			salt     func(i int) string
			wantWins int
		}{
			{"same content", "1.0.0", func(int) string { return "same" }, 8},
			{"different content", "2.0.0", func(i int) string { return fmt.Sprint(i) }, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cs := make([]storage.Chart, 8)
				for i := range cs {
					cv := e.chart(t, tn.ID, "app", tt.version, tt.salt(i))
					e.linkAll(t, repo, cv)
					cs[i] = face(cv)
				}
				errs := make([]error, len(cs))
				var wg sync.WaitGroup
				for i := range cs {
					wg.Go(func() { errs[i] = e.db.PutChart(ctx, cs[i], storage.PutOptions{Repush: true}) })
				}
				wg.Wait()
				wins := 0
				for _, err := range errs {
					switch {
					case err == nil:
						wins++
					case !errors.Is(err, storage.ErrExists):
						t.Fatalf("PutChart: %v", err)
					}
				}
				if wins != tt.wantWins {
					t.Errorf("%d pushes succeeded, want %d", wins, tt.wantWins)
				}
				cv, err := e.db.ChartVersion(ctx, tn.ID, "app", tt.version)
				if err != nil {
					t.Fatal(err)
				}
				tag, err := e.db.Manifest(ctx, repo.ID, tt.version)
				if err != nil || tag.Digest != cv.ManifestDigest {
					t.Errorf("tag -> %s (%v), but the chart row's manifest is %s", tag.Digest, err, cv.ManifestDigest)
				}
			})
		}
	})
}
