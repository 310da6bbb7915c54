package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
)

// A transaction whose deadline passes after its last statement, before
// COMMIT, is rolled back by database/sql; the commit then reports the
// database's timeout (503), and nothing of the transaction is there.
func TestCommitPastDeadline(t *testing.T) {
	const bound = 200 * time.Millisecond
	ctx := context.Background()
	db, err := Open(ctx, pgtest.DSN(t), nil, WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.write(ctx, func(tx q) error {
		if _, err := tx.exec(ctx, `INSERT INTO store_meta (key, value) VALUES ('late', 'x')`); err != nil {
			return err
		}
		// Wait, as a slow caller would, until database/sql has rolled
		// the transaction back at its deadline.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			_, err := tx.c.ExecContext(context.Background(), `SELECT 1`)
			if errors.Is(err, sql.ErrTxDone) {
				return nil
			}
			if time.Now().After(tx.until.Add(10 * time.Second)) {
				t.Fatalf("transaction still open 10s past its deadline: %v", err)
			}
			<-tick.C
		}
	})
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("commit past the deadline: %v; want storage.ErrUnavailable", err)
	}
	if v, err := db.meta(ctx, db.read(), "late"); err != nil || v != "" {
		t.Errorf("the rolled-back transaction left %q (%v)", v, err)
	}
}

// A server that freezes with half a result sent fails the rest of the
// result at the deadline, and the result's Err says the database is
// unavailable (503), as the query's own error would.
func TestFrozenMidResult(t *testing.T) {
	const bound = 300 * time.Millisecond
	ctx := context.Background()
	f := pgtest.NewFreezer(t, pgtest.DSN(t))
	db, err := Open(ctx, f.DSN(), nil, WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Some 64 MiB: far more than the socket buffers and the proxy hold.
	rs, err := db.read().query(ctx, `SELECT repeat('x', 4096) FROM generate_series(1, 16384)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	f.Freeze()
	defer f.Thaw()
	n := 0
	for rs.Next() {
		n++
	}
	if err := rs.Err(); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("after %d rows: %v; want storage.ErrUnavailable", n, err)
	}
	if n == 16384 {
		t.Fatal("the whole result arrived before the freeze: the test froze nothing")
	}
}
