// Package gateway is the data plane: the Azure-OpenAI-compatible inference API
// under each account's endpoint. One call goes: authenticate the account's key,
// resolve the deployment, validate and count the prompt with the model's
// tokenizer, look up the prompt prefix cache, admit through the deployment's
// leaky bucket (or answer 429 with the time until it drains), route to a backend
// of one of the deployment's pools weighted by PTUs, stream the answer back, and
// settle the bucket with what was really processed.
package gateway

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/contentfilter"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/tokens"
)

// DefaultMaxBody is the largest request body accepted (16 MiB).
const DefaultMaxBody = 16 << 20

// HeaderBucketUtilization is ptu's own response header with the admission
// bucket's level in percent of one minute of capacity, next to Azure's
// azure-openai-deployment-utilization (the larger of that level and the use
// over the last minute). Calls are refused with 429 while it is at or above
// 100 %; a load generator watches it climb to tell a deployment falling
// behind before it throttles.
const HeaderBucketUtilization = "ptu-bucket-utilization"

// Backends gives the backend serving a capacity pool, and the backend serving a
// pay-per-token (Standard) deployment of a model in a region.
type Backends interface {
	Pool(pool ptu.Pool) (backend.Backend, error)
	Standard(region string, model *catalog.Model) (backend.Backend, error)
}

// ControlPlane is what the data plane reads of the control plane: the
// generation its cache of accounts is kept by, the accounts, deployments,
// pools and regions it serves, content filter policies, the model catalog,
// and the principals calling with tokens.
type ControlPlane interface {
	Generation() uint64
	AccountBySubDomain(ctx context.Context, subDomain string) (ptu.Account, error)
	ListDeployments(ctx context.Context, sub, rg, acct string) ([]ptu.Deployment, error)
	ListPools(ctx context.Context) ([]control.PoolStatus, error)
	ListSubscriptions(ctx context.Context) ([]ptu.Subscription, error)
	ListLocations(ctx context.Context, sub string) ([]ptu.Region, error)
	RAIPolicyFor(ctx context.Context, a ptu.Account, name string) (ptu.RAIPolicy, []ptu.RAIBlocklist, bool, error)
	Catalog() *catalog.Catalog
	Authenticate(ctx context.Context, token string) (*control.Caller, error)
}

var _ ControlPlane = (*control.Service)(nil)

// Options configure a Gateway.
type Options struct {
	Control  ControlPlane
	Limiter  leaky.Limiter
	Backends Backends
	// Recorder takes the record of each call as it ends; optional.
	Recorder ptu.CallRecorder
	Logger   *slog.Logger
	Now      func() time.Time
	MaxBody  int64 // DefaultMaxBody when 0
	// Cache is the prompt prefix cache; a default one is made when nil.
	Cache *tokens.PrefixCache
	// Classifier evaluates the category filters (hate, sexual, …) of content
	// filter policies; nil leaves them unevaluated (and unreported).
	Classifier contentfilter.Classifier
	// MaxStreams is how many streamed calls a deployment serves at once;
	// more are answered 429 with retry-after. 0 is no limit.
	MaxStreams int
	// DecodeBudget bounds the bytes of request bodies being read and parsed
	// at once (DefaultDecodeBudget when 0, none when negative); a body waits
	// up to DecodeWait (DefaultDecodeWait when 0) for room, then gets 503.
	DecodeBudget int64
	DecodeWait   time.Duration
	// OnAuthFailure, when set, is told of each call refused with 401: the
	// reason (no_credential, wrong_key, local_auth_disabled, invalid_token,
	// expired_token, permission_denied) and the caller's address.
	OnAuthFailure func(plane, reason, source string)
}

// Gateway serves the data plane.
type Gateway struct {
	opt     Options
	windows requestWindows // Standard deployments' request counts
	streams streamSlots    // streamed calls in flight per deployment
	calls   inflight       // calls being served
	decode  budget         // bytes of bodies being read and parsed
	aborted context.Context
	abort   context.CancelFunc

	mu       sync.RWMutex
	gen      uint64
	accounts map[string]*account // by lowercased subdomain
	pools    map[string]ptu.Pool
	regions  map[string]ptu.Region

	// loading holds the account loads under way, by generation and
	// subdomain: calls that miss the cache together wait for one load
	// instead of each reading the account's deployments (a thousand calls
	// arriving at once for an account of a thousand deployments held
	// hundreds of megabytes of copies).
	loadMu  sync.Mutex
	loading map[loadKey]*loadCall
}

