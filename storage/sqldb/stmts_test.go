package sqldb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache checks that SQLite statements are prepared once and
// reused: a read prepares on the read pool at once; a write transaction,
// which holds the single writer connection, runs a new query as text and
// has it prepared when it ends (preparing inside would wait for itself);
// and the cache stops growing at its bound.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(c *stmtCache) int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.m)
	}
	const read = `SELECT count(*) FROM tenants WHERE path <> ?`
	for range 3 {
		var n int
		if err := db.read().row(ctx, read, "x").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if db.rdStmts.lookup(read) == nil || count(db.rdStmts) != 1 {
		t.Fatalf("read pool cache holds %d statements; want the one read", count(db.rdStmts))
	}
	const insert = `INSERT INTO tenants (path, generation) VALUES (?, 0)`
	for i := range 3 {
		err := db.write(ctx, func(tx q) error {
			if i > 0 && db.wrStmts.lookup(insert) == nil {
				t.Errorf("write %d: the statement was not prepared after the first transaction", i)
			}
			_, err := tx.exec(ctx, insert, fmt.Sprintf("t%d", i))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.read().row(ctx, read, "").Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d tenants, %v; want the 3 inserted", n, err)
	}
	for i := range maxCachedStmts + 10 {
		if _, err := db.read().exec(ctx, fmt.Sprintf("SELECT %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(db.rdStmts); got != maxCachedStmts {
		t.Errorf("cache grew to %d statements; the bound is %d", got, maxCachedStmts)
	}
}
