package sqldb

import (
	"context"
	"fmt"
)

// Ping runs the cheapest query there is on both pools, so readiness sees a
// database that is gone (closed, unreachable, restarting) rather than one
// that merely has idle connections.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.rd.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqldb: ping: %w", err)
	}
	if db.wr != db.rd {
		if err := db.wr.PingContext(ctx); err != nil {
			return fmt.Errorf("sqldb: ping: %w", err)
		}
	}
	return nil
}
