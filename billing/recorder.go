package billing

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu"
)

// DefaultFlushEvery is how often Recorder.Run writes token counts.
const DefaultFlushEvery = 10 * time.Second

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Logger receives flush failures; nothing is logged when nil.
	Logger *slog.Logger
	// FlushEvery is how often Run writes, in real time; DefaultFlushEvery when 0.
	FlushEvery time.Duration
}

// Recorder counts the tokens of the calls pay-per-token deployments serve
// (spillover calls included: they are served by a Standard deployment), per
// deployment and hour, and writes the counts to the store in batches: the
// store rows that Standard token charges are computed from. Only calls that
// succeeded are counted; calls refused with 429 or failed are not charged.
type Recorder struct {
	store ptu.UsageStore
	opt   RecorderOptions
	log   *slog.Logger

	mu      sync.Mutex
	pending map[usageKey]*ptu.TokenUsage
	flushMu sync.Mutex // one flush at a time
}

var _ ptu.CallRecorder = (*Recorder)(nil)

type usageKey struct {
	sub, rg, account, deployment, region, sku, model, version string
	hour                                                      int64
}

// NewRecorder returns a Recorder writing to store.
func NewRecorder(store ptu.UsageStore, opt RecorderOptions) *Recorder {
	if opt.FlushEvery == 0 {
		opt.FlushEvery = DefaultFlushEvery
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, opt: opt, log: log, pending: map[usageKey]*ptu.TokenUsage{}}
}

// Record counts one finished call.
func (r *Recorder) Record(rec ptu.CallRecord) {
	d := rec.Deployment
	if ptu.IsProvisioned(d.SKUName) || rec.Status < 200 || rec.Status > 299 {
		return
	}
	hour := rec.Time.UTC().Truncate(time.Hour)
	k := usageKey{sub: strings.ToLower(d.SubscriptionID), rg: strings.ToLower(d.ResourceGroup), account: strings.ToLower(d.AccountName),
		deployment: strings.ToLower(d.Name), region: strings.ToLower(d.Region), sku: d.SKUName,
		model: strings.ToLower(d.Model.Name), version: strings.ToLower(d.Model.Version), hour: hour.Unix()}
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.pending[k]
	if u == nil {
		u = &ptu.TokenUsage{SubscriptionID: d.SubscriptionID, ResourceGroup: d.ResourceGroup, AccountName: d.AccountName,
			Deployment: d.Name, Region: d.Region, Model: d.Model, SKUName: d.SKUName, Hour: hour}
		r.pending[k] = u
	}
	u.Calls++
	u.PromptTokens += int64(rec.PromptTokens)
	u.CachedTokens += int64(min(rec.CachedTokens, rec.PromptTokens))
	u.CompletionTokens += int64(rec.CompletionTokens)
}

// Flush writes the counts recorded so far. When the write fails they are
// kept and written with the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending = map[usageKey]*ptu.TokenUsage{}
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	rows := make([]ptu.TokenUsage, 0, len(batch))
	for _, u := range batch {
		rows = append(rows, *u)
	}
	err := r.store.AddTokenUsage(ctx, rows)
	if err != nil {
		r.mu.Lock()
		for k, u := range batch {
			if p := r.pending[k]; p != nil {
				u.Calls += p.Calls
				u.PromptTokens += p.PromptTokens
				u.CachedTokens += p.CachedTokens
				u.CompletionTokens += p.CompletionTokens
			}
			r.pending[k] = u
		}
		r.mu.Unlock()
	}
	return err
}

// Run flushes every FlushEvery until ctx is done, then once more.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opt.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := r.Flush(final); err != nil {
				r.log.Error("billing: final flush of token usage failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("billing: flush of token usage failed", "err", err)
			}
		}
	}
}
