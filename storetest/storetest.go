// Package storetest is the contract every store implementation passes, one
// suite per concern, each through that concern's interfaces only:
//
//   - Run: the control-plane state (ptu.Store, ptu.Tx): subscriptions,
//     regions, pools, quota, accounts, deployments, quota requests, capacity
//     history, reservations, and transactions' isolation and rollback;
//   - RunAccess and RunRAI: principals and role assignments, content filter
//     policies and blocklists (through ptu.Store too);
//   - RunMetrics (ptu.MetricStore), RunUsage (ptu.UsageStore) and
//     RunActivity (ptu.ActivityLog);
//   - RunShared: metric points and token counts written concurrently through
//     two handles on one database;
//   - Reopen: what is written survives closing and reopening the database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// Run runs the control-plane suite. open returns a new, empty store for each subtest; the
// suite closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) ptu.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, ptu.Store)
	}{
		{"Subscriptions", testSubscriptions},
		{"Regions", testRegions},
		{"Pools", testPools},
		{"QuotaLimits", testQuotaLimits},
		{"Accounts", testAccounts},
		{"AccountNamesIgnoreCase", testAccountNamesIgnoreCase},
		{"SubDomain", testSubDomain},
		{"Deployments", testDeployments},
		{"DeploymentNamesIgnoreCase", testDeploymentNamesIgnoreCase},
		{"DeploymentReferences", testDeploymentReferences},
		{"DeploymentFilter", testDeploymentFilter},
		{"DeleteAccountCascades", testDeleteAccountCascades},
		{"PoolAllocations", testPoolAllocations},
		{"SumCapacity", testSumCapacity},
		{"QuotaRequests", testQuotaRequests},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"ViewSnapshot", testViewSnapshot},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentPlacement", testConcurrentPlacement},
		{"Billing", testBilling},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s ptu.Store, fn func(ptu.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails the test on error.
func view(t *testing.T, s ptu.Store, fn func(ptu.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// must fails the test if err is not nil.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantNotFound fails the test unless err wraps ptu.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ptu.ErrNotFound) {
		t.Errorf("%s: err = %v, want one wrapping ptu.ErrNotFound", what, err)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// Fixtures. Times are in a non-UTC zone and carry nanoseconds, so round trips
// prove that a store keeps the instant exactly and hands it back in UTC.

var (
	created = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("KST", 9*3600))
	updated = time.Date(2025, 3, 5, 1, 2, 3, 100, time.FixedZone("PST", -8*3600))
)

const (
	sub1 = "00000000-0000-0000-0000-000000000001"
	sub2 = "00000000-0000-0000-0000-000000000002"
)

func subscription(id string) ptu.Subscription {
	return ptu.Subscription{ID: id, DisplayName: "Subscription " + id[len(id)-1:], TenantID: "tenant-1", State: "Enabled"}
}

func pool(id, region string, rated int) ptu.Pool {
	return ptu.Pool{ID: id, Region: region, Model: "gpt-4o", Version: "2024-08-06", RatedPTU: rated, Backend: "sim"}
}

func account(sub, rg, name string) ptu.Account {
	return ptu.Account{
		SubscriptionID:   sub,
		ResourceGroup:    rg,
		Name:             name,
		Location:         "eastus",
		Kind:             "OpenAI",
		SKU:              "S0",
		CustomSubDomain:  name + "-sub",
		Tags:             map[string]string{"team": "search", "cost-center": "42"},
		Key1:             name + "-key1",
		Key2:             name + "-key2",
		DisableLocalAuth: true,
		PublicNetwork:    "Enabled",
		State:            ptu.StateSucceeded,
		CreatedAt:        created,
		UpdatedAt:        updated,
	}
}

func deployment(a ptu.Account, name string, allocs ...ptu.Allocation) ptu.Deployment {
	capacity := 0
	for _, al := range allocs {
		capacity += al.PTU
	}
	return ptu.Deployment{
		SubscriptionID:          a.SubscriptionID,
		ResourceGroup:           a.ResourceGroup,
		AccountName:             a.Name,
		Name:                    name,
		Region:                  a.Location,
		Model:                   ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"},
		SKUName:                 ptu.ProvisionedManaged,
		Capacity:                capacity,
		RAIPolicyName:           "Microsoft.DefaultV2",
		VersionUpgradeOption:    "NoAutoUpgrade",
		SpilloverDeploymentName: "spill",
		State:                   ptu.StateSucceeded,
		Allocations:             allocs,
		CreatedAt:               created,
		UpdatedAt:               updated,
	}
}

// checkTime reports whether got is the instant want, in UTC unless zero.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

// checkAccount compares accounts: times by instant, empty and nil tags alike.
func checkAccount(t *testing.T, got, want ptu.Account) {
	t.Helper()
	checkTime(t, "account CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "account UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(got.Tags) == 0 && len(want.Tags) == 0 {
		got.Tags, want.Tags = nil, nil
	}
	equal(t, "account "+want.Name, got, want)
}

// checkDeployment compares deployments: times by instant, empty and nil allocations alike.
func checkDeployment(t *testing.T, got, want ptu.Deployment) {
	t.Helper()
	checkTime(t, "deployment CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "deployment UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(got.Allocations) == 0 && len(want.Allocations) == 0 {
		got.Allocations, want.Allocations = nil, nil
	}
	equal(t, "deployment "+want.Name, got, want)
}

func checkQuotaRequest(t *testing.T, got, want ptu.QuotaRequest) {
	t.Helper()
	checkTime(t, "quota request CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "quota request DecidedAt", got.DecidedAt, want.DecidedAt)
	got.CreatedAt, got.DecidedAt, want.CreatedAt, want.DecidedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	equal(t, "quota request "+want.ID, got, want)
}

func deploymentNames(ds []ptu.Deployment) []string {
	names := []string{}
	for _, d := range ds {
		names = append(names, d.AccountName+"/"+d.Name)
	}
	return names
}

func testSubscriptions(t *testing.T, s ptu.Store) {
	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.Subscriptions().Get(sub1)
		wantNotFound(t, "GetSubscription before Put", err)
		must(t, tx.Subscriptions().Put(subscription(sub2)))
		return tx.Subscriptions().Put(subscription(sub1))
	})
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Subscriptions().Get(sub1)
		must(t, err)
		equal(t, "GetSubscription", got, subscription(sub1))
		list, err := tx.Subscriptions().List()
		must(t, err)
		equal(t, "ListSubscriptions", list, []ptu.Subscription{subscription(sub1), subscription(sub2)})
		return nil
	})

	changed := subscription(sub1)
	changed.DisplayName, changed.State = "Renamed", "Disabled"
	update(t, s, func(tx ptu.Tx) error { return tx.Subscriptions().Put(changed) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Subscriptions().Get(sub1)
		must(t, err)
		equal(t, "GetSubscription after replace", got, changed)
		list, err := tx.Subscriptions().List()
		must(t, err)
		if len(list) != 2 {
			t.Errorf("ListSubscriptions after replace: %d subscriptions, want 2", len(list))
		}
		return nil
	})
}

func testRegions(t *testing.T, s ptu.Store) {
	west := ptu.Region{Name: "westeurope", DisplayName: "West Europe", DataZone: "eu"}
	east := ptu.Region{Name: "eastus", DisplayName: "East US", DataZone: "us"}
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Regions().Put(west))
		return tx.Regions().Put(east)
	})
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Regions().List()
		must(t, err)
		equal(t, "ListRegions", list, []ptu.Region{east, west})
		return nil
	})

	east.DisplayName = "East US (Virginia)"
	update(t, s, func(tx ptu.Tx) error { return tx.Regions().Put(east) })
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Regions().List()
		must(t, err)
		equal(t, "ListRegions after replace", list, []ptu.Region{east, west})
		return nil
	})
}

