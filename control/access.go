package control

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/authz"
)

// AdminID is the principal id of the admin token: a built-in principal
// holding Owner at the root scope "/".
const AdminID = "00000000-0000-0000-0000-000000000000"

// AdminName is the admin principal's name, as the activity log shows it.
const AdminName = "admin"

// TokenPrefix starts every principal token, so a token is told from an
// account key at a glance (and by secret scanners).
const TokenPrefix = "ptu_"

// Caller is an authenticated principal and the role assignments it holds.
// Its decisions are remembered: a Caller lives as long as the control-plane
// generation it was read in, during which its assignments cannot change.
type Caller struct {
	ID, Name    string
	Expires     time.Time // zero: never
	Assignments []authz.Assignment

	mu        sync.Mutex
	decisions map[decision]bool
}

type decision struct {
	action, resource string
	data             bool
}

// maxDecisions bounds the decisions a Caller remembers.
const maxDecisions = 1024

func (c *Caller) allowed(action, resource string, data bool) bool {
	k := decision{action, resource, data}
	c.mu.Lock()
	ok, seen := c.decisions[k]
	c.mu.Unlock()
	if seen {
		return ok
	}
	ok = authz.Allowed(c.Assignments, action, resource, data)
	c.mu.Lock()
	if c.decisions == nil {
		c.decisions = map[decision]bool{}
	}
	if len(c.decisions) < maxDecisions {
		c.decisions[k] = ok
	}
	c.mu.Unlock()
	return ok
}

// Admin returns the caller of the admin token.
func Admin() *Caller {
	return &Caller{ID: AdminID, Name: AdminName, Assignments: []authz.Assignment{{RoleDefinitionID: authz.OwnerID, Scope: "/"}}}
}

// Can reports whether the caller may perform the control-plane action on resource.
func (c *Caller) Can(action, resource string) bool {
	return c.allowed(action, resource, false)
}

// CanData reports whether the caller may perform the data action on resource.
func (c *Caller) CanData(action, resource string) bool {
	return c.allowed(action, resource, true)
}

// Reaches reports whether any of the caller's assignments applies at or
// below scope, or above it: whether scope is any of the caller's business
// (a subscription the caller may see in lists).
func (c *Caller) Reaches(scope string) bool {
	for _, a := range c.Assignments {
		if authz.ScopeContains(a.Scope, scope) || authz.ScopeContains(scope, a.Scope) {
			return true
		}
	}
	return false
}

// HashToken returns the hex SHA-256 of a token, the form tokens are stored in.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var principalNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

// CreatePrincipal makes a principal and returns it with its token, which is
// not kept and cannot be shown again. ttl 0 means the token never expires.
func (s *Service) CreatePrincipal(ctx context.Context, name string, ttl time.Duration) (ptu.Principal, string, error) {
	if !principalNameRE.MatchString(name) {
		return ptu.Principal{}, "", &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "name",
			Message: fmt.Sprintf("Principal name '%s' is invalid: 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit.", name)}
	}
	if ttl < 0 {
		return ptu.Principal{}, "", &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "expiresIn",
			Message: "A token's lifetime cannot be negative."}
	}
	token := newToken()
	now := s.now()
	p := ptu.Principal{ID: NewUUID(), Name: name, TokenHash: HashToken(token), Created: now}
	if ttl > 0 {
		p.Expires = now.Add(ttl)
	}
	err := s.update(ctx, func(tx ptu.Tx) error {
		if _, err := tx.Principals().GetByName(name); err == nil {
			return ptu.Errorf(ptu.CodeConflict, "A principal named '%s' already exists.", name)
		} else if !isNotFound(err) {
			return err
		}
		return tx.Principals().Put(p)
	})
	if err != nil {
		return ptu.Principal{}, "", err
	}
	return p, token, nil
}

// getPrincipal finds a principal by id or, failing that, by name.
func getPrincipal(tx ptu.Tx, ref string) (ptu.Principal, error) {
	p, err := tx.Principals().Get(ref)
	if isNotFound(err) {
		p, err = tx.Principals().GetByName(ref)
	}
	if isNotFound(err) {
		return p, ptu.Errorf(ptu.CodePrincipalNotFound, "Principal '%s' does not exist.", ref)
	}
	return p, err
}

// GetPrincipal finds a principal by id or name.
func (s *Service) GetPrincipal(ctx context.Context, ref string) (ptu.Principal, error) {
	var p ptu.Principal
	err := s.view(ctx, func(tx ptu.Tx) error {
		var err error
		p, err = getPrincipal(tx, ref)
		return err
	})
	return p, err
}

// ListPrincipals lists principals by name.
func (s *Service) ListPrincipals(ctx context.Context) ([]ptu.Principal, error) {
	var out []ptu.Principal
	err := s.view(ctx, func(tx ptu.Tx) error {
		var err error
		out, err = tx.Principals().List()
		return err
	})
	return out, err
}

