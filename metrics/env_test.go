package metrics_test

import (
	"context"
	"errors"
	"github.com/ptu-dev/ptu/internal/testenv"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/metrics"
	"github.com/ptu-dev/ptu/sqlite"
)

// t0 is a minute start; tests place calls at offsets from it.
var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = testenv.Log

// flakyStore fails the next `fail` writes, then passes them to the store.
type flakyStore struct {
	ptu.MetricStore
	mu   sync.Mutex
	fail int
}

func (s *flakyStore) failing() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("store unavailable")
	}
	return nil
}

func (s *flakyStore) AddMetricPoints(ctx context.Context, points []ptu.MetricPoint) error {
	if err := s.failing(); err != nil {
		return err
	}
	return s.MetricStore.AddMetricPoints(ctx, points)
}

func (s *flakyStore) DeleteMetricsBefore(ctx context.Context, t time.Time) (int, error) {
	if err := s.failing(); err != nil {
		return 0, err
	}
	return s.MetricStore.DeleteMetricsBefore(ctx, t)
}

type env struct {
	t      *testing.T
	grace  time.Duration
	clock  *clock.Fake
	store  *flakyStore
	rec    *metrics.Recorder
	reader *metrics.Reader
	logs   *syncBuffer
}

func newEnv(t *testing.T, opt metrics.Options) *env {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The recorder starts an hour before t0, so calls may arrive before t0.
	e := &env{t: t, clock: clock.NewFake(t0.Add(-time.Hour)), store: &flakyStore{MetricStore: db}, logs: &syncBuffer{}}
	opt.Store, opt.Now = e.store, e.clock.Now
	if opt.Grace == 0 {
		opt.Grace = time.Minute
	}
	e.grace = opt.Grace
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(e.logs, nil))
	}
	e.rec = metrics.NewRecorder(opt)
	e.reader = metrics.NewReader(e.store, metrics.ReaderOptions{Now: e.clock.Now, Retention: opt.Retention})
	return e
}

var account = ptu.Account{SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "rg1", Name: "acct1",
	Location: "eastus", CustomSubDomain: "acct1"}

// deployment is a 15-PTU gpt-4o deployment: 37,500 input-equivalent tokens per minute.
func deployment(name string) ptu.Deployment {
	return ptu.Deployment{SubscriptionID: account.SubscriptionID, ResourceGroup: account.ResourceGroup, AccountName: account.Name,
		Name: name, Region: "eastus", Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"},
		SKUName: ptu.GlobalProvisionedManaged, Capacity: 15}
}

const capacity = 37_500.0

// call is a successful call of dep costing cost input-equivalent tokens.
func call(dep string, cost float64) ptu.CallRecord {
	return ptu.CallRecord{RequestID: "req-" + dep, Account: account, Deployment: deployment(dep), Operation: "ChatCompletions_Create",
		Status: 200, CallUsage: ptu.CallUsage{PromptTokens: 100, CompletionTokens: 10}, Estimate: cost, Actual: cost,
		TimeToFirstToken: 200 * time.Millisecond, Duration: 1200 * time.Millisecond}
}

// recordAt records r with the clock at t.
func (e *env) recordAt(t time.Time, r ptu.CallRecord) {
	e.clock.Set(t)
	e.rec.Record(r)
}

// flushAt flushes the minutes before t: the clock is set to t plus the
// grace period.
func (e *env) flushAt(t time.Time) {
	e.t.Helper()
	e.clock.Set(t.Add(e.grace))
	if err := e.rec.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// query parses p as the API would and runs it.
func (e *env) query(p metrics.Params) *metrics.Result {
	e.t.Helper()
	q, err := metrics.ParseQuery(p, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.reader.Query(context.Background(), account.ID(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func span(from, to time.Time) string {
	return from.Format(time.RFC3339) + "/" + to.Format(time.RFC3339)
}
