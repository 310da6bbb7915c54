package sqldb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
)

// Versions stored before the search index existed are indexed by its
// migration.
func TestCreateSearchTermsBackfills(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{
		"sqlite":   func(t testing.TB) string { return filepath.Join(t.TempDir(), "chartd.db") },
		"postgres": pgtest.DSN,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, dsn(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			tn, err := db.EnsureTenant(ctx, "team")
			if err != nil {
				t.Fatal(err)
			}
			d := func(s string) digest.Digest { return digest.FromString(s) }
			meta := []byte(`{"apiVersion":"v2","name":"old","version":"1.0.0","keywords":["vintage"]}`)
			cv := storage.ChartVersion{TenantID: tn.ID, Name: "old", Version: "1.0.0", Digest: d("tgz"), Size: 3, Metadata: meta,
				ManifestDigest: d("m"), ManifestSize: 1, ConfigDigest: d("c"), ConfigSize: 1}
			c := storage.Chart{Version: cv, Tag: "1.0.0", Manifest: storage.Manifest{Digest: cv.ManifestDigest, Size: 1,
				MediaType: "application/vnd.oci.image.manifest.v1+json", ConfigDigest: cv.ConfigDigest, Blobs: []digest.Digest{cv.ConfigDigest, cv.Digest}}}
			if err := db.PutChart(ctx, c, storage.PutOptions{Link: true}); err != nil {
				t.Fatal(err)
			}
			// As before migration 21: no index.
			if _, err := db.wr.ExecContext(ctx, `DROP TABLE chart_terms; DROP INDEX chart_versions_name`); err != nil {
				t.Fatal(err)
			}
			tx, err := db.wr.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.createSearchTerms(ctx, tx); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			hits, err := db.SearchCharts(ctx, SearchQuery{Words: []SearchWord{{Fields: []string{FieldKeyword}, Prefix: "vint"}}})
			if err != nil || len(hits) != 1 || hits[0].Path != "team" || hits[0].Name != "old" {
				t.Errorf("after the migration: %v, %v", hits, err)
			}
		})
	}
}

// A database at migration 20 (chartd before search) is upgraded by Open:
// 21 runs after it, not refused as out of order, and indexes its charts.
func TestSearchMigrationUpgradesADatabaseAt20(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chartd.db")
	old, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := old.EnsureTenant(ctx, "team")
	d := func(s string) digest.Digest { return digest.FromString(s) }
	cv := storage.ChartVersion{TenantID: tn.ID, Name: "legacy", Version: "1.0.0", Digest: d("tgz"), Size: 3,
		Metadata:       []byte(`{"name":"legacy","version":"1.0.0","description":"from before"}`),
		ManifestDigest: d("m"), ManifestSize: 1, ConfigDigest: d("c"), ConfigSize: 1}
	c := storage.Chart{Version: cv, Tag: "1.0.0", Manifest: storage.Manifest{Digest: cv.ManifestDigest, Size: 1,
		MediaType: "application/vnd.oci.image.manifest.v1+json", ConfigDigest: cv.ConfigDigest, Blobs: []digest.Digest{cv.ConfigDigest, cv.Digest}}}
	if err := old.PutChart(ctx, c, storage.PutOptions{Link: true}); err != nil {
		t.Fatal(err)
	}
	// Back to what a chartd of migration 20 left (without the later
	// migrations too: goose refuses to run 21 under a database at 22).
	if _, err := old.wr.ExecContext(ctx, `DROP TABLE chart_terms; DROP INDEX chart_versions_name;
		DROP INDEX repo_blobs_created; DROP INDEX manifests_created;
		DELETE FROM goose_db_version WHERE version_id >= 21`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hits, err := db.SearchCharts(ctx, SearchQuery{Words: []SearchWord{{Prefix: "before"}}})
	if err != nil || len(hits) != 1 || hits[0].Name != "legacy" {
		t.Errorf("after the upgrade: %v, %v", hits, err)
	}
}