// DeletePrincipal deletes a principal (by id or name) and its role
// assignments; its token stops working at once. It reports whether the
// principal existed.
func (s *Service) DeletePrincipal(ctx context.Context, ref string) (bool, error) {
	existed := true
	err := s.update(ctx, func(tx ptu.Tx) error {
		p, err := getPrincipal(tx, ref)
		if ptu.ErrorCode(err) == ptu.CodePrincipalNotFound {
			existed = false
			return nil
		}
		if err != nil {
			return err
		}
		return tx.Principals().Delete(p.ID)
	})
	return existed, err
}

// ValidScope checks that scope is one a role can be assigned at: "/", a
// subscription, a resource group, or a resource below one.
func ValidScope(scope string) error {
	segs := authz.Segments(scope)
	bad := ptu.Errorf(ptu.CodeInvalidRequestContent, "The scope '%s' is not valid: use '/', /subscriptions/{id}, "+
		"/subscriptions/{id}/resourceGroups/{name}, or a resource id below one.", scope)
	if len(segs) == 0 {
		return nil
	}
	if !strings.EqualFold(segs[0], "subscriptions") || len(segs) < 2 {
		return bad
	}
	if len(segs) == 2 {
		return nil
	}
	if strings.EqualFold(segs[2], "providers") {
		return bad // provider scopes of a subscription (locations, quota requests) are not assignable here
	}
	if !strings.EqualFold(segs[2], "resourceGroups") || len(segs) < 4 {
		return bad
	}
	if len(segs) == 4 {
		return nil
	}
	// .../providers/{namespace}/{type}/{name}[/{type}/{name}...]
	if !strings.EqualFold(segs[4], "providers") || len(segs) < 8 || len(segs)%2 != 0 {
		return bad
	}
	return nil
}

// RoleAssignmentInput is what a role assignment PUT says.
type RoleAssignmentInput struct {
	Scope            string
	RoleDefinitionID string // a GUID, a roleDefinitions resource id, or a built-in role's name
	PrincipalID      string // a principal's id (or, from the CLI, its name)
	CreatedBy        string
}

// PutRoleAssignment creates the assignment named id (a GUID). Assignments
// cannot be changed: a PUT of the same one again answers it unchanged, a
// PUT that differs is a conflict, as is a second assignment of the same
// role to the same principal at the same scope. created is false when the
// assignment existed.
func (s *Service) PutRoleAssignment(ctx context.Context, id string, in RoleAssignmentInput) (ptu.RoleAssignment, bool, error) {
	if !IsGUID(id) {
		return ptu.RoleAssignment{}, false, ptu.Errorf(ptu.CodeInvalidRoleAssignmentID,
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", id)
	}
	scope := authz.CleanScope(in.Scope)
	if err := ValidScope(scope); err != nil {
		return ptu.RoleAssignment{}, false, err
	}
	role, ok := authz.Lookup(in.RoleDefinitionID)
	if !ok || in.RoleDefinitionID == "" {
		return ptu.RoleAssignment{}, false, ptu.Errorf(ptu.CodeRoleDefinitionDoesNotExist,
			"The specified role definition with ID '%s' does not exist.", in.RoleDefinitionID)
	}
	var out ptu.RoleAssignment
	created := false
	err := s.update(ctx, func(tx ptu.Tx) error {
		p, err := getPrincipal(tx, in.PrincipalID)
		if err != nil {
			return err
		}
		if len(authz.Segments(scope)) >= 2 {
			if _, err := getSubscription(tx, authz.Segments(scope)[1]); err != nil {
				return err
			}
		}
		want := ptu.RoleAssignment{ID: strings.ToLower(id), PrincipalID: p.ID, RoleDefinitionID: role.ID,
			Scope: scope, CreatedBy: in.CreatedBy, Created: s.now()}
		all, err := tx.RoleAssignments().List(p.ID)
		if err != nil {
			return err
		}
		for _, a := range all {
			same := strings.EqualFold(a.RoleDefinitionID, role.ID) && strings.EqualFold(authz.CleanScope(a.Scope), scope)
			switch {
			case strings.EqualFold(a.ID, id) && same:
				out = a
				return nil
			case same:
				return ptu.Errorf(ptu.CodeRoleAssignmentExists, "The role assignment already exists.")
			}
		}
		if _, err := tx.RoleAssignments().Get(id); err == nil {
			return ptu.Errorf(ptu.CodeConflict,
				"Tenant ID, application ID, principal ID, and scope are not allowed to be updated. (role assignment '%s')", id)
		} else if !isNotFound(err) {
			return err
		}
		created = true
		out = want
		return tx.RoleAssignments().Put(want)
	})
	return out, created, err
}

// GetRoleAssignment returns an assignment by id.
func (s *Service) GetRoleAssignment(ctx context.Context, id string) (ptu.RoleAssignment, error) {
	var out ptu.RoleAssignment
	err := s.view(ctx, func(tx ptu.Tx) error {
		var err error
		out, err = tx.RoleAssignments().Get(id)
		if isNotFound(err) {
			return ptu.Errorf(ptu.CodeRoleAssignmentNotFound, "The role assignment '%s' is not found.", id)
		}
		return err
	})
	return out, err
}

// ListRoleAssignments lists assignments; principalID "" means everyone's.
func (s *Service) ListRoleAssignments(ctx context.Context, principalID string) ([]ptu.RoleAssignment, error) {
	var out []ptu.RoleAssignment
	err := s.view(ctx, func(tx ptu.Tx) error {
		var err error
		out, err = tx.RoleAssignments().List(principalID)
		return err
	})
	return out, err
}

// DeleteRoleAssignment deletes an assignment and returns it; found is false
// when there was none. The grant is gone at once.
func (s *Service) DeleteRoleAssignment(ctx context.Context, id string) (ptu.RoleAssignment, bool, error) {
	var out ptu.RoleAssignment
	found := true
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := tx.RoleAssignments().Get(id)
		if isNotFound(err) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		out = a
		return tx.RoleAssignments().Delete(a.ID)
	})
	return out, found, err
}

