package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/internal/load"
)

// Dist summarizes a set of values.
type Dist = load.Dist

// Summary is a whole run.
type Summary struct {
	Duration time.Duration `json:"duration_ns"` // from the start to the last answer

	Calls     int `json:"calls"` // calls made (each 429 of --retry none is a call)
	Succeeded int `json:"succeeded"`
	Throttled int `json:"throttled"` // calls whose last answer was 429
	Failed    int `json:"failed"`    // other failures: errors, cut streams, no answer

	Attempts          int `json:"attempts"`           // HTTP requests sent
	ThrottledAttempts int `json:"throttled_attempts"` // of which answered 429
	Retried           int `json:"retried"`            // calls that waited before trying again
	// RetryWait is the time calls spent waiting to try again (retry-after
	// and backoff): latency the deployment's size added, the "retry time lost".
	RetryWait time.Duration `json:"retry_wait_ns"`
	// ThrottledTime is the time spent on calls that ended throttled.
	ThrottledTime time.Duration `json:"throttled_time_ns"`

	// Goodput: what succeeded, per minute of the run.
	RPM              float64     `json:"rpm"`           // successful calls per minute
	ContextTPM       float64     `json:"context_tpm"`   // prompt tokens of successful calls per minute
	CachedTPM        float64     `json:"cached_tpm"`    // of which served from the server's cache (when it reports usage)
	GeneratedTPM     float64     `json:"generated_tpm"` // generated tokens per minute
	GenTokensPerCall float64     `json:"generated_tokens_per_call"`
	E2E              Dist        `json:"e2e"`        // seconds, successful calls
	TTFT             Dist        `json:"ttft"`       // seconds, successful calls
	TBT              Dist        `json:"tbt"`        // seconds, successful calls
	StreamTPS        Dist        `json:"stream_tps"` // generated tokens per second per call, after the first token
	Util             Dist        `json:"util"`       // azure-openai-deployment-utilization, percent, every answer carrying it
	Statuses         map[int]int `json:"statuses"`   // calls by the status of their last answer (0: none came)
	// FirstError is the first failed call's status and message (or its
	// connection error), so a run whose calls all fail says why.
	FirstError string `json:"first_error,omitempty"`
	// Stopped says why the run ended before its --duration or --requests:
	// every call so far was refused in a way more calls will not change.
	Stopped string `json:"stopped,omitempty"`

	// Sizing, when the model's numbers are known: the traffic that
	// succeeded in normalized tokens per minute, and the PTUs it needs.
	Sizing *Sizing `json:"sizing,omitempty"`
}

// Sizing turns the measured traffic into PTUs with the calculator's formula.
type Sizing struct {
	Model          string  `json:"model"`
	InputTPMPerPTU float64 `json:"input_tpm_per_ptu"`
	OutputWeight   float64 `json:"output_weight"`
	// The traffic that succeeded, in normalized (input-equivalent) tokens
	// per minute: uncached prompt tokens + output weight × generated tokens.
	NormalizedTPM float64 `json:"normalized_tpm"`
	PTU           float64 `json:"ptu"` // NormalizedTPM ÷ input TPM per PTU, unrounded
	// The traffic offered, for a run at a set rate: every call made, with
	// the prompt sent and the output the successful calls averaged. A
	// throttled deployment serves only what fits, so this is what to size for.
	OfferedTPM float64 `json:"offered_tpm,omitempty"`
	OfferedPTU float64 `json:"offered_ptu,omitempty"`
	// Deployable is the size per provisioned deployment type for the offered
	// traffic when known, else for what succeeded.
	Deployable    map[string]int `json:"deployable"`
	DeploymentPTU int            `json:"deployment_ptu,omitempty"` // the deployment's size, when given
	Load          float64        `json:"load,omitempty"`           // PTU ÷ DeploymentPTU, percent
	OfferedLoad   float64        `json:"offered_load,omitempty"`   // OfferedPTU ÷ DeploymentPTU, percent
}

