package sqldb_test

import (
	"context"
	"testing"

	"github.com/chartd/chartd/storage"
)

// StorageStats runs on both engines: a chart version with its OCI face
// counts once, the same bytes in a second tenant double the logical bytes
// and leave the stored ones.
func TestStorageStats(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		empty, err := e.db.StorageStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if empty.Logical != 0 || empty.Stored != 0 {
			t.Fatalf("empty database: %+v", empty)
		}
		a, b := e.tenant(t, "a"), e.tenant(t, "b")
		cv := e.chart(t, a.ID, "m", "1.0.0", "")
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		one, err := e.db.StorageStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := cv.Size + cv.ManifestSize + cv.ConfigSize
		if one.Logical != want || one.Stored != want {
			t.Errorf("one chart version: %+v, want logical = stored = %d", one, want)
		}
		cv.TenantID = b.ID
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		two, err := e.db.StorageStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if two.Logical != 2*want || two.Stored != want {
			t.Errorf("the same chart in two tenants: %+v, want logical %d, stored %d", two, 2*want, want)
		}
	})
}

// Ping answers on an open database and fails on a closed one.
func TestPing(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		if err := e.db.Ping(context.Background()); err != nil {
			t.Fatalf("open database: %v", err)
		}
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.db.Ping(context.Background()); err == nil {
			t.Fatal("closed database: Ping returned nil")
		}
	})
}