func testPools(t *testing.T, s ptu.Store) {
	a := pool("eastus/gpt-4o/2024-08-06", "eastus", 300)
	b := pool("westus/gpt-4o/2024-08-06", "westus", 100)
	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.Pools().Get(a.ID)
		wantNotFound(t, "GetPool before Put", err)
		must(t, tx.Pools().Put(b))
		return tx.Pools().Put(a)
	})
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Pools().Get(a.ID)
		must(t, err)
		equal(t, "GetPool", got, a)
		list, err := tx.Pools().List()
		must(t, err)
		equal(t, "ListPools", list, []ptu.Pool{a, b})
		return nil
	})

	a.RatedPTU, a.Backend = 500, "vllm-east"
	update(t, s, func(tx ptu.Tx) error { return tx.Pools().Put(a) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Pools().Get(a.ID)
		must(t, err)
		equal(t, "GetPool after replace", got, a)
		list, err := tx.Pools().List()
		must(t, err)
		equal(t, "ListPools after replace", list, []ptu.Pool{a, b})
		return nil
	})
}

func testQuotaLimits(t *testing.T, s ptu.Store) {
	l1 := ptu.QuotaLimit{SubscriptionID: sub1, Region: "eastus", SKUName: ptu.GlobalProvisionedManaged, Limit: 500}
	l2 := ptu.QuotaLimit{SubscriptionID: sub1, Region: "eastus", SKUName: ptu.ProvisionedManaged, Limit: 100}
	l3 := ptu.QuotaLimit{SubscriptionID: sub1, Region: "westus", SKUName: ptu.ProvisionedManaged, Limit: 50}
	other := ptu.QuotaLimit{SubscriptionID: sub2, Region: "eastus", SKUName: ptu.ProvisionedManaged, Limit: 7}
	update(t, s, func(tx ptu.Tx) error {
		for _, l := range []ptu.QuotaLimit{l3, other, l2, l1} {
			must(t, tx.QuotaLimits().Put(l))
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.QuotaLimits().List(sub1)
		must(t, err)
		equal(t, "ListQuotaLimits", list, []ptu.QuotaLimit{l1, l2, l3})
		return nil
	})

	l2.Limit = 300
	update(t, s, func(tx ptu.Tx) error { return tx.QuotaLimits().Put(l2) })
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.QuotaLimits().List(sub1)
		must(t, err)
		equal(t, "ListQuotaLimits after replace", list, []ptu.QuotaLimit{l1, l2, l3})
		list, err = tx.QuotaLimits().List(sub2)
		must(t, err)
		equal(t, "ListQuotaLimits of another subscription", list, []ptu.QuotaLimit{other})
		return nil
	})
}

