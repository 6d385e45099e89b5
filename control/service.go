// Package control holds the control-plane rules: accounts, keys, deployments,
// quota, placement of deployments in capacity pools, and quota requests. It
// knows nothing of HTTP; the arm package adapts it to the ARM REST API.
package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// Options configure a Service.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PublicURL is the base URL account endpoints are built on, e.g. "http://127.0.0.1:8080".
	PublicURL string
	// DefaultQuota is the PTU limit per provisioned deployment type a subscription gets in a region
	// when no limit has been stored for it.
	DefaultQuota map[string]int
}

// Store is what a Service keeps its records in: the control-plane state,
// read and written in transactions, and the activity log.
type Store interface {
	ptu.Store
	ptu.ActivityLog
}

// Service applies the control-plane rules over a Store.
type Service struct {
	store Store
	cat   *catalog.Catalog
	opt   Options
	gen   atomic.Uint64 // bumped after every committed write

	callers callerCache  // authenticated principals (access.go)
	pruned  atomic.Int64 // when old activity events were last deleted (UnixNano)
}

// New returns a Service over store and cat.
func New(store Store, cat *catalog.Catalog, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	return &Service{store: store, cat: cat, opt: opt}
}

// Catalog returns the model catalog the service validates against.
func (s *Service) Catalog() *catalog.Catalog { return s.cat }

// Endpoint is the inference endpoint of an account: where its deployments are called.
func (s *Service) Endpoint(a ptu.Account) string {
	return s.opt.PublicURL + "/accounts/" + strings.ToLower(a.CustomSubDomain) + "/"
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

func newKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

func isNotFound(err error) bool { return errors.Is(err, ptu.ErrNotFound) }

// view and update are shorthands that keep call sites short.
func (s *Service) view(ctx context.Context, fn func(ptu.Tx) error) error {
	return s.store.View(ctx, fn)
}
func (s *Service) update(ctx context.Context, fn func(ptu.Tx) error) error {
	err := s.store.Update(ctx, fn)
	if err == nil {
		s.gen.Add(1)
	}
	return err
}

// Generation changes whenever the control-plane state may have changed. Caches
// of accounts, keys and deployments (the data plane keeps one) compare it to
// know when to reload, so a regenerated key or a resize takes effect at once.
func (s *Service) Generation() uint64 { return s.gen.Load() }

// Invalidate bumps the generation, for changes made outside this process.
func (s *Service) Invalidate() { s.gen.Add(1) }
