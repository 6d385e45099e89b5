package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ptu-dev/ptu"
)

// entryTTL is how long a deployment's entry outlives its last call, as its
// gauges do (deploymentInfo).
const entryTTL = time.Hour

// deploymentKey is what a call's deploymentEntry is found by: the names its
// resource ids are made of (the account's, and the deployment's own, which
// name the same account) and the account label of its series. Everything an
// entry holds follows from these names alone, so a deployment deleted and
// created again under the same names rightly shares the entry of the old
// one, and an account renamed, or re-created with another custom subdomain,
// gets a new one.
type deploymentKey struct {
	account    resourceNames // of rec.Account: the points' resource
	deployment resourceNames // of rec.Deployment: the limiter key
	name       string        // the deployment's
	label      string        // the account label of its series
}

// resourceNames name an account.
type resourceNames struct{ subscription, group, account string }

// deploymentEntry holds what recording a call derives from its deployment's
// names, made once and reused by the calls that follow: the resource id of
// its points, its limiter key and its Prometheus series.
type deploymentEntry struct {
	resource string // the account's ARM id
	key      string // the deployment's ARM id lower-cased, its limiter key
	series   deploymentSeries
	slots    pointSlots
	lastUsed time.Time // by the Recorder's clock
}

// Slots of pointSlots.points: the metrics a call samples with its
// deployment's base dimensions.
const (
	slotPrompt = iota
	slotGenerated
	slotInference
	slotActive
	slotCacheMatch
	slotLastByte
	slotBetweenTokens
	slotTokensPerSecond
	nSlots
)

// pointSlots cache, for one deployment, the points its calls sampled last
// with its base dimensions and its utilization tracks, so that the next
// call of the same minute finds them without hashing their keys (a key
// holds ten strings). They hold for one minute and one set of base
// dimensions (a deployment's model version may change under its name), and
// only until the next close, which deletes points and tracks.
type pointSlots struct {
	closes uint64
	minute time.Time
	base   ptu.MetricDimensions
	points [nSlots]*ptu.MetricPoint
	tracks [3]*track // base, non-streaming, streaming
}

// of returns s emptied unless it was filled for minute and base after the
// closes-th close. Minutes compare with ==, as the keys of the map of
// minutes do.
func (s *pointSlots) of(closes uint64, minute time.Time, base ptu.MetricDimensions) *pointSlots {
	if s.closes != closes || s.minute != minute || s.base != base {
		*s = pointSlots{closes: closes, minute: minute, base: base}
	}
	return s
}

// entry returns the entry of rec's deployment, made on its first call. r.mu
// is held.
func (r *Recorder) entry(rec ptu.CallRecord, label string, now time.Time) *deploymentEntry {
	d := rec.Deployment
	a := rec.Account
	k := deploymentKey{resourceNames{a.SubscriptionID, a.ResourceGroup, a.Name},
		resourceNames{d.SubscriptionID, d.ResourceGroup, d.AccountName}, d.Name, label}
	e := r.entries[k]
	if e == nil {
		e = &deploymentEntry{resource: a.ID(), key: strings.ToLower(d.ID())}
		r.entries[k] = e
	}
	e.lastUsed = now
	return e
}

// pruneEntries forgets the entries of deployments not called within
// entryTTL, so that the cache holds only deployments in use. r.mu is held.
func (r *Recorder) pruneEntries(now time.Time) {
	for k, e := range r.entries {
		if now.Sub(e.lastUsed) > entryTTL {
			delete(r.entries, k)
		}
	}
}

// deploymentSeries are the Prometheus children of one deployment's series,
// each bound to its label values when a call first needs it, as
// WithLabelValues would create it then, so that no series shows before its
// first call. The bounded label values (status code, stream, cut reason)
// select among them. A forgotten entry loses nothing: WithLabelValues
// returns the same child again.
type deploymentSeries struct {
	requests  map[requestLabels]prometheus.Counter
	throttled prometheus.Counter
	spilled   map[int]prometheus.Counter
	cut       map[string]prometheus.Counter
	tokens    *[3]prometheus.Counter // prompt, cached, completion
	consumed  prometheus.Counter
	duration  [2]prometheus.Observer // by stream: false, true
	ttft      [2]prometheus.Observer
}

