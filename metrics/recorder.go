package metrics

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/leaky"
)

// Defaults of Options.
const (
	DefaultRetention  = 30 * 24 * time.Hour
	DefaultFlushEvery = 10 * time.Second
	DefaultGrace      = 2 * time.Minute
)

// sliceLen is the sampling period of utilization: Maximum and Minimum are
// taken over one-minute windows ending every sliceLen.
const sliceLen = 10 * time.Second

// pruneEvery is how often (by the injected clock) points past retention are deleted.
const pruneEvery = time.Hour

// maxPending bounds the points kept for retry while the store fails.
const maxPending = 200_000

// Options configure a Recorder.
type Options struct {
	Store   ptu.MetricStore
	Catalog *catalog.Catalog // capacity of deployments (PTUs × input TPM per PTU)
	// Limiter is read at each Prometheus scrape for the bucket level gauge; optional.
	Limiter leaky.Limiter
	// Logger receives flush errors; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock minutes are cut by; time.Now when nil.
	Now func() time.Time
	// Retention is how long points are kept; DefaultRetention when 0.
	Retention time.Duration
	// FlushEvery is how often Run writes finished minutes, in real time;
	// DefaultFlushEvery when 0.
	FlushEvery time.Duration
	// Grace is how long after its end a minute waits for the calls that
	// arrived in it to finish before it is written; DefaultGrace when 0. A
	// call that finishes later counts in the first minute not yet written.
	Grace time.Duration
}

// Recorder counts each inference call for Prometheus and aggregates it into
// per-minute metric points that Run (or Flush) writes to the store once the
// minute is over.
type Recorder struct {
	opt  Options
	log  *slog.Logger
	prom *promMetrics
	reg  *prometheus.Registry

	flushMu sync.Mutex // one flush at a time

	mu        sync.Mutex
	open      time.Time                                   // minutes before it are closed (written)
	closes    uint64                                      // how many times close has run
	minutes   map[time.Time]map[pointKey]*ptu.MetricPoint // closed-minute-to-be, by minute start
	tracks    map[pointKey]*track                         // utilization slices per deployment (and stream type)
	seen      map[string]*deploymentInfo                  // by limiter key, for the gauges
	entries   map[deploymentKey]*deploymentEntry          // deployments called within entryTTL
	pending   []ptu.MetricPoint                           // a batch the store refused, to retry
	lastPrune time.Time
}

var _ ptu.CallRecorder = (*Recorder)(nil)

// pointKey identifies a point within a minute.
type pointKey struct {
	resource string
	metric   string
	dims     ptu.MetricDimensions
}

// track holds the settled cost of one deployment (and stream type) per
// sampling slice, for the minutes not yet closed and the one before.
type track struct {
	capacity float64               // tokens per minute, the latest seen
	slices   map[time.Time]float64 // slice start -> input-equivalent tokens settled in it
}

// deploymentInfo is what the gauges need to know of a deployment seen lately.
type deploymentInfo struct {
	account, deployment, model, version, sku, region string
	key                                              string  // limiter key
	capacity                                         float64 // tokens per minute
	provisioned                                      bool
	total                                            pointKey // its utilization track
	lastSeen                                         time.Time
}

// NewRecorder returns a Recorder; call Run to write its points.
func NewRecorder(opt Options) *Recorder {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Retention <= 0 {
		opt.Retention = DefaultRetention
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = DefaultFlushEvery
	}
	if opt.Grace <= 0 {
		opt.Grace = DefaultGrace
	}
	if opt.Catalog == nil {
		opt.Catalog = catalog.Default()
	}
	r := &Recorder{
		opt:     opt,
		log:     opt.Logger,
		open:    opt.Now().UTC().Truncate(time.Minute),
		minutes: map[time.Time]map[pointKey]*ptu.MetricPoint{},
		tracks:  map[pointKey]*track{},
		seen:    map[string]*deploymentInfo{},
		entries: map[deploymentKey]*deploymentEntry{},
	}
	r.prom, r.reg = newProm(r)
	return r
}

// Registry is the Prometheus registry the Recorder's metrics (and the Go
// runtime and process metrics) are registered in.
func (r *Recorder) Registry() *prometheus.Registry { return r.reg }

// Handler serves the Prometheus exposition of Registry.
func (r *Recorder) Handler() http.Handler { return promHandler(r.reg) }

// capacity returns a deployment's capacity in input-equivalent tokens per
// minute as admission uses it, and whether it is provisioned.
func (r *Recorder) capacity(d ptu.Deployment) (float64, bool) {
	if !ptu.IsProvisioned(d.SKUName) {
		return float64(d.Capacity) * 1000, false
	}
	m, ok := r.opt.Catalog.Lookup(d.Model.Name, d.Model.Version)
	if !ok {
		return 0, true
	}
	return float64(d.Capacity * m.InputTPMPerPTU), true
}

