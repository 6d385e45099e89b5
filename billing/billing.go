// Package billing prices provisioned throughput and charges it back: list
// prices and quotes from the catalog, reservations (term discounts on
// deployed PTUs), and hourly charges computed from each deployment's
// capacity history, the reservations that matched it and the tokens its
// calls used.
//
// The rules, which docs/billing.md states for users:
//
//   - Money is integer micro-dollars. A deployment is metered in PTU-minutes:
//     every capacity change counts from the start of the minute it was made
//     in, so 15 minutes cost a quarter of an hour and a resize bills from its
//     minute. Costs are computed per deployment per hour, rounded half up to
//     the micro-dollar, and every total is a sum of those hourly lines.
//   - A reservation applies from the minute it was bought to the end of its
//     last term (or its cancellation) to deployments of its deployment type
//     in its region and scope, whatever their model. In each minute the
//     deployments of a resource group are covered first by the reservations
//     scoped to that group, then what is left by the subscription's; within a
//     tier the covered PTUs are shared among the deployments in proportion to
//     their size, and drawn from the reservations in proportion to their
//     quantity (largest remainders, so every share is a whole PTU).
//   - A reservation's price is spread evenly over the minutes its payments
//     cover (amortized); each hour's share is split between the deployments
//     it covered and its unused part in proportion to PTU-minutes.
//
// Time is injected (Options.Now): terms, the current hour and the end of
// every report come from it.
package billing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// Currency is the currency of every price and charge.
const Currency = "USD"

// Options configure a Service.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Store is what a Service reads and writes: the control-plane state
// (capacity history, reservations) and the token counts of pay-per-token
// deployments.
type Store interface {
	ptu.Store
	ptu.UsageStore
}

// Service prices deployments, keeps reservations and computes charges over a Store.
type Service struct {
	store Store
	cat   *catalog.Catalog
	now   func() time.Time
}

// New returns a Service over store, pricing with cat's list prices.
func New(store Store, cat *catalog.Catalog, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{store: store, cat: cat, now: opt.Now}
}

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// minute is t at the start of its minute, in UTC: the unit of metering.
func minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// minutes is the number of whole minutes from a to b (both minute-aligned).
func minutes(a, b time.Time) int64 { return int64(b.Sub(a) / time.Minute) }

func getSubscription(tx ptu.Tx, id string) (ptu.Subscription, error) {
	sub, err := tx.Subscriptions().Get(strings.ToLower(id))
	if isNotFound(err) {
		return sub, ptu.Errorf(ptu.CodeSubscriptionNotFound, "The subscription '%s' could not be found.", id)
	}
	return sub, err
}

// getRegion finds a region by name or display name, ignoring case and spaces.
func getRegion(tx ptu.Tx, name string) (ptu.Region, error) {
	regions, err := tx.Regions().List()
	if err != nil {
		return ptu.Region{}, err
	}
	norm := strings.ToLower(strings.ReplaceAll(name, " ", ""))
	var names []string
	for _, r := range regions {
		if r.Name == norm || strings.EqualFold(strings.ReplaceAll(r.DisplayName, " ", ""), norm) {
			return r, nil
		}
		names = append(names, r.Name)
	}
	return ptu.Region{}, &ptu.Error{Code: ptu.CodeLocationNotAvailable, Target: "location",
		Message: fmt.Sprintf("The location '%s' is not available. Available regions: %s.", name, strings.Join(names, ", "))}
}

func isNotFound(err error) bool { return errors.Is(err, ptu.ErrNotFound) }

func invalid(target, format string, args ...any) error {
	return &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: target, Message: fmt.Sprintf(format, args...)}
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Service) view(ctx context.Context, fn func(ptu.Tx) error) error {
	return s.store.View(ctx, fn)
}
