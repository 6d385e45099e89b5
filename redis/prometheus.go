package redis

import "github.com/prometheus/client_golang/prometheus"

// collector exposes a Limiter's Stats and its settle queue to Prometheus.
type collector struct {
	l                                            *Limiter
	admits, refused, localSettles, dropped, errs *prometheus.Desc
	up, queued                                   *prometheus.Desc
}

// Collector returns a prometheus.Collector of the limiter's counters: what
// Redis decided and what was decided locally, refusals, dropped settles,
// errors, whether Redis answers, and the settles waiting to be written.
func (l *Limiter) Collector() prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{l: l,
		admits: d("ptu_redis_limiter_admits_total",
			"Admissions decided by the shared buckets in Redis (decided_by=redis) or, while Redis was unavailable and the failure mode is fail-open, by this replica's local share (decided_by=local).", "decided_by"),
		refused: d("ptu_redis_limiter_refused_total",
			"Calls refused with 503 because Redis was unavailable and the failure mode is fail-closed."),
		localSettles: d("ptu_redis_limiter_local_settles_total",
			"Settles applied to the local bucket: those of calls it admitted while Redis was unavailable."),
		dropped: d("ptu_redis_limiter_dropped_settles_total",
			"Queued settle corrections (one per deployment and batch) Redis did not take; those calls' estimates drain as if fully used."),
		errs: d("ptu_redis_limiter_errors_total",
			"Calls to Redis that failed (scripts and health checks)."),
		up: d("ptu_redis_limiter_up",
			"1 if the last call to Redis succeeded, 0 if it failed."),
		queued: d("ptu_redis_limiter_queued_settles",
			"Deployments with a settle correction queued for Redis and not yet written."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.admits, c.refused, c.localSettles, c.dropped, c.errs, c.up, c.queued} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.l.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.admits, s.RedisAdmits, "redis")
	counter(c.admits, s.LocalAdmits, "local")
	counter(c.refused, s.Refused)
	counter(c.localSettles, s.LocalSettles)
	counter(c.dropped, s.DroppedSettles)
	counter(c.errs, s.RedisErrors)
	up := 1.0
	if s.Down {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(c.l.settles.len()))
}
