package perf

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ptu-dev/ptu/server"
)

// Server is ptu serve run in this process, for benchmarks that need to look
// inside it (allocations, goroutines, buckets).
type Server struct {
	*server.Server
	cancel context.CancelFunc
	done   chan error
}

// StartServer runs a ptu server in this process with the given configuration
// (YAML) in dir; logs go to logw. redisURL "" keeps buckets in memory.
func StartServer(ctx context.Context, dir, configYAML, redisURL string, logw io.Writer, opt server.Options) (*Server, error) {
	cfg := filepath.Join(dir, "ptu.yaml")
	if err := os.WriteFile(cfg, []byte(configYAML), 0o644); err != nil {
		return nil, err
	}
	opt.Addr, opt.DataDir, opt.ConfigPath, opt.AdminToken, opt.Redis = "127.0.0.1:0", dir, cfg, benchAdmin, redisURL
	opt.Logger = slog.New(slog.NewJSONHandler(logw, nil))
	s, err := server.New(ctx, opt)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Server{Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- s.Serve(ctx) }()
	return p, nil
}

// Deploy makes an account with one gpt-4o-mini deployment of ptus PTUs on
// the bench subscription and returns the deployment's chat URL and key.
func (s *Server) Deploy(ctx context.Context, account, name string, ptus int) (chatURL, key string, err error) {
	endpoint, key, err := deploy(ctx, s.URL, account, []deployment{{name, benchModel, benchVersion, ptus}})
	if err != nil {
		return "", "", err
	}
	return endpoint + "openai/deployments/" + name + "/chat/completions?api-version=" + apiVersion, key, nil
}

// Stop shuts the server down.
func (s *Server) Stop() error {
	s.cancel()
	err := <-s.done
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// UpstreamConfig is the configuration StartBench gives ptu serve: one
// gpt-4o-mini pool served by the upstream at addr (host:port, /v1 appended).
func UpstreamConfig(addr string) string {
	return fmt.Sprintf(benchConfig, benchSubscription, benchPoolPTU, addr)
}
