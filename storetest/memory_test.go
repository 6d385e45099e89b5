package storetest_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/storetest"
)

// memory keeps metric points, token usage and the activity log in maps: the
// data stores are small enough for a fake to pass their suites, which also
// shows the suites ask nothing of SQL.
type memory struct {
	mu       sync.Mutex
	points   map[string]*ptu.MetricPoint
	usage    map[string]*ptu.TokenUsage
	activity []ptu.ActivityEvent // in the order added
}

var (
	_ ptu.MetricStore = (*memory)(nil)
	_ ptu.UsageStore  = (*memory)(nil)
	_ ptu.ActivityLog = (*memory)(nil)
)

func newMemory() *memory {
	return &memory{points: map[string]*ptu.MetricPoint{}, usage: map[string]*ptu.TokenUsage{}}
}

// key joins names, case-insensitively.
func key(parts ...any) string { return strings.ToLower(fmt.Sprint(parts...)) }

// ceilUnix is the least whole second not before t.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

func (m *memory) AddMetricPoints(_ context.Context, points []ptu.MetricPoint) error {
	for _, p := range points {
		if p.Resource == "" || p.Metric == "" || p.Grain <= 0 || p.Grain%time.Second != 0 ||
			p.Time.Nanosecond() != 0 || p.Time.Unix()%int64(p.Grain/time.Second) != 0 {
			return fmt.Errorf("invalid metric point %+v", p)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range points {
		k := key(p.Resource, "|", p.Metric, "|", p.Dimensions, "|", p.Grain, "|", p.Time.Unix())
		if q := m.points[k]; q != nil {
			q.Merge(p)
			continue
		}
		p.Time = p.Time.UTC()
		m.points[k] = &p
	}
	return nil
}

func (m *memory) QueryMetrics(_ context.Context, f ptu.MetricFilter) ([]ptu.MetricPoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ptu.MetricPoint
	for _, p := range m.points {
		t := p.Time.Unix()
		if strings.EqualFold(p.Resource, f.Resource) && (f.Grain == 0 || p.Grain == f.Grain) &&
			(len(f.Metrics) == 0 || slices.Contains(f.Metrics, p.Metric)) &&
			(f.From.IsZero() || t >= ceilUnix(f.From)) && (f.To.IsZero() || t < ceilUnix(f.To)) {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b ptu.MetricPoint) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), cmp.Compare(key(a.Dimensions), key(b.Dimensions)),
			cmp.Compare(a.Grain, b.Grain), a.Time.Compare(b.Time))
	})
	return out, nil
}

func (m *memory) DeleteMetricsBefore(_ context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, p := range m.points {
		if p.Time.Unix() < ceilUnix(before) {
			delete(m.points, k)
			n++
		}
	}
	return n, nil
}

func (m *memory) AddTokenUsage(_ context.Context, rows []ptu.TokenUsage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range rows {
		k := key(u.SubscriptionID, "|", u.ResourceGroup, "|", u.AccountName, "|", u.Deployment, "|", u.Region, "|",
			u.Model.Name, "|", u.Model.Version, "|", u.SKUName, "|", u.Hour.Unix())
		if v := m.usage[k]; v != nil {
			v.Calls += u.Calls
			v.PromptTokens += u.PromptTokens
			v.CachedTokens += u.CachedTokens
			v.CompletionTokens += u.CompletionTokens
			continue
		}
		u.Hour = u.Hour.UTC()
		m.usage[k] = &u
	}
	return nil
}

func (m *memory) ListTokenUsage(_ context.Context, f ptu.TokenUsageFilter) ([]ptu.TokenUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	match := func(filter, v string) bool { return filter == "" || strings.EqualFold(filter, v) }
	var out []ptu.TokenUsage
	for _, u := range m.usage {
		if strings.EqualFold(u.SubscriptionID, f.SubscriptionID) && match(f.ResourceGroup, u.ResourceGroup) &&
			match(f.Account, u.AccountName) && match(f.Deployment, u.Deployment) &&
			(f.From.IsZero() || !u.Hour.Before(f.From)) && (f.To.IsZero() || u.Hour.Before(f.To)) {
			out = append(out, *u)
		}
	}
	slices.SortFunc(out, func(a, b ptu.TokenUsage) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(key(a.ResourceGroup), key(b.ResourceGroup)),
			cmp.Compare(key(a.AccountName), key(b.AccountName)), cmp.Compare(key(a.Deployment), key(b.Deployment)),
			cmp.Compare(a.SKUName, b.SKUName), cmp.Compare(a.Model.Name, b.Model.Name),
			cmp.Compare(a.Model.Version, b.Model.Version), cmp.Compare(key(a.Region), key(b.Region)))
	})
	return out, nil
}

func (m *memory) AddActivityEvent(_ context.Context, e ptu.ActivityEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Time = e.Time.UTC()
	m.activity = append(m.activity, e)
	return nil
}

func (m *memory) ListActivityEvents(_ context.Context, f ptu.ActivityFilter) ([]ptu.ActivityEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ptu.ActivityEvent
	for i := len(m.activity) - 1; i >= 0; i-- { // newest added first
		e := m.activity[i]
		if (f.SubscriptionID == "" || strings.EqualFold(f.SubscriptionID, e.SubscriptionID)) &&
			(f.ResourceGroup == "" || strings.EqualFold(f.ResourceGroup, e.ResourceGroup)) &&
			(f.From.IsZero() || !e.Time.Before(f.From)) && (f.To.IsZero() || !e.Time.After(f.To)) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b ptu.ActivityEvent) int { return b.Time.Compare(a.Time) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memory) DeleteActivityEventsBefore(_ context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.activity[:0]
	for _, e := range m.activity {
		if !e.Time.Before(before) {
			kept = append(kept, e)
		}
	}
	n := len(m.activity) - len(kept)
	m.activity = kept
	return n, nil
}

func TestMemory(t *testing.T) {
	t.Run("Metrics", func(t *testing.T) {
		storetest.RunMetrics(t, func(*testing.T) ptu.MetricStore { return newMemory() })
	})
	t.Run("Usage", func(t *testing.T) {
		storetest.RunUsage(t, func(*testing.T) ptu.UsageStore { return newMemory() })
	})
	t.Run("Activity", func(t *testing.T) {
		storetest.RunActivity(t, func(*testing.T) ptu.ActivityLog { return newMemory() })
	})
	t.Run("Shared", func(t *testing.T) {
		storetest.RunShared(t, func(*testing.T) (storetest.Series, storetest.Series) {
			m := newMemory()
			return m, m
		})
	})
}
