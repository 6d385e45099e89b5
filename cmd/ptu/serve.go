package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tracing"
)

func newServe() *cobra.Command {
	var opt server.Options
	var logFormat string
	var traceContent bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the ptu server (ARM control plane and Azure-OpenAI-compatible data plane)",
		Long: `Run the ptu server. With no flags it keeps a SQLite file in the data directory,
bootstraps a default subscription, regions and capacity pools from the embedded
configuration, and serves on 127.0.0.1:8080.

Every flag can also be set by the environment variable shown in brackets,
read exactly as the flag reads its value (a duration needs its unit: 30s, not
30); a bad value stops ptu serve before it starts. A flag given wins over its
variable.
A limit set to a negative value is turned off. On SIGTERM or Ctrl-C the server
stops accepting connections, lets calls in flight finish for --drain-timeout,
then cuts off the rest; every call settles its bucket. docs/hardening.md
describes TLS, HTTP/2, the limits and the shutdown.

OpenTelemetry traces go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set; the
other OTEL_* variables (protocol, sampler, headers, service name) apply as the
OpenTelemetry SDK documents them. docs/operations.md lists the spans.`,
		Example: `  ptu serve
  ptu serve --addr 0.0.0.0:8443 --tls-self-signed
  PTU_DATA_DIR=/var/lib/ptu ptu serve --config /etc/ptu/ptu.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Log lines go out in batches (logwriter.go); an error cobra
			// prints after RunE returns goes straight to stderr again.
			stderr := cmd.ErrOrStderr()
			logs := newBatchWriter(stderr)
			defer func() { logs.Close(); cmd.SetErr(stderr) }()
			cmd.SetErr(logs)
			opt.Logger = newLogger(cmd.ErrOrStderr(), logFormat)
			tr, err := tracing.FromEnv(cmd.Context(), tracing.Options{CaptureContent: traceContent})
			if err != nil {
				return fmt.Errorf("tracing: %w", err)
			}
			opt.Tracing = tr
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := tr.Shutdown(ctx); err != nil {
					opt.Logger.Warn("spans not exported before shutdown", "err", err)
				}
			}()
			s, err := server.New(cmd.Context(), opt)
			if err != nil {
				return err
			}
			defer s.Close()
			servePprof(opt.Logger)
			printWelcome(cmd.OutOrStdout(), s)
			return s.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&opt.DataDir, "data-dir", server.DefaultDataDir(), "data directory")
	f.StringVar(&opt.ConfigPath, "config", "", "configuration file (YAML); the embedded default when empty")
	f.StringVar(&opt.AdminToken, "admin-token", "", "admin bearer token; generated once into <data-dir>/admin-token when empty")
	f.StringVar(&opt.Database, "database", "", "SQLite file path or postgres:// URL; <data-dir>/ptu.db when empty")
	f.StringVar(&opt.Redis, "redis", "", "redis:// URL of a shared limiter; in-memory when empty")
	f.StringVar(&opt.RedisFailureMode, "redis-failure-mode", "fail-closed", "when Redis is unreachable: fail-closed (503) or fail-open (admit against this replica's share)")
	f.StringVar(&opt.RetryAfter, "retry-after", "", "retry-after rule of a 429: exact (the time until the deployment admits again, as Azure documents it) or slots (rejected calls told consecutive retry slots); empty takes the configuration's admission.retryAfter, else exact")
	f.IntVar(&opt.Replicas, "replicas", 1, "how many replicas share the Redis limiter (for fail-open's local share)")
	f.StringVar(&opt.TLSCert, "tls-cert", "", "TLS certificate file")
	f.StringVar(&opt.TLSKey, "tls-key", "", "TLS key file")
	f.BoolVar(&opt.TLSSelfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in the data directory")
	f.Float64Var(&opt.SimTimeScale, "sim-time-scale", 1, "run the simulated engine this many times faster than real time")
	f.IntVar(&opt.MaxHeaderBytes, "max-header-bytes", server.DefaultMaxHeaderBytes, "largest request line and headers, in bytes (431 beyond)")
	f.Int64Var(&opt.MaxARMBody, "max-arm-body", server.DefaultMaxARMBody, "largest ARM request body, in bytes (413 RequestEntityTooLarge beyond)")
	f.Int64Var(&opt.MaxInferenceBody, "max-inference-body", gateway.DefaultMaxBody, "largest inference request body, in bytes (413 beyond)")
	f.DurationVar(&opt.ReadHeaderTimeout, "read-header-timeout", server.DefaultReadHeaderTimeout, "time a client has to send the request line and headers")
	f.DurationVar(&opt.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "time a client has to send a request body, once its headers are in")
	f.DurationVar(&opt.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "time a client has to take each write of a response; renewed per stream chunk, so streams may run longer")
	f.DurationVar(&opt.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "how long a keep-alive connection may wait for its next request")
	f.IntVar(&opt.MaxStreams, "max-streams", server.DefaultMaxStreams, "concurrent streamed calls per deployment; more get 429 with retry-after")
	f.DurationVar(&opt.DrainTimeout, "drain-timeout", server.DefaultDrainTimeout, "on SIGTERM or Ctrl-C, how long calls in flight may finish before they are cut off and settled")
	f.BoolVar(&traceContent, "trace-content", false, "record prompt and completion text on trace spans (off; also "+tracing.EnvCaptureContent+"=true); traces are configured by the OTEL_* variables")
	f.Int64Var(&opt.DecodeBudget, "decode-budget", gateway.DefaultDecodeBudget, "bytes of inference request bodies read and parsed at once; a larger body waits briefly, then gets 503 with retry-after")
	f.DurationVar(&opt.LogRepeatInterval, "log-repeat-interval", server.DefaultLogRepeatInterval, "a warning or error repeated with the same message and error is logged once per interval, with a count")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	// Every flag is also set by its variable (config.ApplyEnv, run by the root command).
	for _, b := range [][2]string{
		{"addr", "PTU_ADDR"},
		{"data-dir", "PTU_DATA_DIR"},
		{"config", "PTU_CONFIG"},
		{"admin-token", "PTU_ADMIN_TOKEN"},
		{"database", "PTU_DATABASE"},
		{"redis", "PTU_REDIS"},
		{"redis-failure-mode", "PTU_REDIS_FAILURE_MODE"},
		{"retry-after", "PTU_RETRY_AFTER"},
		{"replicas", "PTU_REPLICAS"},
		{"tls-cert", "PTU_TLS_CERT"},
		{"tls-key", "PTU_TLS_KEY"},
		{"tls-self-signed", "PTU_TLS_SELF_SIGNED"},
		{"sim-time-scale", "PTU_SIM_TIME_SCALE"},
		{"max-header-bytes", "PTU_MAX_HEADER_BYTES"},
		{"max-arm-body", "PTU_MAX_ARM_BODY"},
		{"max-inference-body", "PTU_MAX_INFERENCE_BODY"},
		{"read-header-timeout", "PTU_READ_HEADER_TIMEOUT"},
		{"read-timeout", "PTU_READ_TIMEOUT"},
		{"write-timeout", "PTU_WRITE_TIMEOUT"},
		{"idle-timeout", "PTU_IDLE_TIMEOUT"},
		{"max-streams", "PTU_MAX_STREAMS"},
		{"drain-timeout", "PTU_DRAIN_TIMEOUT"},
		{"trace-content", "PTU_TRACE_CONTENT"},
		{"decode-budget", "PTU_DECODE_BUDGET"},
		{"log-repeat-interval", "PTU_LOG_REPEAT_INTERVAL"},
		{"log-format", "PTU_LOG_FORMAT"},
	} {
		config.BindEnv(f, b[0], b[1])
	}
	return cmd
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func printWelcome(w io.Writer, s *server.Server) {
	sub := ""
	if len(s.Config.Subscriptions) > 0 {
		sub = s.Config.Subscriptions[0].ID
	}
	db := s.Database
	if db == "" {
		db = filepath.Join(s.DataDir, "ptu.db")
	}
	token := "given by --admin-token / PTU_ADMIN_TOKEN"
	if s.AdminTokenFile != "" {
		token = s.AdminTokenFile
	}
	fmt.Fprintf(w, `ptu is serving at %s
  database:       %s
  subscription:   %s
  admin token:    %s
  health:         %s/healthz
  portal:         %s/portal/ (sign in with the admin token)

Try next, in another shell: the az cognitiveservices commands with ptu for az (docs/cli.md)
`, s.URL, db, sub, token, s.URL, s.URL)
	// What the CLI needs to find this server and its token; nothing for a
	// server with the defaults.
	var env []string
	if strings.TrimRight(s.URL, "/") != client.DefaultEndpoint {
		env = append(env, "PTU_ENDPOINT="+s.URL)
	}
	switch {
	case s.AdminTokenFile == "":
		env = append(env, "PTU_ADMIN_TOKEN=<the token given to ptu serve>")
	case filepath.Dir(s.AdminTokenFile) != filepath.Clean(server.DefaultDataDir()):
		env = append(env, "PTU_DATA_DIR="+filepath.Dir(s.AdminTokenFile))
	}
	if s.TLSSelfSigned {
		env = append(env, "SSL_CERT_FILE="+filepath.Join(s.DataDir, "tls-cert.pem"))
	}
	if len(env) > 0 {
		fmt.Fprintf(w, "  export %s\n", strings.Join(env, " "))
	}
	fmt.Fprint(w, `  # your PTU quota in East US: used and limit per deployment type
  ptu cognitiveservices usage list -l eastus -o table
  # an Azure OpenAI resource, then a 15-PTU GlobalProvisionedManaged gpt-4o deployment in it
  ptu cognitiveservices account create -n demo-aoai -g demo -l eastus --kind OpenAI --sku S0 --yes
  ptu cognitiveservices account deployment create -n demo-aoai -g demo --deployment-name gpt-4o \
    --model-name gpt-4o --model-version 2024-08-06 --model-format OpenAI \
    --sku-name GlobalProvisionedManaged --sku-capacity 15
  # a first call
  ptu chat --deployment gpt-4o "Does Azure OpenAI support customer managed keys?"
The ARM API (api-version 2024-10-01) behind them takes the official Azure SDKs and curl,
with "Authorization: Bearer <admin token>" (docs/arm-api.md).
`)
	fmt.Fprintln(w, "\nStop with Ctrl-C. Everything is kept in the database across restarts.")
}
