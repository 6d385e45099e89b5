package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/bench"
	"github.com/ptu-dev/ptu/catalog"
)

// newBench is `ptu bench`: load generation with azure-openai-benchmark's
// flags and output, and backend calibration.
func newBench() *cobra.Command {
	cmd := group("bench", "Benchmark a deployment or calibrate a backend",
		`  export OPENAI_API_KEY=$(ptu cognitiveservices account keys list -n demo-aoai -g demo --query key1 -o tsv)
  ptu bench load http://127.0.0.1:8080/accounts/demo-aoai/ --deployment gpt-4o --rate 60 --duration 600 --report run.html
  ptu bench calibrate http://127.0.0.1:8000 --deployment gpt-4o --model gpt-4o`,
		newBenchLoad(), newBenchCalibrate(), newBenchOverhead())
	cmd.Long = `Benchmark a deployment (ptu bench load), the way azure-openai-benchmark does and with
its flags and output, or find the PTU rating of a model server (ptu bench calibrate).`
	return cmd
}

// target is what both subcommands need to reach an endpoint.
type benchTarget struct {
	deployment, apiKeyEnv, apiVersion, apiStyle, model string
}

func (t *benchTarget) flags(cmd *cobra.Command, defaultStyle string) {
	f := cmd.Flags()
	f.StringVarP(&t.deployment, "deployment", "e", "", "deployment name (the model name for --api-style openai)")
	f.StringVarP(&t.apiKeyEnv, "api-key-env", "k", "OPENAI_API_KEY", "environment variable that holds the API key")
	f.StringVarP(&t.apiVersion, "api-version", "a", bench.DefaultAPIVersion, "api-version (azure style)")
	f.StringVar(&t.apiStyle, "api-style", defaultStyle, "azure (…/openai/deployments/D/chat/completions, api-key) or openai (…/v1/chat/completions, bearer token; vLLM, llama.cpp, Ollama, ptu sim)")
	f.StringVar(&t.model, "model", "", "catalog model behind the deployment, NAME[@VERSION]: its tokenizer counts prompts and its numbers turn traffic into PTUs (default: the deployment name when it is a catalog model)")
	_ = cmd.MarkFlagRequired("deployment")
}

// config fills the target part of a run.
func (t *benchTarget) config(endpoint string) (bench.Config, error) {
	if t.apiKeyEnv == "" {
		return bench.Config{}, errors.New("api-key-env is required")
	}
	key, set := os.LookupEnv(t.apiKeyEnv)
	if !set && t.apiStyle != bench.StyleOpenAI {
		return bench.Config{}, fmt.Errorf("api-key-env %s not set", t.apiKeyEnv)
	}
	return bench.Config{Endpoint: endpoint, Deployment: t.deployment, APIKey: key, APIStyle: t.apiStyle,
		APIVersion: t.apiVersion, Model: t.model}, nil
}

// shapeFlags are the request shape flags of azure-openai-benchmark.
type shapeFlags struct {
	profile                 string
	contextTokens, maxToken int
	completions             int
	cacheRate               float64
}

func (s *shapeFlags) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&s.profile, "shape-profile", "s", "balanced", "request shape: balanced (500 context / 500 max tokens), context (2000 / 200), generation (500 / 1000) or custom")
	f.IntVarP(&s.contextTokens, "context-tokens", "p", 0, "context (prompt) tokens of every call, with --shape-profile custom")
	f.IntVarP(&s.maxToken, "max-tokens", "m", 0, "max_tokens of every call, with --shape-profile custom (default unset)")
	f.IntVarP(&s.completions, "completions", "i", 1, "completions (n) per call")
	f.Float64Var(&s.cacheRate, "cache-rate", 0, "share of each prompt (0 to 1) that is the same in every call, so a prompt cache can serve it")
}

