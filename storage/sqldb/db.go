// Package sqldb is chartd's metadata database: one schema on SQLite (pure Go,
// modernc.org/sqlite) or PostgreSQL (pgx), migrated with goose at Open.
//
// The database is the truth about what exists. Uniqueness is enforced by
// constraints, never by reading first; every reference to a blob carries a
// foreign key to the blobs table, so a referenced blob row cannot be deleted
// by garbage collection, whatever the interleaving.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chartd/chartd/storage"
)

//go:embed migrations
var migrations embed.FS

// DB is the metadata database. It satisfies storage.Tenants, storage.Charts,
// storage.Repositories, storage.BlobLinks, storage.Manifests, storage.Uploads
// and storage.Keys. It is safe for concurrent use.
type DB struct {
	pg bool
	// rd serves reads; wr serves writes. They are the same pool on
	// PostgreSQL. On SQLite wr holds a single connection, so writers queue in
	// database/sql instead of failing with SQLITE_BUSY, while WAL lets
	// readers proceed beside them.
	rd, wr *sql.DB
	// rdStmts and wrStmts cache SQLite's prepared statements (nil on
	// PostgreSQL).
	rdStmts, wrStmts *stmtCache
	gen              *sql.Stmt // Generation, prepared once: it runs on every index GET
	stat             storage.Stater
	log              *slog.Logger
	// timeout bounds each call to PostgreSQL (deadline.go).
	timeout time.Duration
	// journal, when set, appends every durable commit's changes to the
	// store's metadata journal (journal.go).
	journal atomic.Pointer[journal]
}

// Option configures Open.
type Option func(*DB)

// WithBlobStater makes the database confirm, inside the transaction that
// first records a blob, that the object is really in the store. Garbage
// collection deletes an object only while it holds the blob's row, so this
// closes the race of a push that found the object present just before GC
// removed it: the reference then fails with a *storage.MissingBlobError
// instead of committing a row that points at nothing, and the caller pushes
// again.
func WithBlobStater(s storage.Stater) Option { return func(db *DB) { db.stat = s } }

// Open opens (creating when needed) and migrates the database at dsn: a
// postgres:// or postgresql:// URL, or a SQLite path (optionally sqlite://path
// or sqlite:path). Migrations run under PostgreSQL's session advisory lock, so
// replicas starting together are safe.
func Open(ctx context.Context, dsn string, log *slog.Logger, opts ...Option) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{log: log, timeout: DefaultTimeout}
	for _, o := range opts {
		o(db)
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = db.openPostgres(dsn)
	} else {
		err = db.openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.gen, err = db.rd.PrepareContext(ctx, db.rebind(`SELECT generation FROM tenants WHERE path = ?`)); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: prepare: %w", err)
	}
	return db, nil
}

// connectTimeout bounds a new connection to PostgreSQL unless the DSN sets
// connect_timeout: a server that does not answer (a host that is down, a
// dropped route) fails the request in seconds, not after the kernel's
// minutes of SYN retries.
const connectTimeout = 5 * time.Second

func (db *DB) openPostgres(dsn string) error {
	pool, err := openPostgresPool(dsn)
	if err != nil {
		return err
	}
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(8)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db.pg, db.rd, db.wr = true, pool, pool
	return nil
}

