package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

func TestTenants(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.db.Tenant(ctx, "org/team"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Tenant of a missing path: %v, want ErrNotFound", err)
		}
		if g := e.generation(t, "org/team"); g != 0 {
			t.Fatalf("generation of a missing tenant = %d, want 0", g)
		}
		// Concurrent creators all get the one row.
		const n = 8
		ids := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tn, err := e.db.EnsureTenant(ctx, "org/team")
				if err != nil {
					t.Error(err)
				}
				ids[i] = tn.ID
			})
		}
		wg.Wait()
		for _, id := range ids[1:] {
			if id != ids[0] || id == 0 {
				t.Fatalf("EnsureTenant ids %v: want one id", ids)
			}
		}
		got, err := e.db.Tenant(ctx, "org/team")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(storage.Tenant{ID: ids[0], Path: "org/team"}, got); diff != "" {
			t.Errorf("Tenant (-want +got):\n%s", diff)
		}
		root := e.tenant(t, "")
		if root.ID == got.ID || root.Path != "" {
			t.Errorf("root tenant %+v is not distinct from %+v", root, got)
		}
	})
}

func TestPutChart(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "org")
		cv := e.chart(t, tn.ID, "nginx", "1.2.3+build.7", "a")
		prov := e.push(t, []byte("-----BEGIN PGP SIGNED MESSAGE-----"))
		cv.ProvDigest, cv.ProvSize = prov.Digest, prov.Size
		cv.Signer, cv.SignerFingerprint = "Alice <alice@example.com>", "ABCD"
		cv.Created = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.ChartVersion(ctx, tn.ID, "nginx", "1.2.3+build.7")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(cv, got); diff != "" {
			t.Errorf("ChartVersion (-put +got):\n%s", diff)
		}
		if g := e.generation(t, "org"); g != 1 {
			t.Errorf("generation = %d, want 1", g)
		}

		// The OCI face: repository org/nginx, tag with '+' as '_', the
		// manifest's blobs linked in the repository.
		repo, err := e.db.Repository(ctx, tn.ID, "nginx", false)
		if err != nil {
			t.Fatal(err)
		}
		m, err := e.db.Manifest(ctx, repo.ID, "1.2.3_build.7")
		if err != nil {
			t.Fatal(err)
		}
		if m.Digest != cv.ManifestDigest || m.ConfigDigest != cv.ConfigDigest || m.ConfigMediaType != face(cv).Manifest.ConfigMediaType {
			t.Errorf("manifest %+v does not match the chart %+v", m, cv)
		}
		if m.Chart == nil || m.Chart.Version != cv.Version {
			t.Errorf("manifest's Chart = %+v, want version %s", m.Chart, cv.Version)
		}
		for _, d := range []digest.Digest{cv.Digest, cv.ProvDigest, cv.ConfigDigest} {
			if _, err := e.db.LinkedBlob(ctx, repo.ID, d); err != nil {
				t.Errorf("LinkedBlob(%s): %v", d, err)
			}
		}
		list, err := e.db.ChartVersions(ctx, tn.ID, "")
		if err != nil || len(list) != 1 {
			t.Fatalf("ChartVersions = %v, %v; want the one version", list, err)
		}
		if _, err := e.db.ChartVersion(ctx, tn.ID, "nginx", "9.9.9"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("missing version: %v, want ErrNotFound", err)
		}
	})
}

// Uniqueness is the database's: of N concurrent puts of one version exactly
// one wins, and the generation moves once.
func TestPutChartConcurrent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		const n = 16
		cvs := make([]storage.ChartVersion, n)
		for i := range cvs {
			cvs[i] = e.chart(t, tn.ID, "app", "0.1.0", fmt.Sprint(i))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = e.put(ctx, cvs[i], storage.PutOptions{})
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("puts %d and %d both succeeded", won, i)
			case err == nil:
				won = i
			case !errors.Is(err, storage.ErrExists):
				t.Fatalf("put %d: %v, want ErrExists", i, err)
			}
		}
		if won < 0 {
			t.Fatal("no put succeeded")
		}
		got, err := e.db.ChartVersion(ctx, tn.ID, "app", "0.1.0")
		if err != nil || got.Digest != cvs[won].Digest {
			t.Fatalf("stored %v (%v), want the winner's %s", got.Digest, err, cvs[won].Digest)
		}
		if g := e.generation(t, ""); g != 1 {
			t.Errorf("generation = %d after one successful put, want 1", g)
		}
	})
}