func (s *shapeFlags) shape(cmd *cobra.Command) (bench.Shape, error) {
	if s.profile == "custom" {
		if s.contextTokens < 1 {
			return bench.Shape{}, errors.New("context-tokens must be specified with shape=custom")
		}
		if s.maxToken < 0 {
			return bench.Shape{}, errors.New("max-tokens must be > 0")
		}
		return bench.Shape{ContextTokens: s.contextTokens, MaxTokens: s.maxToken}, nil
	}
	shape, ok := bench.ShapeProfile(s.profile)
	if !ok {
		return bench.Shape{}, fmt.Errorf("shape-profile %q: choose balanced, context, generation or custom", s.profile)
	}
	if cmd.Flags().Changed("context-tokens") || cmd.Flags().Changed("max-tokens") {
		return bench.Shape{}, fmt.Errorf("--context-tokens and --max-tokens go with --shape-profile custom, not %s", s.profile)
	}
	return shape, nil
}

// optFloat returns a pointer to v when the flag was given.
func optFloat(cmd *cobra.Command, name string, v float64) *float64 {
	if cmd.Flags().Changed(name) {
		return &v
	}
	return nil
}

func newBenchLoad() *cobra.Command {
	var (
		t                           benchTarget
		s                           shapeFlags
		clients, requests, duration int
		rate, window                float64
		retry, format, arrivals     string
		freq, pres, temp, topP      float64
		logDir, reportPath          string
		ptus                        int
		sweep                       bool
		sweepThrottle               float64
		sweepCooldown, sweepRefine  int
	)
	cmd := &cobra.Command{
		Use:   "load ENDPOINT [ENDPOINT...] --deployment NAME [flags]",
		Short: "Drive load at a deployment and report throughput, latency, throttling and utilization",
		Long: `Drive load at a deployment as azure-openai-benchmark's load command does, with its flags,
its per-second output (--output-format human or jsonl, the same keys and types) and
its retry modes, and report at the end what it does not: p50/p90/p99 latencies, the
goodput, the calls throttled and the time lost waiting on retry-after, and the PTUs
the traffic needs (with --model, or a deployment named after its model; --ptu gives
the share of the deployment it used). See docs/sizing.md.

ENDPOINT is the resource endpoint (https://<account>.openai.azure.com, or a ptu
account's endpoint such as http://127.0.0.1:8080/accounts/demo-aoai/), or with
--api-style openai the base URL of an OpenAI-compatible server
(http://127.0.0.1:8000/v1 for vLLM or ptu sim). Several endpoints of one deployment
(the replicas of a ptu cluster) take the calls in turn. The key is read from the variable
--api-key-env names (OPENAI_API_KEY).

Every call streams; prompts are random words of exactly --context-tokens tokens
of the model's tokenizer, so no cache serves them (but --cache-rate of each, which
is the same in every call). Run for ten minutes or more to reach a steady state:
an idle deployment absorbs a burst before it throttles.

--sweep searches for the highest --rate with under 1% of calls throttled, running
each step for --duration; --report writes a self-contained HTML report with charts.`,
		Example: `  ptu bench load https://myaccount.openai.azure.com --deployment gpt-4 --rate 60 --retry exponential
  ptu bench load http://127.0.0.1:8080/accounts/demo-aoai/ -e gpt-4o --shape-profile custom --context-tokens 200 --max-tokens 20 \
    --rate 1000 --duration 600 --ptu 115 --output-format jsonl --log-save-dir logs --report run.html
  ptu bench load http://127.0.0.1:8000/v1 --api-style openai -e gpt-4o --clients 100 --requests 2000
  ptu bench load http://127.0.0.1:8080/accounts/demo-aoai/ -e gpt-4o --rate 30 --duration 300 --sweep
  ptu bench load http://10.0.0.1:8080/accounts/demo-aoai/ http://10.0.0.2:8080/accounts/demo-aoai/ -e gpt-4o --rate 3000`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := t.config(args[0])
			if err != nil {
				return invalidArgs(err)
			}
			cfg.MoreEndpoints = args[1:]
			if cfg.Shape, err = s.shape(cmd); err != nil {
				return invalidArgs(err)
			}
			// azure-openai-benchmark's rules.
			switch {
			case clients < 1:
				return invalidArgs(errors.New("clients must be > 0"))
			case requests < 0:
				return invalidArgs(errors.New("requests must be > 0"))
			case duration != 0 && duration < 30:
				return invalidArgs(errors.New("duration must be > 30"))
			case rate < 0:
				return invalidArgs(errors.New("rate must be > 0"))
			case s.completions < 1:
				return invalidArgs(errors.New("completions must be > 0"))
			case window <= 0:
				return invalidArgs(errors.New("aggregation-window must be > 0"))
			}
			cfg.Clients, cfg.Requests, cfg.Rate, cfg.Arrivals = clients, requests, rate, arrivals
			cfg.Duration = time.Duration(duration) * time.Second
			cfg.AggregationWindow = time.Duration(window * float64(time.Second))
			cfg.Completions, cfg.CacheRate, cfg.Retry, cfg.OutputFormat, cfg.PTU = s.completions, s.cacheRate, retry, format, ptus
			cfg.FrequencyPenalty = optFloat(cmd, "frequency-penalty", freq)
			cfg.PresencePenalty = optFloat(cmd, "presence-penalty", pres)
			cfg.Temperature = optFloat(cmd, "temperature", temp)
			cfg.TopP = optFloat(cmd, "top-p", topP)
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			cfg.Output, cfg.Log = stdout, stderr
			if sweep {
				if logDir != "" || reportPath != "" {
					return invalidArgs(errors.New("--log-save-dir and --report describe one run; with --sweep each step prints one line"))
				}
				return runSweep(cmd, cfg, sweepThrottle, sweepCooldown, sweepRefine)
			}

			var files *runFiles
			if logDir != "" {
				if files, err = openRunFiles(logDir); err != nil {
					return err
				}
				defer files.close()
				cfg.RequestLog, cfg.StatsLog = files.requests, files.stats
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			if err != nil {
				return invalidArgs(err)
			}
			summaryOut := stdout
			if format == bench.FormatJSONL {
				summaryOut = stderr // keep standard output to JSON lines
			}
			rep.Summary.Write(summaryOut, rep.Config.Retry)
			if files != nil {
				if err := files.writeSummary(rep); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "per-call log, per-second statistics and summary in %s\n", files.prefix+"-*")
			}
			if reportPath != "" {
				if err := writeReport(rep, reportPath); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "report written to %s\n", reportPath)
			}
			// A run with no successful call measured nothing: say why, and
			// fail, so a script or CI step does not take it for a result.
			if sum := rep.Summary; sum.Calls > 0 && sum.Succeeded == 0 && !rep.Interrupted {
				why := sum.FirstError
				if why == "" {
					why = fmt.Sprintf("all %d throttled (HTTP 429)", sum.Throttled)
				}
				return fmt.Errorf("no call succeeded (%d made): %s", sum.Calls, why)
			}
			return nil
		},
	}
	t.flags(cmd, bench.StyleAzure)
	s.flags(cmd)
	f := cmd.Flags()
	f.IntVarP(&clients, "clients", "c", 20, "parallel clients: the most calls in flight at once")
	f.IntVarP(&requests, "requests", "n", 0, "number of calls to make (default until killed or --duration ends)")
	f.IntVarP(&duration, "duration", "d", 0, "seconds to run, at least 30 (default until killed or --requests are made)")
	f.Float64VarP(&rate, "rate", "r", 0, "calls per minute (default as fast as the clients allow)")
	f.StringVar(&arrivals, "arrivals", bench.ArrivalsConstant, "with --rate: constant (evenly spaced) or poisson (random gaps of the same mean, as independent users)")
	f.Float64VarP(&window, "aggregation-window", "w", 60, "sliding window of the per-second statistics, in seconds (keep it at least twice the typical call latency)")
	f.Float64Var(&freq, "frequency-penalty", 0, "frequency_penalty of every call")
	f.Float64Var(&pres, "presence-penalty", 0, "presence_penalty of every call")
	f.Float64Var(&temp, "temperature", 0, "temperature of every call")
	f.Float64Var(&topP, "top-p", 0, "top_p of every call")
	f.StringVarP(&format, "output-format", "f", bench.FormatHuman, "per-second output: human or jsonl (azure-openai-benchmark's keys and types)")
	f.StringVarP(&retry, "retry", "t", bench.RetryNone, "none (a 429 ends the call and counts as throttled) or exponential (wait retry-after-ms and retry, up to 60 s per call)")
	f.StringVar(&logDir, "log-save-dir", "", "directory for the per-call log (one JSON line per call), the per-second JSON lines and the summary")
	f.StringVar(&reportPath, "report", "", "write a self-contained HTML report with charts to this file")
	f.IntVar(&ptus, "ptu", 0, "the deployment's PTUs, to report the share of them the traffic used")
	f.BoolVar(&sweep, "sweep", false, "search for the highest rate with under 1% of calls throttled, from --rate, each step lasting --duration")
	f.Float64Var(&sweepThrottle, "sweep-max-throttle", 1, "with --sweep: the throttled share of calls, in percent, a step may reach and pass")
	f.IntVar(&sweepCooldown, "sweep-cooldown", 60, "with --sweep: seconds to let the deployment drain between steps")
	f.IntVar(&sweepRefine, "sweep-refine", 4, "with --sweep: bisection steps once a passing and a failing rate are known")
	return cmd
}

