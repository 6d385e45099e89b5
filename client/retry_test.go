package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// keepThrottled makes every retry of d find the bucket full again, the way a
// competing client would take the room first: after each of the client's
// waits it refills the bucket.
func (e *env) keepThrottled(t *testing.T, d *client.Deployment, retry time.Duration) {
	e.clock.OnSleep(func(time.Duration) { e.fill(t, d, retry) })
}

// checkWaits compares the client's waits with the retry-after-ms of the 429s
// that preceded them: each must match within 10 %.
func checkWaits(t *testing.T, slept []time.Duration, calls []recorded) {
	t.Helper()
	var throttled []recorded
	for _, c := range calls {
		if c.status == http.StatusTooManyRequests {
			throttled = append(throttled, c)
		}
	}
	if len(slept) > len(throttled) {
		t.Fatalf("%d waits after %d 429s", len(slept), len(throttled))
	}
	for i, d := range slept {
		if want := headerWait(t, throttled[i]); !within10(d, want) {
			t.Errorf("wait %d = %v, retry-after-ms said %v", i, d, want)
		}
	}
}

// TestRetryCounts: a deployment that stays throttled gets 1 + MaxRetries
// attempts, with MaxRetries 2 by default, set per client and per call.
func TestRetryCounts(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")

	for _, tc := range []struct {
		name     string
		c        *client.Client
		opts     []client.Option
		attempts int
	}{
		{"default", ac, nil, 3},
		{"per call", ac, []client.Option{client.WithMaxRetries(4)}, 5},
		{"per client", ac.WithOptions(client.WithMaxRetries(1)), nil, 2},
		{"per call over per client", ac.WithOptions(client.WithMaxRetries(1)), []client.Option{client.WithMaxRetries(0)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.advance(time.Minute) // the previous case left the bucket full
			e.fill(t, d, 1200*time.Millisecond)
			e.keepThrottled(t, d, 1200*time.Millisecond)
			mark, sleeps := e.rec.mark(), len(e.clock.Slept())
			_, err := tc.c.ChatCompletion(ctx, "chat", chatReq("hello"), tc.opts...)
			var ae *client.Error
			if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.Code != "429" || ae.RetryAfter <= 0 || ae.RequestID == "" {
				t.Fatalf("err = %v, want the last 429 as *client.Error", err)
			}
			calls := e.rec.inference(mark)
			if len(calls) != tc.attempts || len(ae.Attempts) != tc.attempts {
				t.Fatalf("%d requests, %d attempts reported; want %d", len(calls), len(ae.Attempts), tc.attempts)
			}
			slept := e.clock.Slept()[sleeps:]
			if len(slept) != tc.attempts-1 {
				t.Fatalf("%d waits, want %d", len(slept), tc.attempts-1)
			}
			checkWaits(t, slept, calls)
			for i, a := range ae.Attempts {
				if a.StatusCode != 429 || i < len(slept) && a.Wait != slept[i] || i == len(slept) && a.Wait != 0 {
					t.Errorf("attempt %d = %+v", i, a)
				}
			}
			if !client.IsThrottled(err) {
				t.Error("IsThrottled = false")
			}
		})
	}
}

