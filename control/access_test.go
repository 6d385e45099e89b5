package control_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/authz"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/sqlite"
)

func TestParseLifetime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"90d", 90 * 24 * time.Hour, true}, {"720h", 720 * time.Hour, true},
		{"30m", 30 * time.Minute, true}, {"-1h", 0, false}, {"-3d", 0, false}, {"ninety", 0, false}, {"1w", 0, false},
	} {
		got, err := control.ParseLifetime(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseLifetime(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestValidScope(t *testing.T) {
	for _, c := range []struct {
		scope string
		ok    bool
	}{
		{"/", true}, {"", true},
		{"/subscriptions/s", true},
		{"/subscriptions/s/resourceGroups/rg", true},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a", true},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/deployments/d", true},
		{"/subscriptions", false},
		{"/tenants/t", false},
		{"/subscriptions/s/providers/Microsoft.CognitiveServices", false},
		{"/subscriptions/s/resourceGroups", false},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts", false},
		{"/subscriptions/s/resourceGroups/rg/things/x", false},
	} {
		if err := control.ValidScope(c.scope); (err == nil) != c.ok {
			t.Errorf("ValidScope(%q) = %v, want ok %v", c.scope, err, c.ok)
		}
	}
}

// countingStore counts the read transactions a Service opens.
type countingStore struct {
	control.Store
	views atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(ptu.Tx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

// TestAuthenticateCaches: a token is looked up once per control-plane
// generation, expiry is checked on every call, and a change (a new role
// assignment, a deleted principal) is seen at once.
func TestAuthenticateCaches(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &countingStore{Store: db}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	svc := control.New(st, catalog.Default(), control.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	if err := db.Update(ctx, func(tx ptu.Tx) error { return tx.Subscriptions().Put(ptu.Subscription{ID: sub, State: "Enabled"}) }); err != nil {
		t.Fatal(err)
	}
	p, token, err := svc.CreatePrincipal(ctx, "app", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p.TokenHash != control.HashToken(token) || p.TokenHash == token {
		t.Fatal("the stored hash is not the token's SHA-256")
	}
	c, err := svc.Authenticate(ctx, token)
	if err != nil || c.ID != p.ID || len(c.Assignments) != 0 {
		t.Fatalf("first: %+v %v", c, err)
	}
	before := st.views.Load()
	for range 100 {
		if _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.views.Load() - before; n != 0 {
		t.Errorf("100 cached authentications read the store %d times", n)
	}
	if _, _, err := svc.PutRoleAssignment(ctx, control.NewUUID(), control.RoleAssignmentInput{
		Scope: "/subscriptions/" + sub, RoleDefinitionID: "Reader", PrincipalID: "app"}); err != nil {
		t.Fatal(err)
	}
	if c, err := svc.Authenticate(ctx, token); err != nil || len(c.Assignments) != 1 || c.Assignments[0].RoleDefinitionID != authz.ReaderID {
		t.Fatalf("after the assignment: %+v %v", c, err)
	}
	now = now.Add(time.Hour)
	if _, err := svc.Authenticate(ctx, token); ptu.ErrorCode(err) != ptu.CodeExpiredAuthenticationToken {
		t.Fatalf("expired: %v", err)
	}
	now = now.Add(-time.Minute)
	if _, err := svc.DeletePrincipal(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token); ptu.ErrorCode(err) != ptu.CodeInvalidAuthenticationToken {
		t.Fatalf("deleted: %v", err)
	}
}

// BenchmarkAuthorizeCached is the per-request cost of a principal's token
// once cached: hash, cache lookup, expiry, and one role decision.
func BenchmarkAuthorizeCached(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "ptu.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := control.New(db, catalog.Default(), control.Options{})
	ctx := context.Background()
	if err := db.Update(ctx, func(tx ptu.Tx) error { return tx.Subscriptions().Put(ptu.Subscription{ID: sub, State: "Enabled"}) }); err != nil {
		b.Fatal(err)
	}
	_, token, err := svc.CreatePrincipal(ctx, "app", 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, role := range []string{"Reader", "Cognitive Services OpenAI User"} {
		if _, _, err := svc.PutRoleAssignment(ctx, control.NewUUID(), control.RoleAssignmentInput{
			Scope: "/subscriptions/" + sub + "/resourceGroups/rg", RoleDefinitionID: role, PrincipalID: "app"}); err != nil {
			b.Fatal(err)
		}
	}
	acct := ptu.AccountID(sub, "rg", "acct")
	b.ReportAllocs()
	for b.Loop() {
		c, err := svc.Authenticate(ctx, token)
		if err != nil || !c.CanData(authz.DataChatCompletions, acct) {
			b.Fatal("denied")
		}
	}
}

// TestActivityRetention: events older than 90 days are deleted as new ones
// are recorded.
func TestActivityRetention(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := control.New(db, catalog.Default(), control.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	record := func(op string) {
		t.Helper()
		if err := svc.RecordActivity(ctx, ptu.ActivityEvent{Operation: op, Scope: "/subscriptions/" + sub, SubscriptionID: sub, Status: ptu.ActivitySucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	record("old")
	now = now.Add(30 * time.Minute)
	record("recent")
	now = now.Add(control.ActivityRetention)
	record("new")
	list, err := svc.ListActivity(ctx, ptu.ActivityFilter{SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range list {
		ops = append(ops, e.Operation)
	}
	if len(ops) != 2 || ops[0] != "new" || ops[1] != "recent" {
		t.Fatalf("kept %v, want [new recent]", ops)
	}
}
