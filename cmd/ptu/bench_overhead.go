package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/perf"
)

// newBenchOverhead is `ptu bench overhead`: ptu's cost per call against a
// bare reverse proxy in the same run (package perf).
func newBenchOverhead() *cobra.Command {
	var (
		rates                []float64
		duration, soak       time.Duration
		workers, maxTokens   int
		rounds               int
		limiters             []string
		redisURL, out        string
		keepWork             bool
		isolation, memory    bool
		deployments, streams int
		replot               string
		stream               bool
		iso                  perf.IsolationOptions
		wrk, serveExe        string
		wrkConns             int
	)
	cmd := &cobra.Command{
		Use:   "overhead",
		Short: "Measure ptu's added latency and throughput against a bare reverse proxy",
		Long: `Start an instant upstream (ptu sim --instant), a bare Go httputil.ReverseProxy in
front of it, and ptu serve with an upstream pool in front of it (once per
--limiter), each a subprocess of this binary; drive each open-loop at every
--rates step for --duration (latency from each call's scheduled send time),
then closed-loop with --workers callers to saturation. Every step runs in
--rounds rounds in which the targets take turns, so the shared machine's
drift falls on all alike.

Writes results.json, results.csv, added-latency.png and p99.png to --out, and
prints the tables. --soak runs ptu serve (memory limiter) under load for that
long and checks goroutines and buckets return to their baseline.`,
		Example: `  ptu bench overhead --out bench-results
  ptu bench overhead --rates 500,1000,2000 --duration 20s --limiter memory,redis --redis redis://127.0.0.1:6379
  ptu bench overhead --soak 10m --rates 1000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			for _, l := range limiters {
				if l == "redis" {
					if err := perf.ParseRedisURL(redisURL); err != nil {
						return err
					}
				}
			}
			work, err := os.MkdirTemp("", "ptu-overhead-")
			if err != nil {
				return err
			}
			if !keepWork {
				defer os.RemoveAll(work)
			}
			w := cmd.OutOrStdout()
			if replot != "" {
				rep, err := perf.ReadReport(replot)
				if err != nil {
					return err
				}
				rep.Compare()
				files, err := rep.WriteCharts(out)
				rep.WriteTable(w)
				fmt.Fprintln(w, "\nwrote", files)
				return err
			}
			opt := perf.Options{Exe: exe, Rates: rates, Duration: duration, Workers: workers, Rounds: rounds, Limiters: limiters,
				RedisURL: redisURL, WorkDir: work, Progress: w, MaxTokens: maxTokens, Stream: stream, ServeExe: serveExe}
			ctx := cmd.Context()
			if soak > 0 {
				return runSoak(ctx, cmd, opt, soak, out)
			}
			if memory {
				rep, err := perf.RunMemory(ctx, perf.MemoryOptions{Exe: exe, WorkDir: work, Deployments: deployments, Streams: streams,
					Progress: func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "\nptu serve RSS: %.1f MB idle, %.1f MB with %d deployments (made in %s), %.1f MB at most with %d streams open (%d of %d streams completed, %d failed)\n",
					float64(rep.RSSIdle)/1e6, float64(rep.RSSDeployed)/1e6, rep.Deployments, rep.DeployTime.Round(time.Second),
					float64(rep.RSSPeak)/1e6, rep.PeakInFlight, rep.StreamsOK, rep.Streams, rep.StreamsFailed)
				if rep.LastError != "" {
					fmt.Fprintln(w, "last error:", rep.LastError)
				}
				return writeJSON(filepath.Join(out, "memory.json"), rep)
			}
			if isolation {
				iso.WorkDir, iso.Progress = work, w
				rep, err := perf.RunIsolation(ctx, iso)
				if err != nil {
					return err
				}
				fmt.Fprintln(w)
				rep.WriteTable(w)
				return writeJSON(filepath.Join(out, "isolation.json"), rep)
			}
			fmt.Fprintf(w, "starting upstream, bare proxy and ptu serve (%v) in %s\n", limiters, work)
			b, err := perf.StartBench(ctx, opt)
			if err != nil {
				return err
			}
			defer b.Stop()
			if wrk != "" {
				rep, err := b.RunWrk(ctx, perf.WrkOptions{Path: wrk, Connections: wrkConns, Duration: duration, Rounds: rounds})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s; load average %s before, %s after\n\n",
					rep.Machine.CPUs, rep.Machine.Model, rep.Machine.GoVersion, rep.Machine.Load, rep.LoadAfter)
				rep.WriteTable(w)
				return rep.WriteJSON(filepath.Join(out, "wrk.json"))
			}
			rep, err := b.Run(ctx)
			if err != nil {
				return err
			}
			if err := rep.WriteFiles(out); err != nil {
				return err
			}
			files, err := rep.WriteCharts(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s; load average %s before, %s after\n\n",
				rep.Machine.CPUs, rep.Machine.Model, rep.Machine.GoVersion, rep.Machine.Load, rep.LoadAfter)
			rep.WriteTable(w)
			fmt.Fprintf(w, "\nwrote %s, %s", filepath.Join(out, "results.json"), filepath.Join(out, "results.csv"))
			for _, f := range files {
				fmt.Fprintf(w, ", %s", f)
			}
			fmt.Fprintln(w)
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64SliceVar(&rates, "rates", []float64{500, 1000, 2000}, "open-loop steps, calls per second")
	f.DurationVar(&duration, "duration", 10*time.Second, "length of each step")
	f.IntVar(&workers, "workers", 64, "closed-loop callers of the saturation step; 0 skips it")
	f.StringVar(&wrk, "wrk", "", "instead: drive the bare proxy and ptu serve to saturation with this wrk binary (an external load generator, e.g. /usr/bin/wrk from Debian's wrk package), --rounds rounds of --duration per target; writes wrk.json")
	f.IntVar(&wrkConns, "wrk-connections", 32, "with --wrk: open connections")
	f.StringVar(&serveExe, "serve-exe", "", "run this binary as ptu serve instead of this one (to compare two builds)")
	f.IntVar(&rounds, "rounds", 3, "rounds of every step (each rate, then saturation), the targets taking turns in each (--duration each); calls and CPU are summed and latencies pooled over them")
	f.StringSliceVar(&limiters, "limiter", []string{"memory", "redis"}, "ptu serve's limiters to measure: memory, redis")
	f.StringVar(&redisURL, "redis", "redis://127.0.0.1:6379", "Redis for the redis limiter")
	config.BindEnv(f, "redis", "PTU_REDIS")
	f.StringVar(&out, "out", "bench-results", "directory for results.json, results.csv and the PNG charts")
	f.IntVar(&maxTokens, "max-tokens", 32, "max_tokens of every call (the answer's length)")
	f.DurationVar(&soak, "soak", 0, "instead: run load for this long and check for goroutine and bucket leaks")
	f.BoolVar(&keepWork, "keep", false, "keep the working directory (process logs, databases)")
	f.BoolVar(&stream, "stream", false, "also measure every target with streaming calls (the upstream then streams to all of them, as it always does to ptu)")
	f.StringVar(&replot, "replot", "", "instead: read a results.json and write its tables and charts to --out")
	f.BoolVar(&memory, "memory", false, "instead: ptu serve's RSS with --deployments deployments and --streams streams open at once")
	f.IntVar(&deployments, "deployments", 10_000, "with --memory: deployments to make")
	f.IntVar(&streams, "streams", 1000, "with --memory: streaming calls to hold open at once")
	f.BoolVar(&isolation, "isolation", false, "instead: deployments A (400 %) and B (50 %) on one simulated pool; B's latency alone and with A, A's accepted throughput")
	f.Float64Var(&iso.Scale, "time-scale", 1, "with --isolation: simulated seconds per real second")
	f.DurationVar(&iso.Warmup, "warmup", 5*time.Minute, "with --isolation: simulated time before measuring")
	f.DurationVar(&iso.Measure, "measure", 10*time.Minute, "with --isolation: simulated time measured")
	f.BoolVar(&iso.Sequential, "sequential", false, "with --isolation: run B alone first, then A and B (default: both phases at once, on two servers)")
	cmd.AddCommand(newBenchOverheadProxy())
	return cmd
}

// newBenchOverheadProxy is the bare proxy the overhead run measures ptu
// against: httputil.ReverseProxy and nothing else.
func newBenchOverheadProxy() *cobra.Command {
	var addr, upstream string
	cmd := &cobra.Command{
		Use:    "proxy --addr HOST:PORT --upstream URL",
		Short:  "Serve a bare reverse proxy (the baseline of ptu bench overhead)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := url.Parse(upstream)
			if err != nil || u.Host == "" {
				return fmt.Errorf("--upstream %q: want http://host:port", upstream)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: perf.NewBareProxy(u), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "listen address")
	cmd.Flags().StringVar(&upstream, "upstream", "http://127.0.0.1:8000", "upstream base URL")
	return cmd
}

func runSoak(ctx context.Context, cmd *cobra.Command, opt perf.Options, d time.Duration, out string) error {
	if len(opt.Rates) != 1 {
		return errors.New("--soak takes one --rates")
	}
	w := cmd.OutOrStdout()
	opt.Limiters = []string{"memory"}
	b, err := perf.StartBench(ctx, opt)
	if err != nil {
		return err
	}
	defer b.Stop()
	rep, err := b.Soak(ctx, opt.Rates[0], d)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nsoak: %s at %.0f calls/s; goroutines %d before, %d at most, %d after; RSS %.1f MB before, %.1f MB at most, %.1f MB after; settled in %s\n",
		d, rep.Rate, rep.Baseline.Goroutines, rep.Peak.Goroutines, rep.After.Goroutines,
		float64(rep.Baseline.RSS)/1e6, float64(rep.Peak.RSS)/1e6, float64(rep.After.RSS)/1e6, rep.Settle.Round(time.Second))
	if err := writeJSON(filepath.Join(out, "soak.json"), rep); err != nil {
		return err
	}
	if len(rep.Leaks) > 0 {
		for _, l := range rep.Leaks {
			fmt.Fprintln(w, "leak:", l)
		}
		return errors.New("soak: leaks found")
	}
	fmt.Fprintln(w, "no leaks: goroutines back to the baseline, buckets drained")
	return nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
