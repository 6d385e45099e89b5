package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/internal/clock"
)

// discardStore takes every point and keeps none.
type discardStore struct{ ptu.MetricStore }

func (discardStore) AddMetricPoints(context.Context, []ptu.MetricPoint) error { return nil }
func (discardStore) DeleteMetricsBefore(context.Context, time.Time) (int, error) {
	return 0, nil
}

// The deployment entries are as many as the deployments called within the
// last hour: a flush forgets the others, and a call after that makes the
// entry again, counting on in the same series.
func TestEntriesForgottenAfterAnHour(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	r := NewRecorder(Options{Store: discardStore{}, Now: clk.Now})
	acct := ptu.Account{SubscriptionID: "sub", ResourceGroup: "rg", Name: "acct1", CustomSubDomain: "acct1"}
	call := func(dep string) ptu.CallRecord {
		return ptu.CallRecord{Account: acct, Status: 200, Operation: "ChatCompletions_Create", Duration: time.Second,
			Deployment: ptu.Deployment{SubscriptionID: "sub", ResourceGroup: "rg", AccountName: "acct1", Name: dep,
				Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: 15}}
	}
	entries := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.entries)
	}
	flushAt := func(at time.Time) {
		clk.Set(at)
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	r.Record(call("dep1"))
	r.Record(call("dep2"))
	clk.Set(start.Add(50 * time.Minute))
	r.Record(call("dep2"))
	if n := entries(); n != 2 {
		t.Fatalf("%d entries after calls of 2 deployments", n)
	}
	flushAt(start.Add(61 * time.Minute))
	if n := entries(); n != 1 {
		t.Errorf("%d entries after dep1's hour without calls, want 1", n)
	}
	flushAt(start.Add(111 * time.Minute))
	if n := entries(); n != 0 {
		t.Errorf("%d entries after an hour without calls, want 0", n)
	}

	r.Record(call("dep1"))
	if got := testutil.ToFloat64(r.prom.requests.WithLabelValues("acct1", "dep1", "200", "false")); got != 2 {
		t.Errorf("dep1's requests counter %v after its entry was made again, want 2", got)
	}
}
