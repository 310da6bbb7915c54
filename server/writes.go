package server

import (
	"context"
	"sync/atomic"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// writeCountingDB is the metadata database as this process uses it: every
// write that can change an index bumps a process-local counter after it
// commits. With an embedded (SQLite) database this process is the only
// writer, so an unchanged counter proves a cached index current without a
// database read; a shared (PostgreSQL) database is still asked for the
// generation, since other replicas write too.
type writeCountingDB struct {
	*sqldb.DB
	writes *atomic.Int64
}

func (w writeCountingDB) done(err error) error {
	// Counted on failure too: that costs the next GET one generation read.
	w.writes.Add(1)
	return err
}

func (w writeCountingDB) PutChart(ctx context.Context, c storage.Chart, opt storage.PutOptions) error {
	return w.done(w.DB.PutChart(ctx, c, opt))
}

func (w writeCountingDB) DeleteChartVersion(ctx context.Context, tenantID int64, name, version string) error {
	return w.done(w.DB.DeleteChartVersion(ctx, tenantID, name, version))
}

func (w writeCountingDB) SetProvenance(ctx context.Context, c storage.Chart) error {
	return w.done(w.DB.SetProvenance(ctx, c))
}

func (w writeCountingDB) PutManifest(ctx context.Context, m storage.Manifest, tag string) error {
	return w.done(w.DB.PutManifest(ctx, m, tag))
}

func (w writeCountingDB) DeleteManifest(ctx context.Context, repoID int64, d digest.Digest) error {
	return w.done(w.DB.DeleteManifest(ctx, repoID, d))
}

func (w writeCountingDB) DeleteTag(ctx context.Context, repoID int64, tag string) error {
	return w.done(w.DB.DeleteTag(ctx, repoID, tag))
}
