package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/server"
)

func newServe() *cobra.Command {
	var opt server.Options
	var logFormat string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the ptu server (ARM control plane and Azure-OpenAI-compatible data plane)",
		Long: `Run the ptu server. With no flags it keeps a SQLite file in the data directory,
bootstraps a default subscription, regions and capacity pools from the embedded
configuration, and serves on 127.0.0.1:8080.

Every flag can also be set by the environment variable shown in brackets.
A limit set to a negative value is turned off. On SIGTERM or Ctrl-C the server
stops accepting connections, lets calls in flight finish for --drain-timeout,
then cuts off the rest; every call settles its bucket. docs/hardening.md
describes TLS, HTTP/2, the limits and the shutdown.`,
		Example: `  ptu serve
  ptu serve --addr 0.0.0.0:8443 --tls-self-signed
  PTU_DATA_DIR=/var/lib/ptu ptu serve --config /etc/ptu/ptu.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Logger = newLogger(cmd.ErrOrStderr(), logFormat)
			s, err := server.New(cmd.Context(), opt)
			if err != nil {
				return err
			}
			defer s.Close()
			printWelcome(cmd.OutOrStdout(), s)
			return s.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Addr, "addr", envOr("PTU_ADDR", "127.0.0.1:8080"), "listen address [PTU_ADDR]")
	f.StringVar(&opt.DataDir, "data-dir", envOr("PTU_DATA_DIR", server.DefaultDataDir()), "data directory [PTU_DATA_DIR]")
	f.StringVar(&opt.ConfigPath, "config", envOr("PTU_CONFIG", ""), "configuration file (YAML); the embedded default when empty [PTU_CONFIG]")
	f.StringVar(&opt.AdminToken, "admin-token", envOr("PTU_ADMIN_TOKEN", ""), "admin bearer token; generated once into <data-dir>/admin-token when empty [PTU_ADMIN_TOKEN]")
	f.StringVar(&opt.Database, "database", envOr("PTU_DATABASE", ""), "SQLite file path or postgres:// URL; <data-dir>/ptu.db when empty [PTU_DATABASE]")
	f.StringVar(&opt.Redis, "redis", envOr("PTU_REDIS", ""), "redis:// URL of a shared limiter; in-memory when empty [PTU_REDIS]")
	f.StringVar(&opt.RedisFailureMode, "redis-failure-mode", envOr("PTU_REDIS_FAILURE_MODE", "fail-closed"), "when Redis is unreachable: fail-closed (503) or fail-open (admit against this replica's share) [PTU_REDIS_FAILURE_MODE]")
	f.IntVar(&opt.Replicas, "replicas", envInt("PTU_REPLICAS", 1), "how many replicas share the Redis limiter (for fail-open's local share) [PTU_REPLICAS]")
	f.StringVar(&opt.TLSCert, "tls-cert", envOr("PTU_TLS_CERT", ""), "TLS certificate file [PTU_TLS_CERT]")
	f.StringVar(&opt.TLSKey, "tls-key", envOr("PTU_TLS_KEY", ""), "TLS key file [PTU_TLS_KEY]")
	f.BoolVar(&opt.TLSSelfSigned, "tls-self-signed", envBool("PTU_TLS_SELF_SIGNED"), "serve HTTPS with a self-signed certificate kept in the data directory [PTU_TLS_SELF_SIGNED]")
	f.Float64Var(&opt.SimTimeScale, "sim-time-scale", envFloat("PTU_SIM_TIME_SCALE", 1), "run the simulated engine this many times faster than real time [PTU_SIM_TIME_SCALE]")
	f.IntVar(&opt.MaxHeaderBytes, "max-header-bytes", envInt("PTU_MAX_HEADER_BYTES", server.DefaultMaxHeaderBytes), "largest request line and headers, in bytes (431 beyond) [PTU_MAX_HEADER_BYTES]")
	f.Int64Var(&opt.MaxARMBody, "max-arm-body", int64(envInt("PTU_MAX_ARM_BODY", server.DefaultMaxARMBody)), "largest ARM request body, in bytes (413 RequestEntityTooLarge beyond) [PTU_MAX_ARM_BODY]")
	f.Int64Var(&opt.MaxInferenceBody, "max-inference-body", int64(envInt("PTU_MAX_INFERENCE_BODY", gateway.DefaultMaxBody)), "largest inference request body, in bytes (413 beyond) [PTU_MAX_INFERENCE_BODY]")
	f.DurationVar(&opt.ReadHeaderTimeout, "read-header-timeout", envDuration("PTU_READ_HEADER_TIMEOUT", server.DefaultReadHeaderTimeout), "time a client has to send the request line and headers [PTU_READ_HEADER_TIMEOUT]")
	f.DurationVar(&opt.ReadTimeout, "read-timeout", envDuration("PTU_READ_TIMEOUT", server.DefaultReadTimeout), "time a client has to send a request body, once its headers are in [PTU_READ_TIMEOUT]")
	f.DurationVar(&opt.WriteTimeout, "write-timeout", envDuration("PTU_WRITE_TIMEOUT", server.DefaultWriteTimeout), "time a client has to take each write of a response; renewed per stream chunk, so streams may run longer [PTU_WRITE_TIMEOUT]")
	f.DurationVar(&opt.IdleTimeout, "idle-timeout", envDuration("PTU_IDLE_TIMEOUT", server.DefaultIdleTimeout), "how long a keep-alive connection may wait for its next request [PTU_IDLE_TIMEOUT]")
	f.IntVar(&opt.MaxStreams, "max-streams", envInt("PTU_MAX_STREAMS", server.DefaultMaxStreams), "concurrent streamed calls per deployment; more get 429 with retry-after [PTU_MAX_STREAMS]")
	f.DurationVar(&opt.DrainTimeout, "drain-timeout", envDuration("PTU_DRAIN_TIMEOUT", server.DefaultDrainTimeout), "on SIGTERM or Ctrl-C, how long calls in flight may finish before they are cut off and settled [PTU_DRAIN_TIMEOUT]")
	f.Int64Var(&opt.DecodeBudget, "decode-budget", int64(envInt("PTU_DECODE_BUDGET", gateway.DefaultDecodeBudget)), "bytes of inference request bodies read and parsed at once; a larger body waits briefly, then gets 503 with retry-after [PTU_DECODE_BUDGET]")
	f.DurationVar(&opt.LogRepeatInterval, "log-repeat-interval", envDuration("PTU_LOG_REPEAT_INTERVAL", server.DefaultLogRepeatInterval), "a warning or error repeated with the same message and error is logged once per interval, with a count [PTU_LOG_REPEAT_INTERVAL]")
	f.StringVar(&logFormat, "log-format", envOr("PTU_LOG_FORMAT", "text"), "log format: text or json [PTU_LOG_FORMAT]")
	return cmd
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
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
	tokenExpr := "$PTU_ADMIN_TOKEN"
	if s.AdminTokenFile != "" {
		token = s.AdminTokenFile
		tokenExpr = "$(cat " + s.AdminTokenFile + ")"
	}
	curl := "curl -s"
	if s.TLSSelfSigned {
		curl = "curl -sk"
	}
	fmt.Fprintf(w, `ptu is serving at %s
  database:       %s
  subscription:   %s
  admin token:    %s
  health:         %s/healthz
  portal:         %s/portal/ (sign in with the admin token)

Try next (ARM API, api-version 2024-10-01; the official Azure SDKs work against it too):
  export PTU_TOKEN=%s
  # your PTU quota per region and deployment type
  %s -H "Authorization: Bearer $PTU_TOKEN" "%s/subscriptions/%s/providers/Microsoft.CognitiveServices/locations/eastus/usages?api-version=2024-10-01"
  # an Azure OpenAI resource, then a 15-PTU GlobalProvisionedManaged gpt-4o deployment in it
  %s -X PUT -H "Authorization: Bearer $PTU_TOKEN" -H "Content-Type: application/json" \
    "%s/subscriptions/%s/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/demo-aoai?api-version=2024-10-01" \
    -d '{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"properties":{"customSubDomainName":"demo-aoai"}}'
  %s -X PUT -H "Authorization: Bearer $PTU_TOKEN" -H "Content-Type: application/json" \
    "%s/subscriptions/%s/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/demo-aoai/deployments/gpt-4o?api-version=2024-10-01" \
    -d '{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}'
`, s.URL, db, sub, token, s.URL, s.URL, tokenExpr,
		curl, s.URL, sub,
		curl, s.URL, sub,
		curl, s.URL, sub)
	fmt.Fprintln(w, "\nStop with Ctrl-C. Everything is kept in the database across restarts.")
}
