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

// tx implements ptu.Tx over one database/sql transaction. Each kind of
// record is a named type over it (subscriptions, accounts, …) whose methods
// are that record's ptu interface.
type tx struct {
	ctx    context.Context
	tx     *sql.Tx
	rebind Rebind
	// changed is set by every write: a transaction that only read has
	// nothing to tell other replicas.
	changed bool
	stmts   *StmtCache // nil: every query is prepared anew
}

type (
	subscriptions   struct{ *tx }
	regions         struct{ *tx }
	pools           struct{ *tx }
	quotaLimits     struct{ *tx }
	accounts        struct{ *tx }
	deployments     struct{ *tx }
	quotaRequests   struct{ *tx }
	capacityChanges struct{ *tx }
	reservations    struct{ *tx }
	principals      struct{ *tx }
	roleAssignments struct{ *tx }
	raiPolicies     struct{ *tx }
	raiBlocklists   struct{ *tx }
)

var (
	_ ptu.Tx              = (*tx)(nil)
	_ ptu.Subscriptions   = subscriptions{}
	_ ptu.Regions         = regions{}
	_ ptu.Pools           = pools{}
	_ ptu.QuotaLimits     = quotaLimits{}
	_ ptu.Accounts        = accounts{}
	_ ptu.Deployments     = deployments{}
	_ ptu.QuotaRequests   = quotaRequests{}
	_ ptu.CapacityChanges = capacityChanges{}
	_ ptu.Reservations    = reservations{}
	_ ptu.Principals      = principals{}
	_ ptu.RoleAssignments = roleAssignments{}
	_ ptu.RAIPolicies     = raiPolicies{}
	_ ptu.RAIBlocklists   = raiBlocklists{}
)

func (t *tx) Subscriptions() ptu.Subscriptions     { return subscriptions{t} }
func (t *tx) Regions() ptu.Regions                 { return regions{t} }
func (t *tx) Pools() ptu.Pools                     { return pools{t} }
func (t *tx) QuotaLimits() ptu.QuotaLimits         { return quotaLimits{t} }
func (t *tx) Accounts() ptu.Accounts               { return accounts{t} }
func (t *tx) Deployments() ptu.Deployments         { return deployments{t} }
func (t *tx) QuotaRequests() ptu.QuotaRequests     { return quotaRequests{t} }
func (t *tx) CapacityChanges() ptu.CapacityChanges { return capacityChanges{t} }
func (t *tx) Reservations() ptu.Reservations       { return reservations{t} }
func (t *tx) Principals() ptu.Principals           { return principals{t} }
func (t *tx) RoleAssignments() ptu.RoleAssignments { return roleAssignments{t} }
func (t *tx) RAIPolicies() ptu.RAIPolicies         { return raiPolicies{t} }
func (t *tx) RAIBlocklists() ptu.RAIBlocklists     { return raiBlocklists{t} }

// exec runs a write.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	t.changed = true
	q := t.rebind(query)
	if s := t.stmt(q); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, q, args...)
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

// Changed reports whether a transaction NewTx returned has written: what a
// shared store must tell other replicas of when it commits.
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

// querier is a transaction, or one of its kinds of record.
type querier interface {
	query(query string, args ...any) (*sql.Rows, error)
}

// scanAll runs query and scans every row with scan.
func scanAll[T any](t querier, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
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

func (t subscriptions) List() ([]ptu.Subscription, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Subscription, error) {
		var s ptu.Subscription
		err := r.Scan(&s.ID, &s.DisplayName, &s.TenantID, &s.State)
		return s, err
	}, `SELECT id, display_name, tenant_id, state FROM subscriptions ORDER BY id`)
}

func (t subscriptions) Get(id string) (ptu.Subscription, error) {
	var s ptu.Subscription
	err := t.queryRow(`SELECT id, display_name, tenant_id, state FROM subscriptions WHERE id = ?`, id).
		Scan(&s.ID, &s.DisplayName, &s.TenantID, &s.State)
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("subscription %s", id)
	}
	return s, err
}

