package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// RunRAI runs the content filter policy and blocklist part of the contract.
// open returns a new, empty store for each subtest.
func RunRAI(t *testing.T, open func(t *testing.T) ptu.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, ptu.Store)
	}{
		{"RAIPolicies", testRAIPolicies},
		{"RAIBlocklists", testRAIBlocklists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

func raiAccount(t *testing.T, s ptu.Store) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx ptu.Tx) error {
		if err := tx.Subscriptions().Put(ptu.Subscription{ID: "sub", State: "Enabled"}); err != nil {
			return err
		}
		return tx.Accounts().Put(ptu.Account{SubscriptionID: "sub", ResourceGroup: "RG", Name: "Acct", Location: "eastus", CustomSubDomain: "acct"})
	}); err != nil {
		t.Fatal(err)
	}
}

func testRAIPolicies(t *testing.T, s ptu.Store) {
	ctx := context.Background()
	raiAccount(t, s)
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	p := ptu.RAIPolicy{SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "Acct", Name: "Strict",
		BasePolicyName: "Microsoft.DefaultV2", Mode: "Blocking",
		ContentFilters:   []ptu.RAIContentFilter{{Name: "Hate", Enabled: true, Blocking: true, SeverityThreshold: "Low", Source: ptu.RAISourcePrompt}},
		CustomBlocklists: []ptu.RAIBlocklistRef{{BlocklistName: "words", Blocking: true, Source: ptu.RAISourceCompletion}},
		CreatedAt:        at, UpdatedAt: at}
	err := s.Update(ctx, func(tx ptu.Tx) error {
		if err := tx.RAIPolicies().Put(ptu.RAIPolicy{SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "nope", Name: "x"}); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("policy of a missing account: %v, want ErrNotFound", err)
		}
		if err := tx.RAIPolicies().Put(p); err != nil {
			return err
		}
		return tx.RAIPolicies().Put(ptu.RAIPolicy{SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "Acct", Name: "a-first", CreatedAt: at, UpdatedAt: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx ptu.Tx) error {
		got, err := tx.RAIPolicies().Get("SUB", "rg", "acct", "strict")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("got %+v, want %+v", got, p)
		}
		list, err := tx.RAIPolicies().List("sub", "RG", "Acct")
		if err != nil || len(list) != 2 || list[0].Name != "a-first" || list[1].Name != "Strict" {
			t.Errorf("list %+v, %v; want a-first, Strict", list, err)
		}
		return nil
	})
	err = s.Update(ctx, func(tx ptu.Tx) error {
		if err := tx.RAIPolicies().Delete("sub", "RG", "Acct", "STRICT"); err != nil {
			return err
		}
		if err := tx.RAIPolicies().Delete("sub", "RG", "Acct", "STRICT"); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if _, err := tx.RAIPolicies().Get("sub", "RG", "Acct", "Strict"); !errors.Is(err, ptu.ErrNotFound) {
			t.Errorf("get after delete: %v, want ErrNotFound", err)
		}
		// Deleting the account deletes its policies.
		if err := tx.Accounts().Delete("sub", "RG", "Acct"); err != nil {
			return err
		}
		if err := tx.Accounts().Put(ptu.Account{SubscriptionID: "sub", ResourceGroup: "RG", Name: "Acct", Location: "eastus", CustomSubDomain: "acct"}); err != nil {
			return err
		}
		list, err := tx.RAIPolicies().List("sub", "RG", "Acct")
		if err != nil || len(list) != 0 {
			t.Errorf("policies of a re-created account: %+v, %v; want none", list, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testRAIBlocklists(t *testing.T, s ptu.Store) {
	ctx := context.Background()
	raiAccount(t, s)
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	l := ptu.RAIBlocklist{SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "Acct", Name: "words", Description: "no",
		Items:     []ptu.RAIBlocklistItem{{Name: "t1", Pattern: "secret"}, {Name: "r1", Pattern: `\bproj-\d+\b`, IsRegex: true}},
		CreatedAt: at, UpdatedAt: at}
	if err := s.Update(ctx, func(tx ptu.Tx) error { return tx.RAIBlocklists().Put(l) }); err != nil {
		t.Fatal(err)
	}
	l2 := l
	l2.Items = l.Items[:1]
	l2.UpdatedAt = at.Add(time.Hour)
	l2.CreatedAt = at.Add(time.Hour) // ignored on update: the first creation time stays
	if err := s.Update(ctx, func(tx ptu.Tx) error { return tx.RAIBlocklists().Put(l2) }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx ptu.Tx) error {
		got, err := tx.RAIBlocklists().Get("sub", "rg", "ACCT", "WORDS")
		want := l2
		want.CreatedAt = at
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, %v; want %+v", got, err, want)
		}
		list, err := tx.RAIBlocklists().List("sub", "RG", "Acct")
		if err != nil || len(list) != 1 {
			t.Errorf("list %+v, %v", list, err)
		}
		return nil
	})
	if err := s.Update(ctx, func(tx ptu.Tx) error { return tx.RAIBlocklists().Delete("sub", "RG", "Acct", "words") }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx ptu.Tx) error {
		_, err := tx.RAIBlocklists().Get("sub", "RG", "Acct", "words")
		return err
	}); !errors.Is(err, ptu.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}
