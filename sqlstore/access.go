package sqlstore

import (
	"database/sql"
	"errors"

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

func (t principals) List() ([]ptu.Principal, error) {
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

func (t principals) Get(id string) (ptu.Principal, error) { return t.getPrincipal("id", "id", id) }

func (t principals) GetByName(name string) (ptu.Principal, error) {
	return t.getPrincipal("name", "name", name)
}

func (t principals) GetByTokenHash(hash string) (ptu.Principal, error) {
	// The hash is not named in the error: it identifies the token.
	p, err := scanPrincipal(t.queryRow(`SELECT `+principalColumns+` FROM principals WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("principal for the token")
	}
	return p, err
}

func (t principals) Put(p ptu.Principal) error {
	_, err := t.exec(`INSERT INTO principals (`+principalColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash,
			expires_at = excluded.expires_at, created_at = excluded.created_at`,
		p.ID, p.Name, p.TokenHash, FormatTime(p.Expires), FormatTime(p.Created))
	return err
}

func (t principals) Delete(id string) error {
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

func (t roleAssignments) List(principalID string) ([]ptu.RoleAssignment, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.RoleAssignment, error) { return scanAssignment(r) },
		`SELECT `+assignmentColumns+` FROM role_assignments
		WHERE ? = '' OR principal_id = ?
		ORDER BY lower(scope), lower(id)`, principalID, principalID)
}

func (t roleAssignments) Get(id string) (ptu.RoleAssignment, error) {
	a, err := scanAssignment(t.queryRow(`SELECT `+assignmentColumns+` FROM role_assignments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("role assignment %s", id)
	}
	return a, err
}

func (t roleAssignments) Put(a ptu.RoleAssignment) error {
	if _, err := (principals{t.tx}).Get(a.PrincipalID); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO role_assignments (`+assignmentColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET principal_id = excluded.principal_id,
			role_definition_id = excluded.role_definition_id, scope = excluded.scope,
			created_by = excluded.created_by, created_at = excluded.created_at`,
		a.ID, a.PrincipalID, a.RoleDefinitionID, a.Scope, a.CreatedBy, FormatTime(a.Created))
	return err
}

func (t roleAssignments) Delete(id string) error {
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
