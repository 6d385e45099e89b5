package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/oai"
)

// newChat is `ptu chat`: a first call to a deployment from the terminal.
func newChat() *cobra.Command {
	var (
		deployment, name, rg  string
		azureEndpoint, apiKey string
		system                string
		maxTokens, maxRetries int
		temperature           float64
		noStream              bool
		failover              []string
	)
	var conn *connection
	cmd := &cobra.Command{
		Use:   "chat --deployment NAME [QUESTION...]",
		Short: "Ask a deployment a question and stream the answer",
		Long: `Send one chat completion to a deployment and stream the answer to standard output.
The question is the arguments, or standard input when there are none.

The account holding the deployment is --name/-n and --resource-group/-g, or,
without them, the one account of the subscription that has a deployment of that
name; its endpoint and key come from the control plane. With a principal's token
(ptu principal create) the call carries the token instead of a key, and needs a data
role such as Cognitive Services OpenAI User. --azure-endpoint and --api-key call an
inference endpoint directly instead.

A 429 is retried after the wait the service gives (retry-after-ms), up to
--max-retries times; --failover names other deployments of the same account to
try at once instead. Which deployment answered, and what was retried, is
reported on standard error.`,
		Example: `  ptu chat --deployment gpt-4o "Does Azure OpenAI support customer managed keys?"
  ptu chat -n demo-aoai -g demo --deployment gpt-4o --max-tokens 100 --system "You are terse." "Name three rivers."
  echo "Summarize the PTU sizing rules." | ptu chat --deployment gpt-4o --failover gpt-4o-backup
  ptu chat --azure-endpoint http://127.0.0.1:8080/accounts/demo-aoai/ --api-key $KEY --deployment gpt-4o "Hello"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			question := strings.Join(args, " ")
			if question == "" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				question = strings.TrimSpace(string(b))
			}
			if question == "" {
				return errors.New("no question: give it as arguments or on standard input")
			}
			if (azureEndpoint == "") != (apiKey == "") {
				return errors.New("--azure-endpoint and --api-key go together")
			}
			opts := []client.Option{client.WithMaxRetries(maxRetries)}
			if len(failover) > 0 {
				opts = append(opts, client.WithFailover(failoverTargets(failover)...))
			}
			ctx := cmd.Context()
			var c *client.Client
			var err error
			if azureEndpoint != "" {
				c, err = client.New(append(opts, client.WithAzureEndpoint(azureEndpoint), client.WithAPIKey(apiKey))...)
			} else {
				if c, err = conn.client(opts...); err != nil {
					return err
				}
				if name == "" || rg == "" {
					if name != "" || rg != "" {
						return errors.New("--name and --resource-group go together")
					}
					acct, _, ferr := c.FindDeployment(ctx, deployment)
					if ferr != nil {
						return conn.fail(ferr)
					}
					name, rg = acct.Name, acct.ResourceGroup()
				}
				c, err = c.ForAccount(ctx, rg, name)
			}
			if err != nil {
				return conn.fail(err)
			}

			req := client.ChatRequest{MaxTokens: &maxTokens}
			if system != "" {
				req.Messages = append(req.Messages, client.Message{Role: "system", Content: oai.Content(system)})
			}
			req.Messages = append(req.Messages, client.Message{Role: "user", Content: oai.Content(question)})
			if cmd.Flags().Changed("temperature") {
				req.Temperature = &temperature
			}
			out := cmd.OutOrStdout()
			var meta client.Response
			if noStream {
				res, err := c.ChatCompletion(ctx, deployment, req)
				if err != nil {
					return conn.fail(err)
				}
				fmt.Fprintln(out, res.Text())
				meta = res.Response
			} else {
				req.StreamOptions = &oai.StreamOptions{IncludeUsage: true}
				st, err := c.ChatCompletionStream(ctx, deployment, req)
				if err != nil {
					return conn.fail(err)
				}
				for st.Next() {
					if _, err := io.WriteString(out, client.ChunkText(st.Current())); err != nil {
						st.Close()
						return err
					}
				}
				fmt.Fprintln(out)
				if err := st.Err(); err != nil {
					return conn.fail(err)
				}
				meta = st.Response
			}
			reportServed(cmd.ErrOrStderr(), deployment, meta)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&deployment, "deployment", "d", "", "deployment name")
	f.StringVarP(&name, "name", "n", "", "account name (default: the account holding the deployment)")
	f.StringVarP(&rg, "resource-group", "g", "", "resource group of the account")
	f.StringVar(&azureEndpoint, "azure-endpoint", "", "call this inference endpoint directly (an account's properties.endpoint)")
	f.StringVar(&apiKey, "api-key", "", "the key for --azure-endpoint")
	f.StringVar(&system, "system", "", "a system message")
	f.IntVar(&maxTokens, "max-tokens", 256, "most tokens to generate")
	f.Float64Var(&temperature, "temperature", 1, "sampling temperature")
	f.BoolVar(&noStream, "no-stream", false, "wait for the whole answer instead of streaming it")
	f.IntVar(&maxRetries, "max-retries", client.DefaultMaxRetries, "retries of a throttled or failed call, each after the wait the service gives")
	f.StringSliceVar(&failover, "failover", nil, "other deployments of the account to try at once on 429, in order")
	_ = cmd.MarkFlagRequired("deployment")
	conn = addConnectionFlags(cmd)
	return cmd
}

func failoverTargets(names []string) []client.Target {
	out := make([]client.Target, len(names))
	for i, n := range names {
		out[i] = client.Target{Deployment: n}
	}
	return out
}

// reportServed tells on standard error when the call was retried or failed over.
func reportServed(w io.Writer, asked string, r client.Response) {
	if len(r.Attempts) <= 1 {
		return
	}
	var tries []string
	for _, a := range r.Attempts[:len(r.Attempts)-1] {
		what := fmt.Sprint(a.StatusCode)
		if a.StatusCode == 0 && a.Err != nil {
			what = "no answer"
		}
		s := a.Target.Deployment + ": " + what
		if a.Wait > 0 {
			s += fmt.Sprintf(", waited %v", a.Wait)
		}
		tries = append(tries, s)
	}
	served := r.Served.Deployment
	note := "answered by " + served
	if !strings.EqualFold(served, asked) {
		note = "failed over to " + served
	}
	fmt.Fprintf(w, "(%s after %s)\n", note, strings.Join(tries, "; "))
}
