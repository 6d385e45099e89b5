// Command ptu is the provisioned-throughput service and its tools: the server
// (serve), and the commands that talk to it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "ptu",
		Short:         "ptu: provisioned throughput for LLM inference, compatible with Azure OpenAI",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServe(), newSim(), newProbe())
	root.AddCommand(newCognitiveServices(), newQuota(), newChat(), newLogin())
	root.AddCommand(newCalc(), newBench())
	root.AddCommand(newPricing(), newReservation(), newBilling())
	root.AddCommand(newAdmin())
	root.AddCommand(newMonitor())
	root.AddCommand(newRole(), newPrincipal())
	return root
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envBool(name string) bool {
	switch os.Getenv(name) {
	case "1", "true", "TRUE", "True", "yes":
		return true
	}
	return false
}
