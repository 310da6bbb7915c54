package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chartd/chartd/storage"
)

// metadataDatabase names PostgreSQL in a storage.UnavailableError.
const metadataDatabase = "metadata database"

// unreachable marks err as storage.ErrUnavailable when it says PostgreSQL
// could not be reached or ended the session (a restart, a failover): the
// request fails at once with 503 and Retry-After, and the pool reconnects
// on its own once the server is back. The cause goes to the log only.
// SQLite is a local file and has no such failure.
//
// ctx is the caller's context, not the call's bounded one: when the caller's
// ended first the error is the caller's (callerEnded), and when it is still
// live a passed deadline is the call's own bound (WithTimeout), so the
// database did not answer in time.
func (db *DB) unreachable(ctx context.Context, err error) error {
	if err == nil || !db.pg {
		return err
	}
	if ctx.Err() != nil {
		return callerEnded(ctx, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !pgUnreachable(err) && !storage.Unreachable(err) {
		return err
	}
	marked := storage.MarkUnreachable(metadataDatabase, err)
	if marked == err {
		marked = &storage.UnavailableError{Store: metadataDatabase, Err: err}
	}
	db.log.WarnContext(ctx, "sqldb: database unreachable", "err", err, "db_timeout", db.timeout)
	return marked
}

// pgUnreachable recognises pgx's own ways of saying the server is gone.
func pgUnreachable(err error) bool {
	if errors.Is(err, storage.ErrUnavailable) {
		return false // marked already
	}
	var ce *pgconn.ConnectError
	code := pgCode(err)
	// Class 08 is "connection exception"; 57P01-57P03 are the server
	// shutting down, crashing, or not accepting connections yet.
	return errors.As(err, &ce) || strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err)
}

// row is a *sql.Row whose Scan marks an unreachable database.
type row struct {
	ctx    context.Context // the caller's
	db     *DB
	r      *sql.Row
	cancel context.CancelFunc // ends the call's deadline
}

// Scan implements the scanner the scan functions take.
func (r row) Scan(dest ...any) error {
	defer r.cancel()
	return r.db.unreachable(r.ctx, r.r.Scan(dest...))
}