func testAccounts(t *testing.T, s ptu.Store) {
	b := account(sub1, "rg-a", "beta")
	a := account(sub1, "rg-a", "alpha")
	c := account(sub1, "rg-b", "gamma")
	c.Tags = nil
	c.CustomSubDomain = ""
	c.DisableLocalAuth = false
	c.UpdatedAt = time.Time{}
	other := account(sub2, "rg-a", "delta")

	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.Accounts().Get(sub1, "rg-a", "alpha")
		wantNotFound(t, "GetAccount before Put", err)
		for _, x := range []ptu.Account{b, c, other, a} {
			must(t, tx.Accounts().Put(x))
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		for _, want := range []ptu.Account{a, b, c, other} {
			got, err := tx.Accounts().Get(want.SubscriptionID, want.ResourceGroup, want.Name)
			must(t, err)
			checkAccount(t, got, want)
		}

		list, err := tx.Accounts().List(sub1, "")
		must(t, err)
		if len(list) != 3 {
			t.Fatalf("ListAccounts(sub1, \"\"): %d accounts, want 3", len(list))
		}
		for i, want := range []ptu.Account{a, b, c} {
			checkAccount(t, list[i], want)
		}

		list, err = tx.Accounts().List(sub1, "rg-a")
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("ListAccounts(sub1, rg-a): %d accounts, want 2", len(list))
		}
		checkAccount(t, list[0], a)
		checkAccount(t, list[1], b)

		list, err = tx.Accounts().List(sub2, "")
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("ListAccounts(sub2, \"\"): %d accounts, want 1", len(list))
		}
		checkAccount(t, list[0], other)
		return nil
	})

	// Replace every field but the identity.
	a2 := a
	a2.Location = "westus"
	a2.Kind = "AIServices"
	a2.CustomSubDomain = "alpha-renamed"
	a2.Tags = map[string]string{"env": "prod"}
	a2.Key1, a2.Key2 = "rotated1", "rotated2"
	a2.DisableLocalAuth = false
	a2.PublicNetwork = "Disabled"
	a2.State = ptu.StateUpdating
	a2.UpdatedAt = updated.Add(time.Hour)
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Put(a2) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Accounts().Get(sub1, "rg-a", "alpha")
		must(t, err)
		checkAccount(t, got, a2)
		_, err = tx.Accounts().GetBySubDomain(a.CustomSubDomain)
		wantNotFound(t, "GetAccountBySubDomain of the replaced subdomain", err)
		list, err := tx.Accounts().List(sub1, "")
		must(t, err)
		if len(list) != 3 {
			t.Errorf("ListAccounts after replace: %d accounts, want 3", len(list))
		}
		return nil
	})

	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Delete(sub1, "rg-a", "alpha") })
	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.Accounts().Get(sub1, "rg-a", "alpha")
		wantNotFound(t, "GetAccount after Delete", err)
		wantNotFound(t, "DeleteAccount of a missing account", tx.Accounts().Delete(sub1, "rg-a", "alpha"))
		return nil
	})
}

func testAccountNamesIgnoreCase(t *testing.T, s ptu.Store) {
	a := account(sub1, "MyGroup", "MyAccount")
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Put(a) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Accounts().Get(sub1, "mygroup", "MYACCOUNT")
		must(t, err)
		checkAccount(t, got, a)
		list, err := tx.Accounts().List(sub1, "MYGROUP")
		must(t, err)
		if len(list) != 1 || list[0].Name != "MyAccount" {
			t.Errorf("ListAccounts(sub1, MYGROUP) = %+v, want MyAccount", list)
		}
		return nil
	})

	// A put under other casing replaces the account and keeps the casing given at creation.
	b := a
	b.ResourceGroup, b.Name, b.Kind = "MYGROUP", "myaccount", "AIServices"
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Put(b) })
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Accounts().List(sub1, "")
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("ListAccounts after a put under other casing: %d accounts, want 1", len(list))
		}
		want := a
		want.Kind = "AIServices"
		checkAccount(t, list[0], want)
		return nil
	})

	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Delete(sub1, "MYGROUP", "myACCOUNT") })
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Accounts().Get(sub1, "MyGroup", "MyAccount")
		wantNotFound(t, "GetAccount after a delete under other casing", err)
		return nil
	})
}

func testSubDomain(t *testing.T, s ptu.Store) {
	a := account(sub1, "rg", "first")
	a.CustomSubDomain = "Contoso-AI"
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Put(a) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Accounts().GetBySubDomain("contoso-ai")
		must(t, err)
		checkAccount(t, got, a)
		_, err = tx.Accounts().GetBySubDomain("fabrikam")
		wantNotFound(t, "GetAccountBySubDomain of an unused subdomain", err)
		return nil
	})

	// Another account, even in another subscription, cannot take it in any casing.
	for _, taker := range []ptu.Account{account(sub1, "rg", "second"), account(sub2, "other", "third")} {
		taker.CustomSubDomain = "CONTOSO-ai"
		err := s.Update(t.Context(), func(tx ptu.Tx) error { return tx.Accounts().Put(taker) })
		if code := ptu.ErrorCode(err); code != ptu.CodeCustomDomainInUse {
			t.Errorf("PutAccount %s with a taken subdomain: err = %v (code %s), want code %s",
				taker.Name, err, code, ptu.CodeCustomDomainInUse)
		}
	}
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Accounts().Get(sub1, "rg", "second")
		wantNotFound(t, "GetAccount of the refused account", err)
		return nil
	})

	// The holder can put itself again, and accounts without a subdomain never clash.
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Accounts().Put(a))
		for _, name := range []string{"plain1", "plain2"} {
			x := account(sub1, "rg", name)
			x.CustomSubDomain = ""
			must(t, tx.Accounts().Put(x))
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Accounts().GetBySubDomain("")
		wantNotFound(t, "GetAccountBySubDomain(\"\")", err)
		return nil
	})

	// Deleting the holder frees the subdomain.
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Delete(sub1, "rg", "first") })
	b := account(sub2, "other", "third")
	b.CustomSubDomain = "contoso-ai"
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Put(b) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Accounts().GetBySubDomain("Contoso-AI")
		must(t, err)
		checkAccount(t, got, b)
		return nil
	})
}

// seed puts the pools and accounts most deployment tests use.
func seed(t *testing.T, s ptu.Store, pools []ptu.Pool, accounts ...ptu.Account) {
	t.Helper()
	update(t, s, func(tx ptu.Tx) error {
		for _, p := range pools {
			must(t, tx.Pools().Put(p))
		}
		for _, a := range accounts {
			must(t, tx.Accounts().Put(a))
		}
		return nil
	})
}

