package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/control"
)

// billingEnv is the ARM handler with billing, over newEnv's store and clock.
func billingEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	bill := billing.New(e.store, e.svc.Catalog(), billing.Options{Now: e.clock.Now})
	e.h = arm.New(arm.ServicesOf(e.svc), arm.Options{AdminToken: adminToken, Logger: slog.New(slog.DiscardHandler), Billing: bill})
	return e
}

// TestBillingShapes runs the billing routes in order against one server and
// compares each answer with arm/testdata/billing/<name>.json (regenerate with
// go test ./arm -run TestBillingShapes -update). Reservation ids are random:
// the n-th one created reads {reservationN}.
func TestBillingShapes(t *testing.T) {
	e := billingEnv(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e.clock.Set(start)
	if _, _, err := e.svc.PutAccount(ctx, subID, "rg1", "acct1", control.AccountInput{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	capacity := 200
	if _, _, err := e.svc.PutDeployment(ctx, subID, "rg1", "acct1", "gpt-4o-ptu", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.ProvisionedManaged, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	cs := "/providers/Microsoft.CognitiveServices"
	res := subPath(cs + "/reservations")
	steps := []struct {
		name         string
		at           time.Duration // after start
		method, path string
		body         string
	}{
		{"pricing-list", 0, "GET", cs + "/pricing?modelName=gpt-4o", ""},
		{"pricing-quote", 0, "GET", cs + "/pricing/quote?modelFormat=OpenAI&modelName=gpt-4o&skuName=ProvisionedManaged&capacity=200", ""},
		{"pricing-quote-standard", 0, "GET", cs + "/pricing/quote?modelName=gpt-4o&skuName=GlobalStandard&capacity=10", ""},
		{"pricing-quote-bad-size", 0, "GET", cs + "/pricing/quote?modelName=gpt-4o&skuName=ProvisionedManaged&capacity=75", ""},
		{"pricing-quote-no-capacity", 0, "GET", cs + "/pricing/quote?modelName=gpt-4o&skuName=ProvisionedManaged", ""},
		{"reservation-too-large", time.Minute, "POST", res,
			`{"location":"eastus","skuName":"ProvisionedManaged","quantity":300,"term":"P1M","billingPlan":"Monthly"}`},
		{"reservation-purchase", time.Minute, "POST", res,
			`{"displayName":"eastus regional","location":"eastus","skuName":"ProvisionedManaged","quantity":150,"term":"P1M","billingPlan":"Monthly","autoRenew":false}`},
		{"reservation-scope-mismatch", time.Minute, "POST", res,
			`{"appliedScopeType":"ResourceGroup","location":"eastus","skuName":"ProvisionedManaged","quantity":50,"term":"P1Y"}`},
		{"reservation-forced", 2 * time.Minute, "POST", res,
			`{"appliedScopeType":"ResourceGroup","resourceGroup":"rg1","location":"eastus","skuName":"ProvisionedManaged","quantity":100,"term":"P1Y","billingPlan":"Upfront","force":true}`},
		{"reservation-list", 3 * time.Minute, "GET", res, ""},
		{"reservation-renew", 3 * time.Minute, "PATCH", res + "/{reservation1}", `{"properties":{"autoRenew":true}}`},
		{"usage-hourly", 3 * time.Hour, "GET", subPath(cs + "/billing/usage?from=2026-03-01T09:00:00Z&to=2026-03-01T11:00:00Z&granularity=Hourly"), ""},
		{"usage-by-account", 3 * time.Hour, "GET", subPath(cs + "/billing/usage?from=2026-03-01&to=2026-03-01T12:00:00Z&granularity=None&groupBy=Account"), ""},
		{"usage-bad-from", 3 * time.Hour, "GET", subPath(cs + "/billing/usage?from=yesterday"), ""},
		{"reservation-cancel", 3 * time.Hour, "POST", res + "/{reservation2}/cancel", ""},
		{"reservation-cancel-again", 3 * time.Hour, "POST", res + "/{reservation2}/cancel", ""},
		{"billing-reservations", 4 * time.Hour, "GET", subPath(cs + "/billing/reservations?from=2026-03-01&to=2026-03-01T13:00:00Z&granularity=None"), ""},
		{"reservation-get-unknown", 4 * time.Hour, "GET", res + "/00000000-0000-0000-0000-00000000dead", ""},
	}
	var ids []string
	for _, st := range steps {
		e.clock.Set(start.Add(st.at))
		path := st.path
		for i, id := range ids {
			path = strings.ReplaceAll(path, fmt.Sprintf("{reservation%d}", i+1), id)
		}
		rec := e.do(st.method, q(path), st.body)
		var probe struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		if rec.Code == http.StatusCreated && json.Unmarshal(rec.Body.Bytes(), &probe) == nil && probe.Type == "Microsoft.CognitiveServices/reservations" {
			ids = append(ids, probe.Name)
		}
		body := rec.Body.String()
		for i, id := range ids {
			body = strings.ReplaceAll(body, id, fmt.Sprintf("{reservation%d}", i+1))
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, []byte(body), "", "  "); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", st.name, err, body)
		}
		got := fmt.Sprintf("%d %s\n%s\n", rec.Code, http.StatusText(rec.Code), ind.String())
		file := filepath.Join("testdata", "billing", st.name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test ./arm -run TestBillingShapes -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", st.name, file, got, want)
		}
	}
}

// TestBillingDisabled: without a billing service the routes are not there.
func TestBillingDisabled(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", q("/providers/Microsoft.CognitiveServices/pricing"), "")
	if rec.Code != http.StatusNotFound || decodeError(t, rec.Body.Bytes()).Error.Code != ptu.CodeNotFound {
		t.Errorf("pricing without billing: %d %s", rec.Code, rec.Body)
	}
}
