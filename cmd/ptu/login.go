package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// connection holds the flags that say which server to talk to. Each value
// comes from its flag, else the environment (PTU_ENDPOINT, PTU_TOKEN, then
// PTU_ADMIN_TOKEN, what `ptu serve` takes its admin token from;
// PTU_SUBSCRIPTION), else the profile `ptu login` wrote, else the defaults
// of a local `ptu serve`: http://127.0.0.1:8080, the admin token in its
// data directory ($PTU_DATA_DIR or the default), and the first subscription
// the server lists.
type connection struct {
	endpoint     string
	token        string
	subscription string
	// tokenFrom says where the token came from, and tokenLookedIn which
	// admin-token file was read or looked for; both for hints on a 401.
	tokenFrom, tokenLookedIn string
	// resolved is the last resolve's result, for those hints.
	resolved *connection
}

func addConnectionFlags(cmd *cobra.Command) *connection {
	c := &connection{}
	f := cmd.PersistentFlags()
	f.StringVar(&c.endpoint, "endpoint", "", "ptu server URL [PTU_ENDPOINT] (default "+client.DefaultEndpoint+")")
	f.StringVar(&c.token, "token", "", "bearer token: the admin's or a principal's [PTU_TOKEN] (default: the local server's <data-dir>/admin-token)")
	f.StringVar(&c.subscription, "subscription", "", "subscription id [PTU_SUBSCRIPTION] (default: the first the server lists)")
	return c
}

// profile is what `ptu login` keeps.
type profile struct {
	Endpoint     string `json:"endpoint"`
	Token        string `json:"token,omitempty"`
	Subscription string `json:"subscription,omitempty"`
}

// profilePath is $PTU_PROFILE, else <user config dir>/ptu/profile.json.
func profilePath() (string, error) {
	if p := os.Getenv("PTU_PROFILE"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no profile location: %w (set PTU_PROFILE)", err)
	}
	return filepath.Join(dir, "ptu", "profile.json"), nil
}

func loadProfile() (profile, error) {
	var p profile
	path, err := profilePath()
	if err != nil {
		return p, nil // no config dir: no profile
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// defaultDataDir is `ptu serve`'s: $PTU_DATA_DIR, $XDG_DATA_HOME/ptu or ~/.local/share/ptu.
func defaultDataDir() string {
	if d := os.Getenv("PTU_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ptu")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "ptu")
	}
	return "ptu-data"
}

// isLoopback reports whether u points at this machine; only then is the
// local admin token sent without being asked for.
func isLoopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// resolve fills endpoint, token and subscription from flags, environment,
// profile and defaults, in that order.
func (c *connection) resolve(useProfile bool) (connection, error) {
	var p profile
	if useProfile {
		var err error
		if p, err = loadProfile(); err != nil {
			return connection{}, err
		}
	}
	out := connection{endpoint: firstSet(c.endpoint, os.Getenv("PTU_ENDPOINT"))}
	fromProfile := out.endpoint == "" && p.Endpoint != ""
	if out.endpoint == "" {
		out.endpoint = firstSet(p.Endpoint, client.DefaultEndpoint)
	}
	// The profile's token and subscription belong to its endpoint.
	sameServer := fromProfile || strings.TrimRight(p.Endpoint, "/") == strings.TrimRight(out.endpoint, "/")
	for _, src := range []struct{ from, val string }{
		{"--token", c.token},
		{"PTU_TOKEN", os.Getenv("PTU_TOKEN")},
		{"PTU_ADMIN_TOKEN", os.Getenv("PTU_ADMIN_TOKEN")},
	} {
		if out.token == "" && src.val != "" {
			out.token, out.tokenFrom = src.val, src.from
		}
	}
	out.subscription = firstSet(c.subscription, os.Getenv("PTU_SUBSCRIPTION"))
	if sameServer {
		if out.token == "" && p.Token != "" {
			path, _ := profilePath()
			out.token, out.tokenFrom = p.Token, "the profile "+path
		}
		out.subscription = firstSet(out.subscription, p.Subscription)
	}
	if out.token == "" && isLoopback(out.endpoint) {
		out.tokenLookedIn = filepath.Join(defaultDataDir(), "admin-token")
		if b, err := os.ReadFile(out.tokenLookedIn); err == nil {
			out.token, out.tokenFrom = strings.TrimSpace(string(b)), out.tokenLookedIn
		}
	}
	c.resolved = &out
	return out, nil
}

