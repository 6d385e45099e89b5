package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// Rebind turns the queries' ? placeholders into the database's own; nil
// keeps them (SQLite). Dollar is PostgreSQL's.
type Rebind func(query string) string

// Dollar turns ? placeholders into PostgreSQL's $1, $2, …; no query has a ?
// anywhere else.
func Dollar(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NewTx returns the ptu.Tx over one database/sql transaction. The queries are
// written in the SQL that SQLite and PostgreSQL share; rebind adapts their
// placeholders.
func NewTx(ctx context.Context, sqlTx *sql.Tx, rebind Rebind) ptu.Tx {
	if rebind == nil {
		rebind = func(q string) string { return q }
	}
	return &tx{ctx: ctx, tx: sqlTx, rebind: rebind}
}

// tx implements ptu.Tx over one database/sql transaction.
type tx struct {
	ctx    context.Context
	tx     *sql.Tx
	rebind Rebind
	// changed is set by every write of control-plane state, the state
	// replicas cache; metric points, token counts and activity-log entries
	// do not set it.
	changed bool
	stmts   *StmtCache // nil: every query is prepared anew
}

var _ ptu.Tx = (*tx)(nil)

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	t.changed = true
	return t.execData(query, args...)
}

// stmt returns the transaction's copy of query's cached statement, or nil
// when there is no cache or it does not hold query yet.
func (t *tx) stmt(query string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	if s := t.stmts.get(query); s != nil {
		return t.tx.StmtContext(t.ctx, s)
	}
	return nil
}

// execData runs a write of records no replica caches (metric points, token
// counts, activity-log entries), so it does not count as a change.
func (t *tx) execData(query string, args ...any) (sql.Result, error) {
	q := t.rebind(query)
	if s := t.stmt(q); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, q, args...)
}

// Changed reports whether a transaction NewTx returned has written
// control-plane state (anything but metric points, token counts and
// activity-log entries): what
// a shared store must tell other replicas of when it commits.
func Changed(t ptu.Tx) bool {
	x, ok := t.(*tx)
	return !ok || x.changed
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	q := t.rebind(query)
	if s := t.stmt(q); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, q, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	q := t.rebind(query)
	if s := t.stmt(q); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// timeFormat is RFC 3339 with a fixed-width fraction, so stored times sort
// lexically in time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime stores t in UTC; the zero time is stored as "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// notFound wraps ptu.ErrNotFound, naming what was looked for.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ptu.ErrNotFound)
}

// scanAll runs query and scans every row with scan.
func scanAll[T any](t *tx, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Subscriptions

func (t *tx) ListSubscriptions() ([]ptu.Subscription, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Subscription, error) {
		var s ptu.Subscription
		err := r.Scan(&s.ID, &s.DisplayName, &s.TenantID, &s.State)
		return s, err
	}, `SELECT id, display_name, tenant_id, state FROM subscriptions ORDER BY id`)
}

func (t *tx) GetSubscription(id string) (ptu.Subscription, error) {
	var s ptu.Subscription
	err := t.queryRow(`SELECT id, display_name, tenant_id, state FROM subscriptions WHERE id = ?`, id).
		Scan(&s.ID, &s.DisplayName, &s.TenantID, &s.State)
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("subscription %s", id)
	}
	return s, err
}

func (t *tx) PutSubscription(s ptu.Subscription) error {
	_, err := t.exec(`INSERT INTO subscriptions (id, display_name, tenant_id, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
			tenant_id = excluded.tenant_id, state = excluded.state`,
		s.ID, s.DisplayName, s.TenantID, s.State)
	return err
}

// Regions

func (t *tx) ListRegions() ([]ptu.Region, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Region, error) {
		var g ptu.Region
		err := r.Scan(&g.Name, &g.DisplayName, &g.DataZone)
		return g, err
	}, `SELECT name, display_name, data_zone FROM regions ORDER BY name`)
}

func (t *tx) PutRegion(g ptu.Region) error {
	_, err := t.exec(`INSERT INTO regions (name, display_name, data_zone) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, data_zone = excluded.data_zone`,
		g.Name, g.DisplayName, g.DataZone)
	return err
}

// Pools

const poolColumns = `id, region, model, version, rated_ptu, backend`

func scanPool(r interface{ Scan(...any) error }) (ptu.Pool, error) {
	var p ptu.Pool
	err := r.Scan(&p.ID, &p.Region, &p.Model, &p.Version, &p.RatedPTU, &p.Backend)
	return p, err
}

