package gateway

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Standard (pay-per-token) deployments have two limits: tokens per minute
// (the deployment's leaky bucket, capacity × 1,000 tokens) and requests, 6
// per minute per 1,000 TPM, enforced over 10-second windows as Azure does:
// each window of 10 seconds admits a sixth of the per-minute count.
//
// The request windows are counted in this process; replicas behind a load
// balancer each count their own.
const requestWindow = 10 * time.Second

type window struct {
	start time.Time
	count int
}

// requestWindows counts calls per Standard deployment in the current window.
type requestWindows struct {
	mu sync.Mutex
	w  map[string]*window
}

// admit counts one call of dep at now. It returns whether the call is
// within the limit, how many more the window admits, and when it ends.
func (r *requestWindows) admit(dep *deployment, now time.Time) (ok bool, remaining int, end time.Time) {
	limit := max(1, dep.rpm*int(requestWindow/time.Second)/60)
	start := now.Truncate(requestWindow)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		r.w = map[string]*window{}
	}
	w, found := r.w[dep.key]
	if !found || !w.start.Equal(start) {
		if len(r.w) > 100_000 {
			clear(r.w) // windows of idle deployments; every entry is at most 10 s old
		}
		w = &window{start: start}
		r.w[dep.key] = w
	}
	end = start.Add(requestWindow)
	if w.count >= limit {
		return false, 0, end
	}
	w.count++
	return true, limit - w.count, end
}

// refund gives back a call counted in the window starting at start (its
// tokens were refused).
func (r *requestWindows) refund(dep *deployment, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.w[dep.key]; ok && w.start.Add(requestWindow).Equal(end) && w.count > 0 {
		w.count--
	}
}

// countRequest counts the call against its Standard deployment's request
// limit, or answers 429 when the window is full.
func (c *call) countRequest() outcome {
	now := c.g.opt.Now()
	ok, remaining, end := c.g.windows.admit(c.dep, now)
	setHeader(c.w.Header(), hdrRemainingReqs, itoa(int64(remaining)))
	if ok {
		c.remaining, c.windowEnd = remaining, end
		return pending
	}
	c.rec.Status = http.StatusTooManyRequests
	wait := end.Sub(now)
	secs := int64((wait + time.Second - 1) / time.Second)
	setRetryAfter(c.w.Header(), secs, wait.Milliseconds())
	writeAzureError(c.w, http.StatusTooManyRequests, "429", fmt.Sprintf(
		"Requests to the %s Operation under Azure OpenAI API version %s have exceeded call rate limit of your current deployment '%s' (%d requests per minute, counted in 10-second windows). Please retry after %d seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
		c.op, c.apiVersion, c.dep.d.Name, c.dep.rpm, secs))
	return requestLimit
}

// refundRequest gives back the request a call counted when its tokens were
// refused: the call does not run, so it uses no request.
func (c *call) refundRequest() {
	if c.dep.rpm == 0 {
		return
	}
	c.g.windows.refund(c.dep, c.windowEnd)
	c.remaining++
	setHeader(c.w.Header(), hdrRemainingReqs, itoa(int64(c.remaining)))
}
