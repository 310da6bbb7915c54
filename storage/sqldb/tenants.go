package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chartd/chartd/storage"
)

var (
	_ storage.Tenants      = (*DB)(nil)
	_ storage.Charts       = (*DB)(nil)
	_ storage.Repositories = (*DB)(nil)
	_ storage.BlobLinks    = (*DB)(nil)
	_ storage.Manifests    = (*DB)(nil)
	_ storage.Uploads      = (*DB)(nil)
	_ storage.Keys         = (*DB)(nil)
)

// Tenant implements storage.Tenants.
func (db *DB) Tenant(ctx context.Context, path string) (storage.Tenant, error) {
	return db.tenant(ctx, db.read(), path)
}

func (db *DB) tenant(ctx context.Context, x q, path string) (storage.Tenant, error) {
	t := storage.Tenant{Path: path}
	err := x.row(ctx, `SELECT id, generation FROM tenants WHERE path = ?`, path).Scan(&t.ID, &t.Generation)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Tenant{}, fmt.Errorf("sqldb: tenant %q: %w", path, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Tenant{}, fmt.Errorf("sqldb: tenant %q: %w", path, err)
	}
	return t, nil
}

// EnsureTenant implements storage.Tenants. It reads first because tenants
// are created once and read on every request; the insert that follows a miss
// is idempotent, so two creators racing both end with the same row.
func (db *DB) EnsureTenant(ctx context.Context, path string) (storage.Tenant, error) {
	if t, err := db.Tenant(ctx, path); !errors.Is(err, storage.ErrNotFound) {
		return t, err
	}
	var t storage.Tenant
	err := db.write(ctx, func(tx q) error {
		if _, err := tx.exec(ctx, `INSERT INTO tenants (path, generation) VALUES (?, 0) ON CONFLICT (path) DO NOTHING`, path); err != nil {
			return fmt.Errorf("sqldb: create tenant %q: %w", path, err)
		}
		var err error
		t, err = db.tenant(ctx, tx, path)
		return err
	})
	return t, err
}

// Generation implements storage.Tenants with one prepared, indexed read.
func (db *DB) Generation(ctx context.Context, path string) (int64, error) {
	var g int64
	cctx, cancel := db.read().within(ctx)
	defer cancel()
	err := db.gen.QueryRowContext(cctx, path).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqldb: generation of %q: %w", path, db.unreachable(ctx, err))
	}
	return g, nil
}

// bumpGeneration increments the tenant's generation. As the first write of a
// transaction it also takes the tenant's row lock on PostgreSQL, which
// orders every index-changing transaction of one tenant (and makes the
// MaxObjects count exact).
func bumpGeneration(ctx context.Context, tx q, tenantID int64) error {
	n, err := tx.exec(ctx, `UPDATE tenants SET generation = generation + 1 WHERE id = ?`, tenantID)
	if err != nil {
		return fmt.Errorf("sqldb: bump generation: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqldb: tenant %d: %w", tenantID, storage.ErrNotFound)
	}
	return nil
}