// fail formats a failed call's error as cliError does and, on an
// authentication failure, adds where the token came from, or where it was
// looked for, and how to pass one.
func (c *connection) fail(err error) error {
	var e *client.Error
	if c == nil || c.resolved == nil || !errors.As(err, &e) {
		return cliError(err)
	}
	r := c.resolved
	switch e.Code {
	case "AuthenticationFailed":
		hint := "No token was sent"
		if r.tokenLookedIn != "" {
			hint += fmt.Sprintf(": there is no %s, where a local ptu serve with the default --data-dir keeps its admin token", r.tokenLookedIn)
		}
		hint += ".\nA server started with --data-dir DIR keeps its admin token in DIR/admin-token: set PTU_DATA_DIR=DIR" +
			" (or PTU_TOKEN=$(cat DIR/admin-token)). For one started with --admin-token or PTU_ADMIN_TOKEN, set PTU_ADMIN_TOKEN" +
			" (or PTU_TOKEN) to the same value. Or pass --token, or run ptu login once."
		return fmt.Errorf("%w\n%s", cliError(err), hint)
	case "InvalidAuthenticationToken", "ExpiredAuthenticationToken":
		if r.tokenFrom != "" {
			return fmt.Errorf("%w\nThe token came from %s, and %s does not accept it (is it another server's?). Pass the right one with --token or PTU_TOKEN, or run ptu login.",
				cliError(err), r.tokenFrom, r.endpoint)
		}
	}
	return cliError(err)
}

// client returns an SDK client for the resolved connection.
func (c *connection) client(extra ...client.Option) (*client.Client, error) {
	r, err := c.resolve(true)
	if err != nil {
		return nil, err
	}
	return r.newClient(extra...)
}

func (r connection) newClient(extra ...client.Option) (*client.Client, error) {
	opts := []client.Option{client.WithEndpoint(r.endpoint), client.WithToken(r.token)}
	if r.subscription != "" {
		opts = append(opts, client.WithSubscription(r.subscription))
	}
	return client.New(append(opts, extra...)...)
}

// cliError formats a service error as az prints it: the code and message.
func cliError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return fmt.Errorf("%w\n(is a ptu server running there? Point at one with --endpoint, PTU_ENDPOINT or ptu login)", err)
	}
	var e *client.Error
	if errors.As(err, &e) {
		msg := fmt.Sprintf("(%s) %s\nCode: %s\nMessage: %s", e.Code, e.Message, e.Code, e.Message)
		if e.Target != "" {
			msg += "\nTarget: " + e.Target
		}
		return errors.New(msg)
	}
	return err
}

// loggedSubscription is a subscription as `ptu login` prints it.
type loggedSubscription struct {
	client.Subscription
	IsDefault bool   `json:"isDefault"`
	Endpoint  string `json:"endpoint"`
}

func newLogin() *cobra.Command {
	var conn connection
	var tokenFile string
	out := &output{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Check a server's endpoint and token and keep them in a profile for later commands",
		Long: `Check that the server answers with the given token, choose a subscription, and write
the profile ($PTU_PROFILE, or profile.json in the user configuration directory, e.g.
~/.config/ptu/profile.json) that later commands read when no flag or environment
variable says otherwise. Prints the server's subscriptions, the chosen one as default.
The token is the admin's or a principal's (ptu principal create); a principal sees
the subscriptions its role assignments reach.`,
		Example: `  # the local server with its defaults
  ptu login

  # a remote server
  ptu login --endpoint https://ptu.example.com --token-file ./admin-token --subscription 3f9c2a7e-5b14-4d8e-9a61-0c7e2b4d8f15

  # as a principal, with the token ptu principal create printed
  ptu login --endpoint https://ptu.example.com --token-file ./ci-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return err
				}
				conn.token = strings.TrimSpace(string(b))
			}
			r, err := conn.resolve(false)
			if err != nil {
				return err
			}
			c, err := r.newClient()
			if err != nil {
				return err
			}
			subs, err := c.Subscriptions(cmd.Context())
			if err != nil {
				return cliError(err)
			}
			if len(subs) == 0 {
				return errors.New("the server lists no subscription this token has access to (a principal needs a role assignment: ptu role assignment create)")
			}
			if r.subscription == "" {
				r.subscription = subs[0].SubscriptionID
			}
			found := false
			list := make([]loggedSubscription, len(subs))
			for i, s := range subs {
				def := strings.EqualFold(s.SubscriptionID, r.subscription)
				found = found || def
				list[i] = loggedSubscription{Subscription: s, IsDefault: def, Endpoint: r.endpoint}
			}
			if !found {
				return fmt.Errorf("subscription %s is not one of the server's", r.subscription)
			}
			path, err := profilePath()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(profile{Endpoint: r.endpoint, Token: r.token, Subscription: r.subscription}, "", "  ")
			if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Profile written to %s.\n", path)
			return out.print(cmd.OutOrStdout(), list)
		},
	}
	f := cmd.Flags()
	f.StringVar(&conn.endpoint, "endpoint", "", "ptu server URL [PTU_ENDPOINT] (default "+client.DefaultEndpoint+")")
	f.StringVar(&conn.token, "token", "", "bearer token: the admin's or a principal's [PTU_TOKEN] (default: the local server's <data-dir>/admin-token)")
	f.StringVar(&tokenFile, "token-file", "", "read the token from this file")
	f.StringVar(&conn.subscription, "subscription", "", "default subscription id [PTU_SUBSCRIPTION] (default: the first the server lists)")
	f.StringVarP(&out.format, "output", "o", "json", "output format: "+strings.Join(outputFormats, ", "))
	f.StringVar(&out.query, "query", "", "JMESPath query string")
	cmd.MarkFlagsMutuallyExclusive("token", "token-file")
	return cmd
}
