package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
)

// Repositories stored the old way, with a path below the tenant in their
// name, move to their repository path with their manifests and tags.
func TestSplitRepositoryPaths(t *testing.T) {
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
			var applied int64
			if err := db.wr.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&applied); err != nil || applied != migrationRepositoryPaths {
				t.Fatalf("Open applied migrations up to %d (%v), want %d", applied, err, migrationRepositoryPaths)
			}
			root, _ := db.EnsureTenant(ctx, "")
			team, _ := db.EnsureTenant(ctx, "team")
			org, _ := db.EnsureTenant(ctx, "org")
			m := digest.FromString("a manifest")
			old := map[string]storage.Repository{}
			err = db.write(ctx, func(tx q) error {
				if err := db.ensureBlob(ctx, tx, m, 10); err != nil {
					return err
				}
				for _, r := range []struct {
					tenant int64
					name   string
				}{{root.ID, "org/image"}, {team.ID, "sub/deeper/x"}, {root.ID, "org/taken"}, {org.ID, "taken"}, {root.ID, "flat"}} {
					id, err := ensureRepo(ctx, tx, r.tenant, r.name)
					if err != nil {
						return err
					}
					old[r.name] = storage.Repository{ID: id}
					if err := upsertManifest(ctx, tx, storage.Manifest{RepositoryID: id, Digest: m, Size: 10, MediaType: "application/vnd.oci.image.manifest.v1+json"}); err != nil {
						return err
					}
					if err := putTag(ctx, tx, id, "v1", m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			tx, err := db.wr.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.splitRepositoryPaths(ctx, tx); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct{ path, name, was string }{
				{"org", "image", "org/image"},
				{"team/sub/deeper", "x", "sub/deeper/x"},
				{"org", "taken", "taken"},
				{"", "flat", "flat"},
				{"", "org/taken", "org/taken"}, // its place was taken: left alone
			} {
				tn, err := db.Tenant(ctx, tt.path)
				if err != nil {
					t.Fatalf("tenant %q: %v", tt.path, err)
				}
				r, err := db.Repository(ctx, tn.ID, tt.name, false)
				if err != nil || r.ID != old[tt.was].ID {
					t.Errorf("repository %s/%s = %+v, %v; want the old %s (id %d)", tt.path, tt.name, r, err, tt.was, old[tt.was].ID)
					continue
				}
				if got, err := db.Manifest(ctx, r.ID, "v1"); err != nil || got.Digest != m {
					t.Errorf("tag v1 of %s/%s: %v, %v", tt.path, tt.name, got.Digest, err)
				}
			}
			if _, err := db.Repository(ctx, root.ID, "org/image", false); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the old name is still a repository: %v", err)
			}
		})
	}
}
