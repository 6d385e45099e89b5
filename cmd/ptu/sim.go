package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/server"
)

func newSim() *cobra.Command {
	var addr string
	var models []string
	var ptus int
	var timeScale float64
	var instant bool
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve the simulated model engine alone as an OpenAI-compatible server (a stand-in for vLLM)",
		Long: `Serve the simulated engine as an OpenAI-compatible server: /v1/chat/completions,
/v1/completions and /v1/models. Each --model is one engine, rated in PTUs like a
capacity pool (its aggregate rate is PTUs × the model's input TPM per PTU); over
its rating every stream slows down, as continuous batching does on a GPU.

A model is NAME, NAME@VERSION, or either followed by =PTUS to rate it on its own.

--instant answers every call at once (same text and token counts, no
prefill, decode speed or rating): an upstream that costs nothing, for
measuring what sits in front of it (ptu bench overhead).`,
		Example: `  ptu sim --model gpt-4o
  ptu sim --addr 127.0.0.1:8000 --model gpt-4o-mini=300 --model gpt-4.1@2025-04-14
  curl -s 127.0.0.1:8000/v1/chat/completions -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cat := catalog.Default()
			engines := map[string]*sim.Engine{}
			for _, spec := range models {
				name, rated := spec, ptus
				if n, p, ok := strings.Cut(spec, "="); ok {
					v, err := strconv.Atoi(p)
					if err != nil || v <= 0 {
						return fmt.Errorf("--model %s: PTUs must be a positive integer", spec)
					}
					name, rated = n, v
				}
				model, version, _ := strings.Cut(name, "@")
				m, ok := cat.Lookup(model, version)
				if !ok {
					return fmt.Errorf("--model %s: not in the catalog", spec)
				}
				eng, err := server.SimEngine(m, rated, timeScale)
				if err != nil {
					return err
				}
				if instant {
					cfg := eng.Config()
					cfg.Instant = true
					if eng, err = sim.New(cfg); err != nil {
						return err
					}
				}
				engines[model] = eng
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: sim.NewServer(engines), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(cmd.OutOrStdout(), "ptu sim serving %s at http://%s/v1\n", strings.Join(models, ", "), ln.Addr())
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8000", "listen address")
	config.BindEnv(f, "addr", "PTU_SIM_ADDR")
	f.StringArrayVar(&models, "model", []string{"gpt-4o"}, "model to serve: NAME[@VERSION][=PTUS]; repeat for several")
	f.IntVar(&ptus, "ptu", 100, "PTU rating of each model without its own")
	f.Float64Var(&timeScale, "time-scale", 1, "run this many times faster than real time")
	f.BoolVar(&instant, "instant", false, "answer every call at once, whatever the load (zero-latency upstream)")
	return cmd
}
