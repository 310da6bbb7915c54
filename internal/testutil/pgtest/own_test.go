package pgtest_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/pgtest"
)

// A frozen server keeps the connection and does not answer; a thawed one
// answers on the same connection.
func TestFreezeThaw(t *testing.T) {
	p := pgtest.Start(t)
	db, err := sql.Open("pgx", p.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var one int
	if err := db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	p.Freeze(t)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := db.QueryRowContext(short, `SELECT 1`).Scan(&one); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("query on a frozen server: %v; want no answer before the deadline", err)
	}
	p.Thaw(t)
	if err := db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("query after the thaw: %v", err)
	}
}
