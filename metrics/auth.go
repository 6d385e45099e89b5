package metrics

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AuthFailures counts failed authentications in Prometheus, by plane (data,
// arm) and reason, and logs them at a bounded rate: at most AuthLogBurst
// lines per AuthLogInterval, each with the source address, then one line
// per interval saying how many more there were. A brute-force attempt shows
// as a rising rate of ptu_auth_failures_total without flooding the log.
type AuthFailures struct {
	counter *prometheus.CounterVec
	log     *slog.Logger
	now     func() time.Time

	mu         sync.Mutex
	window     time.Time // start of the current interval
	logged     int       // lines written in it
	suppressed int       // failures not logged in it
}

// Bounds of the failed-authentication log.
const (
	AuthLogInterval = 10 * time.Second
	AuthLogBurst    = 10
)

// NewAuthFailures registers ptu_auth_failures_total with reg.
func NewAuthFailures(reg prometheus.Registerer, log *slog.Logger, now func() time.Time) *AuthFailures {
	if now == nil {
		now = time.Now
	}
	a := &AuthFailures{log: log, now: now, counter: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ptu_auth_failures_total",
		Help: "Failed authentications (answered 401) by plane (data: inference API keys and tokens; arm: bearer tokens of the management API) and reason.",
	}, []string{"plane", "reason"})}
	reg.MustRegister(a.counter)
	return a
}

// Fail records one failed authentication from source (a remote address).
func (a *AuthFailures) Fail(plane, reason, source string) {
	if a == nil {
		return
	}
	a.counter.WithLabelValues(plane, reason).Inc()
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	now := a.now()
	a.mu.Lock()
	var report int
	if now.Sub(a.window) >= AuthLogInterval {
		report = a.suppressed
		a.window, a.logged, a.suppressed = now, 0, 0
	}
	write := a.logged < AuthLogBurst
	if write {
		a.logged++
	} else {
		a.suppressed++
	}
	a.mu.Unlock()
	if report > 0 {
		a.log.Warn("authentication failures not logged", "count", report, "interval", AuthLogInterval.String())
	}
	if write {
		a.log.Warn("authentication failed", "plane", plane, "reason", reason, "source", source)
	}
}
