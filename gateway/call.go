package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/oai"
)

// outcome is how one attempt of a call on a deployment ended. It decides
// whether the call spills over to a Standard deployment.
type outcome int

const (
	// pending: the attempt has not ended; it goes on to its next stage.
	pending outcome = iota
	// answered: the answer is the client's, a whole one or a failure after
	// output began or the client went away.
	answered
	// refused: the request is invalid, the content filter blocked it, or
	// the filter failed; spillover does not cover these.
	refused
	// contextTooLong: 400 context_length_exceeded.
	contextTooLong
	// streamLimit: 429, the deployment serves as many streams as it may.
	streamLimit
	// requestLimit: 429, a Standard deployment's request window is full.
	requestLimit
	// tokenLimit: 429, the deployment's leaky bucket is full.
	tokenLimit
	// admissionDown: 503, the limiter could not be asked.
	admissionDown
	// backendFailed: 5xx from the backend before any output.
	backendFailed
)

// throttled reports whether the attempt was refused with 429.
func (o outcome) throttled() bool {
	return o == streamLimit || o == requestLimit || o == tokenLimit
}

// spills reports whether the call goes on to its spillover deployment, when
// it has one: throttled, a context too long for the deployment, or a server
// error before any output.
func (o outcome) spills() bool {
	return o.throttled() || o == contextTooLong || o == admissionDown || o == backendFailed
}

// call is one attempt of an inference call on one deployment: the one it
// names, or the Standard deployment it spills over to. It goes through its
// stages in order (validate, holdStream, price, filter, admit, run, settle,
// respond) and is recorded once, in whichever stage it ended.
type call struct {
	g          *Gateway
	w          http.ResponseWriter
	ctx        context.Context
	dep        *deployment
	op         operation
	apiVersion string
	body       []byte

	req      *request
	estimate float64 // what admission reserves, input-equivalent tokens
	priced   bool    // the estimate is set: the call is traced
	// windowEnd is the end of the Standard request window the call was
	// counted in, remaining how many more it admits; zero for provisioned
	// deployments.
	windowEnd time.Time
	remaining int
	// reservation is what the bucket holds for the call, from admit until
	// settle; nil otherwise.
	reservation *leaky.Reservation
	out         *responder
	rec         ptu.CallRecord
}

func (g *Gateway) newCall(w http.ResponseWriter, r *http.Request, a *account, dep *deployment, op operation, apiVersion, id string, body []byte, isSpill bool) call {
	c := call{g: g, w: w, ctx: r.Context(), dep: dep, op: op, apiVersion: apiVersion, body: body,
		rec: ptu.CallRecord{Time: g.opt.Now(), RequestID: id, Account: a.acct, Deployment: dep.d, Operation: op.String(), IsSpillover: isSpill}}
	h := w.Header()
	setHeader(h, hdrRegion, dep.region.DisplayName)
	setHeader(h, hdrDeploymentName, dep.d.Name)
	h[hdrIsSpilledOver] = valFalse
	if isSpill {
		h[hdrIsSpilledOver] = valTrue
	}
	return c
}

// attempt runs the call on one deployment and says how it ended.
func (g *Gateway) attempt(w http.ResponseWriter, r *http.Request, a *account, dep *deployment, op operation, apiVersion, id string, body []byte, isSpill bool) (out outcome) {
	c := g.newCall(w, r, a, dep, op, apiVersion, id, body, isSpill) // a value: it stays on the stack
	defer func() { c.record(out) }()                                // however the call ends, a panic included
	if out = c.validate(); out != pending {
		return out
	}
	if out = c.holdStream(); out != pending {
		return out
	}
	defer c.releaseStream() // when the stream ends or its client goes
	c.price()
	return c.serve()
}

// serve takes a priced call through the stages that may reserve capacity.
func (c *call) serve() outcome {
	if out := c.filter(); out != pending {
		return out
	}
	if out := c.admit(); out != pending {
		return out
	}
	defer c.settle(0) // a panic while running refunds the whole reservation
	err := c.run()
	c.settle(cost(c.rec.CallUsage, c.dep.weight))
	return c.respond(err)
}

// validate parses and counts the request. The body's decode budget is
// returned once it is parsed: what it cost to decode is garbage now.
func (c *call) validate() outcome {
	req, oerr := parse(c.op, c.body, c.dep)
	releaseBody(c.ctx)
	if oerr == nil {
		c.req = req
		c.rec.Stream = req.stream
		c.rec.CallUsage = ptu.CallUsage{PromptTokens: req.promptTokens, Source: ptu.UsageTokenizer}
		return pending
	}
	c.rec.Status = oerr.status()
	writeOpenAIError(c.w, oerr)
	if oerr.Code != nil && *oerr.Code == "context_length_exceeded" {
		return contextTooLong
	}
	return refused
}

