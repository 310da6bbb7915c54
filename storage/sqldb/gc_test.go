package sqldb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

func (e *env) gc(t testing.TB, grace time.Duration) sqldb.GCStats {
	t.Helper()
	st, err := e.db.CollectGarbage(context.Background(), e.blobs, grace)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *env) exists(t testing.TB, d digest.Digest) bool {
	t.Helper()
	_, err := e.blobs.Stat(context.Background(), d)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// A blob pushed but never referenced is invisible, survives the grace
// period, and is collected after it.
func TestGCUnreferencedPush(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		orphan := e.push(t, []byte("pushed, then the client died"))
		if _, err := e.db.LinkedBlob(ctx, repo.ID, orphan.Digest); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unreferenced blob is visible: %v", err)
		}
		kept := e.chart(t, tn.ID, "app", "1.0.0", "")
		if err := e.put(ctx, kept, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if st := e.gc(t, time.Hour); st.Blobs != 0 || st.Adopted != 0 {
			t.Errorf("within the grace period GC did %+v", st)
		}
		if !e.exists(t, orphan.Digest) {
			t.Fatal("young orphan collected")
		}
		st := e.gc(t, 0)
		if st.Adopted != 1 || st.Blobs != 1 || st.Bytes != orphan.Size {
			t.Errorf("GC = %+v, want the one orphan adopted and deleted", st)
		}
		if e.exists(t, orphan.Digest) {
			t.Error("orphan survives GC")
		}
		for _, d := range []digest.Digest{kept.Digest, kept.ConfigDigest, kept.ManifestDigest} {
			if !e.exists(t, d) {
				t.Errorf("referenced blob %s collected", d)
			}
		}
		if st := e.gc(t, 0); st != (sqldb.GCStats{}) {
			t.Errorf("second GC did %+v", st)
		}
	})
}

// The same .tgz in several tenants is one blob; it lives until the last
// tenant lets it go.
func TestGCDedupAcrossTenants(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var tenants []storage.Tenant
		var cv storage.ChartVersion
		for i := range 3 {
			tn := e.tenant(t, fmt.Sprint("tenant", i))
			tenants = append(tenants, tn)
			cv = e.chart(t, tn.ID, "shared", "1.0.0", "same bytes")
			if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		var objects int
		if err := e.blobs.Walk(ctx, func(storage.StoredBlob) error { objects++; return nil }); err != nil {
			t.Fatal(err)
		}
		if objects != 3 { // tgz, config, manifest: once each
			t.Errorf("%d objects for one chart in 3 tenants, want 3", objects)
		}
		for i, tn := range tenants {
			if err := e.db.DeleteChartVersion(ctx, tn.ID, "shared", "1.0.0"); err != nil {
				t.Fatal(err)
			}
			e.gc(t, 0)
			last := i == len(tenants)-1
			if got := e.exists(t, cv.Digest); got == last {
				t.Fatalf("after deleting from %d of %d tenants the .tgz exists=%v", i+1, len(tenants), got)
			}
			for _, other := range tenants[i+1:] {
				repo, _ := e.db.Repository(ctx, other.ID, "shared", false)
				if _, err := e.db.LinkedBlob(ctx, repo.ID, cv.Digest); err != nil {
					t.Errorf("tenant %s lost the .tgz: %v", other.Path, err)
				}
				if !e.exists(t, cv.Digest) {
					t.Errorf("object gone while tenant %s uses it", other.Path)
				}
			}
		}
	})
}

func TestGCManifests(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		put := func(m storage.Manifest, tag string) storage.Manifest {
			t.Helper()
			if err := e.db.PutManifest(ctx, m, tag); err != nil {
				t.Fatal(err)
			}
			return m
		}
		untagged := put(e.ociManifest(t, repo, "untagged"), "")
		tagged := put(e.ociManifest(t, repo, "tagged"), "v1")
		child := put(e.ociManifest(t, repo, "child"), "")
		idxBlob := e.push(t, []byte("index"))
		put(storage.Manifest{RepositoryID: repo.ID, Digest: idxBlob.Digest, Size: idxBlob.Size,
			MediaType: "application/vnd.oci.image.index.v1+json", Children: []digest.Digest{child.Digest}}, "multi")
		sig := e.ociManifest(t, repo, "signature")
		sig.Subject = tagged.Digest
		put(sig, "")
		chart := e.chart(t, tn.ID, "app", "1.0.0", "")
		if err := e.put(ctx, chart, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.DeleteTag(ctx, repo.ID, "1.0.0"); err != nil { // untagged, but a chart's face
			t.Fatal(err)
		}

		if st := e.gc(t, time.Hour); st.Manifests != 0 {
			t.Fatalf("GC within grace removed %d manifests", st.Manifests)
		}
		if st := e.gc(t, 0); st.Manifests != 1 {
			t.Errorf("GC removed %d manifests, want only the untagged one", st.Manifests)
		}
		gone := func(d digest.Digest) bool {
			_, err := e.db.Manifest(ctx, repo.ID, string(d))
			return errors.Is(err, storage.ErrNotFound)
		}
		if !gone(untagged.Digest) {
			t.Error("untagged manifest survives")
		}
		if e.exists(t, untagged.Blobs[1]) {
			t.Error("layer of the collected manifest survives")
		}
		for name, d := range map[string]digest.Digest{"tagged": tagged.Digest, "index child": child.Digest, "referrer": sig.Digest, "chart": chart.ManifestDigest} {
			if gone(d) {
				t.Errorf("%s manifest collected", name)
			}
		}
		// Without its index the child goes; without its subject the referrer goes.
		if err := e.db.DeleteTag(ctx, repo.ID, "multi"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.DeleteManifest(ctx, repo.ID, tagged.Digest); err != nil {
			t.Fatal(err)
		}
		if st := e.gc(t, 0); st.Manifests != 3 {
			t.Errorf("GC removed %d manifests, want index, child and referrer", st.Manifests)
		}
		if !gone(child.Digest) || !gone(sig.Digest) {
			t.Error("child or referrer survives")
		}
		if gone(chart.ManifestDigest) {
			t.Error("chart manifest collected")
		}
	})
}