type requestLabels struct {
	status int
	stream bool
}

// callSeries are the children one call counts in; nil where it does not.
type callSeries struct {
	requests, throttled, spilled, cut, consumed prometheus.Counter
	tokens                                      *[3]prometheus.Counter
	duration, ttft                              prometheus.Observer
}

// series returns the children rec counts in, binding those not bound yet.
// r.mu is held; the children themselves are safe to update without it.
func (p *promMetrics) series(s *deploymentSeries, rec ptu.CallRecord, account string, processed bool) callSeries {
	dep := rec.Deployment.Name
	stream := strconv.FormatBool(rec.Stream)
	var c callSeries
	rl := requestLabels{rec.Status, rec.Stream}
	if c.requests = s.requests[rl]; c.requests == nil {
		c.requests = p.requests.WithLabelValues(account, dep, statusText(rec.Status), stream)
		if s.requests == nil {
			s.requests = map[requestLabels]prometheus.Counter{}
		}
		s.requests[rl] = c.requests
	}
	if rec.Throttled {
		if s.throttled == nil {
			s.throttled = p.throttled.WithLabelValues(account, dep)
		}
		c.throttled = s.throttled
	}
	if rec.IsSpillover {
		if c.spilled = s.spilled[rec.Status]; c.spilled == nil {
			c.spilled = p.spilled.WithLabelValues(account, dep, statusText(rec.Status))
			if s.spilled == nil {
				s.spilled = map[int]prometheus.Counter{}
			}
			s.spilled[rec.Status] = c.spilled
		}
	}
	if rec.Cut != "" {
		if c.cut = s.cut[rec.Cut]; c.cut == nil {
			c.cut = p.cut.WithLabelValues(account, dep, rec.Cut)
			if s.cut == nil {
				s.cut = map[string]prometheus.Counter{}
			}
			s.cut[rec.Cut] = c.cut
		}
	}
	if processed {
		if s.tokens == nil {
			s.tokens = &[3]prometheus.Counter{p.tokens.WithLabelValues(account, dep, "prompt"),
				p.tokens.WithLabelValues(account, dep, "cached"), p.tokens.WithLabelValues(account, dep, "completion")}
		}
		c.tokens = s.tokens
	}
	if rec.Actual > 0 {
		if s.consumed == nil {
			s.consumed = p.consumed.WithLabelValues(account, dep)
		}
		c.consumed = s.consumed
	}
	i := 0
	if rec.Stream {
		i = 1
	}
	if s.duration[i] == nil {
		s.duration[i] = p.duration.WithLabelValues(account, dep, stream)
	}
	c.duration = s.duration[i]
	if rec.Status == http.StatusOK && rec.TimeToFirstToken > 0 {
		if s.ttft[i] == nil {
			s.ttft[i] = p.ttft.WithLabelValues(account, dep, stream)
		}
		c.ttft = s.ttft[i]
	}
	return c
}

// observe counts rec in the children of c.
func (c callSeries) observe(rec ptu.CallRecord) {
	c.requests.Inc()
	if c.throttled != nil {
		c.throttled.Inc()
	}
	if c.spilled != nil {
		c.spilled.Inc()
	}
	if c.cut != nil {
		c.cut.Inc()
	}
	if c.tokens != nil {
		c.tokens[0].Add(float64(rec.PromptTokens))
		c.tokens[1].Add(float64(rec.CachedTokens))
		c.tokens[2].Add(float64(rec.CompletionTokens))
	}
	if c.consumed != nil {
		c.consumed.Add(rec.Actual)
	}
	c.duration.Observe(rec.Duration.Seconds())
	if c.ttft != nil {
		c.ttft.Observe(rec.TimeToFirstToken.Seconds())
	}
}

// statusTexts are the decimal forms of the HTTP status codes, made once.
var statusTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// statusText is strconv.Itoa(code) without an allocation for the codes HTTP
// uses.
func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
