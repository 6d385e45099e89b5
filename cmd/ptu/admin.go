package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	domain "github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/postgres"
	"github.com/ptu-dev/ptu/sqlite"
)

// newAdmin is `ptu admin`: operations on a ptu installation's database.
func newAdmin() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Operate on a ptu installation's database",
	}
	cmd.AddCommand(newAdminMigrate())
	return cmd
}

func newAdminMigrate() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "migrate --from <sqlite path> --to <postgres url>",
		Short: "Copy an embedded SQLite installation into a PostgreSQL database",
		Long: `Copy everything an embedded installation keeps (subscriptions, regions, pools,
quota limits and requests, accounts and their keys, deployments and their
allocations, content filter policies and blocklists, reservations, capacity
history, token usage and the metric series of existing accounts) from a SQLite
file into a PostgreSQL database: the control-plane state in one transaction,
then the token usage and the metric series. The destination must be empty:
migrate before starting ptu serve on it. Stop the server that uses the
SQLite file first, so nothing changes during the copy.`,
		Example: `  ptu admin migrate --from ~/.local/share/ptu/ptu.db --to 'postgres://ptu@db:5432/ptu?sslmode=disable'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return errors.New("--from and --to are both required")
			}
			if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
				return fmt.Errorf("--to %q is not a postgres:// URL", to)
			}
			src, err := sqlite.Open(strings.TrimPrefix(from, "sqlite://"))
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := postgres.Open(cmd.Context(), to)
			if err != nil {
				return err
			}
			defer dst.Close()
			return copyStore(cmd.Context(), src, dst, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the SQLite database file to copy")
	f.StringVar(&to, "to", "", "the postgres:// URL of an empty database to copy into")
	return cmd
}

// snapshot is everything a store holds that copyStore copies.
type snapshot struct {
	subscriptions []domain.Subscription
	regions       []domain.Region
	pools         []domain.Pool
	quotaLimits   []domain.QuotaLimit
	quotaRequests []domain.QuotaRequest
	accounts      []domain.Account
	deployments   []domain.Deployment
	policies      []domain.RAIPolicy
	blocklists    []domain.RAIBlocklist
	reservations  []domain.Reservation
	capacity      []domain.CapacityChange
	tokenUsage    []domain.TokenUsage
	metrics       []domain.MetricPoint
}

// copyStore copies src into dst, which must be empty: the control-plane
// state read in one snapshot of src and written in one transaction of dst,
// then the token usage and metric series of the subscriptions and accounts
// copied (the source is not in use: nothing changes between the reads).
func copyStore(ctx context.Context, src, dst domain.Database, w io.Writer) error {
	s, err := readSnapshot(ctx, src)
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	if err := writeState(ctx, dst, s); err != nil {
		return fmt.Errorf("write destination: %w", err)
	}
	if err := dst.AddTokenUsage(ctx, s.tokenUsage); err != nil {
		return fmt.Errorf("write destination: token usage: %w", err)
	}
	if err := dst.AddMetricPoints(ctx, s.metrics); err != nil {
		return fmt.Errorf("write destination: metric points: %w", err)
	}
	fmt.Fprintf(w, "copied %d subscriptions, %d regions, %d pools, %d quota limits, %d quota requests, %d accounts, %d deployments, "+
		"%d content filter policies, %d blocklists, %d reservations, %d capacity history entries, %d token usage rows, %d metric points\n",
		len(s.subscriptions), len(s.regions), len(s.pools), len(s.quotaLimits), len(s.quotaRequests), len(s.accounts), len(s.deployments),
		len(s.policies), len(s.blocklists), len(s.reservations), len(s.capacity), len(s.tokenUsage), len(s.metrics))
	return nil
}

// readSnapshot reads everything copyStore copies from src.
func readSnapshot(ctx context.Context, src domain.Database) (*snapshot, error) {
	s := &snapshot{}
	if err := src.View(ctx, func(tx domain.Tx) (err error) {
		if s.subscriptions, err = tx.Subscriptions().List(); err != nil {
			return err
		}
		if s.regions, err = tx.Regions().List(); err != nil {
			return err
		}
		if s.pools, err = tx.Pools().List(); err != nil {
			return err
		}
		if s.quotaLimits, err = tx.QuotaLimits().List(""); err != nil {
			return err
		}
		if s.quotaRequests, err = tx.QuotaRequests().List(""); err != nil {
			return err
		}
		if s.deployments, err = tx.Deployments().List(domain.DeploymentFilter{}); err != nil {
			return err
		}
		if s.reservations, err = tx.Reservations().List(""); err != nil {
			return err
		}
		if s.capacity, err = tx.CapacityChanges().List(domain.CapacityChangeFilter{}); err != nil {
			return err
		}
		for _, sub := range s.subscriptions {
			accounts, err := tx.Accounts().List(sub.ID, "")
			if err != nil {
				return err
			}
			s.accounts = append(s.accounts, accounts...)
		}
		for _, a := range s.accounts {
			policies, err := tx.RAIPolicies().List(a.SubscriptionID, a.ResourceGroup, a.Name)
			if err != nil {
				return err
			}
			s.policies = append(s.policies, policies...)
			lists, err := tx.RAIBlocklists().List(a.SubscriptionID, a.ResourceGroup, a.Name)
			if err != nil {
				return err
			}
			s.blocklists = append(s.blocklists, lists...)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, sub := range s.subscriptions {
		usage, err := src.ListTokenUsage(ctx, domain.TokenUsageFilter{SubscriptionID: sub.ID})
		if err != nil {
			return nil, err
		}
		s.tokenUsage = append(s.tokenUsage, usage...)
	}
	for _, a := range s.accounts {
		points, err := src.QueryMetrics(ctx, domain.MetricFilter{Resource: a.ID()})
		if err != nil {
			return nil, err
		}
		s.metrics = append(s.metrics, points...)
	}
	return s, nil
}

// writeState writes the control-plane state of s into dst in one
// transaction, refusing a destination that holds any.
func writeState(ctx context.Context, dst domain.Store, s *snapshot) error {
	return dst.Update(ctx, func(tx domain.Tx) error {
		subs, err := tx.Subscriptions().List()
		if err != nil {
			return err
		}
		regions, err := tx.Regions().List()
		if err != nil {
			return err
		}
		if len(subs) > 0 || len(regions) > 0 {
			return errors.New("the destination database already holds data; migrate into an empty one, before ptu serve starts on it")
		}
		for _, v := range s.subscriptions {
			if err := tx.Subscriptions().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.regions {
			if err := tx.Regions().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.pools {
			if err := tx.Pools().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.quotaLimits {
			if err := tx.QuotaLimits().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.quotaRequests {
			if err := tx.QuotaRequests().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.accounts {
			if err := tx.Accounts().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.deployments {
			if err := tx.Deployments().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.policies {
			if err := tx.RAIPolicies().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.blocklists {
			if err := tx.RAIBlocklists().Put(v); err != nil {
				return err
			}
		}
		for _, v := range s.reservations {
			if err := tx.Reservations().Put(v); err != nil {
				return err
			}
		}
		// Oldest first, as listed: entries at the same time keep their order.
		for _, v := range s.capacity {
			if err := tx.CapacityChanges().Add(v); err != nil {
				return err
			}
		}
		return nil
	})
}
