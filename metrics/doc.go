// Package metrics records what the data plane does, per deployment and per
// minute, and serves it the way operators' tools read it: Azure Monitor's
// metrics API (Reader, through package arm) and Prometheus (Recorder.Handler).
//
// # Recording
//
// The server hands the record of every finished inference call
// (ptu.CallRecord) to AccessLog.Record, which writes its access line, and to
// Recorder.Record, which counts it in the Prometheus series and adds it to
// the points of its minute: one point per metric and
// combination of dimension values, holding Count samples that sum to Total
// with their Minimum and Maximum (Azure Monitor's own pre-aggregated shape;
// every aggregation derives from it). Run writes a minute to the store once
// its grace period (Options.Grace, two minutes by default) is over, together
// with its 5-minute and hourly roll-ups (points merge on write), and deletes
// points past retention.
//
// # Which minute a call counts in
//
// A call counts in the minute it arrived: the Recorder's clock when the call
// ends, less the call's duration (both from the injected clock). That is
// where admission charged it: the leaky bucket takes a call's estimate when
// it admits it and only corrects the difference when it ends, so counting
// the call's settled cost at its arrival makes the metric count what
// admission counts, minute by minute. A minute therefore waits for the calls
// that arrived in it to finish before it is written; a call still running
// when the grace period is over counts in the first minute not yet written
// (the same rule keeps a point, once written, final).
//
// The alternatives were the minute the call ended, or its cost spread over
// the minutes it ran. Counting at the end needs no grace period, but moves
// the cost by each call's duration, so the per-minute value carries the
// noise of the engine's latency (at 200 % offered load, calls slowed by
// load spill admitted work into later minutes and read above 100 %).
// Spreading needs to know when the tokens were processed, which the gateway
// does not report, and still needs a grace period. A call longer than a
// minute puts its whole cost in its first minute here, as it would in its
// last with the other choice.
//
// # Utilization
//
// Provisioned-managed Utilization V2 is, as Azure defines it, PTUs consumed
// over PTUs deployed. ptu measures both in input-equivalent tokens: consumed
// is the settled cost of the calls that arrived in the minute (uncached
// prompt tokens + output weight × generated tokens, what admission counts),
// and deployed is one minute of the deployment's capacity (PTUs × the
// model's input TPM per PTU). So:
//
//   - Average (the metric's value) = tokens of the minute ÷ capacity per minute × 100.
//   - Maximum and Minimum: the one-minute utilization sampled every 10 seconds,
//     each sample being the tokens of the minute before it over one minute
//     of capacity; a minute's extremes are those of its six samples. The
//     last sample of a minute is the minute itself, so Minimum ≤ Average ≤
//     Maximum. A burst shows in Maximum scaled to one minute, the way it
//     fills the bucket, not as the rate of its busiest second.
//   - Over longer intervals (PT5M, PT1H, …) Average is the mean of the
//     minutes, idle minutes counting as 0 %, and the extremes are those of the
//     minutes. Across deployments (a query that does not split by deployment)
//     Average is the mean of the deployments' utilizations.
//
// At offered load below capacity the bucket never fills and utilization
// reads the offered load. Above it, admission holds the admitted cost to one
// minute of capacity per minute and utilization reads 100 %, after a first
// minute that can read up to 200 %: an idle bucket admits one minute of
// capacity at once (its burst allowance, drained as it goes) on top of the
// minute's own.
//
// Prometheus' ptu_deployment_utilization_ratio is the latest of those
// 10-second samples, of the calls finished so far, so the three views agree:
// once a minute's calls have finished, the sample at its end equals its
// Average, and within it the samples range between its Minimum and Maximum.
// ptu_deployment_bucket_level_ratio is the admission bucket's level instead,
// the number admission compares with 100 %; at offered load below capacity
// it stays near zero.
//
// # Several replicas
//
// Points merge in the store (counts and totals add, extremes are kept), so
// replicas sharing a database add up: every Average, Count and Total is
// exact. The Maximum and Minimum of utilization are sampled per replica, so
// with several replicas they are the extremes of one replica's share, kept
// on their side of the Average (Maximum at least, Minimum at most, the
// Average).
package metrics
