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
file into a PostgreSQL database, in one transaction. The destination must be
empty: migrate before starting ptu serve on it. Stop the server that uses the
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

// copyStore copies src into dst, which must be empty, reading one snapshot
// of src and writing it in one transaction of dst.
func copyStore(ctx context.Context, src, dst domain.Store, w io.Writer) error {
	var s snapshot
	if err := src.View(ctx, func(tx domain.Tx) (err error) {
		if s.subscriptions, err = tx.ListSubscriptions(); err != nil {
			return err
		}
		if s.regions, err = tx.ListRegions(); err != nil {
			return err
		}
		if s.pools, err = tx.ListPools(); err != nil {
			return err
		}
		if s.quotaLimits, err = tx.ListQuotaLimits(""); err != nil {
			return err
		}
		if s.quotaRequests, err = tx.ListQuotaRequests(""); err != nil {
			return err
		}
		if s.deployments, err = tx.ListDeployments(domain.DeploymentFilter{}); err != nil {
			return err
		}
		if s.reservations, err = tx.ListReservations(""); err != nil {
			return err
		}
		if s.capacity, err = tx.ListCapacityChanges(domain.CapacityChangeFilter{}); err != nil {
			return err
		}
		for _, sub := range s.subscriptions {
			accounts, err := tx.ListAccounts(sub.ID, "")
			if err != nil {
				return err
			}
			s.accounts = append(s.accounts, accounts...)
			usage, err := tx.ListTokenUsage(domain.TokenUsageFilter{SubscriptionID: sub.ID})
			if err != nil {
				return err
			}
			s.tokenUsage = append(s.tokenUsage, usage...)
		}
		for _, a := range s.accounts {
			policies, err := tx.ListRAIPolicies(a.SubscriptionID, a.ResourceGroup, a.Name)
			if err != nil {
				return err
			}
			s.policies = append(s.policies, policies...)
			lists, err := tx.ListRAIBlocklists(a.SubscriptionID, a.ResourceGroup, a.Name)
			if err != nil {
				return err
			}
			s.blocklists = append(s.blocklists, lists...)
			points, err := tx.QueryMetrics(domain.MetricFilter{Resource: a.ID()})
			if err != nil {
				return err
			}
			s.metrics = append(s.metrics, points...)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read source: %w", err)
	}

	if err := dst.Update(ctx, func(tx domain.Tx) error {
		subs, err := tx.ListSubscriptions()
		if err != nil {
			return err
		}
		regions, err := tx.ListRegions()
		if err != nil {
			return err
		}
		if len(subs) > 0 || len(regions) > 0 {
			return errors.New("the destination database already holds data; migrate into an empty one, before ptu serve starts on it")
		}
		for _, v := range s.subscriptions {
			if err := tx.PutSubscription(v); err != nil {
				return err
			}
		}
		for _, v := range s.regions {
			if err := tx.PutRegion(v); err != nil {
				return err
			}
		}
		for _, v := range s.pools {
			if err := tx.PutPool(v); err != nil {
				return err
			}
		}
		for _, v := range s.quotaLimits {
			if err := tx.PutQuotaLimit(v); err != nil {
				return err
			}
		}
		for _, v := range s.quotaRequests {
			if err := tx.PutQuotaRequest(v); err != nil {
				return err
			}
		}
		for _, v := range s.accounts {
			if err := tx.PutAccount(v); err != nil {
				return err
			}
		}
		for _, v := range s.deployments {
			if err := tx.PutDeployment(v); err != nil {
				return err
			}
		}
		for _, v := range s.policies {
			if err := tx.PutRAIPolicy(v); err != nil {
				return err
			}
		}
		for _, v := range s.blocklists {
			if err := tx.PutRAIBlocklist(v); err != nil {
				return err
			}
		}
		for _, v := range s.reservations {
			if err := tx.PutReservation(v); err != nil {
				return err
			}
		}
		// Oldest first, as listed: entries at the same time keep their order.
		for _, v := range s.capacity {
			if err := tx.AddCapacityChange(v); err != nil {
				return err
			}
		}
		if err := tx.AddTokenUsage(s.tokenUsage); err != nil {
			return err
		}
		return tx.AddMetricPoints(s.metrics)
	}); err != nil {
		return fmt.Errorf("write destination: %w", err)
	}
	fmt.Fprintf(w, "copied %d subscriptions, %d regions, %d pools, %d quota limits, %d quota requests, %d accounts, %d deployments, "+
		"%d content filter policies, %d blocklists, %d reservations, %d capacity history entries, %d token usage rows, %d metric points\n",
		len(s.subscriptions), len(s.regions), len(s.pools), len(s.quotaLimits), len(s.quotaRequests), len(s.accounts), len(s.deployments),
		len(s.policies), len(s.blocklists), len(s.reservations), len(s.capacity), len(s.tokenUsage), len(s.metrics))
	return nil
}
