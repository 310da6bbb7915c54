package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// Replicas starting together against one fresh PostgreSQL database migrate
// it once, under goose's session advisory lock, and all come up working.
func TestOpenConcurrentMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	const replicas = 4
	dbs := make([]*sqldb.DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = sqldb.Open(ctx, dsn, testLogger(t))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	// Each replica sees the others' writes.
	tn, err := dbs[0].EnsureTenant(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	for i, db := range dbs {
		got, err := db.Tenant(ctx, "shared")
		if err != nil || got.ID != tn.ID {
			t.Errorf("replica %d: %+v, %v", i, got, err)
		}
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var applied, distinct int
	if err := raw.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Errorf("goose recorded %d applied migrations of %d versions, want each once", applied, distinct)
	}
}

// Reopening keeps the data and applies nothing twice; the parent directory
// of a SQLite path is created.
func TestReopen(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := k.dsn(t)
			if k.name == "sqlite" {
				dsn = "sqlite://" + filepath.Join(t.TempDir(), "a", "b", "meta.db")
			}
			db, err := sqldb.Open(ctx, dsn, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.EnsureTenant(ctx, "kept"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			db, err = sqldb.Open(ctx, dsn, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Tenant(ctx, "kept"); err != nil {
				t.Errorf("after reopen: %v", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "sqlite://", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"} {
		if db, err := sqldb.Open(ctx, dsn, nil); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

// Writers on one SQLite file never see SQLITE_BUSY: they queue.
func TestSQLiteConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn, err := db.EnsureTenant(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 20 {
				if _, err := db.Repository(ctx, tn.ID, string(rune('a'+i))+string(rune('a'+j)), true); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.Generation(ctx, ""); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := db.Repository(ctx, tn.ID, "pa", false); errors.Is(err, storage.ErrNotFound) {
		t.Error("a write was lost")
	}
}
