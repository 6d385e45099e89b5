package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"github.com/ptu-dev/ptu"
)

// StmtCache keeps one prepared statement per query text for a pool of
// connections, so a transaction's queries skip SQL parsing and planning
// (with SQLite that was over 40 % of creating a deployment: each prepare also
// compiles the table's triggers). database/sql prepares a cached statement
// once on each connection that runs it and reuses it there.
//
// A query the cache does not hold yet runs unprepared and is remembered;
// Prepare, called between transactions, prepares those. (Preparing on the
// pool inside a transaction could wait for the connection the transaction
// holds: SQLite's write pool has one.)
type StmtCache struct {
	db      *sql.DB
	m       sync.Map // query -> *sql.Stmt
	mu      sync.Mutex
	n       int // statements in m
	pending map[string]bool
}

// maxCachedStmts bounds the cache; the store's queries are a fixed set, but
// a few are built with a variable number of placeholders.
const maxCachedStmts = 512

// NewStmtCache returns a cache of statements prepared on db.
func NewStmtCache(db *sql.DB) *StmtCache { return &StmtCache{db: db, pending: map[string]bool{}} }

// Close closes every cached statement.
func (c *StmtCache) Close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

func (c *StmtCache) get(query string) *sql.Stmt {
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt)
	}
	c.mu.Lock()
	if c.n+len(c.pending) < maxCachedStmts {
		c.pending[query] = true
	}
	c.mu.Unlock()
	return nil
}

// Prepare prepares the queries run since the last call that the cache did
// not hold. A query that fails to prepare is left to run unprepared.
func (c *StmtCache) Prepare(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range queries {
		if _, ok := c.m.Load(q); ok {
			continue
		}
		s, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		if _, loaded := c.m.LoadOrStore(q, s); loaded {
			s.Close()
			continue
		}
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
}

// NewTxCached is NewTx with the transaction's statements taken from cache,
// which must be over the pool sqlTx came from.
func NewTxCached(ctx context.Context, sqlTx *sql.Tx, rebind Rebind, cache *StmtCache) ptu.Tx {
	t := NewTx(ctx, sqlTx, rebind).(*tx)
	t.stmts = cache
	return t
}
