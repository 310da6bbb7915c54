package sqldb

import (
	"context"
	"testing"

	"github.com/chartd/chartd/internal/testutil/pgtest"
)

// Migration 22 builds GC's age indexes on PostgreSQL without a
// transaction (CONCURRENTLY). A run killed half way leaves an invalid
// index and no goose record; the next start runs it again and must leave
// a valid index, not skip the broken one.
func TestGCIndexMigrationRebuildsAnInterruptedIndex(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	db, err := Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	valid := func(db *DB) map[string]bool {
		t.Helper()
		rows, err := db.wr.QueryContext(ctx, `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE c.relname IN ('repo_blobs_created', 'manifests_created')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var name string
			var ok bool
			if err := rows.Scan(&name, &ok); err != nil {
				t.Fatal(err)
			}
			out[name] = ok
		}
		return out
	}
	if got := valid(db); !got["repo_blobs_created"] || !got["manifests_created"] {
		t.Fatalf("after migrating: %v, want both indexes valid", got)
	}
	// What a kill during CREATE INDEX CONCURRENTLY leaves behind.
	if _, err := db.wr.ExecContext(ctx, `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'repo_blobs_created'::regclass`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.wr.ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = 22`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := valid(db); !got["repo_blobs_created"] || !got["manifests_created"] {
		t.Fatalf("after the rerun: %v, want both indexes valid", got)
	}
}
