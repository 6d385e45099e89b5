package client

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

// Defaults.
const (
	// DefaultEndpoint is where `ptu serve` listens with no flags.
	DefaultEndpoint = "http://127.0.0.1:8080"
	// DefaultMaxRetries is the number of retries after the first attempt,
	// as in the OpenAI Python library the Azure guide shows.
	DefaultMaxRetries = 2
	// DefaultMaxRetryTime caps the time spent retrying one call.
	DefaultMaxRetryTime = 60 * time.Second
	// DefaultInitialBackoff and DefaultMaxBackoff bound the exponential
	// backoff of 5xx and connection errors (the OpenAI Python library's values).
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 8 * time.Second
	// ARMAPIVersion is the control-plane api-version the client sends.
	ARMAPIVersion = "2024-10-01"
	// InferenceAPIVersion is the data-plane api-version the client sends.
	InferenceAPIVersion = "2024-10-21"
)

// Clock is the time source of retries: Now stamps attempts and Sleep waits.
// Sleep must return ctx.Err() as soon as ctx is done. Tests inject a fake one
// to make waits deterministic.
type Clock = clock.Clock

// Target is where an inference call goes: a deployment, and the account
// endpoint and key serving it. Empty Endpoint or APIKey mean the client's.
type Target struct {
	Deployment string
	Endpoint   string // an account's inference endpoint, e.g. http://127.0.0.1:8080/accounts/demo-aoai/
	APIKey     string
}

func (t Target) String() string {
	if t.Endpoint == "" {
		return t.Deployment
	}
	return t.Deployment + "@" + t.Endpoint
}

// settings are everything an Option can set. A Client holds its defaults; a
// call applies its own options over a copy.
type settings struct {
	endpoint      string // ptu server (ARM root)
	token         string
	subscription  string
	azureEndpoint string // account inference endpoint
	apiKey        string
	armVersion    string
	apiVersion    string
	httpClient    *http.Client
	userAgent     string

	maxRetries     int
	maxRetryTime   time.Duration
	initialBackoff time.Duration
	maxBackoff     time.Duration
	clock          Clock
	jitter         func(limit time.Duration) time.Duration
	failover       []Target
	observer       func(Attempt)
	noWait         bool

	err error // the first invalid option
}

func defaults() settings {
	return settings{
		endpoint:       DefaultEndpoint,
		armVersion:     ARMAPIVersion,
		apiVersion:     InferenceAPIVersion,
		httpClient:     http.DefaultClient,
		userAgent:      "ptu-go/1",
		maxRetries:     DefaultMaxRetries,
		maxRetryTime:   DefaultMaxRetryTime,
		initialBackoff: DefaultInitialBackoff,
		maxBackoff:     DefaultMaxBackoff,
		clock:          clock.Real{},
		jitter:         fullJitter,
	}
}

// fullJitter is a uniform duration in [0, limit].
func fullJitter(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return rand.N(limit + 1)
}

func (s *settings) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("client: "+format, args...)
	}
}

func (s settings) with(opts []Option) settings {
	s.failover = append([]Target(nil), s.failover...)
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
}

// Option configures a Client (New, WithOptions) or one call (pass it to the
// call). Every option works in both places.
type Option func(*settings)

// WithEndpoint sets the ptu server's base URL, where the ARM API lives
// (default DefaultEndpoint).
func WithEndpoint(u string) Option {
	return func(s *settings) {
		if err := checkURL(u); err != nil {
			s.fail("endpoint: %v", err)
			return
		}
		s.endpoint = strings.TrimRight(u, "/")
	}
}

// WithToken sets the bearer token of the ARM API (the server's admin token).
func WithToken(token string) Option { return func(s *settings) { s.token = token } }

// WithSubscription sets the subscription control-plane calls act on. Without
// it the client uses the first subscription the server lists.
func WithSubscription(id string) Option { return func(s *settings) { s.subscription = id } }

// WithAzureEndpoint sets the account inference endpoint of data-plane calls
// (an account's properties.endpoint), like the Python client's azure_endpoint.
func WithAzureEndpoint(u string) Option {
	return func(s *settings) {
		if err := checkURL(u); err != nil {
			s.fail("azure endpoint: %v", err)
			return
		}
		s.azureEndpoint = u
	}
}

// WithAPIKey sets the account key data-plane calls send in the api-key header.
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithAPIVersion sets the data-plane api-version (default InferenceAPIVersion).
func WithAPIVersion(v string) Option { return func(s *settings) { s.apiVersion = v } }

// WithARMAPIVersion sets the control-plane api-version (default ARMAPIVersion).
func WithARMAPIVersion(v string) Option { return func(s *settings) { s.armVersion = v } }

// WithHTTPClient sets the HTTP client (default http.DefaultClient).
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) {
		if c == nil {
			s.fail("nil HTTP client")
			return
		}
		s.httpClient = c
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(s *settings) { s.userAgent = ua } }

// WithMaxRetries sets how many times a call is retried after a wait
// (default 2; 0 disables waiting retries, failover still happens).
func WithMaxRetries(n int) Option {
	return func(s *settings) {
		if n < 0 {
			s.fail("max retries %d is negative", n)
			return
		}
		s.maxRetries = n
	}
}

// WithMaxRetryTime caps the time from a call's first attempt to the end of
// its last wait (default 60 s).
func WithMaxRetryTime(d time.Duration) Option {
	return func(s *settings) {
		if d < 0 {
			s.fail("max retry time %v is negative", d)
			return
		}
		s.maxRetryTime = d
	}
}

// WithBackoff sets the exponential backoff of 5xx and connection errors:
// the n-th wait is jittered below min(max, initial·2ⁿ).
func WithBackoff(initial, max time.Duration) Option {
	return func(s *settings) {
		if initial <= 0 || max < initial {
			s.fail("backoff initial %v, max %v: want 0 < initial <= max", initial, max)
			return
		}
		s.initialBackoff, s.maxBackoff = initial, max
	}
}

// WithJitter replaces the full jitter of backoff waits: f returns the wait
// for an upper limit. Tests pass a deterministic function.
func WithJitter(f func(limit time.Duration) time.Duration) Option {
	return func(s *settings) {
		if f == nil {
			s.fail("nil jitter")
			return
		}
		s.jitter = f
	}
}

// WithClock sets the time source of retries (default the real clock).
func WithClock(c Clock) Option {
	return func(s *settings) {
		if c == nil {
			s.fail("nil clock")
			return
		}
		s.clock = c
	}
}

// WithFailover sets the ordered targets an inference call moves to at once
// when its current target is throttled or failing. Empty Endpoint and APIKey
// fields take the client's.
func WithFailover(targets ...Target) Option {
	return func(s *settings) {
		for _, t := range targets {
			if t.Deployment == "" {
				s.fail("failover target without a deployment")
				return
			}
			if t.Endpoint != "" {
				if err := checkURL(t.Endpoint); err != nil {
					s.fail("failover endpoint: %v", err)
					return
				}
			}
		}
		s.failover = append([]Target(nil), targets...)
	}
}

// WithNoWait makes creations return the resource as the service first
// answers it (provisioningState Accepted or Creating) instead of waiting for
// their long-running operation to finish, like az's --no-wait.
func WithNoWait() Option { return func(s *settings) { s.noWait = true } }

// WithObserver calls f after every attempt, before any wait that follows it
// (Attempt.Wait says how long that wait will be).
func WithObserver(f func(Attempt)) Option { return func(s *settings) { s.observer = f } }

func checkURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return err
	}
	if p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", u)
	}
	return nil
}
