package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/control"
)

// opsCollector exposes, at each scrape, what the alerting rules of
// deploy/prometheus watch beside the calls' own series: the health of
// every upstream endpoint and each subscription's quota use per region.
type opsCollector struct {
	svc       *control.Service
	upstreams map[string]*upstream.Group
}

var (
	upstreamEjectedDesc = prometheus.NewDesc("ptu_upstream_endpoint_ejected",
		"1 while an upstream endpoint is ejected (consecutive failures reached the group's failureThreshold; it returns after its cooldown and a successful probe), else 0.",
		[]string{"group", "endpoint"}, nil)
	upstreamFailuresDesc = prometheus.NewDesc("ptu_upstream_endpoint_consecutive_failures",
		"Consecutive failed calls or probes of an upstream endpoint.",
		[]string{"group", "endpoint"}, nil)
	quotaUsedDesc = prometheus.NewDesc("ptu_quota_used",
		"Quota in use per subscription, region and quota (OpenAI.<deployment type>: PTUs deployed; Standard types: their capacity units), what the usages API reports as currentValue.",
		[]string{"subscription", "region", "quota"}, nil)
	quotaLimitDesc = prometheus.NewDesc("ptu_quota_limit",
		"Quota limit per subscription, region and quota, what the usages API reports as limit.",
		[]string{"subscription", "region", "quota"}, nil)
)

func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upstreamEjectedDesc
	ch <- upstreamFailuresDesc
	ch <- quotaUsedDesc
	ch <- quotaLimitDesc
}

func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	for name, g := range c.upstreams {
		for _, h := range g.Health() {
			ejected := 0.0
			if h.Ejected {
				ejected = 1
			}
			ch <- prometheus.MustNewConstMetric(upstreamEjectedDesc, prometheus.GaugeValue, ejected, name, h.URL)
			ch <- prometheus.MustNewConstMetric(upstreamFailuresDesc, prometheus.GaugeValue, float64(h.Failures), name, h.URL)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	subs, err := c.svc.ListSubscriptions(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(quotaUsedDesc, err)
		return
	}
	for _, sub := range subs {
		regions, err := c.svc.ListLocations(ctx, sub.ID)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(quotaUsedDesc, err)
			return
		}
		for _, r := range regions {
			us, err := c.svc.Usages(ctx, sub.ID, r.Name)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(quotaUsedDesc, err)
				return
			}
			for _, u := range us {
				ch <- prometheus.MustNewConstMetric(quotaUsedDesc, prometheus.GaugeValue, float64(u.CurrentValue), sub.ID, r.Name, u.Name)
				ch <- prometheus.MustNewConstMetric(quotaLimitDesc, prometheus.GaugeValue, float64(u.Limit), sub.ID, r.Name, u.Name)
			}
		}
	}
}