func TestPutChartOverwrite(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "t")
		old := e.chart(t, tn.ID, "app", "1.0.0", "old")
		if err := e.put(ctx, old, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		nw := e.chart(t, tn.ID, "app", "1.0.0", "new")
		if err := e.put(ctx, nw, storage.PutOptions{}); !errors.Is(err, storage.ErrExists) {
			t.Fatalf("second put without overwrite: %v, want ErrExists", err)
		}
		if err := e.put(ctx, nw, storage.PutOptions{Overwrite: true}); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0")
		if err != nil || got.Digest != nw.Digest {
			t.Fatalf("after overwrite: %v (%v), want %s", got.Digest, err, nw.Digest)
		}
		repo, err := e.db.Repository(ctx, tn.ID, "app", false)
		if err != nil {
			t.Fatal(err)
		}
		m, err := e.db.Manifest(ctx, repo.ID, "1.0.0")
		if err != nil || m.Digest != nw.ManifestDigest {
			t.Fatalf("tag 1.0.0 -> %v (%v), want the new manifest %s", m.Digest, err, nw.ManifestDigest)
		}
		if _, err := e.db.Manifest(ctx, repo.ID, string(old.ManifestDigest)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("old manifest still there: %v", err)
		}
		if g := e.generation(t, "t"); g != 2 {
			t.Errorf("generation = %d, want 2 (the failed put must not bump it)", g)
		}
	})
}

func TestMaxObjects(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		existing  []string
		put       string
		overwrite bool
		want      error
	}{
		{"under the limit", 3, []string{"1.0.0", "1.0.1"}, "1.0.2", false, nil},
		{"at the limit", 2, []string{"1.0.0", "1.0.1"}, "1.0.2", false, storage.ErrLimit},
		{"overwrite at the limit", 2, []string{"1.0.0", "1.0.1"}, "1.0.1", true, nil},
		{"existing version at the limit", 2, []string{"1.0.0", "1.0.1"}, "1.0.1", false, storage.ErrExists},
		{"no limit", 0, []string{"1.0.0", "1.0.1"}, "1.0.2", false, nil},
	}
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tn := e.tenant(t, tt.name)
				for _, v := range tt.existing {
					if err := e.put(ctx, e.chart(t, tn.ID, "app", v, tt.name), storage.PutOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				err := e.put(ctx, e.chart(t, tn.ID, "app", tt.put, "again"), storage.PutOptions{Quota: storage.Quota{Max: tt.max, Tenant: tt.name}, Overwrite: tt.overwrite})
				if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
					t.Fatalf("put: %v, want %v", err, tt.want)
				}
			})
		}
	})
}

func TestDeleteChartVersion(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "d")
		cv := e.chart(t, tn.ID, "app", "1.0.0", "")
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.DeleteChartVersion(ctx, tn.ID, "app", "1.0.0"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("index face survives: %v", err)
		}
		repo, err := e.db.Repository(ctx, tn.ID, "app", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"1.0.0", string(cv.ManifestDigest)} {
			if _, err := e.db.Manifest(ctx, repo.ID, ref); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("OCI face %s survives: %v", ref, err)
			}
		}
		if g := e.generation(t, "d"); g != 2 {
			t.Errorf("generation = %d, want 2", g)
		}
		if err := e.db.DeleteChartVersion(ctx, tn.ID, "app", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if g := e.generation(t, "d"); g != 2 {
			t.Errorf("a failed delete moved the generation to %d", g)
		}
	})
}

func TestSetProvenance(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		cv := e.chart(t, tn.ID, "app", "1.0.0", "")
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		prov := e.push(t, []byte("signature"))
		man := e.push(t, []byte("manifest with a prov layer"))
		upd := cv
		upd.ProvDigest, upd.ProvSize, upd.ServerSigned = prov.Digest, prov.Size, true
		upd.ManifestDigest, upd.ManifestSize = man.Digest, man.Size
		if err := e.db.SetProvenance(ctx, face(upd)); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(upd, got, cmpIgnoreCreated); diff != "" {
			t.Errorf("after SetProvenance (-want +got):\n%s", diff)
		}
		repo, _ := e.db.Repository(ctx, tn.ID, "app", false)
		m, err := e.db.Manifest(ctx, repo.ID, "1.0.0")
		if err != nil || m.Digest != man.Digest {
			t.Errorf("tag -> %v (%v), want the new manifest", m.Digest, err)
		}
		missing := upd
		missing.Version = "2.0.0"
		if err := e.db.SetProvenance(ctx, face(missing)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("SetProvenance of a missing version: %v", err)
		}
	})
}

var cmpIgnoreCreated = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Created" }, cmp.Ignore())