func (r *runner) summary(end time.Time) Summary {
	r.agg.mu.Lock()
	defer r.agg.mu.Unlock()
	t := &r.agg.run
	s := Summary{
		Calls: r.agg.completed, Succeeded: t.succeeded, Throttled: t.throttled, Failed: t.failed,
		Attempts: t.attempts, ThrottledAttempts: t.throttledAttempts, Retried: t.retried,
		RetryWait: t.retryWait, ThrottledTime: t.throttledTime,
		E2E: load.DistOf(t.e2e), TTFT: load.DistOf(t.ttft), TBT: load.DistOf(t.tbt), StreamTPS: load.DistOf(t.streamTPS), Util: load.DistOf(t.util),
		Statuses: copyCounts(t.statuses),
	}
	if e := r.firstErr.Load(); e != nil {
		s.FirstError = *e
	}
	if e := r.stopped.Load(); e != nil {
		s.Stopped = *e
	}
	s.Duration = end.Sub(r.start)
	if !t.lastEnd.IsZero() {
		s.Duration = t.lastEnd.Sub(r.start)
	}
	if mins := s.Duration.Minutes(); mins > 0 {
		s.RPM = float64(t.succeeded) / mins
		s.ContextTPM = float64(t.contextTokens) / mins
		s.CachedTPM = float64(t.cachedTokens) / mins
		s.GeneratedTPM = float64(t.genTokens) / mins
	}
	if t.succeeded > 0 {
		s.GenTokensPerCall = float64(t.genTokens) / float64(t.succeeded)
	}
	if rates, ok := r.model.rates(); ok && s.Duration > 0 {
		norm := s.ContextTPM - s.CachedTPM + rates.OutputWeight*s.GeneratedTPM
		z := &Sizing{
			Model:          r.model.model.Name + " " + r.model.model.Version,
			InputTPMPerPTU: rates.InputTPMPerPTU,
			OutputWeight:   rates.OutputWeight,
			NormalizedTPM:  norm,
			PTU:            norm / rates.InputTPMPerPTU,
			Deployable:     map[string]int{},
			DeploymentPTU:  r.cfg.PTU,
		}
		if r.cfg.Rate > 0 {
			prompt := float64(r.prompt.target)
			if t.contextTokens > 0 {
				prompt *= 1 - float64(t.cachedTokens)/float64(t.contextTokens)
			}
			gen := float64(r.cfg.Shape.MaxTokens * r.cfg.Completions)
			if t.succeeded > 0 {
				gen = s.GenTokensPerCall
			}
			z.OfferedTPM = r.cfg.Rate * (prompt + rates.OutputWeight*gen)
			z.OfferedPTU = z.OfferedTPM / rates.InputTPMPerPTU
		}
		size := z.PTU
		if z.OfferedPTU > 0 {
			size = z.OfferedPTU
		}
		for _, sku := range r.model.model.SKUs {
			if sku.Provisioned() {
				z.Deployable[sku.Name] = sku.Deployable(size)
			}
		}
		if r.cfg.PTU > 0 {
			z.Load = 100 * z.PTU / float64(r.cfg.PTU)
			z.OfferedLoad = 100 * z.OfferedPTU / float64(r.cfg.PTU)
		}
		s.Sizing = z
	}
	return s
}

