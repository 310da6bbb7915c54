package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the SQLite statements of one pool prepared. Every query
// here is a constant string, run thousands of times a second under a push
// load, and SQLite spends more time compiling a small statement than
// running it. PostgreSQL's driver caches statements per connection itself,
// so it gets no cache.
type stmtCache struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache. Queries are constants, or one of a few
// variants (an optional filter); the bound only guards against a future
// query built from input, which past it simply runs unprepared.
const maxCachedStmts = 256

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

// lookup returns the prepared statement of query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// get returns the prepared statement of query, preparing it on first use;
// nil when it cannot be prepared or the cache is full (the caller then runs
// the query as text, which reports any error in the query itself).
// Preparing takes a connection of the pool, so it must not be called while
// holding one: inside a transaction on the single writer connection it
// would wait for itself.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if st := c.lookup(query); st != nil {
		return st
	}
	st, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[query]; ok || len(c.m) >= maxCachedStmts {
		st.Close() // another caller won, or the cache is full
		return old
	}
	c.m[query] = st
	return st
}

// close closes every cached statement.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for q, st := range c.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	return first
}

// stmt returns query's cached statement for x's pool or transaction, or nil.
// A transaction cannot prepare on its pool (it holds the connection), so it
// notes what it missed, and db.tx prepares those once the transaction ends.
func (x q) stmt(ctx context.Context, query string) *sql.Stmt {
	if x.cache == nil {
		return nil
	}
	tx, inTx := x.c.(*sql.Tx)
	if !inTx {
		return x.cache.get(ctx, query)
	}
	st := x.cache.lookup(query)
	if st == nil {
		*x.missed = append(*x.missed, query)
		return nil
	}
	// On the writer's single connection the statement is already
	// prepared, so this only wraps it for the transaction.
	return tx.StmtContext(ctx, st)
}
