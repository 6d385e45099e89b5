// Package sqlite implements ptu.Database (the control-plane ptu.Store, and the
// metric, token usage and activity log stores) over an SQLite file
// (modernc.org/sqlite, no cgo). It is the embedded default store of a single
// ptu process.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits for a lock another process
// holds. Writers of this process never wait on each other in SQLite: they
// queue for the single write connection instead.
const busyTimeout = 10 * time.Second

// DB is a ptu.Database backed by one SQLite database.
//
// Writes go through a pool of exactly one connection whose transactions begin
// IMMEDIATE, so Update calls, and the writes of the embedded DataStore, run
// one at a time in this process and take the write lock up front against
// other processes. Reads use a separate pool of read-only connections; in WAL
// mode they see a consistent snapshot and never wait for the writer.
type DB struct {
	// DataStore keeps metric points, token usage and the activity log, each
	// call in a transaction of its own.
	*sqlstore.DataStore
	write *sql.DB
	read  *sql.DB
	// Prepared statements of each pool (sqlstore.StmtCache).
	writeStmts, readStmts *sqlstore.StmtCache
}

var _ ptu.Database = (*DB)(nil)

// Open opens (creating if needed) the database at path, creating its parent
// directory if missing, and applies any pending migrations. It needs a file:
// the write and read pools share the database through it.
func Open(path string) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: %q is not a database file path", path)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?'", path)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := sql.Open("sqlite", path+"?"+dsnParams(true))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	r, err := sql.Open("sqlite", path+"?"+dsnParams(false))
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{write: w, read: r, writeStmts: sqlstore.NewStmtCache(w), readStmts: sqlstore.NewStmtCache(r)}
	db.DataStore = sqlstore.NewDataStore(sqlstore.DataOptions{Write: w, Read: r,
		WriteStmts: db.writeStmts, ReadStmts: db.readStmts, ReadOptions: &sql.TxOptions{ReadOnly: true}})

	if err := db.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	return db, nil
}

// dsnParams returns the connection parameters of the write or the read pool.
// Pragmas are per connection, so they belong in the DSN every connection of
// the pool is opened with. WAL mode is a property of the file: the write pool
// sets it while migrating, before the read pool opens a connection.
func dsnParams(writer bool) string {
	p := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
	}
	if writer {
		p = append(p, "_pragma=journal_mode(WAL)", "_txlock=immediate")
	} else {
		p = append(p, "_pragma=query_only(1)")
	}
	return strings.Join(p, "&")
}

// Close closes the database.
func (db *DB) Close() error {
	db.readStmts.Close()
	db.writeStmts.Close()
	return errors.Join(db.read.Close(), db.write.Close())
}

// Update runs fn in a write transaction serialized against every other
// Update. An error from fn, or a panic, rolls the transaction back.
func (db *DB) Update(ctx context.Context, fn func(ptu.Tx) error) error {
	defer db.writeStmts.Prepare(ctx)
	return runTx(ctx, db.write, db.writeStmts, nil, fn)
}

// View runs fn in a read-only transaction that sees one snapshot.
func (db *DB) View(ctx context.Context, fn func(ptu.Tx) error) error {
	defer db.readStmts.Prepare(ctx)
	return runTx(ctx, db.read, db.readStmts, &sql.TxOptions{ReadOnly: true}, fn)
}

func runTx(ctx context.Context, pool *sql.DB, stmts *sqlstore.StmtCache, opts *sql.TxOptions, fn func(ptu.Tx) error) error {
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	// Rolls back when fn fails or panics; after Commit it is a no-op.
	defer sqlTx.Rollback()

	if err := fn(sqlstore.NewTxCached(ctx, sqlTx, nil, stmts)); err != nil {
		return err
	}
	if opts != nil && opts.ReadOnly {
		return nil // the deferred rollback ends the snapshot
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// migrate applies, in file-name order, every embedded migration not yet
// recorded in schema_migrations, all in one transaction.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)

	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()

	if _, err := sqlTx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT NOT NULL PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return err
	}
	for _, name := range names {
		version := filepath.Base(name)
		var n int
		if err := sqlTx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := sqlTx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", version, err)
		}
		if _, err := sqlTx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			version, sqlstore.FormatTime(time.Now())); err != nil {
			return err
		}
	}
	return sqlTx.Commit()
}