// holdStream takes one of the deployment's stream slots for a streamed call.
func (c *call) holdStream() outcome {
	if !c.req.stream || c.g.opt.MaxStreams <= 0 || c.g.streams.acquire(c.dep.key, c.g.opt.MaxStreams) {
		return pending
	}
	c.rec.Status = http.StatusTooManyRequests
	setRetryAfter(c.w.Header(), 1, 1000)
	writeAzureError(c.w, http.StatusTooManyRequests, "429", fmt.Sprintf(
		"Requests to the %s Operation under Azure OpenAI API version %s have exceeded the limit of %d concurrent streams of deployment '%s'. Please retry after 1 second.",
		c.op, c.apiVersion, c.g.opt.MaxStreams, c.dep.d.Name))
	return streamLimit
}

func (c *call) releaseStream() {
	if c.req.stream && c.g.opt.MaxStreams > 0 {
		c.g.streams.release(c.dep.key)
	}
}

// price looks the prompt up in the prefix cache and sets the estimate
// admission reserves.
func (c *call) price() {
	c.req.cached = c.g.opt.Cache.Lookup(c.dep.key, c.req.promptIDs)
	c.estimate = c.req.estimate(c.dep)
	c.rec.CachedTokens, c.rec.Estimate = c.req.cached, c.estimate
	c.priced = true
}

// filter runs the content filter policy over each prompt, when it
// evaluates prompts.
func (c *call) filter() outcome {
	if !c.dep.filter.EvaluatesPrompt() {
		return pending
	}
	req := c.req
	req.promptFilter = make([]oai.ContentFilterResults, len(req.texts))
	for i, text := range req.texts {
		if text == "" && len(req.prompts[i]) > 0 {
			text = c.dep.enc.Decode(req.prompts[i]) // a prompt given as token ids
		}
		res, err := c.dep.filter.CheckPrompt(c.ctx, text)
		if err != nil {
			return c.internal(fmt.Errorf("content filter: %w", err))
		}
		if res.Blocked {
			c.rec.Status = http.StatusBadRequest
			writeContentFilterError(c.w, res)
			return refused
		}
		req.promptFilter[i] = res.Annotations()
	}
	return pending
}

// internal answers 500 for an error of the gateway's own.
func (c *call) internal(err error) outcome {
	c.rec.Status = http.StatusInternalServerError
	c.g.internal(c.w, err)
	return refused
}

// admit counts the call against a Standard deployment's request window,
// then asks the deployment's leaky bucket for room for the estimate. It is
// the only place the call is admitted: settle gives back what the bucket holds.
func (c *call) admit() outcome {
	if c.dep.rpm > 0 {
		if out := c.countRequest(); out != pending {
			return out
		}
	}
	actx, span := startAdmission(c.ctx, c.dep, c.estimate)
	dec, err := c.g.opt.Limiter.Admit(actx, c.dep.key, c.dep.capacity, c.estimate)
	endAdmission(c.ctx, span, dec, err, c.rec.IsSpillover)
	if err != nil || !dec.Allowed {
		c.refundRequest()
	}
	if err != nil {
		return c.admissionDown(err)
	}
	c.reportLevel(dec)
	if !dec.Allowed {
		return c.tooManyTokens(dec)
	}
	c.reservation = dec.Reservation
	return pending
}

// settle tells the bucket what the admitted call really cost, in place of
// its estimate, once; it is the only place the call's reservation ends.
// It settles even when the client has gone: the bucket must learn what was
// spent.
func (c *call) settle(actual float64) {
	r := c.reservation
	if r == nil {
		return
	}
	c.reservation = nil
	c.rec.Actual = actual
	if err := r.Settle(context.WithoutCancel(c.ctx), actual); err != nil {
		c.g.opt.Logger.Error("settle failed", "request_id", c.rec.RequestID, "deployment", c.dep.d.Name, "err", err)
	}
}

// run generates the answer on a backend of the deployment and decides the
// call's usage from what the backend reported. Output is streamed to the
// client as it comes; the end of the answer is respond's.
func (c *call) run() error {
	c.out = newResponder(c.w, c.op, c.req, c.dep, c.rec.RequestID, c.g.opt.Now)
	res, err := c.g.generate(c.ctx, c.dep, c.req, c.out)
	c.rec.CallUsage = usageOf(res)
	if !res.FirstToken.IsZero() {
		c.rec.TimeToFirstToken = res.FirstToken.Sub(c.rec.Time)
	}
	if errors.Is(err, errFiltered) {
		return nil // every choice ended, some by the content filter
	}
	return err
}