func copyCounts(m map[int]int) map[int]int {
	out := make(map[int]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ThrottleRate is the share of calls that ended throttled, percent.
func (s Summary) ThrottleRate() float64 {
	if s.Calls == 0 {
		return 0
	}
	return 100 * float64(s.Throttled) / float64(s.Calls)
}

// Write prints the summary for people.
func (s Summary) Write(w io.Writer, retry string) {
	fmt.Fprintf(w, "\nSummary: %s s, retry %s\n", num(s.Duration.Seconds(), 1), retry)
	fmt.Fprintf(w, "  calls          %d: %d succeeded, %d throttled (%.1f%%), %d failed\n",
		s.Calls, s.Succeeded, s.Throttled, s.ThrottleRate(), s.Failed)
	fmt.Fprintf(w, "  attempts       %d HTTP requests, %d answered 429; calls by last status: %s\n", s.Attempts, s.ThrottledAttempts, statusList(s.Statuses))
	if s.FirstError != "" {
		fmt.Fprintf(w, "  first error    %s\n", s.FirstError)
	}
	if s.Stopped != "" {
		fmt.Fprintf(w, "  stopped        %s\n", s.Stopped)
	}
	fmt.Fprintf(w, "  goodput        %s calls/min, %s generated tokens/min (%s per call), %s prompt tokens/min",
		num(s.RPM, 1), num(s.GeneratedTPM, 0), num(s.GenTokensPerCall, 1), num(s.ContextTPM, 0))
	if s.CachedTPM > 0 {
		fmt.Fprintf(w, " (%s cached)", num(s.CachedTPM, 0))
	}
	fmt.Fprintln(w)
	dist := func(name string, d Dist, unit string, digits int) {
		if d.N == 0 {
			fmt.Fprintf(w, "  %-14s n/a\n", name)
			return
		}
		f := func(v float64) string { return num(v, digits) }
		fmt.Fprintf(w, "  %-14s avg %s  p50 %s  p90 %s  p99 %s  max %s %s\n", name, f(d.Avg), f(d.P50), f(d.P90), f(d.P99), f(d.Max), unit)
	}
	dist("e2e", s.E2E, "s", 3)
	dist("ttft", s.TTFT, "s", 3)
	dist("tbt", s.TBT, "s", 4)
	if s.StreamTPS.N > 0 {
		d := s.StreamTPS
		fmt.Fprintf(w, "  %-14s avg %s  p50 %s  min %s tokens/s per call\n", "stream speed", num(d.Avg, 1), num(d.P50, 1), num(d.Min, 1))
	}
	if s.Util.N > 0 {
		fmt.Fprintf(w, "  %-14s avg %s%%  p50 %s%%  p90 %s%%  p99 %s%%  max %s%% (azure-openai-deployment-utilization)\n", "utilization",
			num(s.Util.Avg, 1), num(s.Util.P50, 1), num(s.Util.P90, 1), num(s.Util.P99, 1), num(s.Util.Max, 1))
	} else {
		fmt.Fprintf(w, "  %-14s n/a (no azure-openai-deployment-utilization header)\n", "utilization")
	}
	switch {
	case s.RetryWait > 0:
		share := 0.0
		if total := s.E2E.Avg * float64(s.E2E.N); total > 0 {
			share = 100 * s.RetryWait.Seconds() / total
		}
		fmt.Fprintf(w, "  %-14s %s s waiting on retry-after and backoff over %d calls (%s s each; %.1f%% of successful calls' e2e)\n",
			"retry time", num(s.RetryWait.Seconds(), 1), s.Retried, num(s.RetryWait.Seconds()/float64(s.Retried), 3), share)
	case s.ThrottledAttempts > 0:
		fmt.Fprintf(w, "  %-14s none waited (retry none): %d calls were throttled and replaced\n", "retry time", s.Throttled)
	default:
		fmt.Fprintf(w, "  %-14s none: nothing was throttled\n", "retry time")
	}
	if z := s.Sizing; z != nil {
		fmt.Fprintf(w, "  %-14s %s (%s input TPM per PTU, output weight %s)\n", "sizing", z.Model, num(z.InputTPMPerPTU, 0), num(z.OutputWeight, -1))
		if z.OfferedTPM > 0 {
			fmt.Fprintf(w, "  %-14s %s normalized TPM = %s PTU\n", "  offered", num(z.OfferedTPM, 0), num(z.OfferedPTU, 2))
		}
		fmt.Fprintf(w, "  %-14s %s normalized TPM = %s PTU\n", "  succeeded", num(z.NormalizedTPM, 0), num(z.PTU, 2))
		var parts []string
		for _, name := range []string{"GlobalProvisionedManaged", "DataZoneProvisionedManaged", "ProvisionedManaged"} {
			if n, ok := z.Deployable[name]; ok {
				parts = append(parts, fmt.Sprintf("%s %d", name, n))
			}
		}
		if len(parts) > 0 {
			what := "what succeeded"
			if z.OfferedTPM > 0 {
				what = "the offered traffic"
			}
			fmt.Fprintf(w, "  %-14s %s (for %s)\n", "  deployable", strings.Join(parts, ", "), what)
		}
		if z.DeploymentPTU > 0 {
			fmt.Fprintf(w, "  %-14s ", "load")
			if z.OfferedTPM > 0 {
				fmt.Fprintf(w, "offered %.1f%%, succeeded %.1f%%", z.OfferedLoad, z.Load)
			} else {
				fmt.Fprintf(w, "succeeded %.1f%%", z.Load)
			}
			fmt.Fprintf(w, " of the deployment's %d PTU\n", z.DeploymentPTU)
		}
	}
}

// num formats v with thousands separators; digits -1 uses as few as needed.
func num(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	var str string
	if digits < 0 {
		str = fmt.Sprintf("%g", math.Round(v*100)/100)
	} else {
		str = fmt.Sprintf("%.*f", digits, v)
	}
	neg := strings.HasPrefix(str, "-")
	str = strings.TrimPrefix(str, "-")
	intPart, frac, hasFrac := strings.Cut(str, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}