// A put whose blob was never committed fails and leaves nothing behind.
func TestFailedPutLeavesNoRow(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		cv := e.chart(t, tn.ID, "app", "1.0.0", "")
		cv.Digest = digest.FromString("never pushed")
		err := e.put(ctx, cv, storage.PutOptions{})
		var missing *storage.MissingBlobError
		if !errors.As(err, &missing) || missing.Digest != cv.Digest || !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("put with an uncommitted blob: %v, want MissingBlobError for %s", err, cv.Digest)
		}
		if _, err := e.db.ChartVersion(ctx, tn.ID, "app", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("row left behind: %v", err)
		}
		if _, err := e.db.Repository(ctx, tn.ID, "app", false); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("repository left behind: %v", err)
		}
		if g := e.generation(t, ""); g != 0 {
			t.Errorf("generation moved to %d", g)
		}
	})
}

func TestKeys(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "k")
		k := storage.Key{TenantID: tn.ID, Fingerprint: "ABCDEF", Armored: "-----BEGIN PGP PUBLIC KEY BLOCK-----", Created: time.Unix(1, 0).UTC()}
		if err := e.db.AddKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := e.db.AddKey(ctx, k); !errors.Is(err, storage.ErrExists) {
			t.Errorf("duplicate key: %v, want ErrExists", err)
		}
		if err := e.db.AddKey(ctx, storage.Key{TenantID: 999999, Fingerprint: "X", Armored: "x"}); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("key of a missing tenant: %v, want ErrNotFound", err)
		}
		got, err := e.db.Keys(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]storage.Key{k}, got); diff != "" {
			t.Errorf("Keys (-want +got):\n%s", diff)
		}
		if err := e.db.DeleteKey(ctx, tn.ID, "ABCDEF"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.DeleteKey(ctx, tn.ID, "ABCDEF"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

// The limit holds under concurrency: the tenant lock orders the counts.
func TestMaxObjectsConcurrent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tn := e.tenant(t, "")
		const n, max = 12, 5
		cvs := make([]storage.ChartVersion, n)
		for i := range cvs {
			cvs[i] = e.chart(t, tn.ID, "app", fmt.Sprintf("1.0.%d", i), "")
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = e.put(ctx, cvs[i], storage.PutOptions{Quota: storage.Quota{Max: max}}) })
		}
		wg.Wait()
		var ok int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, storage.ErrLimit):
				t.Fatalf("put: %v, want nil or ErrLimit", err)
			}
		}
		if ok != max {
			t.Errorf("%d puts succeeded under MaxObjects %d", ok, max)
		}
		if list, _ := e.db.ChartVersions(ctx, tn.ID, "app"); len(list) != max {
			t.Errorf("%d versions stored, want %d", len(list), max)
		}
	})
}

// A nested quota counts the versions of every path below its tenant, and
// only those: "tx" is not below "t".
func TestQuotaNested(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		q := storage.Quota{Max: 2, Tenant: "t", Nested: true}
		for i, path := range []string{"t", "t/sub"} {
			tn := e.tenant(t, path)
			if err := e.put(ctx, e.chart(t, tn.ID, "app", fmt.Sprintf("1.0.%d", i), path), storage.PutOptions{Quota: q}); err != nil {
				t.Fatalf("put %d in %s: %v", i, path, err)
			}
		}
		deep := e.tenant(t, "t/sub/deeper")
		if err := e.put(ctx, e.chart(t, deep.ID, "app", "2.0.0", ""), storage.PutOptions{Quota: q}); !errors.Is(err, storage.ErrLimit) {
			t.Errorf("third version below t: %v, want ErrLimit", err)
		}
		tx := e.tenant(t, "tx")
		if err := e.put(ctx, e.chart(t, tx.ID, "app", "1.0.0", ""), storage.PutOptions{Quota: storage.Quota{Max: 1, Tenant: "tx", Nested: true}}); err != nil {
			t.Errorf("tenant tx is not below t: %v", err)
		}
		// Exact (dynamic depth): t/sub is a tenant of its own.
		sub := e.tenant(t, "t/sub")
		if err := e.put(ctx, e.chart(t, sub.ID, "app", "3.0.0", ""), storage.PutOptions{Quota: storage.Quota{Max: 2, Tenant: "t/sub"}}); err != nil {
			t.Errorf("exact quota of t/sub (1 version): %v", err)
		}
		// The root's nested quota counts everything.
		root := e.tenant(t, "")
		if err := e.put(ctx, e.chart(t, root.ID, "app", "1.0.0", ""), storage.PutOptions{Quota: storage.Quota{Max: 4, Nested: true}}); !errors.Is(err, storage.ErrLimit) {
			t.Errorf("root quota of 4 with 4 versions below it: %v, want ErrLimit", err)
		}
	})
}