// usageOf is a call's usage, decided once from the backend's result: the
// counts it reported, or its tokenizer's count when it reported none.
// Cached tokens are part of the prompt, never more than it.
func usageOf(res backend.Result) ptu.CallUsage {
	u := ptu.CallUsage{PromptTokens: res.PromptTokens, CachedTokens: min(res.CachedTokens, res.PromptTokens),
		CompletionTokens: res.CompletionTokens, Source: ptu.UsageBackend}
	if res.Tokenized {
		u.Source = ptu.UsageTokenizer
	}
	return u
}

// cost is what usage counts in the bucket, in input-equivalent tokens:
// the prompt tokens not cached and each output token as weight of them.
func cost(u ptu.CallUsage, weight float64) float64 {
	return float64(max(0, u.PromptTokens-u.CachedTokens)) + weight*float64(u.CompletionTokens)
}

// respond ends the answer: the failure of the backend, or the answer with
// its usage once the completion filters have classified it.
func (c *call) respond(err error) outcome {
	if err != nil {
		c.rec.Status, c.rec.Cut = c.out.fail(c.ctx, err, c.g.aborted.Err() != nil, c.g.opt.Logger)
		if c.rec.Status >= 500 && !c.out.started {
			return backendFailed
		}
		return answered
	}
	if !c.req.stream && c.dep.filter.ClassifiesCompletion() {
		if err := c.out.classify(c.ctx, c.dep.filter); err != nil {
			return c.internal(fmt.Errorf("content filter: %w", err))
		}
	}
	c.rec.Status = http.StatusOK
	c.out.finish(c.rec.CallUsage)
	return answered
}

// record ends the call's record, puts it on the call's span once the call
// is priced (refusals before are not traced), and hands it to the recorder.
func (c *call) record(out outcome) {
	c.rec.Duration = c.g.opt.Now().Sub(c.rec.Time)
	c.rec.Throttled = out.throttled()
	if c.priced {
		traceAttempt(c.ctx, c.w, c.op, c.dep, c.req, &c.rec)
	}
	if c.g.opt.Recorder != nil {
		c.g.opt.Recorder.Record(c.rec)
	}
}

// admissionDown answers 503 when the limiter could not be asked.
func (c *call) admissionDown(err error) outcome {
	c.rec.Status = http.StatusServiceUnavailable
	c.g.opt.Logger.Error("admission unavailable", "request_id", c.rec.RequestID, "deployment", c.dep.d.Name, "err", err)
	setRetryAfter(c.w.Header(), 1, 1000)
	writeAzureError(c.w, http.StatusServiceUnavailable, "ServiceUnavailable", "Admission control is unavailable; retry shortly.")
	return admissionDown
}

// reportLevel sets the utilization headers from admission's decision.
func (c *call) reportLevel(dec leaky.Decision) {
	c.rec.Utilization = dec.Reported()
	h := c.w.Header()
	setHeader(h, hdrUtilization, percent(dec.Reported()))
	setHeader(h, hdrBucketUtil, percent(dec.Utilization))
	if c.dep.rpm > 0 {
		// Standard deployments report the tokens left, as Azure does for them.
		setHeader(h, hdrRemainingTokens, itoa(int64(max(0, c.dep.capacity-dec.Level))))
	}
}

// tooManyTokens answers 429 for a call the bucket has no room for.
func (c *call) tooManyTokens(dec leaky.Decision) outcome {
	c.rec.Status = http.StatusTooManyRequests
	secs, ms := dec.RetryAfterSeconds(), dec.RetryAfterMillis()
	setRetryAfter(c.w.Header(), secs, ms)
	dep := c.dep
	if dep.rpm > 0 {
		writeAzureError(c.w, http.StatusTooManyRequests, "429", fmt.Sprintf(
			"Requests to the %s Operation under Azure OpenAI API version %s have exceeded token rate limit of your current deployment '%s' (%d tokens per minute). Please retry after %d seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
			c.op, c.apiVersion, dep.d.Name, int(dep.capacity), secs))
		return tokenLimit
	}
	writeAzureError(c.w, http.StatusTooManyRequests, "429", fmt.Sprintf(
		"Requests to the %s Operation under Azure OpenAI API version %s have exceeded the provisioned throughput of deployment '%s' (utilization %.1f%%, %d PTUs). Please retry after %d seconds.",
		c.op, c.apiVersion, dep.d.Name, dec.Reported(), dep.d.Capacity, secs))
	return tokenLimit
}
