package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// Series is what every replica writes: metric points and token counts.
type Series interface {
	ptu.MetricStore
	ptu.UsageStore
}

// RunShared runs the part of the contract about writers on separate handles
// of one database, as separate replicas are: metric points and token counts
// written concurrently through both merge exactly, and deleting old points
// meanwhile takes only those. open returns two handles on one new, empty
// database and closes them when the subtest ends (t.Cleanup).
func RunShared(t *testing.T, open func(t *testing.T) (Series, Series)) {
	t.Run("ConcurrentMetricPoints", func(t *testing.T) { testConcurrentMetricPoints(t, open) })
	t.Run("ConcurrentTokenUsage", func(t *testing.T) { testConcurrentTokenUsage(t, open) })
}

const (
	sharedWriters = 6 // per handle
	sharedBatches = 5 // per writer
	sharedKeys    = 4 // per batch
)

// runWriters runs sharedWriters goroutines per handle, each calling write
// sharedBatches times, and fails the test on any error.
func runWriters(t *testing.T, a, b Series, write func(s Series, writer, batch int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 2*sharedWriters*sharedBatches)
	for w := range 2 * sharedWriters {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range sharedBatches {
				if err := write(s, w, i); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
}

func testConcurrentMetricPoints(t *testing.T, open func(t *testing.T) (Series, Series)) {
	a, b := open(t)
	// Points an hour old, deleted while the writers run.
	old := metricPoint("AzureOpenAIRequests", "dep1", metricMinute.Add(-time.Hour), time.Minute, 1, 1, 1, 1)
	must(t, a.AddMetricPoints(t.Context(), []ptu.MetricPoint{old}))
	deleted := make(chan int, 1)
	go func() {
		n, err := b.DeleteMetricsBefore(t.Context(), metricMinute)
		if err != nil {
			t.Errorf("DeleteMetricsBefore: %v", err)
		}
		deleted <- n
	}()

	// Every batch holds the same keys, in an order and casing of its own;
	// writer w's value in batch i is w*sharedBatches+i.
	runWriters(t, a, b, func(s Series, w, i int) error {
		v := float64(w*sharedBatches + i)
		var batch []ptu.MetricPoint
		for k := range sharedKeys {
			key := (k + w) % sharedKeys
			p := metricPoint("AzureOpenAIRequests", fmt.Sprintf("dep%d", key), metricMinute, time.Minute, 1, v, v, v)
			if w%2 == 1 {
				p.Resource = strings.ToUpper(p.Resource)
			}
			batch = append(batch, p)
		}
		return s.AddMetricPoints(t.Context(), batch)
	})
	if n := <-deleted; n != 1 {
		t.Errorf("DeleteMetricsBefore deleted %d points, want the 1 old one", n)
	}

	const n = 2 * sharedWriters * sharedBatches
	var want []ptu.MetricPoint
	for k := range sharedKeys {
		want = append(want, metricPoint("AzureOpenAIRequests", fmt.Sprintf("dep%d", k), metricMinute, time.Minute,
			n, n*(n-1)/2, 0, n-1))
	}
	got := queryMetrics(t, a, ptu.MetricFilter{Resource: metricResource})
	// The casing first written is kept: whichever handle got there first.
	for i := range got {
		if strings.EqualFold(got[i].Resource, metricResource) {
			got[i].Resource = metricResource
		}
	}
	equal(t, "points merged from both handles", got, want)
}

func testConcurrentTokenUsage(t *testing.T, open func(t *testing.T) (Series, Series)) {
	a, b := open(t)
	runWriters(t, a, b, func(s Series, w, i int) error {
		var rows []ptu.TokenUsage
		for k := range sharedKeys {
			key := (k + w) % sharedKeys
			u := tokenUsage("RG1", "Acct1", fmt.Sprintf("Dep%d", key), billingHour, 1, int64(w*sharedBatches+i), 1, 2)
			if w%2 == 1 {
				u.AccountName = "ACCT1"
			}
			rows = append(rows, u)
		}
		return s.AddTokenUsage(t.Context(), rows)
	})

	const n = 2 * sharedWriters * sharedBatches
	var want []ptu.TokenUsage
	for k := range sharedKeys {
		u := tokenUsage("RG1", "Acct1", fmt.Sprintf("Dep%d", k), billingHour, n, n*(n-1)/2, n, 2*n)
		want = append(want, u)
	}
	got := listTokenUsage(t, b, ptu.TokenUsageFilter{SubscriptionID: sub1})
	// The casing first written is kept: whichever handle got there first.
	for i := range got {
		if strings.EqualFold(got[i].AccountName, "acct1") {
			got[i].AccountName = "Acct1"
		}
	}
	equal(t, "token counts added from both handles", got, want)
}
