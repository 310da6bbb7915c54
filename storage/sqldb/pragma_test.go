package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/chartd/chartd/internal/testutil/pgtest"
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

// TestLazyWrite checks that a lazy transaction commits without waiting
// for the disk (SQLite: synchronous NORMAL; PostgreSQL: synchronous_commit
// off) and that every transaction after it is durable again (FULL; on),
// including after a lazy one that failed.
func TestLazyWrite(t *testing.T) {
	for _, backend := range []struct {
		name, level, lazy, durable string
		dsn                        func(t testing.TB) string
	}{
		{"sqlite", `PRAGMA synchronous`, "1", "2", func(t testing.TB) string { return filepath.Join(t.TempDir(), "l.db") }},
		{"postgres", `SHOW synchronous_commit`, "off", "on", durablePG},
	} {
		t.Run(backend.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, backend.dsn(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			level := func(tx q) string {
				var s string
				if err := tx.row(ctx, backend.level).Scan(&s); err != nil {
					t.Fatal(err)
				}
				return s
			}
			for _, fail := range []bool{false, true} {
				err := db.writeLazy(ctx, func(tx q) error {
					if got := level(tx); got != backend.lazy {
						t.Errorf("inside a lazy transaction: %s = %s, want %s", backend.level, got, backend.lazy)
					}
					if fail {
						return errTestRollback
					}
					_, err := tx.exec(ctx, `INSERT INTO tenants (path, generation) VALUES ('lazy', 0)`)
					return err
				})
				if fail != (err != nil) {
					t.Fatalf("lazy write (fail=%v): %v", fail, err)
				}
				if err := db.write(ctx, func(tx q) error {
					if got := level(tx); got != backend.durable {
						t.Errorf("after a lazy transaction (fail=%v): %s = %s, want %s", fail, backend.level, got, backend.durable)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := db.read().row(ctx, `SELECT count(*) FROM tenants WHERE path = 'lazy'`).Scan(&n); err != nil || n != 1 {
				t.Errorf("lazy commit: %d rows, %v; want 1", n, err)
			}
		})
	}
}

var errTestRollback = errors.New("roll back")

// durablePG is a fresh test database whose sessions commit durably: the
// throwaway server runs with synchronous_commit=off for speed.
func durablePG(t testing.TB) string {
	dsn := pgtest.DSN(t)
	c, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var name string
	if err := c.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`ALTER DATABASE "` + name + `" SET synchronous_commit TO on`); err != nil {
		t.Fatal(err)
	}
	return dsn
}
