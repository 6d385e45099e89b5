package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/armwire"
)

// Client calls a ptu server: its ARM control plane with a bearer token, and
// an account's inference endpoint with an api-key. It is safe for concurrent
// use. Every method takes per-call Options that override the client's.
type Client struct {
	s   settings
	sub *subscriptionCache // shared by clients derived with WithOptions
}

// New returns a client. With no options it talks to DefaultEndpoint, retries
// twice, and uses the first subscription the server lists.
//
//	c, err := client.New(client.WithToken(token), client.WithMaxRetries(5))
func New(opts ...Option) (*Client, error) {
	s := defaults().with(opts)
	if s.err != nil {
		return nil, s.err
	}
	return &Client{s: s, sub: &subscriptionCache{}}, nil
}

// WithOptions returns a client with opts applied over c's settings, like
// the Python client's with_options. An invalid option is reported by the
// derived client's calls.
func (c *Client) WithOptions(opts ...Option) *Client {
	return &Client{s: c.s.with(opts), sub: c.sub}
}

// Endpoint is the ptu server's base URL the client calls.
func (c *Client) Endpoint() string { return c.s.endpoint }

// AzureEndpoint is the account inference endpoint of data-plane calls, if set.
func (c *Client) AzureEndpoint() string { return c.s.azureEndpoint }

// Attempt is one try of a call.
type Attempt struct {
	Target     Target    // inference calls: where it went
	Start      time.Time // by the client's clock
	StatusCode int       // 0 when no response came
	RequestID  string
	// RetryAfter is the wait the service asked for (retry-after-ms / retry-after).
	RetryAfter time.Duration
	// Wait is how long the client waited after this attempt before the next
	// one; zero when the next went at once to another target, or none followed.
	Wait time.Duration
	Err  error // nil for the attempt that succeeded
}

// Response describes the answer of a successful call.
type Response struct {
	Served      Target // the target that answered (inference calls)
	StatusCode  int
	RequestID   string // apim-request-id (data plane) or x-ms-request-id (ARM)
	Region      string // x-ms-region: where the deployment ran
	Utilization string // azure-openai-deployment-utilization, e.g. "42.5%"
	Header      http.Header
	Attempts    []Attempt // every attempt, in order; the last one succeeded
}

// request is one logical call: how to build each attempt's HTTP request and
// which targets it may go to.
type request struct {
	method     string
	targets    []Target // at least one; control-plane calls use one zero Target
	idempotent bool     // false: retried only on 429 and 503
	build      func(ctx context.Context, t Target) (*http.Request, error)
}

const maxErrorBody = 1 << 20