func (db *DB) openSQLite(dsn string) error {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	path, query, _ := strings.Cut(path, "?")
	if path == "" {
		return errors.New("sqldb: empty SQLite path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("sqldb: %w", err)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("sqldb: SQLite options: %w", err)
	}
	// busy_timeout covers other processes sharing the file; within this
	// process the single writer connection already serialises writers.
	// IMMEDIATE transactions take the write lock at BEGIN, so a transaction
	// never has to upgrade a read lock (which would fail with SQLITE_BUSY).
	// synchronous=FULL syncs the WAL at every commit: a push the server
	// acknowledged survives a power cut, as it does on PostgreSQL (NORMAL
	// would keep the database consistent but could lose the last commits).
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	open := func(conns int) (*sql.DB, error) {
		d, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("sqldb: open sqlite: %w", err)
		}
		d.SetMaxOpenConns(conns)
		d.SetMaxIdleConns(conns)
		d.SetConnMaxIdleTime(0)
		return d, nil
	}
	if db.wr, err = open(1); err != nil {
		return err
	}
	if db.rd, err = open(8); err != nil {
		db.wr.Close()
		return err
	}
	db.rdStmts, db.wrStmts = newStmtCache(db.rd), newStmtCache(db.wr)
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	var popts []goose.ProviderOption
	if db.pg {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("sqldb: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("sqldb: %w", err)
	}
	popts = append(popts, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(db.goMigrations()...))
	p, err := goose.NewProvider(dialect, db.wr, fsys, popts...)
	if err != nil {
		return fmt.Errorf("sqldb: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqldb: migrate: %w", err)
	}
	for _, r := range res {
		db.log.InfoContext(ctx, "sqldb: applied migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	if db.gen != nil {
		errs = append(errs, db.gen.Close())
	}
	if db.rdStmts != nil {
		errs = append(errs, db.rdStmts.close(), db.wrStmts.close())
	}
	errs = append(errs, db.rd.Close())
	if db.wr != db.rd {
		errs = append(errs, db.wr.Close())
	}
	return errors.Join(errs...)
}

// rebind turns the '?' placeholders every query is written with into
// PostgreSQL's $n. No query here has a '?' inside a literal or directly
// before a digit (which would read as a longer $n).
func (db *DB) rebind(q string) string {
	if !db.pg {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q runs queries written with '?' placeholders on a pool or a transaction.
type q struct {
	db    *DB
	c     querier
	cache *stmtCache // the prepared statements of c's pool; nil: none
	// missed collects a transaction's queries that had no prepared
	// statement yet (see stmt).
	missed *[]string
	// until is the deadline of c's transaction, which bounds every
	// statement in it; zero on a pool, where each call gets its own.
	until time.Time
}

func (x q) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	cctx, cancel := x.within(ctx)
	defer cancel()
	if st := x.stmt(cctx, query); st != nil {
		res, err = st.ExecContext(cctx, args...)
	} else {
		res, err = x.c.ExecContext(cctx, x.db.rebind(query), args...)
	}
	if err != nil {
		return 0, x.db.unreachable(ctx, err)
	}
	return res.RowsAffected()
}

// query runs a query whose rows the caller must Close: the call's
// deadline lasts until then.
func (x q) query(ctx context.Context, query string, args ...any) (*rows, error) {
	return x.run(ctx, true, query, args...)
}

// queryText is query without the prepared statements: for a query built
// from the request (a search's words, a page's filters), whose variants
// would only fill the cache.
func (x q) queryText(ctx context.Context, query string, args ...any) (*rows, error) {
	return x.run(ctx, false, query, args...)
}

func (x q) run(ctx context.Context, prepare bool, query string, args ...any) (*rows, error) {
	var (
		rs  *sql.Rows
		err error
	)
	cctx, cancel := x.within(ctx)
	var st *sql.Stmt
	if prepare {
		st = x.stmt(cctx, query)
	}
	if st != nil {
		rs, err = st.QueryContext(cctx, args...)
	} else {
		rs, err = x.c.QueryContext(cctx, x.db.rebind(query), args...)
	}
	if err != nil {
		cancel()
		return nil, x.db.unreachable(ctx, err)
	}
	return &rows{Rows: rs, ctx: ctx, db: x.db, cancel: cancel}, nil
}

func (x q) row(ctx context.Context, query string, args ...any) row {
	cctx, cancel := x.within(ctx)
	if st := x.stmt(cctx, query); st != nil {
		return row{ctx, x.db, st.QueryRowContext(cctx, args...), cancel}
	}
	return row{ctx, x.db, x.c.QueryRowContext(cctx, x.db.rebind(query), args...), cancel}
}

// read returns a runner on the read pool.
func (db *DB) read() q { return q{db: db, c: db.rd, cache: db.rdStmts} }

// write runs fn in a write transaction, committing when it returns nil. On
// PostgreSQL a serialization failure or deadlock is retried a few times: both
// mean no effect was committed.
func (db *DB) write(ctx context.Context, fn func(tx q) error) error {
	return db.retry(ctx, false, fn)
}

// writeLazy is write for state a power cut may lose without harm, such as an
// upload session a client restarts when it is gone: the commit does not
// wait for the disk (the next durable commit carries it there). Every other
// commit is durable.
func (db *DB) writeLazy(ctx context.Context, fn func(tx q) error) error {
	return db.retry(ctx, true, fn)
}

func (db *DB) retry(ctx context.Context, lazy bool, fn func(tx q) error) error {
	for attempt := 0; ; attempt++ {
		err := db.tx(ctx, lazy, fn)
		if err == nil && !lazy {
			db.afterCommit(ctx)
		}
		if err == nil || attempt == 4 || !retryable(err) {
			return err
		}
		db.log.DebugContext(ctx, "sqldb: retrying transaction", "attempt", attempt+1, "err", err)
	}
}

func (db *DB) tx(ctx context.Context, lazy bool, fn func(tx q) error) (err error) {
	var missed []string
	defer func() {
		// The writer connection is free again: prepare what the
		// transaction ran as text, for the next one.
		for _, query := range missed {
			db.wrStmts.get(context.WithoutCancel(ctx), query)
		}
	}()
	var begin interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	} = db.wr
	if lazy && !db.pg {
		// SQLite sets durability per connection, and not inside a
		// transaction: take the writer connection, lower it for this
		// transaction only, and restore it before anyone else may use it.
		conn, err := db.wr.Conn(ctx)
		if err != nil {
			return fmt.Errorf("sqldb: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			return fmt.Errorf("sqldb: %w", err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); rerr != nil {
				// Never leave a lowered connection in the pool: drop it,
				// and the pool opens a new one with the DSN's settings.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("sqldb: restore synchronous: %w", rerr))
			}
		}()
		begin = conn
	}
	// One deadline covers the whole transaction, BEGIN to COMMIT, so a
	// write cannot stretch past it statement by statement. When it passes,
	// database/sql rolls the transaction back (nothing of it is
	// committed) and pgx drops the connection. A deadline that passes
	// while COMMIT is on its way leaves the outcome to the server: the
	// transaction is applied whole or not at all, never in part.
	tctx, until, cancel := db.txContext(ctx, true)
	defer cancel()
	tx, err := begin.BeginTx(tctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", db.unreachable(ctx, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if lazy && db.pg {
		if _, err := tx.ExecContext(tctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
			return fmt.Errorf("sqldb: %w", db.unreachable(ctx, err))
		}
	}
	if err := fn(q{db: db, c: tx, cache: db.wrStmts, missed: &missed, until: until}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", db.unreachable(ctx, expired(err, until)))
	}
	return nil
}

// now is the time stored in rows, in Unix nanoseconds.
func now() int64 { return time.Now().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return now()
	}
	return t.UnixNano()
}

// Error classification across both drivers.

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUnique reports a unique or primary-key violation.
func isUnique(err error) bool {
	if c := sqliteCode(err); c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return true
	}
	return pgCode(err) == "23505"
}

// isForeignKey reports a foreign-key violation.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || pgCode(err) == "23503"
}

func retryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// nullString stores an empty optional digest as NULL: the foreign keys to
// blobs must not see an empty string.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
