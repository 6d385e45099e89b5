// Command ptu is the provisioned-throughput service and its tools: the server
// (serve), and the commands that talk to it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/config"
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
		// A flag's environment variable, where it has one (config.BindEnv),
		// is read as strictly as the flag: a bad value stops the command.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return config.ApplyEnv(cmd.Flags(), os.LookupEnv)
		},
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
