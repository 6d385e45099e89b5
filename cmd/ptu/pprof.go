package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// servePprof serves Go's runtime profiles (net/http/pprof) on
// $PTU_PPROF_ADDR when it is set, for profiling ptu serve under load
// (docs/benchmarks.md). It is a separate listener, never the service's own.
func servePprof(log *slog.Logger) {
	addr := os.Getenv("PTU_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Warn("pprof listener", "addr", addr, "err", err)
		}
	}()
}