// The race of GC with a re-upload of the same digest, in the interleaving
// that matters: the push finds the object present and skips the write, then
// GC removes the row and the object, then the push records its reference.
// The reference must fail (the caller pushes again), never commit a row
// pointing at nothing.
func TestGCRaceWithReupload(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		content := []byte("layer pushed twice")
		b := e.push(t, content)
		if err := e.db.LinkBlob(ctx, repo.ID, b); err != nil {
			t.Fatal(err)
		}
		if err := e.db.UnlinkBlob(ctx, repo.ID, b.Digest); err != nil { // now unreferenced
			t.Fatal(err)
		}

		// The push sees the object and writes nothing...
		if _, err := e.blobs.Push(ctx, b.Digest, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		// ...GC collects it...
		if st := e.gc(t, 0); st.Blobs != 1 {
			t.Fatalf("GC = %+v, want the blob collected", st)
		}
		// ...and the reference fails instead of dangling.
		err := e.db.LinkBlob(ctx, repo.ID, b)
		var missing *storage.MissingBlobError
		if !errors.As(err, &missing) {
			t.Fatalf("link after GC removed the object: %v, want MissingBlobError", err)
		}
		if _, err := e.db.LinkedBlob(ctx, repo.ID, b.Digest); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("dangling link committed: %v", err)
		}
		// Pushing again writes the object (Push checks Stat), and links.
		if _, err := e.blobs.Push(ctx, b.Digest, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if err := e.db.LinkBlob(ctx, repo.ID, b); err != nil {
			t.Fatal(err)
		}
		// Referenced first, then GC: kept.
		man := e.push(t, []byte("manifest of the layer"))
		m := storage.Manifest{RepositoryID: repo.ID, Digest: man.Digest, Size: man.Size, MediaType: imageManifest, Blobs: []digest.Digest{b.Digest}}
		if err := e.db.PutManifest(ctx, m, "latest"); err != nil {
			t.Fatal(err)
		}
		if st := e.gc(t, 0); st.Blobs != 0 || !e.exists(t, b.Digest) {
			t.Fatalf("GC of a referenced blob: %+v, exists=%v", st, e.exists(t, b.Digest))
		}
	})
}

// GC and re-uploads running together, many times: whatever the
// interleaving, a committed link always has its object.
func TestGCRaceConcurrent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		repo, _ := e.db.Repository(ctx, tn.ID, "app", true)
		const rounds = 40
		var retries, linked int
		for i := range rounds {
			content := fmt.Appendf(nil, "round %d", i%4) // digests recur across rounds
			b := e.push(t, content)
			_ = e.db.UnlinkBlob(ctx, repo.ID, b.Digest)
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, err := e.db.CollectGarbage(ctx, e.blobs, 0); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				for {
					if _, err := e.blobs.Push(ctx, b.Digest, bytes.NewReader(content)); err != nil {
						t.Error(err)
						return
					}
					err := e.db.LinkBlob(ctx, repo.ID, b)
					var missing *storage.MissingBlobError
					if errors.As(err, &missing) {
						retries++
						continue
					}
					if err != nil {
						t.Error(err)
					}
					return
				}
			})
			wg.Wait()
			// With no grace GC may also drop the fresh, unused link (and
			// then the blob): what must never be is a link without object.
			if _, err := e.db.LinkedBlob(ctx, repo.ID, b.Digest); err == nil {
				linked++
				if !e.exists(t, b.Digest) {
					t.Fatalf("round %d: link committed to a deleted object", i)
				}
			}
		}
		t.Logf("%d rounds, %d ended linked, %d pushes retried after losing to GC", rounds, linked, retries)
	})
}