// callerCache keeps authenticated principals by token hash for one
// control-plane generation, so neither plane reads the store per request.
type callerCache struct {
	mu      sync.Mutex
	gen     uint64
	callers map[string]*cachedCaller
}

type cachedCaller struct {
	hash   string
	caller *Caller
}

// maxCachedCallers bounds the cache; it is emptied when full.
const maxCachedCallers = 10000

// Authenticate finds the principal holding token and its role assignments.
// An unknown token is InvalidAuthenticationToken, an expired one
// ExpiredAuthenticationToken. Results are cached until the control plane
// changes (Generation), so a deleted principal or assignment takes effect
// at once.
func (s *Service) Authenticate(ctx context.Context, token string) (*Caller, error) {
	hash := HashToken(token)
	gen := s.Generation()
	s.callers.mu.Lock()
	if s.callers.gen != gen || s.callers.callers == nil || len(s.callers.callers) >= maxCachedCallers {
		s.callers.gen, s.callers.callers = gen, map[string]*cachedCaller{}
	}
	cc := s.callers.callers[hash]
	s.callers.mu.Unlock()

	if cc == nil {
		var c *Caller
		err := s.view(ctx, func(tx ptu.Tx) error {
			p, err := tx.Principals().GetByTokenHash(hash)
			if err != nil {
				return err
			}
			as, err := tx.RoleAssignments().List(p.ID)
			if err != nil {
				return err
			}
			c = &Caller{ID: p.ID, Name: p.Name, Expires: p.Expires}
			for _, a := range as {
				c.Assignments = append(c.Assignments, authz.Assignment{RoleDefinitionID: a.RoleDefinitionID, Scope: a.Scope})
			}
			cc = &cachedCaller{hash: p.TokenHash, caller: c}
			return nil
		})
		if isNotFound(err) {
			return nil, ptu.Errorf(ptu.CodeInvalidAuthenticationToken, "The access token is invalid.")
		}
		if err != nil {
			return nil, err
		}
		s.callers.mu.Lock()
		if s.callers.gen == gen {
			s.callers.callers[hash] = cc
		}
		s.callers.mu.Unlock()
	}
	// The store found it by hash; compare once more in constant time.
	if subtle.ConstantTimeCompare([]byte(cc.hash), []byte(hash)) != 1 {
		return nil, ptu.Errorf(ptu.CodeInvalidAuthenticationToken, "The access token is invalid.")
	}
	if now := s.now(); !cc.caller.Expires.IsZero() && !now.Before(cc.caller.Expires) {
		return nil, ptu.Errorf(ptu.CodeExpiredAuthenticationToken,
			"The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			cc.caller.Expires.UTC().Format("1/2/2006 3:04:05 PM"), now.Format("1/2/2006 3:04:05 PM"))
	}
	return cc.caller, nil
}

// ActivityRetention is how long activity events are kept, as in Azure.
const ActivityRetention = 90 * 24 * time.Hour

// RecordActivity appends an event to the activity log, and at most once an
// hour deletes the events older than ActivityRetention. It does not change
// the control-plane generation: caches stay valid.
func (s *Service) RecordActivity(ctx context.Context, e ptu.ActivityEvent) error {
	if e.ID == "" {
		e.ID = NewUUID()
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	now := s.now()
	prune := false
	if last := s.pruned.Load(); last == 0 || now.Sub(time.Unix(0, last)) >= time.Hour {
		prune = s.pruned.CompareAndSwap(last, now.UnixNano())
	}
	if prune {
		if _, err := s.store.DeleteActivityEventsBefore(ctx, now.Add(-ActivityRetention)); err != nil {
			return err
		}
	}
	return s.store.AddActivityEvent(ctx, e)
}

// ListActivity returns the activity events f selects, newest first.
func (s *Service) ListActivity(ctx context.Context, f ptu.ActivityFilter) ([]ptu.ActivityEvent, error) {
	return s.store.ListActivityEvents(ctx, f)
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// ParseLifetime reads a token lifetime: days ("90d"), a Go duration
// ("720h", "30m"), or "" / "0" for a token that never expires.
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("lifetime '%s' is not a number of days such as 90d, nor a duration such as 720h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("lifetime '%s' is not a number of days such as 90d, nor a duration such as 720h", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("lifetime '%s' is negative", s)
	}
	return d, nil
}