func streamType(stream bool) string {
	if stream {
		return Streaming
	}
	return NonStreaming
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Record takes one finished call. It counts in the minute the call arrived
// (the Recorder's clock now, less the call's duration), where admission
// charged it: see the package documentation.
func (r *Recorder) Record(rec ptu.CallRecord) {
	d := rec.Deployment
	capacity, provisioned := r.capacity(d)
	// Admitted calls that reached a backend: a 200, or a failure that still
	// settled some processing.
	processed := !rec.Throttled && (rec.Status == http.StatusOK || rec.Actual > 0)
	account := rec.Account.CustomSubDomain
	if account == "" {
		account = rec.Account.Name
	}

	series := r.count(rec, account, capacity, provisioned, processed)
	// The children are safe to update without r.mu.
	series.observe(rec)
}

// count adds rec to the minute's points and the gauges' state, and returns
// the Prometheus children it counts in.
func (r *Recorder) count(rec ptu.CallRecord, account string, capacity float64, provisioned, processed bool) callSeries {
	d := rec.Deployment
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opt.Now().UTC()
	e := r.entry(rec, account, now)
	series := r.prom.series(&e.series, rec, account, processed)
	r.points(rec, e, now, capacity, provisioned, processed)
	info := r.seen[e.key]
	if info == nil {
		info = &deploymentInfo{key: e.key}
		r.seen[e.key] = info
	}
	*info = deploymentInfo{account: account, deployment: d.Name, model: d.Model.Name, version: d.Model.Version,
		sku: d.SKUName, region: d.Region, key: e.key, capacity: capacity, provisioned: provisioned,
		total: pointKey{e.resource, Utilization, baseDims(d)}, lastSeen: now}
	return series
}

func baseDims(d ptu.Deployment) ptu.MetricDimensions {
	return ptu.MetricDimensions{Deployment: d.Name, ModelName: d.Model.Name, ModelVersion: d.Model.Version, Region: d.Region}
}

// points adds rec to the points of the minute it arrived in and, for a
// provisioned call, to its utilization slice. r.mu is held.
func (r *Recorder) points(rec ptu.CallRecord, e *deploymentEntry, now time.Time, capacity float64, provisioned, processed bool) {
	c := callPoints{rec: rec, resource: e.resource, status: statusText(rec.Status), base: baseDims(rec.Deployment)}
	c.withStream = c.base
	c.withStream.StreamType = streamType(rec.Stream)
	at := now.Add(-max(rec.Duration, 0))
	if at.Before(r.open) {
		// The call outlasted the grace period of the minute it arrived in
		// (or the clock stepped back): count it in the first open minute.
		at = r.open
	}
	minute := at.Truncate(time.Minute)
	points := r.minutes[minute]
	if points == nil {
		points = map[pointKey]*ptu.MetricPoint{}
		r.minutes[minute] = points
	}
	c.minute, c.points = minute, points
	reqDims := c.withStream
	reqDims.StatusCode, reqDims.IsSpillover, reqDims.Operation = c.status, strconv.FormatBool(rec.IsSpillover), rec.Operation
	c.slots = e.slots.of(r.closes, minute, c.base)
	c.sample(Requests, reqDims, 1)
	if processed {
		c.tokens()
	}
	if rec.Status == http.StatusOK {
		c.latency()
	}
	if provisioned && capacity > 0 && rec.Actual > 0 {
		r.spend(&c, at.Truncate(sliceLen), capacity)
	}
}

// callPoints adds one call's samples to the points of its minute.
type callPoints struct {
	rec              ptu.CallRecord
	resource, status string
	base, withStream ptu.MetricDimensions
	minute           time.Time
	points           map[pointKey]*ptu.MetricPoint
	slots            *pointSlots // the deployment's, for this minute and base
}

// add merges one aggregated sample into the minute's point of metric and
// dims. slot, when not nil, caches that point: the lookup of its key is
// skipped when it is set, and it is set after.
func (c *callPoints) add(slot **ptu.MetricPoint, metric string, dims ptu.MetricDimensions, count, total, lo, hi float64) {
	q := ptu.MetricPoint{Resource: c.resource, Metric: metric, Dimensions: dims, Time: c.minute, Grain: time.Minute,
		Count: count, Total: total, Minimum: lo, Maximum: hi}
	var p *ptu.MetricPoint
	if slot != nil {
		p = *slot
	}
	if p == nil {
		k := pointKey{c.resource, metric, dims}
		if p = c.points[k]; p == nil {
			// A copy, so that only a new point goes to the heap, not every sample.
			p = new(ptu.MetricPoint)
			*p = q
			c.points[k] = p
		} else {
			p.Merge(q)
		}
		if slot != nil {
			*slot = p
		}
		return
	}
	p.Merge(q)
}

func (c *callPoints) sample(metric string, dims ptu.MetricDimensions, v float64) {
	c.add(nil, metric, dims, 1, v, v, v)
}

// sampleBase samples a metric of the base dimensions, whose point the
// deployment's slot i caches.
func (c *callPoints) sampleBase(i int, metric string, v float64) {
	c.add(&c.slots.points[i], metric, c.base, 1, v, v, v)
}

// tokens samples the token counts of a call that reached a backend.
func (c *callPoints) tokens() {
	prompt, cached, completion := float64(c.rec.PromptTokens), float64(c.rec.CachedTokens), float64(c.rec.CompletionTokens)
	c.sampleBase(slotPrompt, PromptTokens, prompt)
	c.sampleBase(slotGenerated, GeneratedTokens, completion)
	c.sampleBase(slotInference, InferenceTokens, prompt+completion)
	c.sampleBase(slotActive, ActiveTokens, prompt+completion-cached)
	if prompt > 0 {
		// Count carries the prompt tokens, so Total/Count is the
		// token-weighted rate.
		rate := 100 * cached / prompt
		c.add(&c.slots.points[slotCacheMatch], CacheMatchRate, c.base, prompt, 100*cached, rate, rate)
	}
}

// latency samples the timings of an answered call.
func (c *callPoints) latency() {
	rec := c.rec
	ttft := rec.TimeToFirstToken
	if ttft > 0 {
		latDims := c.withStream
		latDims.StatusCode, latDims.Operation = c.status, rec.Operation
		c.sample(TimeToResponse, latDims, millis(ttft))
	}
	c.sampleBase(slotLastByte, TimeToLastByte, millis(rec.Duration))
	if gen := rec.Duration - ttft; ttft > 0 && gen > 0 {
		if rec.Stream && rec.CompletionTokens >= 2 {
			c.sampleBase(slotBetweenTokens, TimeBetweenTokens, millis(gen)/float64(rec.CompletionTokens-1))
		}
		if rec.CompletionTokens > 0 {
			c.sampleBase(slotTokensPerSecond, TokensPerSecond, float64(rec.CompletionTokens)/gen.Seconds())
		}
	}
}

// spend adds a provisioned call's cost to its utilization slice, with and
// without the stream dimension. r.mu is held.
func (r *Recorder) spend(c *callPoints, slice time.Time, capacity float64) {
	stream := 1
	if c.rec.Stream {
		stream = 2
	}
	r.spendOn(&c.slots.tracks[0], pointKey{c.resource, Utilization, c.base}, slice, capacity, c.rec.Actual)
	r.spendOn(&c.slots.tracks[stream], pointKey{c.resource, Utilization, c.withStream}, slice, capacity, c.rec.Actual)
}

// spendOn adds cost to the slice of the track of k, which slot caches.
func (r *Recorder) spendOn(slot **track, k pointKey, slice time.Time, capacity, cost float64) {
	t := *slot
	if t == nil {
		if t = r.tracks[k]; t == nil {
			t = &track{slices: map[time.Time]float64{}}
			r.tracks[k] = t
		}
		*slot = t
	}
	t.capacity = capacity
	t.slices[slice] += cost
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// window returns the tokens a track settled in [end-1m, end).
func (t *track) window(end time.Time) float64 {
	sum := 0.0
	for s := end.Add(-time.Minute); s.Before(end); s = s.Add(sliceLen) {
		sum += t.slices[s]
	}
	return sum
}

// utilization returns the minute's utilization point of a track: Total is
// the tokens settled in the minute over its capacity, in percent; Maximum
// and Minimum the highest and lowest one-minute window ending at each
// sampling instant of the minute up to limit. ok is false when the minute
// and its windows are all empty.
func (t *track) utilization(minute, limit time.Time) (avg, lo, hi float64, ok bool) {
	end := minute.Add(time.Minute)
	sum := 0.0
	for s := minute; s.Before(end); s = s.Add(sliceLen) {
		sum += t.slices[s]
	}
	avg = 100 * sum / t.capacity
	lo, hi = avg, avg
	for at := minute.Add(sliceLen); !at.After(end) && !at.After(limit); at = at.Add(sliceLen) {
		v := 100 * t.window(at) / t.capacity
		lo, hi = min(lo, v), max(hi, v)
	}
	return avg, lo, hi, hi > 0
}

// close collects the points of every minute before cutoff (utilization
// windows sampled up to limit) and forgets what no open minute needs. The
// caller holds r.mu.
func (r *Recorder) close(cutoff, limit time.Time) []ptu.MetricPoint {
	r.closes++ // the deployments' pointSlots may point at what is deleted here
	var out []ptu.MetricPoint
	for minute, m := range r.minutes {
		if !minute.Before(cutoff) {
			continue
		}
		for _, p := range m {
			out = append(out, *p)
		}
		delete(r.minutes, minute)
	}
	for k, t := range r.tracks {
		// A slice counts in its own minute and in the windows of the next.
		candidates := map[time.Time]bool{}
		for s := range t.slices {
			for _, m := range []time.Time{s.Truncate(time.Minute), s.Truncate(time.Minute).Add(time.Minute)} {
				if !m.Before(r.open) && m.Before(cutoff) {
					candidates[m] = true
				}
			}
		}
		for minute := range candidates {
			if avg, lo, hi, ok := t.utilization(minute, limit); ok {
				out = append(out, ptu.MetricPoint{Resource: k.resource, Metric: Utilization, Dimensions: k.dims,
					Time: minute, Grain: time.Minute, Count: 1, Total: avg, Minimum: lo, Maximum: hi})
			}
		}
		// The next minute to close starts at cutoff; its windows reach back
		// to cutoff-1m+sliceLen.
		for s := range t.slices {
			if s.Before(cutoff.Add(-time.Minute)) {
				delete(t.slices, s)
			}
		}
		if len(t.slices) == 0 {
			delete(r.tracks, k)
		}
	}
	return out
}

// rollup adds the 5-minute and hourly points each minute point counts in and
// merges points with the same key.
func rollup(points []ptu.MetricPoint) []ptu.MetricPoint {
	type key struct {
		pointKey
		grain time.Duration
		at    time.Time
	}
	merged := map[key]int{}
	var out []ptu.MetricPoint
	for _, p := range points {
		grains := ptu.MetricGrains
		if p.Grain != time.Minute {
			grains = []time.Duration{p.Grain} // a retried batch is rolled up already
		}
		for _, g := range grains {
			q := p
			q.Grain, q.Time = g, p.Time.Truncate(g)
			k := key{pointKey{q.Resource, q.Metric, q.Dimensions}, g, q.Time}
			if i, ok := merged[k]; ok {
				out[i].Merge(q)
				continue
			}
			merged[k] = len(out)
			out = append(out, q)
		}
	}
	return out
}

// Flush writes every minute whose grace period is over to the store, with
// its 5-minute and hourly roll-ups, and deletes points past retention about
// once an hour. A batch the store refuses is kept and retried by the next
// Flush.
func (r *Recorder) Flush(ctx context.Context) error { return r.flush(ctx, false) }

// FlushAll writes every minute recorded so far, those in their grace period
// and the current one included, as at shutdown (Run calls it when it stops).
// A call that finishes afterwards counts in the next minute.
func (r *Recorder) FlushAll(ctx context.Context) error { return r.flush(ctx, true) }

func (r *Recorder) flush(ctx context.Context, all bool) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()

	r.mu.Lock()
	now := r.opt.Now().UTC()
	cutoff := now.Add(-r.opt.Grace).Truncate(time.Minute)
	limit := cutoff
	if all {
		cutoff, limit = now.Truncate(time.Minute).Add(time.Minute), now
	}
	var points []ptu.MetricPoint
	if cutoff.After(r.open) {
		points = r.close(cutoff, limit)
		r.open = cutoff
	}
	batch := append(r.pending, rollup(points)...)
	r.pending = nil
	for k, info := range r.seen {
		if now.Sub(info.lastSeen) > time.Hour {
			delete(r.seen, k)
		}
	}
	r.pruneEntries(now)
	prune := now.Sub(r.lastPrune) >= pruneEvery
	r.mu.Unlock()

	var errs []error
	if len(batch) > 0 {
		if err := r.opt.Store.AddMetricPoints(ctx, batch); err != nil {
			r.mu.Lock()
			if len(batch)+len(r.pending) <= maxPending {
				r.pending = append(batch, r.pending...)
			} else {
				r.log.Error("metrics: dropping points the store keeps refusing", "points", len(batch), "err", err)
			}
			r.mu.Unlock()
			errs = append(errs, err)
		}
	}
	if prune {
		_, err := r.opt.Store.DeleteMetricsBefore(ctx, now.Add(-r.opt.Retention))
		if err == nil {
			r.mu.Lock()
			r.lastPrune = now
			r.mu.Unlock()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run flushes every FlushEvery until ctx is done, then writes what is left
// (FlushAll) and returns. Errors are logged and retried.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opt.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := r.FlushAll(final); err != nil {
				r.log.Error("metrics: final flush failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("metrics: flush failed", "err", err)
			}
		}
	}
}