// do runs r with retries and failover and returns the first successful
// response, whose body the caller must close.
func (s *settings) do(ctx context.Context, r request) (*http.Response, *Response, error) {
	if s.err != nil {
		return nil, nil, s.err
	}
	type state struct {
		openAt   time.Time // closed until then after a failure
		failures int
		tried    bool // in the current round (rounds end with a wait)
	}
	st := make([]state, len(r.targets))
	start := s.clock.Now()
	var attempts []Attempt
	var last error
	retries := 0
	pick := func(now time.Time) int {
		for i := range st {
			if !st[i].tried && !st[i].openAt.After(now) {
				return i
			}
		}
		return -1
	}
	for {
		if err := ctx.Err(); err != nil {
			if last != nil {
				return nil, nil, fmt.Errorf("client: %w; last error: %w", err, withAttempts(last, attempts))
			}
			return nil, nil, err
		}
		now := s.clock.Now()
		i := pick(now)
		if i < 0 { // a clock that did not reach the reopening: take the first to reopen
			i = 0
			for j := range st {
				if st[j].openAt.Before(st[i].openAt) {
					i = j
				}
			}
		}
		t := r.targets[i]
		a := Attempt{Target: t, Start: now}
		req, err := r.build(ctx, t)
		if err != nil {
			return nil, nil, err
		}
		if s.userAgent != "" {
			req.Header.Set("User-Agent", s.userAgent)
		}
		resp, err := s.httpClient.Do(req)
		var delay time.Duration
		retryable := false
		switch {
		case err != nil:
			if cerr := ctx.Err(); cerr != nil {
				if last != nil {
					return nil, nil, fmt.Errorf("client: %w; last error: %w", cerr, withAttempts(last, attempts))
				}
				return nil, nil, cerr
			}
			a.Err = fmt.Errorf("client: %w", err) // a *url.Error: method, URL and cause
			retryable = r.idempotent
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			a.StatusCode, a.RequestID = resp.StatusCode, requestID(resp.Header)
			attempts = append(attempts, a)
			s.observe(a)
			return resp, &Response{
				Served:      t,
				StatusCode:  resp.StatusCode,
				RequestID:   a.RequestID,
				Region:      resp.Header.Get("x-ms-region"),
				Utilization: resp.Header.Get("azure-openai-deployment-utilization"),
				Header:      resp.Header,
				Attempts:    attempts,
			}, nil
		default:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
			e := parseError(resp.StatusCode, resp.Header, body, s.clock.Now())
			e.Method, e.URL = req.Method, redact(req.URL)
			a.StatusCode, a.RequestID, a.RetryAfter, a.Err = e.StatusCode, e.RequestID, e.RetryAfter, e
			retryable = retryableStatus(resp.StatusCode, r.idempotent)
			delay = e.RetryAfter
		}
		last = a.Err
		st[i].tried = true
		if !retryable {
			attempts = append(attempts, a)
			s.observe(a)
			return nil, nil, withAttempts(last, attempts)
		}
		if delay <= 0 {
			delay = s.jitter(s.backoffLimit(st[i].failures))
		}
		st[i].failures++
		now = s.clock.Now()
		st[i].openAt = now.Add(delay)

		if pick(now) >= 0 { // another target is open: go there at once
			attempts = append(attempts, a)
			s.observe(a)
			continue
		}
		// Every target is closed or tried: wait for the first to reopen.
		first := 0
		for j := range st {
			if st[j].openAt.Before(st[first].openAt) {
				first = j
			}
		}
		wait := max(0, st[first].openAt.Sub(now))
		if retries >= s.maxRetries || now.Add(wait).Sub(start) > s.maxRetryTime {
			attempts = append(attempts, a)
			s.observe(a)
			return nil, nil, withAttempts(last, attempts)
		}
		a.Wait = wait
		attempts = append(attempts, a)
		s.observe(a)
		if err := s.clock.Sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("client: %w while waiting %v to retry; last error: %w", err, wait, withAttempts(last, attempts))
		}
		retries++
		for j := range st {
			st[j].tried = false
		}
	}
}

func (s *settings) observe(a Attempt) {
	if s.observer != nil {
		s.observer(a)
	}
}

// backoffLimit is the upper bound of the wait after a target's n-th failure
// (n from 0): InitialBackoff·2ⁿ, at most MaxBackoff.
func (s *settings) backoffLimit(n int) time.Duration {
	d := s.initialBackoff
	for range n {
		if d >= s.maxBackoff/2 {
			return s.maxBackoff
		}
		d *= 2
	}
	return min(d, s.maxBackoff)
}

func retryableStatus(status int, idempotent bool) bool {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return true
	case !idempotent:
		return false
	case status == http.StatusRequestTimeout || status >= 500:
		return true
	}
	return false
}

func withAttempts(err error, attempts []Attempt) error {
	var e *Error
	if errors.As(err, &e) {
		e.Attempts = attempts
	}
	return err
}

// redact drops the query (api-version only, but callers may add more).
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}

// --- control plane plumbing ---

type subscriptionCache struct {
	mu  sync.Mutex
	key string
	id  string
}

// SubscriptionID returns the subscription control-plane calls act on: the
// one set with WithSubscription, else the first the server lists.
func (c *Client) SubscriptionID(ctx context.Context, opts ...Option) (string, error) {
	s := c.s.with(opts)
	return c.subscription(ctx, &s)
}

