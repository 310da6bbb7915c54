package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultTimeout is how long one call to PostgreSQL may wait for an answer
// unless WithTimeout says otherwise. Every query chartd serves a request
// with is an indexed lookup or a small transaction that takes milliseconds;
// seconds without an answer mean a server that is frozen (stopped, swapped
// out, behind a network partition) rather than busy.
const DefaultTimeout = 5 * time.Second

// WithTimeout bounds each call to a PostgreSQL database (a query, or a
// whole write transaction from BEGIN to COMMIT) to d; 0 leaves calls
// bounded only by their caller's context. The bound is a context deadline
// that pgx honours itself: when it passes, pgx closes the connection (so
// the pool never hands out one whose answer is still due), database/sql
// rolls the transaction back, and the caller gets a storage.ErrUnavailable
// (503 with Retry-After). SQLite ignores it: it is a local file that this
// process answers, and writers queue for its one connection by design.
//
// Why a deadline on the client side: a frozen server enforces nothing
// itself (statement_timeout and idle_in_transaction_session_timeout are
// the server's own clocks, stopped with it), and its kernel still
// acknowledges what is sent and answers TCP keepalive probes, so neither
// notices it. The context deadline is what pgx and database/sql offer for
// this, and it bounds every wait of a call: for a free connection of the
// pool, for a new one (which connect_timeout bounds too when the pool dials
// on its own), and for each answer.
func WithTimeout(d time.Duration) Option { return func(db *DB) { db.timeout = d } }

// longWork marks a context whose database calls are long by nature and run
// under their caller's bound instead of the per-call one.
type longWork struct{}

// long marks ctx as long work: garbage collection (one transaction holds
// every candidate row of a pass, and deletes objects from the bucket while
// it holds each blob's), a restore of the whole journal in one
// transaction, and an export in one snapshot. Killing them at the
// per-request bound would make a large store impossible to collect or
// restore; they are background work whose caller bounds them (the GC loop,
// start-up), and a frozen server delays them without failing any request.
// Migrations never see the bound: goose runs them on the pool directly,
// under the advisory lock's own timeout.
func long(ctx context.Context) context.Context { return context.WithValue(ctx, longWork{}, true) }

// bounded reports whether calls under ctx get the per-call deadline.
func (db *DB) bounded(ctx context.Context) bool {
	return db.pg && db.timeout > 0 && ctx.Value(longWork{}) == nil
}

// deadline is when a call or a transaction starting now must be answered
// by; zero when it is not bounded.
func (db *DB) deadline(ctx context.Context) time.Time {
	if !db.bounded(ctx) {
		return time.Time{}
	}
	return time.Now().Add(db.timeout)
}

// WriteFactor is how many per-call bounds a write transaction gets. A
// write can queue, legitimately: every write to one tenant takes the
// tenant's row lock first (bumpGeneration), so under a burst of uploads to
// one tenant a transaction waits for those before it. The load benchmark
// (50 clients, 2 replicas) saw such waits past 4 s, and a 5 s bound on the
// whole transaction answered 5 of 2,049 uploads 503 with nothing frozen.
// Reads never wait for a lock (MVCC), so they keep the per-call bound.
const WriteFactor = 6

// txContext is the context a transaction begins under and its deadline,
// which every statement in it shares (q.until): the per-call bound for a
// read transaction, WriteFactor of them for a write.
func (db *DB) txContext(ctx context.Context, write bool) (context.Context, time.Time, context.CancelFunc) {
	until := db.deadline(ctx)
	if until.IsZero() {
		return ctx, until, func() {}
	}
	if write {
		until = until.Add((WriteFactor - 1) * db.timeout)
	}
	tctx, cancel := context.WithDeadline(ctx, until)
	return tctx, until, cancel
}

// within derives the context of one call from its caller's: until its
// transaction's deadline when it has one, else the per-call bound.
func (x q) within(ctx context.Context) (context.Context, context.CancelFunc) {
	until := x.until
	if until.IsZero() {
		until = x.db.deadline(ctx)
	}
	if until.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, until)
}

// expired explains the sql.ErrTxDone of a COMMIT whose transaction's
// deadline passed after its last statement: database/sql rolled it back at
// the deadline, so it is the database's timeout, not a misuse of the
// transaction. (A statement past the deadline fails with the deadline
// itself: database/sql checks its context first.)
func expired(err error, until time.Time) error {
	if errors.Is(err, sql.ErrTxDone) && !until.IsZero() && !time.Now().Before(until) {
		return fmt.Errorf("transaction past its deadline: %w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// callerEnded is the error of a call whose caller's context ended first
// (the client went away, or the caller's own deadline passed): the
// database is not at fault, so it is not an outage. It is the context's
// error for errors.Is (499 for a client that left) and keeps the
// driver's error for the log.
func callerEnded(ctx context.Context, err error) error {
	if cerr := ctx.Err(); errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}

// rows is a query's result set, whose Close also ends the query's
// deadline, and whose Err marks an unreachable database as the query's
// own error does: a server can freeze with half the rows sent.
type rows struct {
	*sql.Rows
	ctx    context.Context // the caller's
	db     *DB
	cancel context.CancelFunc
}

// Err implements the result set's Err.
func (r *rows) Err() error { return r.db.unreachable(r.ctx, r.Rows.Err()) }

// Close implements the result set's Close.
func (r *rows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}