func (t subscriptions) Put(s ptu.Subscription) error {
	_, err := t.exec(`INSERT INTO subscriptions (id, display_name, tenant_id, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
			tenant_id = excluded.tenant_id, state = excluded.state`,
		s.ID, s.DisplayName, s.TenantID, s.State)
	return err
}

// Regions

func (t regions) List() ([]ptu.Region, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Region, error) {
		var g ptu.Region
		err := r.Scan(&g.Name, &g.DisplayName, &g.DataZone)
		return g, err
	}, `SELECT name, display_name, data_zone FROM regions ORDER BY name`)
}

func (t regions) Put(g ptu.Region) error {
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

func (t pools) List() ([]ptu.Pool, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Pool, error) { return scanPool(r) },
		`SELECT `+poolColumns+` FROM pools ORDER BY id`)
}

func (t pools) Get(id string) (ptu.Pool, error) {
	p, err := scanPool(t.queryRow(`SELECT `+poolColumns+` FROM pools WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("pool %s", id)
	}
	return p, err
}

func (t pools) Put(p ptu.Pool) error {
	_, err := t.exec(`INSERT INTO pools (`+poolColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET region = excluded.region, model = excluded.model,
			version = excluded.version, rated_ptu = excluded.rated_ptu, backend = excluded.backend`,
		p.ID, p.Region, p.Model, p.Version, p.RatedPTU, p.Backend)
	return err
}

func (t pools) Allocations() (map[string]int, error) {
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

func (t quotaLimits) List(subscriptionID string) ([]ptu.QuotaLimit, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.QuotaLimit, error) {
		var q ptu.QuotaLimit
		err := r.Scan(&q.SubscriptionID, &q.Region, &q.SKUName, &q.Limit)
		return q, err
	}, `SELECT subscription_id, region, sku_name, quota_limit FROM quota_limits
		WHERE ? = '' OR subscription_id = ?
		ORDER BY subscription_id, region, sku_name`, subscriptionID, subscriptionID)
}

func (t quotaLimits) Put(q ptu.QuotaLimit) error {
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

func (t quotaRequests) Put(q ptu.QuotaRequest) error {
	_, err := t.exec(`INSERT INTO quota_requests (`+quotaRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET subscription_id = excluded.subscription_id, region = excluded.region,
			sku_name = excluded.sku_name, requested_limit = excluded.requested_limit, reason = excluded.reason,
			state = excluded.state, review_note = excluded.review_note,
			created_at = excluded.created_at, decided_at = excluded.decided_at`,
		q.ID, q.SubscriptionID, q.Region, q.SKUName, q.RequestedLimit, q.Reason, q.State, q.ReviewNote,
		FormatTime(q.CreatedAt), FormatTime(q.DecidedAt))
	return err
}

func (t quotaRequests) Get(id string) (ptu.QuotaRequest, error) {
	q, err := scanQuotaRequest(t.queryRow(`SELECT `+quotaRequestColumns+` FROM quota_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return q, notFound("quota request %s", id)
	}
	return q, err
}

func (t quotaRequests) List(subscriptionID string) ([]ptu.QuotaRequest, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.QuotaRequest, error) { return scanQuotaRequest(r) },
		`SELECT `+quotaRequestColumns+` FROM quota_requests
		WHERE ? = '' OR subscription_id = ?
		ORDER BY created_at DESC, id DESC`, subscriptionID, subscriptionID)
}

// where builds the WHERE clause of a filter from the conditions it sets.
type where struct {
	conds []string
	args  []any
}

// add adds cond, whose placeholder takes v, when set is true.
func (w *where) add(set bool, cond string, v any) {
	if set {
		w.conds = append(w.conds, cond)
		w.args = append(w.args, v)
	}
}

// clause is " WHERE …" with the conditions joined by AND, or "" for none.
func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
