package sqlstore

import (
	"database/sql"
	"errors"
	"time"

	"github.com/ptu-dev/ptu"
)

// Principals

const principalColumns = `id, name, token_hash, expires_at, created_at`

func scanPrincipal(r interface{ Scan(...any) error }) (ptu.Principal, error) {
	var p ptu.Principal
	var expires, created string
	if err := r.Scan(&p.ID, &p.Name, &p.TokenHash, &expires, &created); err != nil {
		return p, err
	}
	var err error
	if p.Expires, err = parseTime(expires); err != nil {
		return p, err
	}
	p.Created, err = parseTime(created)
	return p, err
}

func (t *tx) ListPrincipals() ([]ptu.Principal, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Principal, error) { return scanPrincipal(r) },
		`SELECT `+principalColumns+` FROM principals ORDER BY lower(name), id`)
}

func (t *tx) getPrincipal(what, column, value string) (ptu.Principal, error) {
	p, err := scanPrincipal(t.queryRow(`SELECT `+principalColumns+` FROM principals WHERE `+column+` = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("principal with %s %s", what, value)
	}
	return p, err
}

func (t *tx) GetPrincipal(id string) (ptu.Principal, error) { return t.getPrincipal("id", "id", id) }

func (t *tx) GetPrincipalByName(name string) (ptu.Principal, error) {
	return t.getPrincipal("name", "name", name)
}

func (t *tx) GetPrincipalByTokenHash(hash string) (ptu.Principal, error) {
	// The hash is not named in the error: it identifies the token.
	p, err := scanPrincipal(t.queryRow(`SELECT `+principalColumns+` FROM principals WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("principal for the token")
	}
	return p, err
}

func (t *tx) PutPrincipal(p ptu.Principal) error {
	_, err := t.exec(`INSERT INTO principals (`+principalColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash,
			expires_at = excluded.expires_at, created_at = excluded.created_at`,
		p.ID, p.Name, p.TokenHash, FormatTime(p.Expires), FormatTime(p.Created))
	return err
}

func (t *tx) DeletePrincipal(id string) error {
	// Assignments go first, so the stores need not rely on cascading.
	if _, err := t.exec(`DELETE FROM role_assignments WHERE principal_id = ?`, id); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM principals WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("principal %s", id)
	}
	return nil
}

// Role assignments

const assignmentColumns = `id, principal_id, role_definition_id, scope, created_by, created_at`

func scanAssignment(r interface{ Scan(...any) error }) (ptu.RoleAssignment, error) {
	var a ptu.RoleAssignment
	var created string
	if err := r.Scan(&a.ID, &a.PrincipalID, &a.RoleDefinitionID, &a.Scope, &a.CreatedBy, &created); err != nil {
		return a, err
	}
	var err error
	a.Created, err = parseTime(created)
	return a, err
}

func (t *tx) ListRoleAssignments(principalID string) ([]ptu.RoleAssignment, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.RoleAssignment, error) { return scanAssignment(r) },
		`SELECT `+assignmentColumns+` FROM role_assignments
		WHERE ? = '' OR principal_id = ?
		ORDER BY lower(scope), lower(id)`, principalID, principalID)
}

func (t *tx) GetRoleAssignment(id string) (ptu.RoleAssignment, error) {
	a, err := scanAssignment(t.queryRow(`SELECT `+assignmentColumns+` FROM role_assignments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("role assignment %s", id)
	}
	return a, err
}

func (t *tx) PutRoleAssignment(a ptu.RoleAssignment) error {
	if _, err := t.GetPrincipal(a.PrincipalID); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO role_assignments (`+assignmentColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET principal_id = excluded.principal_id,
			role_definition_id = excluded.role_definition_id, scope = excluded.scope,
			created_by = excluded.created_by, created_at = excluded.created_at`,
		a.ID, a.PrincipalID, a.RoleDefinitionID, a.Scope, a.CreatedBy, FormatTime(a.Created))
	return err
}

func (t *tx) DeleteRoleAssignment(id string) error {
	res, err := t.exec(`DELETE FROM role_assignments WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("role assignment %s", id)
	}
	return nil
}

// Activity log

const activityColumns = `id, event_time, caller_id, caller, operation, scope, subscription_id, resource_group,
	method, uri, status, http_status, error_code, correlation_id, client_request`

func (t *tx) AddActivityEvent(e ptu.ActivityEvent) error {
	_, err := t.execData(`INSERT INTO activity_log (`+activityColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, FormatTime(e.Time), e.CallerID, e.Caller, e.Operation, e.Scope, e.SubscriptionID, e.ResourceGroup,
		e.Method, e.URI, e.Status, e.HTTPStatus, e.ErrorCode, e.CorrelationID, e.ClientRequest)
	return err
}

func (t *tx) ListActivityEvents(f ptu.ActivityFilter) ([]ptu.ActivityEvent, error) {
	q := `SELECT ` + activityColumns + ` FROM activity_log WHERE 1 = 1`
	var args []any
	if f.SubscriptionID != "" {
		q += ` AND subscription_id = ?`
		args = append(args, f.SubscriptionID)
	}
	if f.ResourceGroup != "" {
		q += ` AND resource_group = ?`
		args = append(args, f.ResourceGroup)
	}
	if !f.From.IsZero() {
		q += ` AND event_time >= ?`
		args = append(args, FormatTime(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND event_time <= ?`
		args = append(args, FormatTime(f.To))
	}
	q += ` ORDER BY event_time DESC, seq DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return scanAll(t, func(r *sql.Rows) (ptu.ActivityEvent, error) {
		var e ptu.ActivityEvent
		var at string
		if err := r.Scan(&e.ID, &at, &e.CallerID, &e.Caller, &e.Operation, &e.Scope, &e.SubscriptionID, &e.ResourceGroup,
			&e.Method, &e.URI, &e.Status, &e.HTTPStatus, &e.ErrorCode, &e.CorrelationID, &e.ClientRequest); err != nil {
			return e, err
		}
		var err error
		e.Time, err = parseTime(at)
		return e, err
	}, q, args...)
}

func (t *tx) DeleteActivityEventsBefore(before time.Time) (int, error) {
	res, err := t.execData(`DELETE FROM activity_log WHERE event_time < ?`, FormatTime(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
