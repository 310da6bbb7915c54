package sqldb

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSQLiteSettings checks the settings every SQLite connection gets, on
// both pools: WAL, enforced foreign keys, and a WAL synced at each commit
// (synchronous=FULL, 2), so an acknowledged write survives a power cut.
func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, pool := range []q{db.read(), {db: db, c: db.wr}} {
		var mode string
		var fk, sync int
		if err := pool.row(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := pool.row(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		if err := pool.row(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
		}
	}
}
