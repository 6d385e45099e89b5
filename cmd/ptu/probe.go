package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/config"
)

// newProbe checks a server's health endpoint, for container health checks
// in images that have no shell or curl (the Containerfile's HEALTHCHECK).
func newProbe() *cobra.Command {
	var url, path string
	var timeout time.Duration
	var tlsOn bool
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Exit 0 if the local server answers its health endpoint with 200",
		Long: `Probe GETs /healthz (or --path) of the server on $PTU_ADDR and exits 0 when it
answers 200, 1 otherwise. A container's HEALTHCHECK runs it; Kubernetes uses its
own HTTP probes. With --tls it speaks HTTPS without checking the certificate:
it only asks the local server whether it is up.`,
		Example: `  ptu probe
  ptu probe --path /readyz
  ptu probe --url https://127.0.0.1:8443/healthz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("tls") {
				var err error
				if tlsOn, err = serveTLS(os.LookupEnv); err != nil {
					return err
				}
			}
			if url == "" {
				addr := envOr("PTU_ADDR", "127.0.0.1:8080")
				host, port, err := net.SplitHostPort(addr)
				if err != nil {
					return fmt.Errorf("PTU_ADDR %q: %w", addr, err)
				}
				if host == "" || host == "0.0.0.0" || host == "::" {
					host = "127.0.0.1"
				}
				scheme := "http"
				if tlsOn {
					scheme = "https"
				}
				url = scheme + "://" + net.JoinHostPort(host, port) + path
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", url, resp.Status)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", url, resp.Status)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "URL to probe (default: /healthz of the server on $PTU_ADDR)")
	f.StringVar(&path, "path", "/healthz", "path to probe on $PTU_ADDR")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	f.BoolVar(&tlsOn, "tls", false, "probe over HTTPS (default when PTU_TLS_SELF_SIGNED or PTU_TLS_CERT is set)")
	return cmd
}

// serveTLS tells whether ptu serve, reading the same environment, serves
// HTTPS: PTU_TLS_SELF_SIGNED parsed as its flag parses it, or PTU_TLS_CERT set.
func serveTLS(lookup func(string) (string, bool)) (bool, error) {
	if v, ok := lookup("PTU_TLS_SELF_SIGNED"); ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return false, &config.EnvError{Var: "PTU_TLS_SELF_SIGNED", Value: v, Err: err}
		}
		if on {
			return true, nil
		}
	}
	cert, _ := lookup("PTU_TLS_CERT")
	return cert != "", nil
}