func testDeployments(t *testing.T, s ptu.Store) {
	pa, pb := pool("eastus/a", "eastus", 300), pool("eastus/b", "eastus", 300)
	acct := account(sub1, "rg", "acct")
	seed(t, s, []ptu.Pool{pa, pb}, acct)

	d := deployment(acct, "chat", ptu.Allocation{PoolID: pb.ID, PTU: 50}, ptu.Allocation{PoolID: pa.ID, PTU: 25})
	std := deployment(acct, "batch")
	std.SKUName, std.Capacity, std.SpilloverDeploymentName, std.UpdatedAt = ptu.GlobalStandard, 1, "", time.Time{}

	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.Deployments().Get(sub1, "rg", "acct", "chat")
		wantNotFound(t, "GetDeployment before Put", err)
		must(t, tx.Deployments().Put(d))
		return tx.Deployments().Put(std)
	})
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Deployments().Get(sub1, "rg", "acct", "chat")
		must(t, err)
		checkDeployment(t, got, d)
		got, err = tx.Deployments().Get(sub1, "rg", "acct", "batch")
		must(t, err)
		checkDeployment(t, got, std)

		list, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "rg", Account: "acct"})
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("ListDeployments: %d deployments, want 2", len(list))
		}
		checkDeployment(t, list[0], std)
		checkDeployment(t, list[1], d)
		return nil
	})

	// Replacing a deployment replaces its allocations.
	d2 := d
	d2.Allocations = []ptu.Allocation{{PoolID: pa.ID, PTU: 100}}
	d2.Capacity = 100
	d2.Model.Version = "2024-11-20"
	d2.SpilloverDeploymentName = ""
	d2.State = ptu.StateUpdating
	update(t, s, func(tx ptu.Tx) error { return tx.Deployments().Put(d2) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Deployments().Get(sub1, "rg", "acct", "chat")
		must(t, err)
		checkDeployment(t, got, d2)
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[pa.ID] != 100 || m[pb.ID] != 0 {
			t.Errorf("PoolAllocations after replace = %v, want %s:100 and nothing in %s", m, pa.ID, pb.ID)
		}
		return nil
	})

	update(t, s, func(tx ptu.Tx) error { return tx.Deployments().Delete(sub1, "rg", "acct", "chat") })
	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.Deployments().Get(sub1, "rg", "acct", "chat")
		wantNotFound(t, "GetDeployment after Delete", err)
		wantNotFound(t, "DeleteDeployment of a missing deployment", tx.Deployments().Delete(sub1, "rg", "acct", "chat"))
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[pa.ID] != 0 {
			t.Errorf("PoolAllocations after Delete = %v, want nothing in %s", m, pa.ID)
		}
		list, err := tx.Deployments().List(ptu.DeploymentFilter{})
		must(t, err)
		equal(t, "ListDeployments after Delete", deploymentNames(list), []string{"acct/batch"})
		return nil
	})
}

func testDeploymentNamesIgnoreCase(t *testing.T, s ptu.Store) {
	acct := account(sub1, "MyGroup", "MyAccount")
	p := pool("eastus/a", "eastus", 100)
	seed(t, s, []ptu.Pool{p}, acct)

	d := deployment(acct, "GPT4o-Chat", ptu.Allocation{PoolID: p.ID, PTU: 50})
	update(t, s, func(tx ptu.Tx) error { return tx.Deployments().Put(d) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Deployments().Get(sub1, "mygroup", "MYACCOUNT", "gpt4o-chat")
		must(t, err)
		checkDeployment(t, got, d)
		list, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "MYGROUP", Account: "myaccount"})
		must(t, err)
		equal(t, "ListDeployments under other casing", deploymentNames(list), []string{"MyAccount/GPT4o-Chat"})
		return nil
	})

	// A put under other casing replaces the deployment, keeping the casing given at creation.
	d2 := d
	d2.ResourceGroup, d2.AccountName, d2.Name = "MYGROUP", "myaccount", "gpt4o-CHAT"
	d2.Allocations = []ptu.Allocation{{PoolID: p.ID, PTU: 20}}
	d2.Capacity = 20
	update(t, s, func(tx ptu.Tx) error { return tx.Deployments().Put(d2) })
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Deployments().List(ptu.DeploymentFilter{})
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("ListDeployments after a put under other casing: %d deployments, want 1", len(list))
		}
		want := d
		want.Allocations, want.Capacity = d2.Allocations, d2.Capacity
		checkDeployment(t, list[0], want)
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[p.ID] != 20 {
			t.Errorf("PoolAllocations = %v, want %s:20", m, p.ID)
		}
		return nil
	})

	update(t, s, func(tx ptu.Tx) error { return tx.Deployments().Delete(sub1, "mygroup", "myaccount", "GPT4O-CHAT") })
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Deployments().Get(sub1, "MyGroup", "MyAccount", "GPT4o-Chat")
		wantNotFound(t, "GetDeployment after a delete under other casing", err)
		return nil
	})
}

