package sqldb

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// ChartVersionKeys lists the tenant's versions by what identifies their
// index entries (name, version, digest, upload time), without the rest of
// their rows. A server rebuilding an index after an upload reuses the
// entries it rendered before and reads only the new rows whole; reading
// every row's metadata was most of a rebuild's time at 100k versions.
func (db *DB) ChartVersionKeys(ctx context.Context, tenantID int64) ([]storage.VersionKey, error) {
	var n int
	if err := db.read().row(ctx, `SELECT count(*) FROM chart_versions WHERE tenant_id = ?`, tenantID).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqldb: chart version keys: %w", err)
	}
	rows, err := db.read().query(ctx, `SELECT name, version, digest, created FROM chart_versions WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqldb: chart version keys: %w", err)
	}
	defer rows.Close()
	out := make([]storage.VersionKey, 0, n) // sized once, as ChartVersions
	for rows.Next() {
		var k storage.VersionKey
		var dg string
		var created int64
		if err := rows.Scan(&k.Name, &k.Version, &dg, &created); err != nil {
			return nil, fmt.Errorf("sqldb: chart version keys: %w", err)
		}
		k.Digest, k.Created = digest.Digest(dg), fromNanos(created)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: chart version keys: %w", err)
	}
	return out, nil
}
