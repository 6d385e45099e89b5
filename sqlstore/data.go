package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ptu-dev/ptu"
)

// DataStore implements the stores of the records every replica writes and
// none caches: ptu.MetricStore, ptu.UsageStore and ptu.ActivityLog. Each call
// runs in a short transaction of its own, apart from the control plane's
// Update, so a flush of metric points or token counts never waits for a
// deployment being placed, nor makes one wait.
type DataStore struct {
	c DataOptions
}

// DataOptions say how a DataStore reaches its database.
type DataOptions struct {
	// Write and Read are the pools writes and reads run on (they may be
	// the same pool).
	Write, Read *sql.DB
	// WriteStmts and ReadStmts cache the pools' prepared statements; nil
	// prepares every query anew.
	WriteStmts, ReadStmts *StmtCache
	// ReadOptions begin the transaction of a read.
	ReadOptions *sql.TxOptions
	Rebind      Rebind
	// Lock, when set, returns the statement that, run first in a write
	// transaction, serializes the writers of one concern (ConcernMetrics,
	// ConcernUsage) across every process using the database until that
	// transaction ends.
	Lock func(concern string) string
}

// Concerns whose writes merge into existing rows. Writers of one concern
// exclude each other (DataOptions.Lock); writers of different concerns, and
// the control plane, do not.
const (
	ConcernMetrics = "metrics"
	ConcernUsage   = "usage"
)

// NewDataStore returns the data stores over the pools of o.
func NewDataStore(o DataOptions) *DataStore {
	if o.Rebind == nil {
		o.Rebind = func(q string) string { return q }
	}
	return &DataStore{c: o}
}

var (
	_ ptu.MetricStore = (*DataStore)(nil)
	_ ptu.UsageStore  = (*DataStore)(nil)
	_ ptu.ActivityLog = (*DataStore)(nil)
)

// write runs fn in a write transaction, serialized against the other writers
// of concern when it is not "", and commits it when fn succeeds.
func (d *DataStore) write(ctx context.Context, concern string, fn func(*tx) error) error {
	if d.c.WriteStmts != nil {
		defer d.c.WriteStmts.Prepare(ctx)
	}
	sqlTx, err := d.c.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer sqlTx.Rollback()
	if concern != "" && d.c.Lock != nil {
		if _, err := sqlTx.ExecContext(ctx, d.c.Lock(concern)); err != nil {
			return fmt.Errorf("store: lock %s: %w", concern, err)
		}
	}
	if err := fn(&tx{ctx: ctx, tx: sqlTx, rebind: d.c.Rebind, stmts: d.c.WriteStmts}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// read runs fn in a read-only transaction.
func read[T any](ctx context.Context, d *DataStore, fn func(*tx) (T, error)) (T, error) {
	if d.c.ReadStmts != nil {
		defer d.c.ReadStmts.Prepare(ctx)
	}
	var zero T
	sqlTx, err := d.c.Read.BeginTx(ctx, d.c.ReadOptions)
	if err != nil {
		return zero, fmt.Errorf("store: begin: %w", err)
	}
	defer sqlTx.Rollback()
	return fn(&tx{ctx: ctx, tx: sqlTx, rebind: d.c.Rebind, stmts: d.c.ReadStmts})
}

// AddMetricPoints implements ptu.MetricStore.
func (d *DataStore) AddMetricPoints(ctx context.Context, points []ptu.MetricPoint) error {
	if len(points) == 0 {
		return nil
	}
	return d.write(ctx, ConcernMetrics, func(t *tx) error { return t.addMetricPoints(points) })
}

// QueryMetrics implements ptu.MetricStore.
func (d *DataStore) QueryMetrics(ctx context.Context, f ptu.MetricFilter) ([]ptu.MetricPoint, error) {
	return read(ctx, d, func(t *tx) ([]ptu.MetricPoint, error) { return t.queryMetrics(f) })
}

// DeleteMetricsBefore implements ptu.MetricStore.
func (d *DataStore) DeleteMetricsBefore(ctx context.Context, before time.Time) (n int, err error) {
	err = d.write(ctx, ConcernMetrics, func(t *tx) (err error) { n, err = t.deleteMetricsBefore(before); return })
	return n, err
}

// AddTokenUsage implements ptu.UsageStore.
func (d *DataStore) AddTokenUsage(ctx context.Context, rows []ptu.TokenUsage) error {
	if len(rows) == 0 {
		return nil
	}
	return d.write(ctx, ConcernUsage, func(t *tx) error { return t.addTokenUsage(rows) })
}

// ListTokenUsage implements ptu.UsageStore.
func (d *DataStore) ListTokenUsage(ctx context.Context, f ptu.TokenUsageFilter) ([]ptu.TokenUsage, error) {
	return read(ctx, d, func(t *tx) ([]ptu.TokenUsage, error) { return t.listTokenUsage(f) })
}

// AddActivityEvent implements ptu.ActivityLog. Events are inserted, never
// merged: writers need not exclude each other.
func (d *DataStore) AddActivityEvent(ctx context.Context, e ptu.ActivityEvent) error {
	return d.write(ctx, "", func(t *tx) error { return t.addActivityEvent(e) })
}

// ListActivityEvents implements ptu.ActivityLog.
func (d *DataStore) ListActivityEvents(ctx context.Context, f ptu.ActivityFilter) ([]ptu.ActivityEvent, error) {
	return read(ctx, d, func(t *tx) ([]ptu.ActivityEvent, error) { return t.listActivityEvents(f) })
}

// DeleteActivityEventsBefore implements ptu.ActivityLog.
func (d *DataStore) DeleteActivityEventsBefore(ctx context.Context, before time.Time) (n int, err error) {
	err = d.write(ctx, "", func(t *tx) (err error) { n, err = t.deleteActivityEventsBefore(before); return })
	return n, err
}