func testDeploymentReferences(t *testing.T, s ptu.Store) {
	acct := account(sub1, "rg", "acct")
	p := pool("eastus/a", "eastus", 100)
	seed(t, s, []ptu.Pool{p}, acct)

	orphan := deployment(account(sub1, "rg", "missing"), "chat", ptu.Allocation{PoolID: p.ID, PTU: 10})
	err := s.Update(t.Context(), func(tx ptu.Tx) error { return tx.Deployments().Put(orphan) })
	wantNotFound(t, "PutDeployment under a missing account", err)

	lost := deployment(acct, "chat", ptu.Allocation{PoolID: "nowhere/x", PTU: 10})
	if err := s.Update(t.Context(), func(tx ptu.Tx) error { return tx.Deployments().Put(lost) }); err == nil {
		t.Error("PutDeployment with an allocation in a missing pool succeeded, want an error")
	}

	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Deployments().List(ptu.DeploymentFilter{})
		must(t, err)
		equal(t, "ListDeployments after refused puts", deploymentNames(list), []string{})
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[p.ID] != 0 {
			t.Errorf("PoolAllocations after refused puts = %v, want nothing", m)
		}
		return nil
	})
}

func testDeploymentFilter(t *testing.T, s ptu.Store) {
	pe, pw := pool("eastus/a", "eastus", 1000), pool("westus/a", "westus", 1000)
	a1 := account(sub1, "rg1", "a1")
	a2 := account(sub1, "rg1", "a2")
	a2.Location = "westus"
	a3 := account(sub1, "rg2", "a3")
	a4 := account(sub2, "rg1", "a1")
	a4.CustomSubDomain = "a4-sub"
	seed(t, s, []ptu.Pool{pe, pw}, a1, a2, a3, a4)

	alloc := func(p ptu.Pool) ptu.Allocation { return ptu.Allocation{PoolID: p.ID, PTU: 10} }
	var ds []ptu.Deployment
	for _, x := range []struct {
		a    ptu.Account
		name string
		sku  string
		pool ptu.Pool
	}{
		{a1, "d1", ptu.ProvisionedManaged, pe},
		{a1, "d2", ptu.GlobalProvisionedManaged, pe},
		{a1, "d3", ptu.GlobalStandard, ptu.Pool{}},
		{a2, "d1", ptu.ProvisionedManaged, pw},
		{a3, "d1", ptu.DataZoneProvisionedManaged, pe},
		{a4, "d1", ptu.ProvisionedManaged, pe},
	} {
		d := deployment(x.a, x.name)
		d.SKUName = x.sku
		if x.pool.ID != "" {
			d.Allocations = []ptu.Allocation{alloc(x.pool)}
			d.Capacity = 10
		}
		ds = append(ds, d)
	}
	update(t, s, func(tx ptu.Tx) error {
		for _, d := range ds {
			must(t, tx.Deployments().Put(d))
		}
		return nil
	})

	tests := []struct {
		f    ptu.DeploymentFilter
		want []string // subscription-qualified names, in list order
	}{
		{ptu.DeploymentFilter{}, []string{"1/a1/d1", "1/a1/d2", "1/a1/d3", "1/a2/d1", "1/a3/d1", "2/a1/d1"}},
		{ptu.DeploymentFilter{SubscriptionID: sub1}, []string{"1/a1/d1", "1/a1/d2", "1/a1/d3", "1/a2/d1", "1/a3/d1"}},
		{ptu.DeploymentFilter{SubscriptionID: sub2}, []string{"2/a1/d1"}},
		{ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "rg2"}, []string{"1/a3/d1"}},
		{ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "RG1"}, []string{"1/a1/d1", "1/a1/d2", "1/a1/d3", "1/a2/d1"}},
		{ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "rg1", Account: "A1"}, []string{"1/a1/d1", "1/a1/d2", "1/a1/d3"}},
		{ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "rg2", Account: "a1"}, nil},
		{ptu.DeploymentFilter{Region: "westus"}, []string{"1/a2/d1"}},
		{ptu.DeploymentFilter{Region: "eastus", SKUName: ptu.ProvisionedManaged}, []string{"1/a1/d1", "2/a1/d1"}},
		{ptu.DeploymentFilter{SubscriptionID: sub1, Region: "eastus", SKUName: ptu.ProvisionedManaged}, []string{"1/a1/d1"}},
		{ptu.DeploymentFilter{SKUName: ptu.DataZoneProvisionedManaged}, []string{"1/a3/d1"}},
		{ptu.DeploymentFilter{SKUName: ptu.Standard}, nil},
		{ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "rg1", Account: "a1", SKUName: ptu.GlobalStandard}, []string{"1/a1/d3"}},
	}
	view(t, s, func(tx ptu.Tx) error {
		for _, tc := range tests {
			list, err := tx.Deployments().List(tc.f)
			must(t, err)
			got := []string{}
			for _, d := range list {
				got = append(got, fmt.Sprintf("%s/%s/%s", d.SubscriptionID[len(d.SubscriptionID)-1:], d.AccountName, d.Name))
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			equal(t, fmt.Sprintf("ListDeployments(%+v)", tc.f), got, want)

			// Listed deployments carry their allocations.
			for _, d := range list {
				if d.Capacity > 0 && (len(d.Allocations) != 1 || d.Allocations[0].PTU != 10) {
					t.Errorf("ListDeployments(%+v): %s allocations = %+v, want one of 10 PTUs", tc.f, d.ID(), d.Allocations)
				}
			}
		}
		return nil
	})
}

