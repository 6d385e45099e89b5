// Package postgres implements ptu.Database over PostgreSQL (jackc/pgx), the
// database several ptu replicas share. It behaves as package sqlite does; what
// differs is how writers are kept apart: every Update takes one
// transaction-scoped advisory lock first, so control-plane writes are
// serialized across every process using the same schema, and each commit
// that changed control-plane state notifies the channel ptu_changes so the
// other replicas drop what they cached. Metric points and token counts,
// which every replica flushes every few seconds, take an advisory lock of
// their own concern instead (so flushes of one concern, which merge into the
// same rows, do not deadlock each other), and activity events none: neither
// waits for the control plane, and neither notifies.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Channel is the notification channel committed control-plane changes signal.
const Channel = "ptu_changes"

// lockSQL takes the advisory lock of the schema in use: replicas sharing a
// schema exclude each other, stores in other schemas of the database do not.
const lockSQL = `SELECT pg_advisory_xact_lock(hashtext('ptu:' || current_schema()))`

// concernLockSQL is the advisory lock of one data concern
// (sqlstore.ConcernMetrics, sqlstore.ConcernUsage) in the schema in use.
func concernLockSQL(concern string) string {
	return `SELECT pg_advisory_xact_lock(hashtext('ptu-` + concern + `:' || current_schema()))`
}

// DB is a ptu.Database backed by one PostgreSQL database (the schema its
// search_path names first).
type DB struct {
	// DataStore keeps metric points, token usage and the activity log, each
	// call in a transaction of its own.
	*sqlstore.DataStore
	db  *sql.DB
	cfg *pgx.ConnConfig
}

var _ ptu.Database = (*DB)(nil)

// Open connects to the database at url (postgres://…; a search_path
// parameter selects the schema) and applies any pending migrations.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{db: stdlib.OpenDB(*cfg), cfg: cfg}
	db.db.SetMaxOpenConns(16)
	db.db.SetMaxIdleConns(16)
	db.db.SetConnMaxIdleTime(5 * time.Minute)
	db.DataStore = sqlstore.NewDataStore(sqlstore.DataOptions{Write: db.db, Read: db.db,
		ReadOptions: &sql.TxOptions{ReadOnly: true}, Rebind: sqlstore.Dollar, Lock: concernLockSQL})
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migrate %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return db, nil
}

// Close closes the connections.
func (db *DB) Close() error { return db.db.Close() }

// Update runs fn in a transaction serialized against every other Update on
// the same schema, by any process. An error from fn, or a panic, rolls it
// back; a commit that changed control-plane state notifies Channel.
func (db *DB) Update(ctx context.Context, fn func(ptu.Tx) error) error {
	sqlTx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer sqlTx.Rollback()
	// READ COMMITTED after the lock: every statement sees all that the
	// writers before this one committed.
	if _, err := sqlTx.ExecContext(ctx, lockSQL); err != nil {
		return fmt.Errorf("postgres: lock: %w", err)
	}
	tx := sqlstore.NewTx(ctx, sqlTx, sqlstore.Dollar)
	if err := fn(tx); err != nil {
		return err
	}
	// Delivered at commit, and only if it commits.
	if sqlstore.Changed(tx) {
		if _, err := sqlTx.ExecContext(ctx, `SELECT pg_notify($1, current_schema())`, Channel); err != nil {
			return fmt.Errorf("postgres: notify: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction that sees one snapshot.
func (db *DB) View(ctx context.Context, fn func(ptu.Tx) error) error {
	sqlTx, err := db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer sqlTx.Rollback()
	return fn(sqlstore.NewTx(ctx, sqlTx, sqlstore.Dollar))
}

// Listen calls changed whenever an Update commits on this schema, in this
// process or another, until ctx is done. It also calls changed each time it
// (re)connects, since notifications sent while it was not listening are lost.
// It returns ctx's error; connection failures are retried with backoff.
func (db *DB) Listen(ctx context.Context, changed func()) error {
	backoff := 100 * time.Millisecond
	for {
		err := db.listen(ctx, changed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (db *DB) listen(ctx context.Context, changed func()) error {
	conn, err := pgx.ConnectConfig(ctx, db.cfg.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return err
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	changed()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == schema {
			changed()
		}
	}
}

// migrate applies, in file-name order, every embedded migration not yet
// recorded in schema_migrations, all in one transaction under the Update
// lock, so replicas starting together apply each migration once.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)

	sqlTx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	if _, err := sqlTx.ExecContext(ctx, lockSQL); err != nil {
		return err
	}
	if _, err := sqlTx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT NOT NULL PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return err
	}
	for _, name := range names {
		version := filepath.Base(name)
		var n int
		if err := sqlTx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
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
		if _, err := sqlTx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			version, sqlstore.FormatTime(time.Now())); err != nil {
			return err
		}
	}
	return sqlTx.Commit()
}