func (c *Client) subscription(ctx context.Context, s *settings) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	if s.subscription != "" {
		return s.subscription, nil
	}
	key := s.endpoint + "\x00" + s.token
	c.sub.mu.Lock()
	defer c.sub.mu.Unlock()
	if c.sub.key == key && c.sub.id != "" {
		return c.sub.id, nil
	}
	var out list[Subscription]
	if err := c.armDo(ctx, s, http.MethodGet, "/subscriptions", nil, nil, &out, true); err != nil {
		return "", err
	}
	if len(out.Value) == 0 {
		return "", errors.New("client: the server lists no subscription; set one with WithSubscription")
	}
	c.sub.key, c.sub.id = key, out.Value[0].SubscriptionID
	return c.sub.id, nil
}

// list is ARM's list envelope.
type list[T any] = armwire.List[T]

// armDo runs one control-plane call: path is below the server's base URL,
// in is marshaled as the body when not nil, out receives a 2xx body.
func (c *Client) armDo(ctx context.Context, s *settings, method, path string, query url.Values, in, out any, idempotent bool) error {
	_, err := c.armStatus(ctx, s, method, path, query, in, out, idempotent)
	return err
}

// armStatus is armDo that also returns the success status (200 or 204 tell
// whether a deleted resource existed).
func (c *Client) armStatus(ctx context.Context, s *settings, method, path string, query url.Values, in, out any, idempotent bool) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("client: encode request: %w", err)
		}
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("api-version", s.armVersion)
	u := s.endpoint + path + "?" + q.Encode()
	resp, err := s.armSend(ctx, method, u, body, idempotent)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if op := resp.Header.Get("Azure-AsyncOperation"); op != "" && !s.noWait && (resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusAccepted) {
		// A long-running operation: wait for it, then read the result.
		if err := s.awaitOperation(ctx, resp, op); err != nil {
			return 0, err
		}
		if out == nil || method == http.MethodDelete {
			return resp.StatusCode, nil
		}
		final, err := s.armSend(ctx, http.MethodGet, u, nil, true)
		if err != nil {
			return 0, err
		}
		defer final.Body.Close()
		if err := json.NewDecoder(final.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("client: decode %s %s response: %w", method, path, err)
		}
		return resp.StatusCode, nil
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("client: decode %s %s response: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// armSend sends one ARM request to the absolute URL u with the call's
// retries; the caller closes the response's body.
func (s *settings) armSend(ctx context.Context, method, u string, body []byte, idempotent bool) (*http.Response, error) {
	resp, _, err := s.do(ctx, request{
		method:     method,
		targets:    []Target{{}},
		idempotent: idempotent,
		build: func(ctx context.Context, _ Target) (*http.Request, error) {
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			req, err := http.NewRequestWithContext(ctx, method, u, rd)
			if err != nil {
				return nil, err
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Accept", "application/json")
			if s.token != "" {
				req.Header.Set("Authorization", "Bearer "+s.token)
			}
			return req, nil
		},
	})
	return resp, err
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// subPath returns /subscriptions/{sub} for the call's subscription.
func (c *Client) subPath(ctx context.Context, s *settings) (string, error) {
	sub, err := c.subscription(ctx, s)
	if err != nil {
		return "", err
	}
	return "/subscriptions/" + seg(sub), nil
}

const providerPath = "/providers/Microsoft.CognitiveServices"

func (c *Client) accountPath(ctx context.Context, s *settings, rg, account string) (string, error) {
	if rg == "" || account == "" {
		return "", errors.New("client: a resource group and an account name are required")
	}
	sp, err := c.subPath(ctx, s)
	if err != nil {
		return "", err
	}
	return sp + "/resourceGroups/" + seg(rg) + providerPath + "/accounts/" + seg(account), nil
}

// joinEndpoint appends p to an endpoint URL that may or may not end in "/".
func joinEndpoint(endpoint, p string) string {
	return strings.TrimRight(endpoint, "/") + "/" + strings.TrimLeft(p, "/")
}
