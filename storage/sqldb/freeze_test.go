package sqldb_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// TestFrozenDatabase holds PostgreSQL's answers back while chartd's
// database is in use: every call fails within the bound as unavailable
// (503 with Retry-After), a caller that gives up first is told it gave up
// (not an outage), a write cut off leaves nothing of itself, and once the
// server answers again the same pool serves, without reopening.
func TestFrozenDatabase(t *testing.T) {
	const bound = 300 * time.Millisecond
	// Generous for a loaded machine; the point is "answered", not "fast".
	const slack = 3 * time.Second
	admin := pgtest.DSN(t)
	f := pgtest.NewFreezer(t, admin)
	ctx := context.Background()
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(t.TempDir(), "blobs"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	db, err := sqldb.Open(ctx, f.DSN(), testLogger(t), sqldb.WithBlobStater(blobs), sqldb.WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{name: "postgres", dsn: admin, db: db, blobs: blobs}
	tn := e.tenant(t, "t")
	before := e.chart(t, tn.ID, "app", "1.0.0", "")
	if err := e.put(ctx, before, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	cut := e.chart(t, tn.ID, "app", "2.0.0", "")

	f.Freeze()
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"read", func(ctx context.Context) error { _, err := db.Generation(ctx, "t"); return err }},
		{"list", func(ctx context.Context) error { _, err := db.Tenants(ctx); return err }},
		{"search", func(ctx context.Context) error { _, err := db.SearchCharts(ctx, sqldb.SearchQuery{}); return err }},
		{"browse", func(ctx context.Context) error {
			_, _, err := db.BrowseCharts(ctx, sqldb.BrowseQuery{Limit: 10})
			return err
		}},
		{"write", func(ctx context.Context) error { return e.put(ctx, cut, storage.PutOptions{}) }},
	} {
		t.Run(tc.name+"/deadline", func(t *testing.T) {
			start := time.Now()
			err := tc.call(ctx)
			took := time.Since(start)
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("after %v: %v; want storage.ErrUnavailable", took, err)
			}
			if took < bound || took > bound+slack {
				t.Errorf("answered after %v; want between %v and %v", took, bound, bound+slack)
			}
			t.Logf("unavailable after %v", took.Round(time.Millisecond))
		})
		t.Run(tc.name+"/client gone", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(bound/4, cancel)
			err := tc.call(cctx)
			if errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Fatalf("%v; want context.Canceled, not an outage", err)
			}
		})
	}
	f.Thaw()

	// Recovery: the pool dropped the connections that were cut off, and
	// the next calls go through on new ones.
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := db.Generation(ctx, "t")
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("still failing 10s after the server answers again: %v", err)
		}
		<-tick.C
	}
	t.Logf("served again %v after the thaw", time.Since(start).Round(time.Millisecond))
	// The write whose answer never came is whole or absent: the bytes it
	// sent before the freeze reach the server at the thaw, as they would
	// a SIGCONTed one, and PostgreSQL commits a transaction or nothing.
	got, err := db.ChartVersion(ctx, tn.ID, "app", "2.0.0")
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		t.Fatal(err)
	case got.Digest != cut.Digest || got.ManifestDigest != cut.ManifestDigest:
		t.Errorf("the cut-off write is half there: %+v", got)
	}
	// And writes work again.
	if err := e.put(ctx, e.chart(t, tn.ID, "app", "3.0.0", ""), storage.PutOptions{}); err != nil {
		t.Fatalf("write after the thaw: %v", err)
	}
}

// slowStater is a bucket that answers after the database's bound.
type slowStater struct {
	storage.Stater
	delay time.Duration
}

func (s slowStater) Stat(ctx context.Context, d digest.Digest) (storage.Descriptor, error) {
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return storage.Descriptor{}, ctx.Err()
	}
	return s.Stater.Stat(ctx, d)
}

// A write transaction whose deadline passes between its statements (here
// while it checks the bucket) is rolled back whole, and the caller is told
// the database did not answer in time, not handed database/sql's "already
// committed or rolled back".
func TestDeadlineBetweenStatements(t *testing.T) {
	const bound = 200 * time.Millisecond
	ctx := context.Background()
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(t.TempDir(), "blobs"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	db, err := sqldb.Open(ctx, pgtest.DSN(t), testLogger(t),
		sqldb.WithBlobStater(slowStater{blobs, 3 * bound}), sqldb.WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{name: "postgres", db: db, blobs: blobs}
	tn := e.tenant(t, "t")
	cv := e.chart(t, tn.ID, "app", "1.0.0", "")
	err = e.put(ctx, cv, storage.PutOptions{})
	if !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put past its deadline: %v; want storage.ErrUnavailable from the deadline", err)
	}
	if _, err := db.ChartVersion(ctx, tn.ID, "app", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the rolled-back put left its chart version: %v", err)
	}
}