// New returns a Gateway.
func New(opt Options) *Gateway {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxBody == 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.Cache == nil {
		opt.Cache = tokens.NewPrefixCache(tokens.DefaultPrefixCacheEntries, tokens.DefaultPrefixCacheTTL, opt.Now)
	}
	if opt.DecodeBudget == 0 {
		opt.DecodeBudget = DefaultDecodeBudget
	}
	if opt.DecodeWait == 0 {
		opt.DecodeWait = DefaultDecodeWait
	}
	g := &Gateway{opt: opt}
	g.decode.size = max(opt.DecodeBudget, 0)
	g.aborted, g.abort = context.WithCancel(context.Background())
	return g
}

// account is the data plane's cached view of an account and its deployments.
type account struct {
	acct        ptu.Account
	region      ptu.Region
	deployments map[string]*deployment // by lowercased name
	list        []*deployment
}

// deployment is what a call needs of its deployment, resolved once per change.
type deployment struct {
	d        ptu.Deployment
	model    *catalog.Model
	enc      *tokens.Encoder
	key      string  // limiter key
	capacity float64 // input-equivalent tokens per minute
	targets  []target
	total    int // sum of target weights
	region   ptu.Region
	rr       atomic.Uint64         // round-robin position for pick
	filter   *contentfilter.Policy // nil: no custom policy
	// weight is what one output token counts as in the bucket: the model's
	// output-to-input ratio for provisioned deployments, 1 for Standard ones,
	// whose limit is in plain tokens per minute.
	weight float64
	// rpm is a Standard deployment's request limit per minute (0 for
	// provisioned ones), enforced in 10-second windows.
	rpm int
}

type target struct {
	pool    string
	weight  int
	backend backend.Backend
}

// resolve returns the account serving subdomain, reloading the cache when the
// control plane has changed since it was filled.
func (g *Gateway) resolve(ctx context.Context, subDomain string) (*account, error) {
	subDomain = strings.ToLower(subDomain)
	gen := g.opt.Control.Generation()
	g.mu.RLock()
	if g.gen == gen && g.accounts != nil {
		if a, ok := g.accounts[subDomain]; ok {
			g.mu.RUnlock()
			return a, nil
		}
	}
	g.mu.RUnlock()

	a, err := g.loadOnce(ctx, gen, subDomain)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.accounts != nil && g.gen > gen:
		return a, nil // the cache has moved on to a newer generation while this one loaded
	case g.gen != gen || g.accounts == nil:
		g.gen, g.accounts = gen, map[string]*account{}
	}
	// Calls that missed the cache together all use the first one stored, so
	// they share its routing position (a fresh copy per call would send each
	// of them to the first pool).
	if cur, ok := g.accounts[subDomain]; ok {
		return cur, nil
	}
	g.accounts[subDomain] = a
	return a, nil
}

type loadKey struct {
	gen       uint64
	subDomain string
}

type loadCall struct {
	done chan struct{}
	a    *account
	err  error
}