// TestRetryWaitsRetryAfterMS: a 429 is followed by a wait of what
// retry-after-ms says, after which the call is admitted.
func TestRetryWaitsRetryAfterMS(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")
	e.fill(t, d, 2500*time.Millisecond)

	mark := e.rec.mark()
	res, err := ac.ChatCompletion(ctx, "chat", chatReq("hello"))
	if err != nil {
		t.Fatal(err)
	}
	calls := e.rec.inference(mark)
	if len(calls) != 2 || calls[0].status != 429 || calls[1].status != 200 {
		t.Fatalf("exchanges %+v; want a 429 then a 200", calls)
	}
	slept := e.clock.Slept()
	if len(slept) != 1 {
		t.Fatalf("waits %v, want one", slept)
	}
	checkWaits(t, slept, calls)
	if want := 2500 * time.Millisecond; !within10(slept[0], want) {
		t.Errorf("wait %v; the bucket was filled to drain in %v", slept[0], want)
	}
	at := res.Response.Attempts
	if len(at) != 2 || at[0].StatusCode != 429 || at[0].Wait != slept[0] || at[0].RetryAfter != headerWait(t, calls[0]) ||
		at[1].StatusCode != 200 || at[1].Err != nil || at[1].Start.Sub(at[0].Start) != slept[0] {
		t.Errorf("attempts %+v", at)
	}

	// The same for a stream: the 429 comes before the stream starts.
	e.advance(time.Minute)
	e.fill(t, d, 800*time.Millisecond)
	before := len(e.clock.Slept())
	st, err := ac.ChatCompletionStream(ctx, "chat", chatReq("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for st.Next() {
		n++
	}
	if st.Err() != nil || n == 0 || len(st.Response.Attempts) != 2 || len(e.clock.Slept()) != before+1 {
		t.Errorf("stream after a 429: %d chunks, err %v, attempts %+v", n, st.Err(), st.Response.Attempts)
	}
}

// TestRetryAfterRealClock measures the real wait between the 429 and the
// retry reaching the server.
func TestRetryAfterRealClock(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")
	e.fill(t, d, 400*time.Millisecond)

	var waitStart time.Time
	mark := e.rec.mark()
	_, err := ac.ChatCompletion(ctx, "chat", chatReq("hello"), client.WithObserver(func(a client.Attempt) {
		if a.Wait > 0 {
			waitStart = time.Now()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	calls := e.rec.inference(mark)
	if len(calls) != 2 || calls[0].status != 429 {
		t.Fatalf("exchanges %+v; want a 429 then a 200", calls)
	}
	want := headerWait(t, calls[0])
	if got := calls[1].at.Sub(waitStart); !within10(got, want) {
		t.Errorf("waited %v, retry-after-ms said %v", got, want)
	}
}

// TestRetryTimeCap: a wait past MaxRetryTime is not taken.
func TestRetryTimeCap(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")
	e.fill(t, d, 90*time.Second)

	_, err := ac.ChatCompletion(ctx, "chat", chatReq("hello"))
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 429 || len(ae.Attempts) != 1 || !within10(ae.RetryAfter, 90*time.Second) {
		t.Fatalf("err = %v; want one 429 telling to wait about 90 s", err)
	}
	if s := e.clock.Slept(); len(s) != 0 {
		t.Errorf("waited %v past the 60 s default cap", s)
	}

	res, err := ac.ChatCompletion(ctx, "chat", chatReq("hello"), client.WithMaxRetryTime(2*time.Minute))
	if err != nil {
		t.Fatalf("with a 2-minute cap: %v", err)
	}
	if s := e.clock.Slept(); len(s) != 1 || !within10(s[0], 90*time.Second) || len(res.Response.Attempts) != 2 {
		t.Errorf("with a 2-minute cap: waits %v, attempts %d", s, len(res.Response.Attempts))
	}
}

// TestCancelDuringWait: cancelling the context ends a wait at once, and the
// error carries both the cancellation and the 429.
func TestCancelDuringWait(t *testing.T) {
	e := newEnv(t, false)
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")
	e.fill(t, d, 30*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := make(chan time.Duration, 1)
	go func() {
		<-waiting
		time.Sleep(50 * time.Millisecond) // let the wait begin
		cancel()
	}()
	start := time.Now()
	_, err := ac.ChatCompletion(ctx, "chat", chatReq("hello"), client.WithObserver(func(a client.Attempt) {
		if a.Wait > 0 {
			waiting <- a.Wait
		}
	}))
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !client.IsThrottled(err) {
		t.Errorf("err = %v does not carry the 429", err)
	}
	if elapsed > 15*time.Second {
		t.Errorf("the call returned after %v; the wait was not cut short", elapsed)
	}

	// A context already done makes no request.
	mark := e.rec.mark()
	if _, err := ac.ChatCompletion(ctx, "chat", chatReq("hello")); !errors.Is(err, context.Canceled) || len(e.rec.inference(mark)) != 0 {
		t.Errorf("cancelled context: %v, %d requests", err, len(e.rec.inference(mark)))
	}
}

// TestFailoverOrder: on a 429 the next target of the list is tried at once;
// when all are throttled the call waits for the first to reopen.
func TestFailoverOrder(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d1 := e.deploy("rg", "acct", "d1")
	d2 := e.deploy("rg", "acct", "d2")
	e.deploy("rg", "acct", "d3")
	fo := client.WithFailover(client.Target{Deployment: "d2"}, client.Target{Deployment: "d3"})

	e.fill(t, d1, 5*time.Second)
	e.fill(t, d2, 5*time.Second)
	mark := e.rec.mark()
	res, err := ac.ChatCompletion(ctx, "d1", chatReq("hello"), fo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Served.Deployment != "d3" {
		t.Errorf("served by %v, want d3", res.Response.Served)
	}
	var order []string
	for _, a := range res.Response.Attempts {
		order = append(order, a.Target.Deployment)
		if a.Wait != 0 {
			t.Errorf("attempt %+v waited", a)
		}
	}
	if strings.Join(order, ",") != "d1,d2,d3" {
		t.Errorf("attempt order %v, want d1,d2,d3", order)
	}
	if calls := e.rec.inference(mark); len(calls) != 3 || calls[0].status != 429 || calls[1].status != 429 || calls[2].status != 200 {
		t.Errorf("exchanges %+v", calls)
	}
	if s := e.clock.Slept(); len(s) != 0 {
		t.Errorf("failover waited %v", s)
	}

	// Still throttled: d1 and d2 are tried again, no wait; d3 free again.
	res, err = ac.ChatCompletion(ctx, "d1", chatReq("hello"), fo)
	if err != nil || res.Response.Served.Deployment != "d3" {
		t.Fatalf("second call: served %v, %v", res.Response.Served, err)
	}
	d3, err := e.c.GetDeployment(ctx, "rg", "acct", "d3")
	if err != nil {
		t.Fatal(err)
	}

	// Everything throttled, d2 reopening first: one wait, then d2 serves.
	e.advance(time.Minute) // every bucket drains
	e.fill(t, d1, 20*time.Second)
	e.fill(t, d2, 3*time.Second)
	e.fill(t, d3, 20*time.Second)
	mark = e.rec.mark()
	res, err = ac.ChatCompletion(ctx, "d1", chatReq("hello"), fo)
	if err != nil {
		t.Fatal(err)
	}
	calls := e.rec.inference(mark)
	if res.Response.Served.Deployment != "d2" || len(calls) != 4 {
		t.Fatalf("served by %v after %d requests; want d2 after 4", res.Response.Served, len(calls))
	}
	s := e.clock.Slept()
	if len(s) != 1 || !within10(s[0], headerWait(t, calls[1])) {
		t.Errorf("waits %v; want one of d2's retry-after-ms %s", s, calls[1].retryAfterMS)
	}
	at := res.Response.Attempts
	if at[0].Wait != 0 || at[1].Wait != 0 || at[2].Wait != s[0] || at[3].Target.Deployment != "d2" {
		t.Errorf("attempts %+v", at)
	}
}

// TestFailoverEndpoint: a primary endpoint that does not answer fails over
// at once to another account's endpoint, with its own key.
func TestFailoverEndpoint(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	b, bc := e.account("rg", "acct-b", "swedencentral")
	e.deploy("rg", "acct-b", "chat-eu")
	keys, err := e.c.ListKeys(ctx, "rg", b.Name)
	if err != nil {
		t.Fatal(err)
	}

	primary, err := client.New(client.WithAzureEndpoint(closedURL(t)), client.WithAPIKey("unused"), client.WithClock(e.clock),
		client.WithFailover(client.Target{Deployment: "chat-eu", Endpoint: bc.AzureEndpoint(), APIKey: keys.Key1}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := primary.ChatCompletion(ctx, "chat", chatReq("hello"))
	if err != nil {
		t.Fatal(err)
	}
	at := res.Response.Attempts
	if len(at) != 2 || at[0].StatusCode != 0 || at[0].Err == nil || at[0].Wait != 0 ||
		res.Response.Served.Endpoint != b.Properties.Endpoint || res.Response.Region != "Sweden Central" {
		t.Errorf("attempts %+v, served %+v in %q", at, res.Response.Served, res.Response.Region)
	}
	var op *net.OpError
	if !errors.As(at[0].Err, &op) {
		t.Errorf("first attempt's error %v is not a connection error", at[0].Err)
	}
	if s := e.clock.Slept(); len(s) != 0 {
		t.Errorf("waited %v before failing over", s)
	}
}

// TestBackoff5xx: 5xx answers back off exponentially (here with the jitter
// at its limit), and a 5xx's retry-after-ms is honoured.
func TestBackoff5xx(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	a, _ := e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "chat")
	keys, err := e.c.ListKeys(ctx, "rg", "acct")
	if err != nil {
		t.Fatal(err)
	}
	proxyEndpoint := func(p *faultProxy) string {
		return strings.Replace(a.Properties.Endpoint, e.s.URL, p.srv.URL, 1)
	}
	atLimit := client.WithJitter(func(limit time.Duration) time.Duration { return limit })

	p := newFaultProxy(t, e.s.URL, 2, http.StatusBadGateway, nil)
	c, err := client.New(client.WithAzureEndpoint(proxyEndpoint(p)), client.WithAPIKey(keys.Key1), client.WithClock(e.clock), atLimit)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.ChatCompletion(ctx, "chat", chatReq("hello"))
	if err != nil {
		t.Fatal(err)
	}
	s := e.clock.Slept()
	if len(s) != 2 || s[0] != 500*time.Millisecond || s[1] != time.Second {
		t.Errorf("waits %v, want 500ms then 1s", s)
	}
	if at := res.Response.Attempts; len(at) != 3 || at[0].StatusCode != 502 || at[1].StatusCode != 502 || at[2].StatusCode != 200 {
		t.Errorf("attempts %+v", at)
	}

	// Full jitter stays within its bounds.
	p = newFaultProxy(t, e.s.URL, 5, http.StatusInternalServerError, nil)
	c, err = client.New(client.WithAzureEndpoint(proxyEndpoint(p)), client.WithAPIKey(keys.Key1), client.WithClock(e.clock),
		client.WithMaxRetries(4), client.WithBackoff(100*time.Millisecond, 400*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.clock.Slept())
	_, err = c.ChatCompletion(ctx, "chat", chatReq("hello"))
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 500 || len(ae.Attempts) != 5 {
		t.Fatalf("err = %v; want the 5th 500", err)
	}
	limits := []time.Duration{100, 200, 400, 400}
	for i, d := range e.clock.Slept()[before:] {
		if d < 0 || d > limits[i]*time.Millisecond {
			t.Errorf("wait %d = %v, outside [0, %vms]", i, d, limits[i])
		}
	}

	// A 503 that says how long to wait is waited exactly that long.
	p = newFaultProxy(t, e.s.URL, 1, http.StatusServiceUnavailable, http.Header{"Retry-After-Ms": {"250"}})
	c, err = client.New(client.WithAzureEndpoint(proxyEndpoint(p)), client.WithAPIKey(keys.Key1), client.WithClock(e.clock), atLimit)
	if err != nil {
		t.Fatal(err)
	}
	before = len(e.clock.Slept())
	if _, err := c.ChatCompletion(ctx, "chat", chatReq("hello")); err != nil {
		t.Fatal(err)
	}
	if s := e.clock.Slept()[before:]; len(s) != 1 || s[0] != 250*time.Millisecond {
		t.Errorf("waits %v after a 503 with retry-after-ms 250", s)
	}

	// The control plane retries too, except what is not idempotent.
	p = newFaultProxy(t, e.s.URL, 1, http.StatusBadGateway, nil)
	arm, err := client.New(client.WithEndpoint(p.srv.URL), client.WithToken(e.s.AdminToken), client.WithClock(e.clock), atLimit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arm.ListAccounts(ctx, ""); err != nil {
		t.Errorf("ListAccounts through one 502: %v", err)
	}
	p.seen.Store(0)
	_, err = arm.CreateQuotaRequest(ctx, client.QuotaRequestCreate{Location: "eastus", SKUName: "GlobalProvisionedManaged", Limit: 900, Reason: "x"})
	if !errors.As(err, &ae) || ae.StatusCode != 502 || len(ae.Attempts) != 1 {
		t.Errorf("CreateQuotaRequest through a 502: %v; want the 502, not retried", err)
	}
}

// TestConnectionErrors: a server that does not answer is retried with
// backoff, then the network error is returned.
func TestConnectionErrors(t *testing.T) {
	clk := newFakeClock()
	log := &attemptLog{}
	c, err := client.New(client.WithAzureEndpoint(closedURL(t)), client.WithAPIKey("k"), client.WithClock(clk),
		client.WithJitter(func(limit time.Duration) time.Duration { return limit }), client.WithObserver(log.observe))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ChatCompletion(context.Background(), "chat", chatReq("hello"))
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Fatalf("err = %v, want a connection error", err)
	}
	at := log.all()
	if len(at) != 3 || at[0].Wait != 500*time.Millisecond || at[1].Wait != time.Second || at[2].Wait != 0 {
		t.Errorf("attempts %+v; want 3 with waits 500ms, 1s", at)
	}
	if s := clk.Slept(); len(s) != 2 {
		t.Errorf("waits %v", s)
	}
}