func testDeleteAccountCascades(t *testing.T, s ptu.Store) {
	p := pool("eastus/a", "eastus", 100)
	gone, kept := account(sub1, "rg", "gone"), account(sub1, "rg", "kept")
	seed(t, s, []ptu.Pool{p}, gone, kept)
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Deployments().Put(deployment(gone, "d1", ptu.Allocation{PoolID: p.ID, PTU: 30})))
		must(t, tx.Deployments().Put(deployment(gone, "d2", ptu.Allocation{PoolID: p.ID, PTU: 20})))
		return tx.Deployments().Put(deployment(kept, "d1", ptu.Allocation{PoolID: p.ID, PTU: 5}))
	})

	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Delete(sub1, "RG", "Gone") })
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Deployments().Get(sub1, "rg", "gone", "d1")
		wantNotFound(t, "GetDeployment of a deleted account", err)
		list, err := tx.Deployments().List(ptu.DeploymentFilter{})
		must(t, err)
		equal(t, "ListDeployments after DeleteAccount", deploymentNames(list), []string{"kept/d1"})
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[p.ID] != 5 {
			t.Errorf("PoolAllocations after DeleteAccount = %v, want %s:5", m, p.ID)
		}
		return nil
	})

	// A new account of the same name starts empty.
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Put(gone) })
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "rg", Account: "gone"})
		must(t, err)
		equal(t, "ListDeployments of a re-created account", deploymentNames(list), []string{})
		return nil
	})
}

func testPoolAllocations(t *testing.T, s ptu.Store) {
	pa, pb, pc := pool("p/a", "eastus", 1000), pool("p/b", "eastus", 1000), pool("p/c", "westus", 1000)
	a1, a2 := account(sub1, "rg", "a1"), account(sub2, "rg", "a2")
	seed(t, s, []ptu.Pool{pa, pb, pc}, a1, a2)

	view(t, s, func(tx ptu.Tx) error {
		m, err := tx.Pools().Allocations()
		must(t, err)
		for id, n := range m {
			if n != 0 {
				t.Errorf("PoolAllocations with no deployments: %s = %d, want 0", id, n)
			}
		}
		return nil
	})

	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Deployments().Put(deployment(a1, "d1", ptu.Allocation{PoolID: pa.ID, PTU: 100}, ptu.Allocation{PoolID: pb.ID, PTU: 15})))
		must(t, tx.Deployments().Put(deployment(a1, "d2", ptu.Allocation{PoolID: pa.ID, PTU: 50})))
		must(t, tx.Deployments().Put(deployment(a2, "d1", ptu.Allocation{PoolID: pa.ID, PTU: 25}, ptu.Allocation{PoolID: pb.ID, PTU: 5})))
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[pa.ID] != 175 || m[pb.ID] != 20 || m[pc.ID] != 0 {
			t.Errorf("PoolAllocations inside Update = %v, want %s:175 %s:20 and nothing in %s", m, pa.ID, pb.ID, pc.ID)
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[pa.ID] != 175 || m[pb.ID] != 20 || m[pc.ID] != 0 {
			t.Errorf("PoolAllocations = %v, want %s:175 %s:20 and nothing in %s", m, pa.ID, pb.ID, pc.ID)
		}
		return nil
	})
}

// SumCapacity follows creates, resizes, changes of type and model, deletes
// and an account's deletion, and matches what summing ListDeployments gives.
func testSumCapacity(t *testing.T, s ptu.Store) {
	p := pool("p/a", "eastus", 100000)
	a1, a2, b := account(sub1, "rg", "a1"), account(sub1, "other", "a2"), account(sub2, "rg", "b")
	seed(t, s, []ptu.Pool{p}, a1, a2, b)
	dep := func(a ptu.Account, name, sku, model string, capacity int) ptu.Deployment {
		d := deployment(a, name, ptu.Allocation{PoolID: p.ID, PTU: capacity})
		d.SKUName, d.Model.Name = sku, model
		return d
	}
	check := func(when string, f ptu.DeploymentFilter, want int) {
		t.Helper()
		view(t, s, func(tx ptu.Tx) error {
			got, err := tx.Deployments().SumCapacity(f)
			must(t, err)
			ds, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: f.SubscriptionID, ResourceGroup: f.ResourceGroup, Account: f.Account, Region: f.Region, SKUName: f.SKUName})
			must(t, err)
			listed := 0
			for _, d := range ds {
				if f.ModelName == "" || strings.EqualFold(d.Model.Name, f.ModelName) {
					listed += d.Capacity
				}
			}
			if got != want || listed != want {
				t.Errorf("%s: SumCapacity(%+v) = %d, summed list %d, want %d", when, f, got, listed, want)
			}
			return nil
		})
	}
	gm, pm := ptu.GlobalProvisionedManaged, ptu.ProvisionedManaged
	subGM := ptu.DeploymentFilter{SubscriptionID: sub1, Region: "EastUS", SKUName: gm}
	check("empty", subGM, 0)
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Deployments().Put(dep(a1, "d1", gm, "gpt-4o", 100)))
		must(t, tx.Deployments().Put(dep(a1, "d2", gm, "GPT-4o", 50)))
		must(t, tx.Deployments().Put(dep(a2, "d1", gm, "gpt-4o-mini", 25)))
		must(t, tx.Deployments().Put(dep(a1, "d3", pm, "gpt-4o", 7)))
		return tx.Deployments().Put(dep(b, "d1", gm, "gpt-4o", 1000))
	})
	check("created", subGM, 175)
	check("created, one model", ptu.DeploymentFilter{SubscriptionID: sub1, Region: "eastus", SKUName: gm, ModelName: "gpt-4O"}, 150)
	check("created, one account", ptu.DeploymentFilter{SubscriptionID: sub1, ResourceGroup: "RG", Account: "A1"}, 157)
	check("created, other region", ptu.DeploymentFilter{SubscriptionID: sub1, Region: "westus", SKUName: gm}, 0)
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Deployments().Put(dep(a1, "D1", gm, "gpt-4o", 60))) // resized
		must(t, tx.Deployments().Put(dep(a1, "d2", pm, "gpt-4o", 50))) // another type
		return tx.Deployments().Put(dep(a2, "d1", gm, "gpt-4o", 25))   // another model
	})
	check("updated", subGM, 85)
	check("updated, one model", ptu.DeploymentFilter{SubscriptionID: sub1, Region: "eastus", SKUName: gm, ModelName: "gpt-4o"}, 85)
	check("updated, other type", ptu.DeploymentFilter{SubscriptionID: sub1, Region: "eastus", SKUName: pm}, 57)
	update(t, s, func(tx ptu.Tx) error { return tx.Deployments().Delete(sub1, "rg", "a1", "d1") })
	check("deleted", subGM, 25)
	// A failed transaction leaves the totals as they were.
	if err := s.Update(context.Background(), func(tx ptu.Tx) error {
		must(t, tx.Deployments().Put(dep(a2, "big", gm, "gpt-4o", 500)))
		return errors.New("refused")
	}); err == nil {
		t.Fatal("Update returning an error succeeded")
	}
	check("rolled back", subGM, 25)
	update(t, s, func(tx ptu.Tx) error { return tx.Accounts().Delete(sub1, "other", "a2") })
	check("account deleted", subGM, 0)
	check("account deleted, other type", ptu.DeploymentFilter{SubscriptionID: sub1, Region: "eastus", SKUName: pm}, 57)
	check("other subscription", ptu.DeploymentFilter{SubscriptionID: sub2, Region: "eastus", SKUName: gm}, 1000)
	view(t, s, func(tx ptu.Tx) error {
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[p.ID] != 1057 {
			t.Errorf("PoolAllocations = %v, want %s:1057", m, p.ID)
		}
		return nil
	})
}

