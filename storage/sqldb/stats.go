package sqldb

import (
	"context"
	"fmt"
)

// StorageStats compares what the store holds with what it stands for.
type StorageStats struct {
	// Logical: the bytes of every chart version (archive, provenance and
	// OCI face)
	// and of every other manifest (itself and the blobs it references),
	// counted once per reference, as if nothing were shared.
	Logical int64
	// Stored: the bytes of the distinct blobs.
	Stored int64
}

// storageStatsQuery sums in one statement, in SQL both engines speak. A
// manifest that is a chart version's OCI face is counted by the chart
// version, not twice.
const storageStatsQuery = `SELECT
	(SELECT COALESCE(SUM(size + prov_size + manifest_size + config_size), 0) FROM chart_versions),
	(SELECT COALESCE(SUM(m.size), 0) FROM manifests m
		WHERE NOT EXISTS (SELECT 1 FROM chart_versions x WHERE x.manifest_digest = m.digest)),
	(SELECT COALESCE(SUM(b.size), 0) FROM manifest_refs r JOIN blobs b ON b.digest = r.digest
		WHERE NOT EXISTS (SELECT 1 FROM chart_versions x WHERE x.manifest_digest = r.manifest_digest)),
	(SELECT COALESCE(SUM(size), 0) FROM blobs)`

// StorageStats sums the logical and the stored bytes over all tenants.
func (db *DB) StorageStats(ctx context.Context) (StorageStats, error) {
	var charts, manifests, refs int64
	var st StorageStats
	if err := db.read().row(ctx, storageStatsQuery).Scan(&charts, &manifests, &refs, &st.Stored); err != nil {
		return StorageStats{}, fmt.Errorf("sqldb: storage stats: %w", err)
	}
	st.Logical = charts + manifests + refs
	return st, nil
}