func (t *tx) ListPools() ([]ptu.Pool, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Pool, error) { return scanPool(r) },
		`SELECT `+poolColumns+` FROM pools ORDER BY id`)
}

func (t *tx) GetPool(id string) (ptu.Pool, error) {
	p, err := scanPool(t.queryRow(`SELECT `+poolColumns+` FROM pools WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("pool %s", id)
	}
	return p, err
}

func (t *tx) PutPool(p ptu.Pool) error {
	_, err := t.exec(`INSERT INTO pools (`+poolColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET region = excluded.region, model = excluded.model,
			version = excluded.version, rated_ptu = excluded.rated_ptu, backend = excluded.backend`,
		p.ID, p.Region, p.Model, p.Version, p.RatedPTU, p.Backend)
	return err
}

func (t *tx) PoolAllocations() (map[string]int, error) {
	// pool_usage is kept by triggers (0006_usage_totals.sql): one row per pool.
	rows, err := t.query(`SELECT pool_id, ptu FROM pool_usage WHERE ptu <> 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := make(map[string]int)
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		m[id] = n
	}
	return m, rows.Err()
}

// Quota limits

func (t *tx) ListQuotaLimits(subscriptionID string) ([]ptu.QuotaLimit, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.QuotaLimit, error) {
		var q ptu.QuotaLimit
		err := r.Scan(&q.SubscriptionID, &q.Region, &q.SKUName, &q.Limit)
		return q, err
	}, `SELECT subscription_id, region, sku_name, quota_limit FROM quota_limits
		WHERE ? = '' OR subscription_id = ?
		ORDER BY subscription_id, region, sku_name`, subscriptionID, subscriptionID)
}

func (t *tx) PutQuotaLimit(q ptu.QuotaLimit) error {
	_, err := t.exec(`INSERT INTO quota_limits (subscription_id, region, sku_name, quota_limit) VALUES (?, ?, ?, ?)
		ON CONFLICT (subscription_id, region, sku_name) DO UPDATE SET quota_limit = excluded.quota_limit`,
		q.SubscriptionID, q.Region, q.SKUName, q.Limit)
	return err
}

// Quota requests

const quotaRequestColumns = `id, subscription_id, region, sku_name, requested_limit, reason, state, review_note, created_at, decided_at`

func scanQuotaRequest(r interface{ Scan(...any) error }) (ptu.QuotaRequest, error) {
	var q ptu.QuotaRequest
	var created, decided string
	if err := r.Scan(&q.ID, &q.SubscriptionID, &q.Region, &q.SKUName, &q.RequestedLimit,
		&q.Reason, &q.State, &q.ReviewNote, &created, &decided); err != nil {
		return q, err
	}
	var err error
	if q.CreatedAt, err = parseTime(created); err != nil {
		return q, err
	}
	q.DecidedAt, err = parseTime(decided)
	return q, err
}

func (t *tx) PutQuotaRequest(q ptu.QuotaRequest) error {
	_, err := t.exec(`INSERT INTO quota_requests (`+quotaRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET subscription_id = excluded.subscription_id, region = excluded.region,
			sku_name = excluded.sku_name, requested_limit = excluded.requested_limit, reason = excluded.reason,
			state = excluded.state, review_note = excluded.review_note,
			created_at = excluded.created_at, decided_at = excluded.decided_at`,
		q.ID, q.SubscriptionID, q.Region, q.SKUName, q.RequestedLimit, q.Reason, q.State, q.ReviewNote,
		FormatTime(q.CreatedAt), FormatTime(q.DecidedAt))
	return err
}

func (t *tx) GetQuotaRequest(id string) (ptu.QuotaRequest, error) {
	q, err := scanQuotaRequest(t.queryRow(`SELECT `+quotaRequestColumns+` FROM quota_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return q, notFound("quota request %s", id)
	}
	return q, err
}

func (t *tx) ListQuotaRequests(subscriptionID string) ([]ptu.QuotaRequest, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.QuotaRequest, error) { return scanQuotaRequest(r) },
		`SELECT `+quotaRequestColumns+` FROM quota_requests
		WHERE ? = '' OR subscription_id = ?
		ORDER BY created_at DESC, id DESC`, subscriptionID, subscriptionID)
}