func testQuotaRequests(t *testing.T, s ptu.Store) {
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	req := func(id, sub string, at time.Time) ptu.QuotaRequest {
		return ptu.QuotaRequest{
			ID: id, SubscriptionID: sub, Region: "eastus", SKUName: ptu.GlobalProvisionedManaged,
			RequestedLimit: 500, Reason: "launch " + id, State: ptu.QuotaRequestPending, CreatedAt: at,
		}
	}
	// Created out of order, and 1ns apart around a whole second, which a store
	// sorting times as variable-width text would misorder.
	r1 := req("r1", sub1, base)
	r2 := req("r2", sub1, base.Add(time.Second))
	r3 := req("r3", sub2, base.Add(time.Second-time.Nanosecond))
	r4 := req("r4", sub1, base.Add(time.Second+time.Nanosecond).In(time.FixedZone("KST", 9*3600)))

	update(t, s, func(tx ptu.Tx) error {
		_, err := tx.QuotaRequests().Get("r1")
		wantNotFound(t, "GetQuotaRequest before Put", err)
		for _, r := range []ptu.QuotaRequest{r2, r4, r1, r3} {
			must(t, tx.QuotaRequests().Put(r))
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.QuotaRequests().Get("r4")
		must(t, err)
		checkQuotaRequest(t, got, r4)

		list, err := tx.QuotaRequests().List("")
		must(t, err)
		ids := []string{}
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		equal(t, "ListQuotaRequests(\"\") ids", ids, []string{"r4", "r2", "r3", "r1"})

		list, err = tx.QuotaRequests().List(sub1)
		must(t, err)
		if len(list) != 3 {
			t.Fatalf("ListQuotaRequests(sub1): %d requests, want 3", len(list))
		}
		for i, want := range []ptu.QuotaRequest{r4, r2, r1} {
			checkQuotaRequest(t, list[i], want)
		}
		return nil
	})

	decided := r1
	decided.State = ptu.QuotaRequestApproved
	decided.ReviewNote = "approved for launch"
	decided.DecidedAt = base.Add(48 * time.Hour).Add(7)
	update(t, s, func(tx ptu.Tx) error { return tx.QuotaRequests().Put(decided) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.QuotaRequests().Get("r1")
		must(t, err)
		checkQuotaRequest(t, got, decided)
		list, err := tx.QuotaRequests().List("")
		must(t, err)
		if len(list) != 4 {
			t.Errorf("ListQuotaRequests after replace: %d requests, want 4", len(list))
		}
		return nil
	})
}

// snapshot describes what the rollback tests look at: the subscriptions, the
// accounts, the deployments and the PTUs allocated in the pool.
func snapshot(t *testing.T, s ptu.Store, poolID string) string {
	t.Helper()
	var out string
	view(t, s, func(tx ptu.Tx) error {
		subs, err := tx.Subscriptions().List()
		must(t, err)
		accts, err := tx.Accounts().List(sub1, "")
		must(t, err)
		ds, err := tx.Deployments().List(ptu.DeploymentFilter{})
		must(t, err)
		m, err := tx.Pools().Allocations()
		must(t, err)
		var names []string
		for _, a := range accts {
			names = append(names, a.Name+":"+a.Kind)
		}
		out = fmt.Sprintf("subs=%d accounts=%v deployments=%v alloc=%d", len(subs), names, deploymentNames(ds), m[poolID])
		return nil
	})
	return out
}

// writeAll makes one change of every kind the rollback tests check.
func writeAll(t *testing.T, tx ptu.Tx, p ptu.Pool, a ptu.Account) {
	t.Helper()
	must(t, tx.Subscriptions().Put(subscription(sub2)))
	changed := a
	changed.Kind = "AIServices"
	must(t, tx.Accounts().Put(changed))
	must(t, tx.Accounts().Put(account(sub1, "rg", "extra")))
	must(t, tx.Deployments().Put(deployment(a, "d2", ptu.Allocation{PoolID: p.ID, PTU: 40})))
	must(t, tx.Deployments().Delete(sub1, "rg", "acct", "d1"))
}

func rollbackFixture(t *testing.T, s ptu.Store) (ptu.Pool, ptu.Account) {
	t.Helper()
	p := pool("eastus/a", "eastus", 100)
	a := account(sub1, "rg", "acct")
	seed(t, s, []ptu.Pool{p}, a)
	update(t, s, func(tx ptu.Tx) error {
		must(t, tx.Subscriptions().Put(subscription(sub1)))
		return tx.Deployments().Put(deployment(a, "d1", ptu.Allocation{PoolID: p.ID, PTU: 10}))
	})
	return p, a
}

func testRollbackOnError(t *testing.T, s ptu.Store) {
	p, a := rollbackFixture(t, s)
	before := snapshot(t, s, p.ID)

	errRefused := errors.New("refused")
	err := s.Update(t.Context(), func(tx ptu.Tx) error {
		writeAll(t, tx, p, a)
		// The transaction sees its own writes.
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[p.ID] != 40 {
			t.Errorf("PoolAllocations inside Update = %v, want %s:40", m, p.ID)
		}
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("Update = %v, want the error fn returned", err)
	}
	if after := snapshot(t, s, p.ID); after != before {
		t.Errorf("state after a failed Update:\n got %s\nwant %s", after, before)
	}

	// View passes fn's error through too.
	if err := s.View(t.Context(), func(ptu.Tx) error { return errRefused }); !errors.Is(err, errRefused) {
		t.Errorf("View = %v, want the error fn returned", err)
	}

	// The store still takes writes.
	update(t, s, func(tx ptu.Tx) error { return tx.Subscriptions().Put(subscription(sub2)) })
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Subscriptions().Get(sub2)
		return err
	})
}