// invalidArgs formats a settings problem as azure-openai-benchmark does.
func invalidArgs(err error) error {
	return fmt.Errorf("invalid argument(s): %w", err)
}

func runSweep(cmd *cobra.Command, cfg bench.Config, maxThrottle float64, cooldown, refine int) error {
	if !(cfg.Rate > 0) {
		return invalidArgs(errors.New("--sweep starts from --rate: give the first rate to try"))
	}
	if cfg.Duration == 0 {
		return invalidArgs(errors.New("--sweep needs --duration, the length of each step (several minutes is best)"))
	}
	if cooldown < 0 || refine < 0 {
		return invalidArgs(errors.New("--sweep-cooldown and --sweep-refine must not be negative"))
	}
	sc := bench.SweepConfig{Base: cfg, MaxThrottle: maxThrottle, Cooldown: time.Duration(cooldown) * time.Second, Refine: refine}
	if cooldown == 0 {
		sc.Cooldown = -1 // none; zero would mean the default
	}
	if refine == 0 {
		sc.Refine = -1
	}
	res, err := bench.Sweep(cmd.Context(), sc)
	if res != nil {
		res.Write(summaryWriter(cmd, cfg.OutputFormat))
	}
	if err != nil && res == nil {
		return invalidArgs(err)
	}
	return err
}