// loadOnce is load shared by the calls that ask for the same account in the
// same generation while it runs. A waiting call whose context ends stops
// waiting; the load goes on for the others.
func (g *Gateway) loadOnce(ctx context.Context, gen uint64, subDomain string) (*account, error) {
	key := loadKey{gen, subDomain}
	g.loadMu.Lock()
	if c, ok := g.loading[key]; ok {
		g.loadMu.Unlock()
		select {
		case <-c.done:
			return c.a, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.loading == nil {
		g.loading = map[loadKey]*loadCall{}
	}
	c := &loadCall{done: make(chan struct{})}
	g.loading[key] = c
	g.loadMu.Unlock()
	// The load is not tied to the first caller's context, so one caller
	// giving up does not fail the others.
	c.a, c.err = g.load(context.WithoutCancel(ctx), subDomain)
	g.loadMu.Lock()
	delete(g.loading, key)
	g.loadMu.Unlock()
	close(c.done)
	return c.a, c.err
}

func (g *Gateway) load(ctx context.Context, subDomain string) (*account, error) {
	svc := g.opt.Control
	acct, err := svc.AccountBySubDomain(ctx, subDomain)
	if err != nil {
		return nil, err
	}
	ds, err := svc.ListDeployments(ctx, acct.SubscriptionID, acct.ResourceGroup, acct.Name)
	if err != nil {
		return nil, err
	}
	pools, regions, err := g.world(ctx)
	if err != nil {
		return nil, err
	}
	a := &account{acct: acct, region: regions[acct.Location], deployments: map[string]*deployment{}}
	if a.region.Name == "" {
		a.region = ptu.Region{Name: acct.Location, DisplayName: acct.Location}
	}
	filters := map[string]*contentfilter.Policy{}
	for _, d := range ds {
		dep, err := g.prepare(d, pools, a.region)
		if err != nil {
			return nil, err
		}
		if dep.filter, err = g.policy(ctx, acct, d.RAIPolicyName, filters); err != nil {
			return nil, err
		}
		a.deployments[strings.ToLower(d.Name)] = dep
		a.list = append(a.list, dep)
	}
	return a, nil
}

// policy compiles the account's content filter policy name, once per load.
func (g *Gateway) policy(ctx context.Context, acct ptu.Account, name string, seen map[string]*contentfilter.Policy) (*contentfilter.Policy, error) {
	key := strings.ToLower(name)
	if p, ok := seen[key]; ok {
		return p, nil
	}
	p, lists, found, err := g.opt.Control.RAIPolicyFor(ctx, acct, name)
	if err != nil || !found {
		seen[key] = nil
		return nil, err
	}
	f, err := contentfilter.Compile(p, lists, g.opt.Classifier)
	if err != nil {
		return nil, err
	}
	seen[key] = f
	return f, nil
}

// world reads pools and regions; they change rarely, so they are cached with the accounts.
func (g *Gateway) world(ctx context.Context) (map[string]ptu.Pool, map[string]ptu.Region, error) {
	gen := g.opt.Control.Generation()
	g.mu.RLock()
	if g.gen == gen && g.pools != nil {
		p, r := g.pools, g.regions
		g.mu.RUnlock()
		return p, r, nil
	}
	g.mu.RUnlock()
	ps, err := g.opt.Control.ListPools(ctx)
	if err != nil {
		return nil, nil, err
	}
	pools := map[string]ptu.Pool{}
	for _, p := range ps {
		pools[p.ID] = p.Pool
	}
	regions := map[string]ptu.Region{}
	subs, err := g.opt.Control.ListSubscriptions(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(subs) > 0 {
		rs, err := g.opt.Control.ListLocations(ctx, subs[0].ID)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			regions[r.Name] = r
		}
	}
	g.mu.Lock()
	if g.gen != gen || g.accounts == nil {
		g.gen, g.accounts = gen, map[string]*account{}
	}
	g.pools, g.regions = pools, regions
	g.mu.Unlock()
	return pools, regions, nil
}

func (g *Gateway) prepare(d ptu.Deployment, pools map[string]ptu.Pool, region ptu.Region) (*deployment, error) {
	m, ok := g.opt.Control.Catalog().Lookup(d.Model.Name, d.Model.Version)
	if !ok {
		return nil, ptu.Errorf(ptu.CodeDeploymentModelNotSupported, "model %s is no longer in the catalog", d.Model)
	}
	enc, err := tokens.Get(m.Tokenizer)
	if err != nil {
		return nil, err
	}
	dep := &deployment{d: d, model: m, enc: enc, key: strings.ToLower(d.ID()), region: region, weight: m.OutputWeight}
	if ptu.IsProvisioned(d.SKUName) {
		dep.capacity = float64(d.Capacity * m.InputTPMPerPTU)
		for _, a := range d.Allocations {
			p, ok := pools[a.PoolID]
			if !ok {
				continue
			}
			b, err := g.opt.Backends.Pool(p)
			if err != nil {
				return nil, err
			}
			dep.targets = append(dep.targets, target{pool: p.ID, weight: a.PTU, backend: b})
			dep.total += a.PTU
		}
	} else {
		// Standard deployments: capacity is in units of 1,000 tokens per minute.
		dep.capacity = float64(d.Capacity) * 1000
		dep.weight = 1
		dep.rpm = d.Capacity * control.StandardRequestsPer1K
		b, err := g.opt.Backends.Standard(d.Region, m)
		if err != nil {
			return nil, err
		}
		dep.targets = []target{{pool: "standard", weight: 1, backend: b}}
		dep.total = 1
	}
	return dep, nil
}

// credential is what a call presents: an account key (api-key header, or a
// bearer value that is not a principal token) or a principal's token.
type credential struct {
	key, token string
}

func credentialOf(r *http.Request) credential {
	if key := r.Header.Get("api-key"); key != "" {
		return credential{key: key}
	}
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return credential{}
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, control.TokenPrefix) {
		return credential{token: v}
	}
	return credential{key: v}
}

// keyMatches compares key with the account's two keys in constant time. Keys
// are refused on accounts with local authentication disabled.
func keyMatches(key string, a ptu.Account) bool {
	if key == "" || a.DisableLocalAuth {
		return false
	}
	k1 := subtle.ConstantTimeCompare([]byte(key), []byte(a.Key1))
	k2 := subtle.ConstantTimeCompare([]byte(key), []byte(a.Key2))
	return k1|k2 == 1
}