func testRollbackOnPanic(t *testing.T, s ptu.Store) {
	p, a := rollbackFixture(t, s)
	before := snapshot(t, s, p.ID)

	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		s.Update(t.Context(), func(tx ptu.Tx) error {
			writeAll(t, tx, p, a)
			panic("boom")
		})
	}()
	if after := snapshot(t, s, p.ID); after != before {
		t.Errorf("state after a panicking Update:\n got %s\nwant %s", after, before)
	}

	// The panic released whatever serializes writers.
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx ptu.Tx) error { return tx.Subscriptions().Put(subscription(sub2)) })
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Update after a panicking Update did not return")
	}
}

func testViewSnapshot(t *testing.T, s ptu.Store) {
	update(t, s, func(tx ptu.Tx) error { return tx.Subscriptions().Put(subscription(sub1)) })

	// A write that commits while a View is open is not seen by that View,
	// and does not wait for it.
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Subscriptions().List()
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("ListSubscriptions = %d, want 1", len(list))
		}

		done := make(chan error, 1)
		go func() {
			done <- s.Update(context.Background(), func(tx ptu.Tx) error { return tx.Subscriptions().Put(subscription(sub2)) })
		}()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Update did not finish while a View was open")
		}

		list, err = tx.Subscriptions().List()
		must(t, err)
		if len(list) != 1 {
			t.Errorf("ListSubscriptions after a concurrent Update = %d inside the open View, want 1", len(list))
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		list, err := tx.Subscriptions().List()
		must(t, err)
		if len(list) != 2 {
			t.Errorf("ListSubscriptions in a new View = %d, want 2", len(list))
		}
		return nil
	})
}

func testCanceledContext(t *testing.T, s ptu.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx ptu.Tx) error {
		ran = true
		return tx.Subscriptions().Put(subscription(sub1))
	})
	if err == nil {
		t.Fatal("Update with a canceled context succeeded")
	}
	if ran {
		t.Error("Update with a canceled context ran fn")
	}
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Subscriptions().Get(sub1)
		wantNotFound(t, "GetSubscription after a canceled Update", err)
		return nil
	})
}

// testConcurrentPlacement is the check-then-write sequence placement does:
// read the pool's allocated PTUs, allocate if there is room. Fifty writers race
// for a pool with room for ten; serialized Updates let exactly ten in.
func testConcurrentPlacement(t *testing.T, s ptu.Store) {
	const (
		writers = 50
		rated   = 100
		each    = 10
	)
	p := pool("eastus/a", "eastus", rated)
	a := account(sub1, "rg", "acct")
	seed(t, s, []ptu.Pool{p}, a)

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		placed int
		errs   []error
	)
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok := false
			err := s.Update(context.Background(), func(tx ptu.Tx) error {
				ok = false // in case an implementation retries fn
				m, err := tx.Pools().Allocations()
				if err != nil {
					return err
				}
				if m[p.ID]+each > rated {
					return nil
				}
				ok = true
				return tx.Deployments().Put(deployment(a, fmt.Sprintf("d%02d", i), ptu.Allocation{PoolID: p.ID, PTU: each}))
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				placed++
			}
		}()
		// Readers run alongside the writers.
		if i%10 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := s.View(context.Background(), func(tx ptu.Tx) error {
					m, err := tx.Pools().Allocations()
					if err == nil && m[p.ID] > rated {
						t.Errorf("a View saw %d PTUs allocated in a pool rated %d", m[p.ID], rated)
					}
					return err
				})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
	}
	close(start)
	wg.Wait()

	for _, err := range errs {
		t.Errorf("concurrent transaction: %v", err)
	}
	if placed != rated/each {
		t.Errorf("%d writers placed a deployment, want %d", placed, rated/each)
	}
	view(t, s, func(tx ptu.Tx) error {
		m, err := tx.Pools().Allocations()
		must(t, err)
		if m[p.ID] != rated {
			t.Errorf("PoolAllocations = %v, want %s:%d", m, p.ID, rated)
		}
		list, err := tx.Deployments().List(ptu.DeploymentFilter{})
		must(t, err)
		if len(list) != rated/each {
			t.Errorf("%d deployments, want %d", len(list), rated/each)
		}
		return nil
	})
}