// runFiles are the files of --log-save-dir for one run.
type runFiles struct {
	prefix          string
	requests, stats *os.File
}

func openRunFiles(dir string) (*runFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f := &runFiles{prefix: filepath.Join(dir, "ptu-bench-"+time.Now().Format("20060102-150405"))}
	var err error
	if f.requests, err = os.Create(f.prefix + "-requests.jsonl"); err != nil {
		return nil, err
	}
	if f.stats, err = os.Create(f.prefix + "-stats.jsonl"); err != nil {
		f.requests.Close()
		return nil, err
	}
	return f, nil
}

func (f *runFiles) close() {
	f.requests.Close()
	f.stats.Close()
}

func (f *runFiles) writeSummary(rep *bench.Report) error {
	data, err := json.MarshalIndent(struct {
		Config  bench.Config  `json:"config"`
		Summary bench.Summary `json:"summary"`
	}{rep.Config, rep.Summary}, "", "  ")
	if err != nil {
		return err
	}
	var text strings.Builder
	rep.Summary.Write(&text, rep.Config.Retry)
	if err := os.WriteFile(f.prefix+"-summary.json", append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(f.prefix+"-summary.txt", []byte(strings.TrimLeft(text.String(), "\n")), 0o644)
}

func writeReport(rep *bench.Report, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newBenchCalibrate() *cobra.Command {
	var (
		t                        benchTarget
		s                        shapeFlags
		stepSeconds              int
		target, pct, tpm, weight float64
		start, maxClients        int
		format                   string
	)
	cmd := &cobra.Command{
		Use:   "calibrate ENDPOINT --deployment NAME --model NAME[@VERSION] [flags]",
		Short: "Find the PTU rating of a model server: the most throughput at which it still meets the latency target",
		Long: `Find the PTU rating to give a model server's capacity pool. Calibration runs steps of
growing concurrency (1, 2, 4, … calls in flight, then bisecting), each for
--step-duration seconds, and measures each call's stream speed (generated tokens per
second after the first). A step passes while --percentile percent of calls stream at
the model's latency target or faster (the catalog's, e.g. 25 tokens/s for gpt-4o,
or --target-tps). The rating is the most normalized throughput a passing step served
(prompt tokens + output weight × generated tokens per minute), divided by the model's
input TPM per PTU.

The server is called as an OpenAI-compatible endpoint by default (vLLM, llama.cpp,
Ollama, TGI, ptu sim); give --api-style azure for an Azure-style one.`,
		Example: `  ptu bench calibrate http://127.0.0.1:8000/v1 --deployment gpt-4o --model gpt-4o
  ptu bench calibrate http://gpu-1:8000/v1 -e meta-llama/Llama-3.3-70B-Instruct --target-tps 30 \
    --input-tpm-per-ptu 8450 --output-weight 4 --shape-profile custom --context-tokens 1000 --max-tokens 200`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := t.config(args[0])
			if err != nil {
				return invalidArgs(err)
			}
			if cfg.Shape, err = s.shape(cmd); err != nil {
				return invalidArgs(err)
			}
			if stepSeconds < 30 {
				return invalidArgs(errors.New("step-duration must be at least 30 seconds"))
			}
			cfg.Duration = time.Duration(stepSeconds) * time.Second
			cfg.Completions, cfg.CacheRate, cfg.OutputFormat = s.completions, s.cacheRate, format
			cfg.Output, cfg.Log = cmd.OutOrStdout(), nil
			res, err := bench.Calibrate(cmd.Context(), bench.CalibrateConfig{Base: cfg, TargetTPS: target, Percentile: pct,
				InputTPMPerPTU: tpm, OutputWeight: weight, StartClients: start, MaxClients: maxClients})
			if res != nil {
				var model *catalog.Model
				if t.model != "" {
					name, version, _ := strings.Cut(t.model, "@")
					model, _ = catalog.Default().Lookup(name, version)
				} else {
					model, _ = catalog.Default().Lookup(t.deployment, "")
				}
				res.Write(summaryWriter(cmd, format), model)
			}
			if err != nil && res == nil {
				return invalidArgs(err)
			}
			return err
		},
	}
	t.flags(cmd, bench.StyleOpenAI)
	s.flags(cmd)
	f := cmd.Flags()
	f.IntVar(&stepSeconds, "step-duration", 60, "seconds each concurrency runs, at least 30")
	f.Float64Var(&target, "target-tps", 0, "generated tokens per second a call must reach (default the model's latency target)")
	f.Float64Var(&pct, "percentile", 99, "percent of calls that must reach the target")
	f.Float64Var(&tpm, "input-tpm-per-ptu", 0, "input tokens per minute of one PTU (default the model's)")
	f.Float64Var(&weight, "output-weight", 0, "input tokens one output token counts as (default the model's)")
	f.IntVar(&start, "start-clients", 1, "the first concurrency tried")
	f.IntVar(&maxClients, "max-clients", 1024, "the most concurrency tried")
	f.StringVarP(&format, "output-format", "f", bench.FormatHuman, "one line per step: human or jsonl")
	return cmd
}

// summaryWriter is standard output, or standard error when standard output
// carries JSON lines.
func summaryWriter(cmd *cobra.Command, format string) io.Writer {
	if format == bench.FormatJSONL {
		return cmd.ErrOrStderr()
	}
	return cmd.OutOrStdout()
}
