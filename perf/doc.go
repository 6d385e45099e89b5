// Package perf measures what ptu costs per call and whether it keeps its
// promise, side by side with a bare reverse proxy in the same run:
//
//   - Overhead: an instant upstream (ptu sim --instant), a bare
//     httputil.ReverseProxy in front of it, and ptu serve with an upstream
//     pool in front of it (memory limiter, then Redis), each driven open-loop
//     at fixed rates and closed-loop to saturation (ptu bench overhead).
//   - Isolation: two deployments on one simulated pool, one at 400 % of its
//     PTUs and one at 50 %; the quiet one's latency against it alone, the
//     noisy one's accepted throughput against its capacity.
//   - Memory: resident memory of ptu serve holding many deployments and
//     streams; leaks: goroutines and buckets back to their baseline after a soak.
//
// Every process is a subprocess of the same binary, so each one's CPU is its
// own and the load generator's is not counted against the proxy it drives.
package perf
