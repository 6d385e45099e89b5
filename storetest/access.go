package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// RunAccess runs the principals and role assignments part of the contract.
// open returns a new, empty store for each subtest.
func RunAccess(t *testing.T, open func(t *testing.T) ptu.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, ptu.Store)
	}{
		{"Principals", testPrincipals},
		{"RoleAssignments", testRoleAssignments},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

var accessTime = time.Date(2026, 4, 5, 6, 7, 8, 123456789, time.UTC)

func testPrincipals(t *testing.T, s ptu.Store) {
	alice := ptu.Principal{ID: "11111111-1111-1111-1111-111111111111", Name: "Alice", TokenHash: "aa01",
		Expires: accessTime.Add(24 * time.Hour), Created: accessTime}
	bob := ptu.Principal{ID: "22222222-2222-2222-2222-222222222222", Name: "bob", TokenHash: "bb02", Created: accessTime}
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Principals().Put(bob))
		return tx.Principals().Put(alice)
	})
	// Names and token hashes are unique; a failed write leaves the rest.
	if err := s.Update(t.Context(), func(tx ptu.Tx) error {
		return tx.Principals().Put(ptu.Principal{ID: "33333333-3333-3333-3333-333333333333", Name: "ALICE", TokenHash: "cc03"})
	}); err == nil {
		t.Error("a second principal named ALICE was stored")
	}
	if err := s.Update(t.Context(), func(tx ptu.Tx) error {
		return tx.Principals().Put(ptu.Principal{ID: "33333333-3333-3333-3333-333333333333", Name: "carol", TokenHash: "aa01"})
	}); err == nil {
		t.Error("a second principal with alice's token hash was stored")
	}
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Principals().List()
		must(t, err)
		if !reflect.DeepEqual(list, []ptu.Principal{alice, bob}) {
			t.Errorf("list %+v, want alice then bob", list)
		}
		if got, err := tx.Principals().Get(alice.ID); err != nil || !reflect.DeepEqual(got, alice) {
			t.Errorf("get %+v, %v", got, err)
		}
		if got, err := tx.Principals().GetByName("aLiCe"); err != nil || got.ID != alice.ID {
			t.Errorf("by name %+v, %v", got, err)
		}
		if got, err := tx.Principals().GetByTokenHash("bb02"); err != nil || got.ID != bob.ID {
			t.Errorf("by token hash %+v, %v", got, err)
		}
		if _, err := tx.Principals().GetByTokenHash("BB02"); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("token hashes match exactly, got %v", err)
		}
		if _, err := tx.Principals().Get("nope"); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("missing principal: %v", err)
		}
		return nil
	})
	// A new token replaces the old hash.
	alice.TokenHash = "aa99"
	update(t, s, func(tx ptu.Tx) error { return tx.Principals().Put(alice) })
	view(t, s, func(tx ptu.Tx) error {
		if _, err := tx.Principals().GetByTokenHash("aa01"); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("old hash still finds alice: %v", err)
		}
		return nil
	})
	update(t, s, func(tx ptu.Tx) error { return tx.Principals().Delete(bob.ID) })
	if err := s.Update(t.Context(), func(tx ptu.Tx) error { return tx.Principals().Delete(bob.ID) }); !errors.Is(err, ptu.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func testRoleAssignments(t *testing.T, s ptu.Store) {
	p := ptu.Principal{ID: "11111111-1111-1111-1111-111111111111", Name: "reader", TokenHash: "aa", Created: accessTime}
	q := ptu.Principal{ID: "22222222-2222-2222-2222-222222222222", Name: "user", TokenHash: "bb", Created: accessTime}
	a1 := ptu.RoleAssignment{ID: "aaaaaaaa-0000-0000-0000-000000000001", PrincipalID: p.ID,
		RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", Scope: "/subscriptions/sub/resourceGroups/RG",
		CreatedBy: "admin", Created: accessTime}
	a2 := ptu.RoleAssignment{ID: "aaaaaaaa-0000-0000-0000-000000000002", PrincipalID: q.ID,
		RoleDefinitionID: "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd", Scope: "/subscriptions/sub", Created: accessTime}
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Principals().Put(p))
		must(t, tx.Principals().Put(q))
		must(t, tx.RoleAssignments().Put(a1))
		return tx.RoleAssignments().Put(a2)
	})
	if err := s.Update(t.Context(), func(tx ptu.Tx) error {
		return tx.RoleAssignments().Put(ptu.RoleAssignment{ID: "aaaaaaaa-0000-0000-0000-000000000003", PrincipalID: "nobody", Scope: "/"})
	}); !errors.Is(err, ptu.ErrNotFound) {
		t.Errorf("assignment to a missing principal: %v, want ErrNotFound", err)
	}
	view(t, s, func(tx ptu.Tx) error {
		all, err := tx.RoleAssignments().List("")
		must(t, err)
		if !reflect.DeepEqual(all, []ptu.RoleAssignment{a2, a1}) {
			t.Errorf("all %+v, want by scope", all)
		}
		mine, err := tx.RoleAssignments().List(p.ID)
		must(t, err)
		if !reflect.DeepEqual(mine, []ptu.RoleAssignment{a1}) {
			t.Errorf("principal's %+v", mine)
		}
		if got, err := tx.RoleAssignments().Get("AAAAAAAA-0000-0000-0000-000000000001"); err != nil || !reflect.DeepEqual(got, a1) {
			t.Errorf("get %+v, %v", got, err)
		}
		return nil
	})
	// Deleting a principal deletes its assignments.
	update(t, s, func(tx ptu.Tx) error { return tx.Principals().Delete(q.ID) })
	update(t, s, func(tx ptu.Tx) error { return tx.RoleAssignments().Delete(a1.ID) })
	view(t, s, func(tx ptu.Tx) error {
		all, err := tx.RoleAssignments().List("")
		must(t, err)
		if len(all) != 0 {
			t.Errorf("left %+v", all)
		}
		if _, err := tx.RoleAssignments().Get(a2.ID); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("assignment of a deleted principal: %v", err)
		}
		return nil
	})
	if err := s.Update(t.Context(), func(tx ptu.Tx) error { return tx.RoleAssignments().Delete(a1.ID) }); !errors.Is(err, ptu.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}
