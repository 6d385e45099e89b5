package bench_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// syncBuffer collects output written from several goroutines.
type syncBuffer = testserver.Log

// env is a ptu server on a scaled clock with one account. The clock runs
// factor times faster than real time; a test gives it to both the server
// (its limiter, metrics and timings) and the run, and runs the simulated
// engine at the same speed, so a minute of load takes 60/factor seconds and
// every duration on both sides is in the clock's time.
type env struct {
	t        *testing.T
	s        *server.Server
	clock    *clock.Fake
	c        *client.Client
	endpoint string // the account's inference endpoint
	key      string
}

func newEnv(t *testing.T, factor float64) *env { return newEnvWith(t, factor, server.Options{}) }

// newEnvWith is newEnv with server settings (RetryAfter, ...) set in opt.
func newEnvWith(t *testing.T, factor float64, opt server.Options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: clock.NewScaled(factor)}
	opt.SimTimeScale, opt.Now = factor, e.clock.Now
	opt.Logger = slog.New(slog.NewTextHandler(testserver.NewLog(t, "server log"), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ts := testserver.Start(t, opt)
	e.s, e.c = ts.Server, ts.Client
	a, err := e.c.CreateAccount(ctx, "bench", "bench", client.AccountCreate{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := e.c.ListKeys(ctx, "bench", "bench")
	if err != nil {
		t.Fatal(err)
	}
	e.endpoint, e.key = a.Properties.Endpoint, keys.Key1
	return e
}

// deploy creates a GlobalProvisionedManaged deployment of gpt-4o 2024-11-20.
func (e *env) deploy(name string, ptus int) *client.Deployment {
	e.t.Helper()
	d, err := e.c.CreateDeployment(context.Background(), "bench", "bench", name, client.DeploymentCreate{
		Model:   client.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-11-20"},
		SKUName: "GlobalProvisionedManaged", Capacity: ptus,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}
