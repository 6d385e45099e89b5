package control_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/sqlite"
)

const sub = "6d3a1c2e-8f4b-4a9e-9c71-2b5e0f7a4d10"

// A small world: two US regions and one EU region; westus3 is short of capacity.
const testConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
  - {name: westus3, displayName: West US 3, dataZone: us}
  - {name: swedencentral, displayName: Sweden Central, dataZone: eu}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 1000}
  - {region: westus3, model: gpt-4o, version: "2024-08-06", ptu: 50}
  - {region: swedencentral, model: gpt-4o, version: "2024-08-06", ptu: 300}
  - {region: eastus, model: gpt-4, version: "0613", ptu: 300}
defaultQuota:
  ProvisionedManaged: 500
  GlobalProvisionedManaged: 500
  DataZoneProvisionedManaged: 500
subscriptions:
  - {id: ` + sub + `, displayName: test}
`

type fixture struct {
	svc   *control.Service
	store ptu.Store
	ctx   context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	if err := cfg.Validate(cat); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	svc := control.New(store, cat, control.Options{Now: func() time.Time { return clock }, PublicURL: "http://ptu.test", DefaultQuota: cfg.DefaultQuota})
	ctx := context.Background()
	if err := svc.Bootstrap(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, store: store, ctx: ctx}
}

func (f *fixture) account(t *testing.T, rg, name, location string) ptu.Account {
	t.Helper()
	a, created, err := f.svc.PutAccount(f.ctx, sub, rg, name, control.AccountInput{Location: location})
	if err != nil || !created {
		t.Fatalf("PutAccount(%s): created=%v err=%v", name, created, err)
	}
	return a
}

func (f *fixture) deploy(rg, acct, name, model, version, sku string, capacity int) (ptu.Deployment, error) {
	d, _, err := f.svc.PutDeployment(f.ctx, sub, rg, acct, name, control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: model, Version: version}, SKUName: sku, Capacity: &capacity})
	return d, err
}

func (f *fixture) usage(t *testing.T, region, sku string) (used, limit int) {
	t.Helper()
	us, err := f.svc.Usages(f.ctx, sub, region)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Name == ptu.QuotaUsageName(sku) {
			return u.CurrentValue, u.Limit
		}
	}
	t.Fatalf("no usage row for %s", sku)
	return
}

func wantCode(t *testing.T, err error, code string) *ptu.Error {
	t.Helper()
	var e *ptu.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return e
}

func TestDeploymentLifecycleMovesQuota(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, "rg", "aoai-east", "eastus")
	if a.Key1 == "" || a.Key2 == "" || a.Key1 == a.Key2 {
		t.Fatalf("keys not set: %q %q", a.Key1, a.Key2)
	}
	if got := f.svc.Endpoint(a); got != "http://ptu.test/accounts/aoai-east/" {
		t.Fatalf("endpoint = %q", got)
	}
	d, err := f.deploy("rg", "aoai-east", "gpt-4o", "gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 15)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != ptu.StateSucceeded || len(d.Allocations) != 1 || d.Allocations[0].PTU != 15 {
		t.Fatalf("deployment = %+v", d)
	}
	if used, limit := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); used != 15 || limit != 500 {
		t.Fatalf("usage = %d/%d, want 15/500", used, limit)
	}
	// Resize: the quota counts the deployment once.
	if _, err := f.deploy("rg", "aoai-east", "gpt-4o", "gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 30); err != nil {
		t.Fatal(err)
	}
	if used, _ := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); used != 30 {
		t.Fatalf("usage after resize = %d, want 30", used)
	}
	// Past quota: refused, naming usage and limit, and nothing changes.
	_, err = f.deploy("rg", "aoai-east", "big", "gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 480)
	e := wantCode(t, err, ptu.CodeInsufficientQuota)
	for _, s := range []string{"480", "470", "30", "500"} {
		if !contains(e.Message, s) {
			t.Errorf("quota message %q does not mention %s", e.Message, s)
		}
	}
	if used, _ := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); used != 30 {
		t.Fatalf("usage after refusal = %d, want 30", used)
	}
	if existed, err := f.svc.DeleteDeployment(f.ctx, sub, "rg", "aoai-east", "gpt-4o"); err != nil || !existed {
		t.Fatalf("delete: %v %v", existed, err)
	}
	if used, _ := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); used != 0 {
		t.Fatalf("usage after delete = %d, want 0", used)
	}
	pools, _ := f.svc.ListPools(f.ctx)
	for _, p := range pools {
		if p.Allocated != 0 {
			t.Fatalf("pool %s still has %d allocated", p.ID, p.Allocated)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0))
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestSizeAndModelRules(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "acct", "eastus")
	tests := []struct {
		model, version, sku string
		capacity            int
		code                string
	}{
		{"gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 15, ""},
		{"GPT-4o", "2024-08-06", ptu.DataZoneProvisionedManaged, 20, ""}, // names match case-insensitively
		{"gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 10, ptu.CodeInvalidCapacity},
		{"gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 17, ptu.CodeInvalidCapacity},
		{"gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 0, ptu.CodeInvalidCapacity},
		{"gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, -15, ptu.CodeInvalidCapacity},
		{"gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 1 << 30, ptu.CodeInvalidCapacity},
		{"gpt-4o", "2024-08-06", ptu.ProvisionedManaged, 25, ptu.CodeInvalidCapacity},
		{"gpt-4o", "2024-08-06", "Premium", 15, ptu.CodeInvalidSKU},
		{"gpt-9", "1", ptu.GlobalProvisionedManaged, 15, ptu.CodeDeploymentModelNotSupported},
		{"gpt-4o", "1999-01-01", ptu.GlobalProvisionedManaged, 15, ptu.CodeDeploymentModelNotSupported},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s-%d", tt.model, tt.sku, tt.capacity), func(t *testing.T) {
			_, err := f.deploy("rg", "acct", fmt.Sprintf("d%d", i), tt.model, tt.version, tt.sku, tt.capacity)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code)
			if _, err := f.svc.GetDeployment(f.ctx, sub, "rg", "acct", fmt.Sprintf("d%d", i)); ptu.ErrorCode(err) != ptu.CodeDeploymentNotFound {
				t.Fatalf("refused deployment exists: %v", err)
			}
		})
	}
}

func TestSeedExampleGPT4(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "acct", "eastus")
	d, err := f.deploy("rg", "acct", "MyModel", "GPT-4", "0613", "ProvisionedManaged", 100)
	if err != nil {
		t.Fatal(err)
	}
	if d.Model.Name != "gpt-4" || d.SKUName != ptu.ProvisionedManaged {
		t.Fatalf("deployment = %+v", d.Model)
	}
	if used, limit := f.usage(t, "eastus", ptu.ProvisionedManaged); used != 100 || limit != 500 {
		t.Fatalf("usage = %d/%d", used, limit)
	}
}

func TestCapacityShortNamesOtherRegions(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "west", "westus3")
	east := f.account(t, "rg", "east", "eastus")
	_, err := f.deploy("rg", "west", "gpt-4o", "gpt-4o", "2024-08-06", ptu.ProvisionedManaged, 100)
	e := wantCode(t, err, ptu.CodeInsufficientCapacity)
	info, ok := e.Info.(*control.CapacityShortage)
	if !ok {
		t.Fatalf("Info = %T", e.Info)
	}
	if info.DeployableNow != 50 || info.Requested != 100 || info.QuotaFree != 500 {
		t.Fatalf("shortage = %+v", info)
	}
	if len(info.Alternatives) != 2 || info.Alternatives[0].Location != "eastus" ||
		info.Alternatives[1].Location != "swedencentral" || info.Alternatives[1].MaxCapacity != 300 ||
		info.Alternatives[0].MaxCapacity != 500 || len(info.Alternatives[0].Accounts) != 1 ||
		info.Alternatives[0].Accounts[0] != east.ID() {
		t.Fatalf("alternatives = %+v", info.Alternatives)
	}
	// The deployable size works.
	if _, err := f.deploy("rg", "west", "gpt-4o", "gpt-4o", "2024-08-06", ptu.ProvisionedManaged, 50); err != nil {
		t.Fatal(err)
	}
	// DataZone from westus3 draws on the whole US zone.
	d, err := f.deploy("rg", "west", "dz", "gpt-4o", "2024-08-06", ptu.DataZoneProvisionedManaged, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Allocations) != 1 || d.Allocations[0].PoolID != "eastus/gpt-4o/2024-08-06" {
		t.Fatalf("data-zone allocations = %+v", d.Allocations)
	}
}

func TestModelCapacitiesCountQuotaAndPools(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "east", "eastus")
	if _, err := f.deploy("rg", "east", "dep-a", "gpt-4o", "2024-08-06", ptu.ProvisionedManaged, 400); err != nil {
		t.Fatal(err)
	}
	caps, err := f.svc.ModelCapacities(f.ctx, sub, "", ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range caps {
		got[c.Location+"/"+c.SKUName] = c.AvailableCapacity
	}
	want := map[string]int{
		"eastus/ProvisionedManaged":                100, // quota: 500 - 400
		"westus3/ProvisionedManaged":               50,  // pool: 50
		"swedencentral/ProvisionedManaged":         300, // pool: 300
		"eastus/DataZoneProvisionedManaged":        500, // quota; zone has 600+50 free
		"swedencentral/DataZoneProvisionedManaged": 300,
		"eastus/GlobalProvisionedManaged":          500,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

func TestConcurrentPutsNeverOversubscribe(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "east", "eastus")
	f.account(t, "rg", "west", "westus3")
	// 50 concurrent 15-PTU Global deployments compete for 500 PTUs of quota...
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.deploy("rg", "east", fmt.Sprintf("g%02d", i), "gpt-4o", "2024-08-06", ptu.GlobalProvisionedManaged, 15)
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if c := ptu.ErrorCode(err); c != ptu.CodeInsufficientQuota {
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	// ...while 50 concurrent 50-PTU Regional deployments compete for westus3's 50-PTU pool.
	regionalOK := 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.deploy("rg", "west", fmt.Sprintf("r%02d", i), "gpt-4o", "2024-08-06", ptu.ProvisionedManaged, 50)
			if err == nil {
				mu.Lock()
				regionalOK++
				mu.Unlock()
			} else if c := ptu.ErrorCode(err); c != ptu.CodeInsufficientCapacity {
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 33 {
		t.Fatalf("%d global deployments succeeded, want 33 (495 of 500 PTUs)", ok)
	}
	if used, _ := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); used != 495 {
		t.Fatalf("usage = %d, want 495", used)
	}
	if regionalOK != 1 {
		t.Fatalf("%d regional deployments fit a 50-PTU pool, want 1", regionalOK)
	}
	pools, _ := f.svc.ListPools(f.ctx)
	for _, p := range pools {
		if p.Allocated > p.RatedPTU {
			t.Fatalf("pool %s oversubscribed: %d > %d", p.ID, p.Allocated, p.RatedPTU)
		}
	}
}

func TestQuotaRequestApprovalRaisesLimit(t *testing.T) {
	f := newFixture(t)
	q, err := f.svc.CreateQuotaRequest(f.ctx, sub, control.QuotaRequestInput{Location: "eastus", SKUName: "globalprovisionedmanaged", Limit: 800, Reason: "launch"})
	if err != nil {
		t.Fatal(err)
	}
	if q.State != ptu.QuotaRequestPending || q.SKUName != ptu.GlobalProvisionedManaged {
		t.Fatalf("request = %+v", q)
	}
	if _, limit := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); limit != 500 {
		t.Fatalf("limit before approval = %d", limit)
	}
	if _, err := f.svc.DecideQuotaRequest(f.ctx, q.ID, true, "ok"); err != nil {
		t.Fatal(err)
	}
	if _, limit := f.usage(t, "eastus", ptu.GlobalProvisionedManaged); limit != 800 {
		t.Fatalf("limit after approval = %d, want 800", limit)
	}
	_, err = f.svc.DecideQuotaRequest(f.ctx, q.ID, false, "again")
	wantCode(t, err, ptu.CodeConflict)

	r, _ := f.svc.CreateQuotaRequest(f.ctx, sub, control.QuotaRequestInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Limit: 900, Reason: "more"})
	if _, err := f.svc.DecideQuotaRequest(f.ctx, r.ID, false, "no capacity"); err != nil {
		t.Fatal(err)
	}
	if _, limit := f.usage(t, "eastus", ptu.ProvisionedManaged); limit != 500 {
		t.Fatalf("rejected request changed the limit to %d", limit)
	}
	_, err = f.svc.CreateQuotaRequest(f.ctx, sub, control.QuotaRequestInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Limit: 100, Reason: "less"})
	wantCode(t, err, ptu.CodeInvalidRequestContent)
}

func TestPoolRatingChangeKeepsAllocations(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "east", "eastus")
	if _, err := f.deploy("rg", "east", "dep-a", "gpt-4", "0613", ptu.ProvisionedManaged, 200); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.SetPoolRating(f.ctx, "eastus/gpt-4/0613", 100)
	if err != nil {
		t.Fatal(err)
	}
	if p.Allocated != 200 || p.Free != 0 {
		t.Fatalf("pool = %+v", p)
	}
	if d, err := f.svc.GetDeployment(f.ctx, sub, "rg", "east", "dep-a"); err != nil || d.Allocations[0].PTU != 200 {
		t.Fatalf("deployment lost its allocation: %+v %v", d, err)
	}
	_, err = f.deploy("rg", "east", "dep-b", "gpt-4", "0613", ptu.ProvisionedManaged, 100)
	wantCode(t, err, ptu.CodeInsufficientCapacity)
	// Scaling down releases down to the new rating: nothing is free yet.
	if _, err := f.deploy("rg", "east", "dep-a", "gpt-4", "0613", ptu.ProvisionedManaged, 100); err != nil {
		t.Fatal(err)
	}
	_, err = f.deploy("rg", "east", "dep-b", "gpt-4", "0613", ptu.ProvisionedManaged, 100)
	wantCode(t, err, ptu.CodeInsufficientCapacity)
	if _, err := f.svc.SetPoolRating(f.ctx, "eastus/gpt-4/0613", 200); err != nil {
		t.Fatal(err)
	}
	if _, err := f.deploy("rg", "east", "dep-b", "gpt-4", "0613", ptu.ProvisionedManaged, 100); err != nil {
		t.Fatal(err)
	}
}

func TestAccountRules(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "acct", "eastus")
	tests := []struct {
		rg, name string
		in       control.AccountInput
		code     string
	}{
		{"rg", "a", control.AccountInput{Location: "eastus"}, ptu.CodeInvalidResourceName},
		{"rg", "-bad", control.AccountInput{Location: "eastus"}, ptu.CodeInvalidResourceName},
		{"rg.", "good", control.AccountInput{Location: "eastus"}, ptu.CodeInvalidResourceName},
		{"rg", "good", control.AccountInput{Location: "mars"}, ptu.CodeLocationNotAvailable},
		{"rg", "good", control.AccountInput{Location: "eastus", Kind: "Speech"}, ptu.CodeInvalidResourceProperties},
		{"rg", "good", control.AccountInput{Location: "eastus", SKU: "F0"}, ptu.CodeInvalidSKU},
		{"rg2", "other", control.AccountInput{Location: "eastus", CustomSubDomain: "ACCT"}, ptu.CodeCustomDomainInUse},
		{"rg", "acct", control.AccountInput{Location: "westus3"}, ptu.CodeConflict},
	}
	for _, tt := range tests {
		_, _, err := f.svc.PutAccount(f.ctx, sub, tt.rg, tt.name, tt.in)
		wantCode(t, err, tt.code)
	}
	_, _, err := f.svc.PutAccount(f.ctx, "00000000-0000-0000-0000-00000000ffff", "rg", "good", control.AccountInput{Location: "eastus"})
	wantCode(t, err, ptu.CodeSubscriptionNotFound)
	accts, _ := f.svc.ListAccounts(f.ctx, sub, "")
	if len(accts) != 1 {
		t.Fatalf("refused accounts were created: %d accounts", len(accts))
	}
	// Resource groups match case-insensitively, as in ARM.
	if _, err := f.svc.GetAccount(f.ctx, sub, "RG", "ACCT"); err != nil {
		t.Fatal(err)
	}
	old, _ := f.svc.GetAccount(f.ctx, sub, "rg", "acct")
	nw, err := f.svc.RegenerateKey(f.ctx, sub, "rg", "acct", "key1")
	if err != nil || nw.Key1 == old.Key1 || nw.Key2 != old.Key2 {
		t.Fatalf("regenerate key1: %v", err)
	}
}

func TestSpilloverTargetRules(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "acct", "eastus")
	capacity, std := 15, "std"
	in := control.DeploymentInput{Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged,
		Capacity: &capacity, SpilloverDeploymentName: &std}
	_, _, err := f.svc.PutDeployment(f.ctx, sub, "rg", "acct", "ptu", in)
	wantCode(t, err, ptu.CodeInvalidResourceProperties)
	if _, err := f.deploy("rg", "acct", "std", "gpt-4o", "2024-08-06", ptu.GlobalStandard, 10); err != nil {
		t.Fatal(err)
	}
	d, _, err := f.svc.PutDeployment(f.ctx, sub, "rg", "acct", "ptu", in)
	if err != nil || d.SpilloverDeploymentName != "std" {
		t.Fatalf("spillover: %+v %v", d, err)
	}
	_, err = f.svc.DeleteDeployment(f.ctx, sub, "rg", "acct", "std")
	wantCode(t, err, ptu.CodeConflict)
}

func TestRAIPolicyMustExist(t *testing.T) {
	f := newFixture(t)
	f.account(t, "rg", "acct", "eastus")
	capacity := 15
	in := control.DeploymentInput{Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged,
		Capacity: &capacity, RAIPolicyName: "strict"}
	_, _, err := f.svc.PutDeployment(f.ctx, sub, "rg", "acct", "dep", in)
	wantCode(t, err, ptu.CodeInvalidResourceProperties)
	if _, _, err := f.svc.PutRAIPolicy(f.ctx, sub, "rg", "acct", "strict", control.RAIPolicyInput{}); err != nil {
		t.Fatal(err)
	}
	d, _, err := f.svc.PutDeployment(f.ctx, sub, "rg", "acct", "dep", in)
	if err != nil || d.RAIPolicyName != "strict" {
		t.Fatalf("deployment with an existing policy: %+v %v", d.RAIPolicyName, err)
	}
	in.RAIPolicyName = "Microsoft.DefaultV2" // built in: always there
	if _, _, err := f.svc.PutDeployment(f.ctx, sub, "rg", "acct", "dep", in); err != nil {
		t.Fatal(err)
	}
}
