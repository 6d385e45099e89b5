package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// promMetrics are the Prometheus series the Recorder keeps. Every series of
// a deployment carries the labels account (the account's custom subdomain,
// unique on the server) and deployment.
type promMetrics struct {
	requests  *prometheus.CounterVec
	throttled *prometheus.CounterVec
	spilled   *prometheus.CounterVec
	tokens    *prometheus.CounterVec
	consumed  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	cut       *prometheus.CounterVec
}

var depLabels = []string{"account", "deployment"}

func newProm(r *Recorder) (*promMetrics, *prometheus.Registry) {
	p := &promMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ptu_requests_total",
			Help: "Inference calls to a deployment, by HTTP status code and streaming: those refused before admission (400, 413) and at it (429) included.",
		}, []string{"account", "deployment", "code", "stream"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ptu_throttled_requests_total",
			Help: "Inference calls refused with 429 because the deployment's utilization was at or above 100%.",
		}, depLabels),
		spilled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ptu_spillover_requests_total",
			Help: "Calls a provisioned deployment could not serve that spilled over to its Standard target, by the target deployment and the status it answered.",
		}, []string{"account", "deployment", "code"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ptu_tokens_total",
			Help: "Tokens of admitted calls by kind: prompt (cached included), cached (prompt tokens served from the prompt cache), completion.",
		}, []string{"account", "deployment", "kind"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ptu_deployment_consumed_tokens_total",
			Help: "Settled cost of calls in input-equivalent tokens (uncached prompt + output weight x generated): what utilization counts. increase(...[1m]) / ptu_deployment_capacity_tokens_per_minute is the utilization over the last minute.",
		}, depLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ptu_request_duration_seconds",
			Help:    "End-to-end duration of inference calls to a deployment (refused and throttled ones included), from arrival to the last byte.",
			Buckets: []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160},
		}, []string{"account", "deployment", "stream"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ptu_time_to_first_token_seconds",
			Help:    "Time from arrival to the first output token of successful calls.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32},
		}, []string{"account", "deployment", "stream"}),
		cut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ptu_cut_requests_total",
			Help: "Inference calls whose answer the server's side cut off before its end, by reason: drain (shutdown past the drain timeout), upstream (the backend failed mid-answer), timeout (the backend's request timeout).",
		}, []string{"account", "deployment", "reason"}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.requests, p.throttled, p.spilled, p.tokens, p.consumed, p.duration, p.ttft, p.cut,
		&gauges{r: r},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p, reg
}

func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// gauges reports, at each scrape, the state of every deployment called in
// the last hour.
type gauges struct{ r *Recorder }

var (
	utilizationDesc = prometheus.NewDesc("ptu_deployment_utilization_ratio",
		"Provisioned-managed utilization over the last minute (settled input-equivalent tokens of the calls that arrived in it, finished so far, over one minute of capacity), sampled every 10 s: the samples the Azure metric's Maximum and Minimum are taken from; the sample at a minute's end is its Average. 1 is 100%.",
		depLabels, nil)
	bucketDesc = prometheus.NewDesc("ptu_deployment_bucket_level_ratio",
		"Level of the deployment's admission bucket over its capacity, now; calls are refused with 429 at 1 or more.",
		depLabels, nil)
	capacityDesc = prometheus.NewDesc("ptu_deployment_capacity_tokens_per_minute",
		"Capacity of the deployment in input-equivalent tokens per minute (PTUs x the model's input TPM per PTU).",
		depLabels, nil)
	infoDesc = prometheus.NewDesc("ptu_deployment_info",
		"Deployment metadata; always 1.",
		[]string{"account", "deployment", "model", "model_version", "sku", "region"}, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- utilizationDesc
	ch <- bucketDesc
	ch <- capacityDesc
	ch <- infoDesc
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	r := g.r
	type row struct {
		info deploymentInfo
		util float64
		has  bool
	}
	r.mu.Lock()
	end := r.opt.Now().UTC().Truncate(sliceLen)
	rows := make([]row, 0, len(r.seen))
	for _, info := range r.seen {
		rw := row{info: *info}
		if info.provisioned && info.capacity > 0 {
			rw.has = true
			if t := r.tracks[info.total]; t != nil {
				rw.util = t.window(end) / info.capacity
			}
		}
		rows = append(rows, rw)
	}
	r.mu.Unlock()

	for _, rw := range rows {
		in := rw.info
		ch <- prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1, in.account, in.deployment, in.model, in.version, in.sku, in.region)
		if in.capacity > 0 {
			ch <- prometheus.MustNewConstMetric(capacityDesc, prometheus.GaugeValue, in.capacity, in.account, in.deployment)
		}
		if rw.has {
			ch <- prometheus.MustNewConstMetric(utilizationDesc, prometheus.GaugeValue, rw.util, in.account, in.deployment)
		}
		if r.opt.Limiter != nil && in.capacity > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			u, err := r.opt.Limiter.Utilization(ctx, in.key, in.capacity)
			cancel()
			if err == nil {
				ch <- prometheus.MustNewConstMetric(bucketDesc, prometheus.GaugeValue, u/100, in.account, in.deployment)
			}
		}
	}
}
