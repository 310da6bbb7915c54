package sqldb

import (
	"context"
	"fmt"

	"github.com/chartd/chartd/storage"
)

// AddKey implements storage.Keys.
func (db *DB) AddKey(ctx context.Context, k storage.Key) error {
	if k.Fingerprint == "" || k.Armored == "" {
		return fmt.Errorf("sqldb: key needs a fingerprint and armored text")
	}
	return db.write(ctx, func(tx q) error {
		_, err := tx.exec(ctx, `INSERT INTO keys (tenant_id, fingerprint, armored, created) VALUES (?, ?, ?, ?)`,
			k.TenantID, k.Fingerprint, k.Armored, toNanos(k.Created))
		switch {
		case isUnique(err):
			return fmt.Errorf("sqldb: key %s: %w", k.Fingerprint, storage.ErrExists)
		case isForeignKey(err):
			return fmt.Errorf("sqldb: tenant %d: %w", k.TenantID, storage.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqldb: add key: %w", err)
		}
		return nil
	})
}

// Keys implements storage.Keys.
func (db *DB) Keys(ctx context.Context, tenantID int64) ([]storage.Key, error) {
	rows, err := db.read().query(ctx, `SELECT fingerprint, armored, created FROM keys WHERE tenant_id = ? ORDER BY fingerprint`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqldb: keys: %w", err)
	}
	defer rows.Close()
	var out []storage.Key
	for rows.Next() {
		k := storage.Key{TenantID: tenantID}
		var created int64
		if err := rows.Scan(&k.Fingerprint, &k.Armored, &created); err != nil {
			return nil, fmt.Errorf("sqldb: keys: %w", err)
		}
		k.Created = fromNanos(created)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: keys: %w", err)
	}
	return out, nil
}

// DeleteKey implements storage.Keys.
func (db *DB) DeleteKey(ctx context.Context, tenantID int64, fingerprint string) error {
	return db.write(ctx, func(tx q) error {
		n, err := tx.exec(ctx, `DELETE FROM keys WHERE tenant_id = ? AND fingerprint = ?`, tenantID, fingerprint)
		if err != nil {
			return fmt.Errorf("sqldb: delete key: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("sqldb: key %s: %w", fingerprint, storage.ErrNotFound)
		}
		return nil
	})
}
